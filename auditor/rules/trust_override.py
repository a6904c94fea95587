"""Rules HT001-HT006: the dedicated hybrid app's setting override (`Get-SettingOverride`).

Microsoft's dedicated Exchange hybrid application is switched on by one organisation-wide
setting override, `EnableExchangeHybrid3PAppFeature` (`ComponentName=Global`,
`SectionName=ExchangeOnpremAsThirdPartyAppId`, `Parameters=Enabled=true`). These rules judge
that override as the hybrid-oauth-trust notes (section 4, rules A, C, D, E and I) define it
(HT006: rule D's unknown extra entries, for review);
the facts they share are decided once in `auditor.rules.trust_facts`. Each fails closed: an
export that was not read is an EV001 gap of the evidence model (the rules then say nothing on
a guess), and a value the rule cannot read (a version that is no version) is a finding.

Server scoping (HT004) matches the override's `Server` entries against every non-Edge server of
the `Get-ExchangeServer` export by short name, ignoring case, with wildcards (`*`, `?`) as
`New-SettingOverride` documents; `MinVersion`/`MaxVersion` are inclusive and compared with each
server's ExSetup build.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from auditor.model import Finding, SettingOverride, Severity
from auditor.rules.context import RuleContext, listing, new_finding
from auditor.rules.declaration import Needs, Remediation, rule
from auditor.rules.trust_facts import (
    CONFIGURE_SCRIPT_SOURCE,
    DEDICATED_APP_DOC,
    ENABLED_ANY,
    GRAPH_COMPONENT,
    GRAPH_SECTION,
    HEALTH_CHECKER_SOURCE,
    LEARN,
    dedicated_overrides,
    enabled_override,
    enabling_problem,
    hybrid_signal,
    location,
    same,
)

_OVERRIDE_REFERENCES = (
    f"{LEARN}/new-settingoverride",
    f"{LEARN}/get-settingoverride",
    DEDICATED_APP_DOC,
    HEALTH_CHECKER_SOURCE,
)


def _subject(override: SettingOverride) -> str:
    return f"setting-override:{override.name or '(no name)'}"


@rule(
    "HT001",
    title="The dedicated Exchange hybrid app is not enabled",
    severity=Severity.HIGH,
    needs=Needs.HYBRID_TRUST,
    remediation=Remediation.DEDICATED_APP_OVERRIDE,
    fires_when=(
        "The organisation is hybrid (a Get-HybridConfiguration object, an enabled "
        "IntraOrganizationConnector, or an enabled EvoSTS or ACS AuthServer) and the "
        "Get-SettingOverride export holds no override with ComponentName Global and SectionName "
        "ExchangeOnpremAsThirdPartyAppId, while the policy's hybrid_trust.require_dedicated_app "
        "is true (the default)."
    ),
    rationale=(
        "Without the dedicated hybrid app, Exchange Server keeps using the shared first-party "
        "Exchange Online service principal for the hybrid OAuth trust (CVE-2025-53786): an "
        "on-premises administrator can act in the cloud tenant through it, and since "
        "2025-10-31 Microsoft blocks it, so rich coexistence (free/busy, MailTips, photos) "
        "stops working. The end state Microsoft requires is the dedicated app, switched on "
        "by the EnableExchangeHybrid3PAppFeature setting override."
    ),
    references=(
        DEDICATED_APP_DOC,
        "https://msrc.microsoft.com/update-guide/vulnerability/CVE-2025-53786",
        CONFIGURE_SCRIPT_SOURCE,
        f"{LEARN}/new-settingoverride",
    ),
    how_to_fix=(
        "Configure the dedicated app with Microsoft's ConfigureExchangeHybridApplication.ps1 "
        "(-ConfigureAuthServer -EnableExchangeHybridApplicationOverride), after every server "
        "runs a build that supports it and the app has admin consent; then audit again. When "
        "the exports prove the preconditions, the package holds a script that creates the "
        "override; the app and its consent live in Entra ID and stay a runbook step."
    ),
)
def check_ht001(context: RuleContext) -> Iterator[Finding]:
    """HT001: hybrid, the SettingOverride export read, and no dedicated-app override in it."""
    trust = context.inventory.trust
    if not context.policy.hybrid_trust.require_dedicated_app or not trust.setting_overrides:
        return
    signal = hybrid_signal(context.inventory)
    if signal.hybrid is not True or signal.shown_by is None:
        return
    if dedicated_overrides(context.inventory):
        return
    yield new_finding(
        context,
        "HT001",
        subject="hybrid-trust:dedicated-app",
        message=(
            f"The organisation is hybrid ({signal.why}) but none of the "
            f"{len(trust.setting_overrides)} setting override(s) of "
            f"{trust.setting_overrides[0].source.path} is the dedicated-app override "
            "(Global / ExchangeOnpremAsThirdPartyAppId): the hybrid trust still rests on the "
            "shared Exchange Online first-party app."
        ),
        location=location(signal.shown_by),
        evidence=(signal.shown_by,),
    )


@rule(
    "HT002",
    title="More than one dedicated-app setting override",
    severity=Severity.HIGH,
    needs=Needs.HYBRID_TRUST,
    remediation=None,
    fires_when=(
        "The Get-SettingOverride export holds more than one override with ComponentName Global "
        "and SectionName ExchangeOnpremAsThirdPartyAppId."
    ),
    rationale=(
        "With several overrides of the same section, which one Exchange applies cannot be told "
        "from the exports (HealthChecker: 'Multiple SettingOverrides detected - unable to "
        "determine status'), so the dedicated app's state is unknown. Keep exactly one."
    ),
    references=_OVERRIDE_REFERENCES,
    how_to_fix=(
        "Decide which override to keep and remove the others with Remove-SettingOverride "
        "-Identity <name>, then refresh the VariantConfiguration and audit again."
    ),
)
def check_ht002(context: RuleContext) -> Iterator[Finding]:
    """HT002: one finding on each dedicated-app override after the first."""
    overrides = dedicated_overrides(context.inventory)
    if len(overrides) < 2:
        return
    names = [override.name or "(no name)" for override in overrides]
    for override in overrides[1:]:
        yield new_finding(
            context,
            "HT002",
            subject=_subject(override),
            message=(
                f"{len(overrides)} setting overrides switch the dedicated hybrid app "
                f"({listing(names)}): which one applies cannot be determined."
            ),
            location=location(override.source),
            evidence=(override.source,),
        )


@rule(
    "HT003",
    title="The dedicated-app override does not enable the feature",
    severity=Severity.HIGH,
    needs=Needs.HYBRID_TRUST,
    remediation=Remediation.DEDICATED_APP_OVERRIDE,
    fires_when=(
        "The single dedicated-app override's Parameters hold no Enabled=true entry, hold "
        "Enabled=false or conflicting Enabled= entries, or its Status is not Accepted."
    ),
    rationale=(
        "An override that exists but says Enabled=false, or that Exchange did not accept, "
        "leaves the shared first-party app in use while a reader of the override list believes "
        "the dedicated app is on. HealthChecker checks only that the override exists."
    ),
    references=(*_OVERRIDE_REFERENCES, f"{LEARN}/set-settingoverride"),
    how_to_fix=(
        "Set the override's parameters to exactly Enabled=true (Set-SettingOverride -Identity "
        "<name> -Parameters @('Enabled=true')), refresh the VariantConfiguration, check that "
        "its Status is Accepted and audit again."
    ),
)
def check_ht003(context: RuleContext) -> Iterator[Finding]:
    """HT003: the one dedicated-app override, when it does not enable the feature."""
    overrides = dedicated_overrides(context.inventory)
    if len(overrides) != 1:
        return
    override = overrides[0]
    why = enabling_problem(override)
    if why is None:
        return
    yield new_finding(
        context,
        "HT003",
        subject=_subject(override),
        message=f"Setting override '{override.name}' does not enable the dedicated app: {why}.",
        location=location(override.source),
        evidence=(override.source,),
        discriminator=why,
    )


@rule(
    "HT004",
    title="The dedicated-app override does not reach every server",
    severity=Severity.HIGH,
    needs=Needs.HYBRID_TRUST,
    remediation=Remediation.DEDICATED_APP_OVERRIDE,
    fires_when=(
        "The dedicated-app override's Server list does not match every non-Edge server of the "
        "Get-ExchangeServer export (short names, ignoring case, wildcards allowed), or its "
        "MinVersion/MaxVersion exclude a server's ExSetup build, or a version is unreadable."
    ),
    rationale=(
        "A setting override scoped by Server or by version applies only to the servers it "
        "names: the others keep the shared first-party app and cannot do rich coexistence "
        "since 2025-10-31. Microsoft's script creates the override unscoped."
    ),
    references=(*_OVERRIDE_REFERENCES, f"{LEARN}/set-settingoverride"),
    how_to_fix=(
        "Remove the scoping: Set-SettingOverride -Identity <name> -Server $null (and "
        "-MinVersion $null / -MaxVersion $null), refresh the VariantConfiguration on every "
        "server and audit again. When the exports prove the preconditions and show the "
        "override's Server list and versions whole, the package holds a script that clears "
        "them (with the Parameters, when HT003 also fires) and a rollback that writes them back."
    ),
)
def check_ht004(context: RuleContext) -> Iterator[Finding]:
    """HT004: one finding per dedicated-app override that misses servers."""
    for override in dedicated_overrides(context.inventory):
        missed = _missed_servers(context, override)
        if missed:
            yield new_finding(
                context,
                "HT004",
                subject=_subject(override),
                message=(
                    f"Setting override '{override.name}' does not apply to "
                    f"{listing([f'{name} ({why})' for name, why in missed], 5)}: those servers "
                    "keep the shared first-party app."
                ),
                location=location(override.source),
                evidence=(override.source,),
                discriminator="\x1e".join(sorted(name.casefold() for name, _ in missed)),
            )


def _missed_servers(context: RuleContext, override: SettingOverride) -> list[tuple[str, str]]:
    """The non-Edge servers the override misses, each with why (see the module docstring)."""
    inventory = context.inventory
    builds = {
        (record.server or "").split(".", 1)[0].casefold(): record.build
        for record in inventory.trust.exsetup_versions
    }
    bounds = [
        (label, text, _version(text))
        for label, text in (
            ("MinVersion", override.min_version),
            ("MaxVersion", override.max_version),
        )
        if text
    ]
    missed: list[tuple[str, str]] = []
    for server in inventory.exchange_servers:
        if server.edge is True:
            continue
        short = server.name.split(".", 1)[0].casefold()
        entries = override.servers.values if override.servers is not None else None
        if entries is not None and not any(
            fnmatch.fnmatchcase(short, entry.split(".", 1)[0].casefold()) for entry in entries
        ):
            missed.append((server.name, f"not in Server {listing(list(entries))}"))
            continue
        for label, text, version in bounds:
            build = builds.get(short)
            if version is None:
                missed.append((server.name, f"{label} '{text}' is not a version"))
            elif build is not None and _outside(label, version, _version(build)):
                missed.append((server.name, f"build {build} outside {label} {text}"))
    return missed


def _version(text: str) -> tuple[int, ...] | None:
    parts = text.strip().split(".")
    if not 2 <= len(parts) <= 4 or not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts) + (0,) * (4 - len(parts))


def _outside(label: str, bound: tuple[int, ...], build: tuple[int, ...] | None) -> bool:
    if build is None:
        return False
    return build < bound if label == "MinVersion" else build > bound


@rule(
    "HT005",
    title="Graph routing is enabled without the dedicated app",
    severity=Severity.MEDIUM,
    needs=Needs.HYBRID_TRUST,
    remediation=None,
    fires_when=(
        "A setting override with ComponentName SettingOverride and SectionName "
        "RouteThroughMSGraph holds Enabled=true while no single dedicated-app override enables "
        "the dedicated hybrid app."
    ),
    rationale=(
        "Routing hybrid calls through Microsoft Graph needs the dedicated hybrid app; Microsoft's "
        "script warns 'The RouteThroughMSGraph feature is enabled, but the dedicated hybrid "
        "application feature is not enabled'. Enabled=False on this override is a published "
        "workaround and not a finding."
    ),
    references=(DEDICATED_APP_DOC, CONFIGURE_SCRIPT_SOURCE, f"{LEARN}/get-settingoverride"),
    how_to_fix=(
        "Enable the dedicated app first (see HT001), or switch the Graph routing override off; "
        "then audit again."
    ),
)
def check_ht005(context: RuleContext) -> Iterator[Finding]:
    """HT005: each enabled Graph-routing override while the dedicated app is not enabled."""
    if enabled_override(context.inventory) is not None:
        return
    for override in context.inventory.trust.setting_overrides:
        if not (
            same(override.component, GRAPH_COMPONENT) and same(override.section, GRAPH_SECTION)
        ):
            continue
        parameters = override.parameters
        if (
            parameters is None
            or not parameters.complete
            or enabling_problem_of_parameters(override)
        ):
            continue
        yield new_finding(
            context,
            "HT005",
            subject=_subject(override),
            message=(
                f"Setting override '{override.name}' routes hybrid calls through Microsoft Graph "
                "(RouteThroughMSGraph Enabled=true) but the dedicated hybrid app is not enabled."
            ),
            location=location(override.source),
            evidence=(override.source,),
        )


def enabling_problem_of_parameters(override: SettingOverride) -> bool:
    """True unless the override's parameters say exactly Enabled=true (its status aside)."""
    why = enabling_problem(override)
    return why is not None and not why.startswith("its Status")


@rule(
    "HT006",
    title="The dedicated-app override carries parameters besides Enabled",
    severity=Severity.MEDIUM,
    needs=Needs.HYBRID_TRUST,
    remediation=None,
    fires_when=(
        "A dedicated-app override's Parameters hold an entry that is not an Enabled= entry."
    ),
    rationale=(
        "Microsoft's script writes exactly one parameter, Enabled=true. Any other entry is "
        "undocumented for this section: its effect cannot be judged from the exports, so a "
        "person should review it (hybrid-oauth-trust notes, rule D)."
    ),
    references=(*_OVERRIDE_REFERENCES, CONFIGURE_SCRIPT_SOURCE),
    how_to_fix=(
        "Find out who added the entry and why; set the parameters to exactly Enabled=true "
        "(Set-SettingOverride -Identity <name> -Parameters @('Enabled=true')) or waive the "
        "finding with the reason, then audit again."
    ),
)
def check_ht006(context: RuleContext) -> Iterator[Finding]:
    """HT006: each dedicated-app override with entries other than Enabled=."""
    for override in dedicated_overrides(context.inventory):
        parameters = override.parameters
        if parameters is None or not parameters.complete:
            continue
        extra = [entry for entry in parameters.values if not ENABLED_ANY.match(entry)]
        if extra:
            yield new_finding(
                context,
                "HT006",
                subject=_subject(override),
                message=(
                    f"Setting override '{override.name}' carries "
                    f"{listing([repr(entry) for entry in extra], 5)} besides Enabled: no "
                    "documented parameter of the dedicated-app section; review it."
                ),
                location=location(override.source),
                evidence=(override.source,),
                discriminator="\x1e".join(sorted(extra)),
            )


RULES = (check_ht001, check_ht002, check_ht003, check_ht004, check_ht005, check_ht006)
