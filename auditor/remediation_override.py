"""The planner's first on-premises hybrid-trust change: the dedicated-app setting override.

A finding of HT001 (no dedicated-app override) or HT003 (the one override does not enable the
feature) gets a `dedicated-app-override` change set only when the exports prove every
precondition the hybrid-oauth-trust notes give (section 4, rule A), in this order:

1. the organisation is hybrid (`hybrid_signal`);
2. every Client Access server is at or above the build floor: HT101 is enabled, ExSetup
   versions were read and no HT101 finding exists (HT101 also reports a server whose ExSetup
   was not read), whether or not a waiver suppresses it;
3. an AuthServer is a valid EvoSTS for the dedicated app (`evosts_problem`), and no HT007
   finding says otherwise;
4. an enabled Exchange Online partner application (ApplicationIdentifier
   00000002-0000-0ff1-ce00-000000000000) with an empty Realm (`exchange_online_partner`);
5. at least one enabled IntraOrganizationConnector (the basic OAuth check of Microsoft's
   script);
6. for HT003 and HT004, exactly one override, whose name, Parameters, Server list and
   versions were read whole and are printable (the drift guard compares each and the rollback
   writes each back; a version must be a version); HT003 needs Parameters that are not
   already exactly Enabled=true (a Status that is not Accepted is for Exchange to change, not a
   script); HT004 clears the scope (Server, MinVersion, MaxVersion) in the same change.

Otherwise the findings get a `Skipped` whose reason names the first precondition that does not
hold. The app's admin consent (rule A's last precondition) is a cloud fact no export shows:
it stays a checkbox of the runbook. The change creates `EnableExchangeHybrid3PAppFeature`
(HT001) or sets the audited override's Parameters to Enabled=true (HT003) and clears its
Server and versions (HT004, `Set-SettingOverride -Server $null -MinVersion $null -MaxVersion
$null`), organisation-wide; an HT003 finding the change does not fix (Enabled=true already,
Status not Accepted) keeps its own Skipped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from auditor.model import (
    DEDICATED_APP_OVERRIDE_NAME,
    DEDICATED_APP_PARAMETERS,
    ChangeKind,
    ChangeSet,
    Finding,
    Inventory,
    Policy,
    SettingOverride,
    SettingOverrideChange,
    Skipped,
)
from auditor.rules.trust_facts import (
    EXCHANGE_ONLINE_ID,
    dedicated_overrides,
    evosts_problem,
    hybrid_signal,
)

SLUG = "dedicated-app-override"
REASON = "auditor: enable the dedicated Exchange hybrid application (CVE-2025-53786)"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")
_VALUE = re.compile(r"[\x20-\x7e]{1,256}")
_VERSION = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9}){1,3}")


def plan_dedicated_override(
    inventory: Inventory,
    policy: Policy,
    findings: Sequence[Finding],
    fixes: dict[str, list[str]],
) -> tuple[ChangeSet | None, list[Skipped]]:
    """The override change set for the active HT001/HT003/HT004 findings (`fixes`: subject ->
    fingerprints), or the Skipped entries saying which precondition is not shown."""
    if not fixes:
        return None, []
    subject = next(iter(sorted(fixes)))
    all_fixes = tuple(fp for key in sorted(fixes) for fp in fixes[key])
    rules = {f.fingerprint: f.rule_id for f in findings if f.fingerprint in all_fixes}
    reason = _precondition_problem(inventory, policy, findings)
    if reason is None:
        rescope = "HT004" in rules.values()
        change = _change(inventory, subject, all_fixes, rescope)
        if isinstance(change, SettingOverrideChange):
            unfixed = _unfixed(change, rules)
            if unfixed:
                kept = tuple(fp for fp in all_fixes if fp not in unfixed)
                change = replace(change, fixes=kept)
            change_set = ChangeSet(
                kind=ChangeKind.DEDICATED_APP_OVERRIDE,
                slug=SLUG,
                server=None,
                setting_overrides=(change,),
            )
            skipped = [
                Skipped(key, _ALREADY_ENABLED, tuple(fp for fp in fixes[key] if fp in unfixed))
                for key in sorted(fixes)
                if any(fp in unfixed for fp in fixes[key])
            ]
            return change_set, skipped
        reason = change
    return None, [Skipped(key, reason, tuple(fixes[key])) for key in sorted(fixes)]


_ALREADY_ENABLED = (
    "the override's Parameters already are Enabled=true; its Status is for Exchange to "
    "accept (refresh the VariantConfiguration and check Get-SettingOverride)"
)


def _unfixed(change: SettingOverrideChange, rules: dict[str, str]) -> set[str]:
    """The HT003 fingerprints a change that writes no Parameters leaves as they are."""
    if change.sets_parameters:
        return set()
    return {fp for fp, rule_id in rules.items() if rule_id == "HT003"}


def _precondition_problem(
    inventory: Inventory, policy: Policy, findings: Sequence[Finding]
) -> str | None:
    rule_ids = {finding.rule_id for finding in findings}
    signal = hybrid_signal(inventory)
    if signal.hybrid is not True:
        return (
            "the exports do not show the organisation as hybrid, so the dedicated-app override "
            "is not generated"
        )
    builds = build_floor_problem(inventory, policy, findings)
    if builds is not None:
        return (
            f"{builds}: a server below it loses hybrid features once the override is on; "
            "update every server and audit again"
        )
    valid = [
        s for s in inventory.trust.auth_servers if evosts_problem(s, policy.hybrid_trust) is None
    ]
    if not valid or "HT007" in rule_ids:
        return (
            "no AuthServer is a valid EvoSTS for the dedicated app (Type AzureAD, enabled, a "
            "tenant ID as Realm, the dedicated app's ApplicationIdentifier): configure it first "
            "(ConfigureExchangeHybridApplication.ps1 -ConfigureAuthServer) and audit again"
        )
    partner = exchange_online_partner(inventory)
    if partner is not None:
        return partner
    if not any(c.enabled is True for c in inventory.trust.intra_organization_connectors):
        return (
            "no enabled IntraOrganizationConnector is shown (Get-IntraOrganizationConnector): "
            "the hybrid OAuth trust the dedicated app takes over is not in place; run the Hybrid "
            "Configuration Wizard (or enable the connector) and audit again"
        )
    return None


def build_floor_problem(
    inventory: Inventory, policy: Policy, findings: Sequence[Finding]
) -> str | None:
    """Why the exports do not show every Client Access server at or above the dedicated app's
    build floor (None: they do): HT101 enabled, ExSetup versions read, no HT101 finding."""
    builds_judged = policy.rule("HT101").enabled and inventory.trust.exsetup_versions
    if not builds_judged or any(finding.rule_id == "HT101" for finding in findings):
        return (
            "not every Client Access server is shown at or above the dedicated app's build "
            "floor (an HT101 finding, HT101 switched off, or no ExSetup version read)"
        )
    return None


def exchange_online_partner(inventory: Inventory) -> str | None:
    """Why the exports do not show an enabled Exchange Online partner application with an empty
    Realm (None: they do); the override's precondition of the notes, section 4 rule A."""
    found = [
        app
        for app in inventory.partner_applications
        if app.application_identifier.lower() == EXCHANGE_ONLINE_ID
    ]
    for app in found:
        realm = [text for name, text in app.properties if name.casefold() == "realm"]
        if app.enabled is True and realm == [""]:
            return None
    shown = (
        "no Exchange Online partner application (00000002-0000-0ff1-ce00-000000000000) is in "
        "the partner-application export"
        if not found
        else "the Exchange Online partner application (00000002-0000-0ff1-ce00-000000000000) "
        "is not shown enabled with an empty Realm"
    )
    return (
        f"{shown}: the hybrid OAuth trust is not in place (or not exported); run the Hybrid "
        "Configuration Wizard, export Get-PartnerApplication and audit again"
    )


def _change(
    inventory: Inventory, subject: str, fixes: tuple[str, ...], rescope: bool
) -> SettingOverrideChange | str:
    overrides = dedicated_overrides(inventory)
    if not overrides:
        return SettingOverrideChange(
            name=DEDICATED_APP_OVERRIDE_NAME,
            audited_parameters=None,
            reason=REASON,
            fixes=fixes,
            subject=subject,
        )
    if len(overrides) > 1:
        return "more than one dedicated-app override exists (HT002); keep one, then audit again"
    override = overrides[0]
    name = override.name or ""
    if _NAME.fullmatch(name) is None:
        return f"the override's name {name!r} is not one the script writes; set it by hand"
    parameters = override.parameters
    if parameters is None or not parameters.complete:
        return "the override's exported Parameters are incomplete; the drift guard needs them whole"
    if any(_VALUE.fullmatch(value) is None for value in parameters.values):
        return "the override's Parameters hold characters the script does not write back"
    scope = _scope_problem(override)
    if scope is not None:
        return scope
    if parameters.values == DEDICATED_APP_PARAMETERS and not rescope:
        return _ALREADY_ENABLED
    servers = override.servers
    return SettingOverrideChange(
        name=name,
        audited_parameters=parameters.values,
        reason=REASON,
        fixes=fixes,
        subject=subject,
        audited_servers=servers.values if servers is not None and servers.values else None,
        audited_min_version=override.min_version or None,
        audited_max_version=override.max_version or None,
        clears_scope=rescope,
    )


def _scope_problem(override: SettingOverride) -> str | None:
    """Why the override's Server list or versions cannot be guarded and written back (None:
    they can): the drift guard compares them and the rollback restores them."""
    servers = override.servers
    if servers is not None and not servers.complete:
        return (
            "the override's exported Server list is incomplete (truncated), so the drift guard "
            "and the rollback cannot name every server; export Get-SettingOverride whole "
            "(Server is a list) and audit again, or clear the scope by hand"
        )
    if servers is not None and any(_VALUE.fullmatch(entry) is None for entry in servers.values):
        return "the override's Server list holds characters the script does not write back"
    for label, text in (("MinVersion", override.min_version), ("MaxVersion", override.max_version)):
        if text and _VERSION.fullmatch(text) is None:
            return (
                f"the override's {label} {text!r} is not a version the rollback can write "
                f"back; clear it by hand (Set-SettingOverride -{label} $null) and audit again"
            )
    return None
