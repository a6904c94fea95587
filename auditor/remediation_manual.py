"""The planner's runbook-only steps of the hybrid trust: what no generated script may do.

Cloud changes (the first-party service principal's key reset, the auth certificate upload to
the dedicated app, creating the app with admin consent) and build upgrades are Microsoft's own
commands that an operator runs by hand (issue 24, item 5; hybrid-oauth-trust notes section 4,
rules A, B, F, J, K and section 5). `plan_manual_steps` decides, from the active findings, the
policy and the inventory, which steps the package's runbook carries, in run order, with the
exact command lines and only checked values in them (a thumbprint of 40 hex digits, a GUID):

1. HT101 (a server below the April 2025 hotfix floor): a build upgrade per server named, with
   the build read and the floor; no command, no rollback;
2. HT111-HT114 (the auth certificate): MonitorExchangeAuthCertificate.ps1's renewal, with
   `-IgnoreHybridConfig $true` and the upload to the dedicated app when the organisation is (or
   may be) hybrid; the native Set-AuthConfig sequence as the alternative;
3. HT001 with no valid EvoSTS, or HT007 when the policy names no application id: create the
   dedicated app (with admin consent) and configure the EvoSTS with
   ConfigureExchangeHybridApplication.ps1;
4. HT122: upload the auth certificate to the dedicated app (`-UpdateCertificate`), additive;
5. HT121 or HT122 not assessed for want of cloud evidence: take the cloud export;
6. HT121: reset the first-party service principal's key credentials, last, with no rollback.

Steps 1-3 run before the generated scripts, 4-6 after the last one. The switch names are
ConfigureExchangeHybridApplication.ps1's and MonitorExchangeAuthCertificate.ps1's own
(microsoft/CSS-Exchange, `docs/Hybrid/ConfigureExchangeHybridApplication.md`,
`docs/Admin/MonitorExchangeAuthCertificate.md`, and the script's param block: the `Create`,
`CustomAppId` and `FirstPartyKeyCredentialsCleanup` parameter sets); Set-AuthConfig's are on
its Learn page.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from auditor.model import (
    Finding,
    Inventory,
    ManualKind,
    ManualStep,
    NotApplied,
    Policy,
    ServerBuild,
)
from auditor.rules.trust_common import NO_CLOUD_EVIDENCE, NO_GRAPH_EXPORT
from auditor.rules.trust_facts import evosts_problem, hybrid_signal

CONFIGURE_SCRIPT = r".\ConfigureExchangeHybridApplication.ps1"
MONITOR_SCRIPT = r".\MonitorExchangeAuthCertificate.ps1"
RESET_KEYS = f"{CONFIGURE_SCRIPT} -ResetFirstPartyServicePrincipalKeyCredentials"
UPDATE_CERTIFICATE = f"{CONFIGURE_SCRIPT} -UpdateCertificate"
FULLY_CONFIGURE = f"{CONFIGURE_SCRIPT} -FullyConfigureExchangeHybridApplication"
CREATE_AND_CONFIGURE = (
    f"{CONFIGURE_SCRIPT} -CreateApplication -UpdateCertificate -ConfigureAuthServer"
)
RENEW = f"{MONITOR_SCRIPT} -ValidateAndRenewAuthCertificate $true"
RENEW_IN_HYBRID = f"{RENEW} -IgnoreHybridConfig $true"
NATIVE_RENEWAL = (
    "Set-AuthConfig -NewCertificateThumbprint <thumbprint> -NewCertificateEffectiveDate <date>",
    "Set-AuthConfig -PublishCertificate",
    "Set-AuthConfig -ClearPreviousCertificate",
)

_CERTIFICATE_RULES = ("HT111", "HT112", "HT113", "HT114")
_THUMBPRINT = re.compile(r"[0-9A-F]{40}")
_GUID = re.compile(r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}")


def plan_manual_steps(
    inventory: Inventory,
    policy: Policy,
    findings: Sequence[Finding],
    not_applied: Sequence[NotApplied],
) -> tuple[ManualStep, ...]:
    """The runbook-only steps the active hybrid-trust findings call for, in run order."""
    active = [finding for finding in findings if not finding.suppressed]
    by_rule: dict[str, list[Finding]] = {}
    for finding in active:
        by_rule.setdefault(finding.rule_id, []).append(finding)
    # Only for want of cloud evidence: a rule left out of the scope on purpose asks for nothing.
    wanting = (NO_CLOUD_EVIDENCE, NO_GRAPH_EXPORT)
    unassessed = {item.rule_id for item in not_applied if item.reason in wanting}
    steps = [
        _build_upgrade(by_rule.get("HT101", [])),
        _auth_certificate(inventory, by_rule),
        _dedicated_app(inventory, policy, by_rule),
        _certificate_upload(by_rule.get("HT122", [])),
        _cloud_export(inventory, by_rule, unassessed),
        _key_reset(by_rule.get("HT121", [])),
    ]
    planned = [step for step in steps if step is not None]
    return tuple(
        dataclasses.replace(step, label=f"M{index}") for index, step in enumerate(planned, 1)
    )


def _fingerprints(found: Sequence[Finding]) -> tuple[str, ...]:
    return tuple(finding.fingerprint for finding in found)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _thumbprint(value: object) -> str | None:
    """A thumbprint fit for a command line: 40 hex digits, upper case; else None."""
    text = "".join(value.split()).upper() if isinstance(value, str) else ""
    return text if _THUMBPRINT.fullmatch(text) else None


def _build_upgrade(found: Sequence[Finding]) -> ManualStep | None:
    if not found:
        return None
    servers = tuple(
        ServerBuild(
            server=_text(f.details.get("server")) or f.subject.removeprefix("server:"),
            build=_text(f.details.get("build")),
            required=_text(f.details.get("required")),
            build_line=_text(f.details.get("build_line")),
        )
        for f in found
    )
    return ManualStep(
        ManualKind.BUILD_UPGRADE,
        "",
        ("HT101",),
        _fingerprints(found),
        commands=(),
        before_scripts=True,
        servers=servers,
    )


def _may_be_hybrid(inventory: Inventory) -> bool:
    return hybrid_signal(inventory).hybrid is not False


def _auth_certificate(inventory: Inventory, by_rule: dict[str, list[Finding]]) -> ManualStep | None:
    found = [f for rule in _CERTIFICATE_RULES for f in by_rule.get(rule, [])]
    if not found:
        return None
    hybrid = _may_be_hybrid(inventory)
    commands = (RENEW_IN_HYBRID, UPDATE_CERTIFICATE) if hybrid else (RENEW,)
    servers = tuple(
        dict.fromkeys(
            ServerBuild(server, None, None, None)
            for f in found
            if (server := _text(f.details.get("server"))) is not None
        )
    )
    thumbprints = tuple(
        dict.fromkeys(t for f in found if (t := _thumbprint(f.details.get("thumbprint"))))
    )
    # After a renewal the current certificate becomes the previous one, which can be made
    # current again only while it is valid: not when it has expired or is not set (HT111).
    configs = inventory.trust.auth_configs
    current = _thumbprint(configs[0].current_certificate_thumbprint) if configs else None
    previous = current if not by_rule.get("HT111") else None
    return ManualStep(
        ManualKind.AUTH_CERTIFICATE,
        "",
        tuple(rule for rule in _CERTIFICATE_RULES if by_rule.get(rule)),
        _fingerprints(found),
        commands=commands,
        alternatives=NATIVE_RENEWAL,
        before_scripts=True,
        servers=servers,
        thumbprints=thumbprints,
        rollback=previous is not None,
        rollback_commands=(f"Set-AuthConfig -CertificateThumbprint {previous}",)
        if previous
        else (),
    )


def _dedicated_app(
    inventory: Inventory, policy: Policy, by_rule: dict[str, list[Finding]]
) -> ManualStep | None:
    trust = policy.hybrid_trust
    app_id = trust.expected_application_id
    valid = [s for s in inventory.trust.auth_servers if evosts_problem(s, trust) is None]
    missing_app = by_rule.get("HT001", []) if not valid else []
    unnamed = by_rule.get("HT007", []) if app_id is None else []
    found = [*missing_app, *unnamed]
    if not found:
        return None
    rules = tuple(dict.fromkeys(f.rule_id for f in found))
    tenant = trust.tenant_id if trust.tenant_id and _GUID.fullmatch(trust.tenant_id) else None
    custom = (
        f"{CONFIGURE_SCRIPT} -ConfigureAuthServer"
        + (" -EnableExchangeHybridApplicationOverride" if missing_app else "")
        + f" -CustomAppId {app_id or '<appId>'} -TenantId {tenant or '<tenantId>'}"
        " -RemoteRoutingDomain <tenant>.mail.onmicrosoft.com"
    )
    if app_id is not None and _GUID.fullmatch(app_id):
        # The policy names the application: it exists, so only the on-premises side is left.
        return ManualStep(
            ManualKind.DEDICATED_APP,
            "",
            rules,
            _fingerprints(found),
            (custom,),
            before_scripts=True,
        )
    first = FULLY_CONFIGURE if missing_app else CREATE_AND_CONFIGURE
    return ManualStep(
        ManualKind.DEDICATED_APP,
        "",
        rules,
        _fingerprints(found),
        commands=(first,),
        alternatives=(
            f'{CONFIGURE_SCRIPT} -CreateApplication -UpdateCertificate -CertificateMethod "File" '
            '-CertificateInformation "c:\\temp\\certificate.cer"',
            custom,
        ),
        before_scripts=True,
    )


def _certificate_upload(found: Sequence[Finding]) -> ManualStep | None:
    if not found:
        return None
    thumbprints = tuple(
        dict.fromkeys(t for f in found if (t := _thumbprint(f.details.get("thumbprint"))))
    )
    return ManualStep(
        ManualKind.CERTIFICATE_UPLOAD,
        "",
        ("HT122",),
        _fingerprints(found),
        commands=(UPDATE_CERTIFICATE,),
        thumbprints=thumbprints,
    )


def _cloud_export(
    inventory: Inventory, by_rule: dict[str, list[Finding]], unassessed: set[str]
) -> ManualStep | None:
    """The cloud export, when a cloud rule was not assessed for want of cloud evidence (HT122:
    of a Graph export), or the export lacked the object the rule judges."""
    principals = inventory.trust.cloud_principals
    lacking = {
        "HT121": not principals,
        "HT122": not any(principal.origin == "graph" for principal in principals),
    }
    missing = [
        f
        for rule in ("HT121", "HT122")
        for f in by_rule.get(rule, [])
        if f.details.get("evidence") == "missing"
    ]
    rules = tuple(
        rule
        for rule in ("HT121", "HT122")
        if (rule in unassessed and lacking[rule]) or any(f.rule_id == rule for f in missing)
    )
    if not rules:
        return None
    guids = [(c.guid or "").lower() for c in inventory.trust.organization_configs]
    guid = next((g for g in guids if _GUID.fullmatch(g)), None)
    return ManualStep(
        ManualKind.CLOUD_EXPORT, "", rules, _fingerprints(missing), (), organisation_guid=guid
    )


def _key_reset(found: Sequence[Finding]) -> ManualStep | None:
    held = [f for f in found if f.details.get("evidence") != "missing"]
    if not held:
        return None
    thumbprints = tuple(
        dict.fromkeys(
            t
            for f in held
            for value in _list(f.details.get("matches_auth_certificate"))
            if (t := _thumbprint(value))
        )
    )
    return ManualStep(
        ManualKind.KEY_RESET,
        "",
        ("HT121",),
        _fingerprints(held),
        commands=(RESET_KEYS,),
        alternatives=tuple(
            f'{RESET_KEYS} -CertificateInformation "{thumbprint}"' for thumbprint in thumbprints
        ),
        thumbprints=thumbprints,
    )


def _list(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else []
