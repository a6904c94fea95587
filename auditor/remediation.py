"""The remediation planner: from the rules' judgements and the active findings to plan items.

The planner decides nothing about a permission or a token: `auditor.rules.judge` did that once
(`Judgements`). It decides what gets a script. A subject gets a plan item when it has an
unsuppressed finding of a rule whose catalogue entry (`remediation` in `policies/default.yaml`)
names a remediation template; the template id selects the kind of change (`TEMPLATES`):

* `partner-application-app-only` (one org-wide change set, slug `partner-applications`):
  AppOnlyPermissions set from the audited list to the judgement's target (the audited names
  that are approved and not forbidden, in audited order; default: empty). A change only ever
  takes permissions away: its target is a subset of the audited list, whatever the policy
  approves (`PartnerApplicationChange.adds` is therefore always empty, and a change that would
  grant is refused with a `Skipped`). The drift guard
  compares the audited list with the live value.
* `web-config-oauth-profiles` (one change set per server, slug `web-config-<server slug>`):
  OAuthHttpModule.Profiles set to the judgement's target: the segments it removes and the
  tokens it enables (`TokenAction.ENABLE`, only ever a token the policy approves on the vdir)
  are listed on the change.

A finding about a whole fleet (`fleet:<vdir>`, FL001: servers disagree) has no script of its
own: when every server honours the same profiles on that vdir once the planned changes ran
(`auditor.profiles.agree_after`, the criterion of FL001's `FleetJudgement`), the changes to
that vdir list it among what they fix ("resolved by remediation/web-config-ex01.ps1, ...");
when they do not, a `Skipped` says that the servers still disagree.

The hybrid-trust changes have their own modules: the dedicated-app override
(`auditor.remediation_override`, HT001/HT003) and the EvoSTS AuthServers
(`auditor.remediation_authserver`, HT007/HT008); each plans only what the exports prove.

Whatever cannot be planned safely is not planned: a `Skipped` says what and why, and the report
shows it. Values that would be written to Exchange are allow-listed here (`auditor.psquote`); a
rejected value skips that change with a reason, it never reaches a template. A web.config whose
effective Profiles the script would not edit in place (`WebConfig.profiles_edit`, decided by
`auditor.appsettings.edit_refusal`: a second add of the key in any case, a key not written as
Exchange writes it, an encoding other than UTF-8, a section that reads another file) is skipped
with the step to take by hand (file, line, what to write), so the script never meets it. The
judgements come back completed with what the plan does (`after`, `action`, `target`): a subject
without a plan item keeps everything as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from auditor import layout
from auditor.model import (
    ApplicationJudgement,
    AppOnlyLimit,
    ChangeKind,
    ChangeSet,
    Finding,
    Inventory,
    Judgements,
    PartnerApplication,
    PartnerApplicationChange,
    Policy,
    ProfilesJudgement,
    Skipped,
    TokenAction,
    WebConfig,
    WebConfigChange,
    fleet_subject,
)
from auditor.profiles import PROFILE_SEPARATOR, agree_after, undeclared_enablement
from auditor.psquote import (
    is_valid_app_pool_name,
    is_valid_guid,
    is_valid_permission_name,
    is_valid_profile_token,
    is_valid_sha256,
)
from auditor.remediation_authserver import plan_auth_servers
from auditor.remediation_override import plan_dedicated_override

# The remediation template ids a rule's catalogue entry may name, and the change each makes.
TEMPLATES: dict[str, ChangeKind] = {
    "partner-application-app-only": ChangeKind.PARTNER_APPLICATIONS,
    "web-config-oauth-profiles": ChangeKind.WEB_CONFIG_PROFILES,
    "dedicated-app-override": ChangeKind.DEDICATED_APP_OVERRIDE,
    "evosts-application-identifier": ChangeKind.EVOSTS_AUTH_SERVERS,
    "evosts-duplicate": ChangeKind.EVOSTS_AUTH_SERVERS,
}
PARTNER_APPLICATIONS_SLUG = "partner-applications"


@dataclass(frozen=True, slots=True)
class Plan:
    """The change sets, what could not be planned and why, and the completed judgements."""

    change_sets: tuple[ChangeSet, ...]
    skipped: tuple[Skipped, ...]
    judgements: Judgements


def template_kind(template: str) -> ChangeKind:
    """The change a remediation template id makes; an unknown id raises naming it."""
    try:
        return TEMPLATES[template]
    except KeyError:
        raise KeyError(f"unknown remediation template {template!r}") from None


def make_plan(
    inventory: Inventory, judgements: Judgements, policy: Policy, findings: Sequence[Finding]
) -> Plan:
    """Plan the changes the active findings call for, in a deterministic order."""
    fixes = _active_fixes(findings, policy)
    notes: list[Skipped] = []
    change_sets: list[ChangeSet] = []
    app_changes, applications = _plan_partner_applications(
        inventory.partner_applications, judgements.applications, fixes, notes
    )
    if app_changes:
        change_sets.append(
            ChangeSet(
                kind=ChangeKind.PARTNER_APPLICATIONS,
                slug=PARTNER_APPLICATIONS_SLUG,
                server=None,
                partner_applications=app_changes,
            )
        )
    config_sets, profiles = _plan_web_configs(
        inventory.web_configs, judgements.profiles, fixes, notes
    )
    config_sets = _with_fleet_fixes(config_sets, profiles, findings, notes)
    change_sets.extend(_with_app_only_limits(config_sets, applications))
    override_fixes = {
        subject: found
        for (kind, subject), found in fixes.items()
        if kind is ChangeKind.DEDICATED_APP_OVERRIDE
    }
    override_set, override_notes = plan_dedicated_override(
        inventory, policy, findings, override_fixes
    )
    change_sets.extend([override_set] if override_set is not None else [])
    notes.extend(override_notes)
    server_fixes = {
        subject: found
        for (kind, subject), found in fixes.items()
        if kind is ChangeKind.EVOSTS_AUTH_SERVERS
    }
    server_set, server_notes = plan_auth_servers(inventory, policy, findings, server_fixes)
    change_sets.extend([server_set] if server_set is not None else [])
    notes.extend(server_notes)
    return Plan(
        change_sets=tuple(change_sets),
        skipped=tuple(notes),
        judgements=Judgements(applications=applications, profiles=profiles),
    )


def script_names(change_set: ChangeSet) -> tuple[str, str]:
    """Package-relative names of the remediation and rollback scripts of `change_set`."""
    return change_set.script_names


# --- which findings drive which change -----------------------------------------------------------

_Fixes = dict[tuple[ChangeKind, str], list[str]]


def _active_fixes(findings: Sequence[Finding], policy: Policy) -> _Fixes:
    """Fingerprints of the active findings per (change kind, subject), from the catalogue."""
    fixes: _Fixes = {}
    for finding in findings:
        template = policy.rule(finding.rule_id).remediation
        if finding.suppressed or template is None:
            continue
        found = fixes.setdefault((template_kind(template), finding.subject), [])
        if finding.fingerprint not in found:
            found.append(finding.fingerprint)
    return fixes


# --- partner applications --------------------------------------------------------------------


def _unplanned(judgement: ApplicationJudgement) -> ApplicationJudgement:
    rows = tuple(dataclasses.replace(row, after=row.app_only) for row in judgement.permissions)
    return dataclasses.replace(judgement, permissions=rows)


def _plan_partner_applications(
    apps: Sequence[PartnerApplication],
    judgements: Sequence[ApplicationJudgement],
    fixes: _Fixes,
    notes: list[Skipped],
) -> tuple[tuple[PartnerApplicationChange, ...], tuple[ApplicationJudgement, ...]]:
    records: dict[str, list[tuple[PartnerApplication, ApplicationJudgement]]] = {}
    for app, judgement in zip(apps, judgements, strict=True):
        records.setdefault(judgement.application_identifier, []).append((app, judgement))
    changes: list[PartnerApplicationChange] = []
    planned: set[str] = set()
    for key in sorted(records):
        app, judgement = records[key][0]
        subject_fixes = tuple(fixes.get((ChangeKind.PARTNER_APPLICATIONS, app.subject), ()))
        if not subject_fixes:
            continue
        change = _app_change(records[key], subject_fixes)
        if isinstance(change, str):
            notes.append(Skipped(app.subject, change, subject_fixes))
            continue
        changes.append(change)
        planned.add(key)
    completed = tuple(
        judgement if judgement.application_identifier in planned else _unplanned(judgement)
        for judgement in judgements
    )
    return tuple(changes), completed


def _app_change(
    records: list[tuple[PartnerApplication, ApplicationJudgement]], fixes: tuple[str, ...]
) -> PartnerApplicationChange | str:
    """The change for one application, or the reason it cannot be planned."""
    app, judgement = records[0]
    for other, _ in records[1:]:
        if other.exported_properties() != app.exported_properties():
            return (
                f"the exports disagree on this application ({app.source.place} and "
                f"{other.source.place}); export it once more and audit again"
            )
    if not is_valid_guid(app.application_identifier):
        return "the ApplicationIdentifier is not a GUID; the script selects applications by it"
    target = judgement.target_app_only
    if not judgement.judged or target is None:
        return "the exported AppOnlyPermissions are incomplete; the drift guard needs them whole"
    invalid = [name for name in target if not is_valid_permission_name(name)]
    if invalid:
        return f"the policy approves names that are not permission names: {invalid!r}"
    audited = app.app_only_permissions.values
    granted = [name for name in target if name not in audited]
    if granted:  # the judgement never does this; a change that would grant is not planned
        return f"the change would grant {granted!r}; auditor only takes permissions away"
    if audited == target:
        return "AppOnlyPermissions already equal the approved list"
    return PartnerApplicationChange(
        application_identifier=judgement.application_identifier,
        name=app.name,
        audited_app_only=audited,
        target_app_only=target,
        fixes=fixes,
    )


# --- web.config ------------------------------------------------------------------------------


def _unplanned_profiles(judgement: ProfilesJudgement) -> ProfilesJudgement:
    """The judgement of a file no change touches: every segment kept, no target."""
    if judgement.target is None and all(t.action is TokenAction.KEEP for t in judgement.tokens):
        return judgement
    tokens = tuple(
        token
        if token.action is TokenAction.KEEP
        else dataclasses.replace(token, action=TokenAction.KEEP)
        for token in judgement.tokens
    )
    return dataclasses.replace(judgement, tokens=tokens, target=None)


def _web_config_change(
    config: WebConfig, judgement: ProfilesJudgement, fixes: tuple[str, ...]
) -> WebConfigChange | str:
    """The change for one web.config, or the reason it cannot be planned."""
    if config.oauth_profiles is None or judgement.target is None:
        return "the file has no effective OAuthHttpModule.Profiles setting"
    if config.inherited_from is not None:
        return (
            f"the file sets no OAuthHttpModule.Profiles of its own: the effective value is "
            f"inherited from {config.inherited_from}; the script edits only a file's own key, "
            "so change the value in that parent configuration by hand (or add the key to this "
            "web.config)"
        )
    try:
        vdir = layout.vdir_by_id(config.vdir)
    except KeyError:
        return f"the vdir {config.vdir!r} is unknown, so its path on the server is unknown"
    if vdir.install_path is None:
        return f"the web.config of {vdir.id!r} lives outside the Exchange install folder"
    if not is_valid_sha256(config.sha256):
        return "the file's SHA-256 is missing, so the drift guard cannot check it"
    target = judgement.target
    invalid = [t for t in target.split(PROFILE_SEPARATOR) if t and not is_valid_profile_token(t)]
    if invalid:
        return f"the policy names profile tokens that are not token names: {invalid!r}"
    audited = config.oauth_profiles.raw
    if target == audited:
        return "OAuthHttpModule.Profiles already has the target value"
    app_pool = vdir.app_pool if vdir.app_pool and is_valid_app_pool_name(vdir.app_pool) else None
    refusal = config.profiles_edit
    if refusal is not None:
        recycle = f"recycle {app_pool}" if app_pool else "recycle the vdir's application pool"
        return (
            f"the script does not edit this file in place: {refusal.why}. By hand: in "
            f"{refusal.path}, {refusal.step} '{target}', then {recycle}"
        )
    removes = [t.segment for t in judgement.tokens if t.action is TokenAction.REMOVE]
    enables = tuple(
        dict.fromkeys(
            t.canonical
            for t in judgement.tokens
            if t.action is TokenAction.ENABLE and t.canonical is not None
        )
    )
    change = WebConfigChange(
        vdir=vdir.id,
        relative_path=vdir.install_path,
        app_pool=app_pool,
        audited_sha256=config.sha256.lower(),
        audited_value=audited,
        target_value=target,
        fixes=fixes,
        removes=tuple(dict.fromkeys(removes)),
        enables=enables,
        subject=config.subject,
        path=config.path,
    )
    return undeclared_enablement(change) or change


def _plan_web_configs(
    configs: Sequence[WebConfig],
    judgements: Sequence[ProfilesJudgement],
    fixes: _Fixes,
    notes: list[Skipped],
) -> tuple[list[ChangeSet], tuple[ProfilesJudgement, ...]]:
    by_server: dict[str, list[WebConfigChange]] = {}
    first_input: dict[tuple[str, str], WebConfig] = {}
    planned: set[int] = set()
    pairs = sorted(
        enumerate(zip(configs, judgements, strict=True)),
        key=lambda item: (item[1][0].server, item[1][0].vdir, item[1][0].path, item[1][0].sha256),
    )
    for index, (config, judgement) in pairs:
        subject_fixes = tuple(fixes.get((ChangeKind.WEB_CONFIG_PROFILES, config.subject), ()))
        if not subject_fixes:
            continue
        first = first_input.setdefault((config.server, config.vdir), config)
        if first is not config:
            reason = (
                f"more than one input holds this web.config ({first.path} and {config.path}); "
                "give one copy per server and vdir"
            )
            notes.append(Skipped(config.subject, reason, subject_fixes))
            continue
        change = _web_config_change(config, judgement, subject_fixes)
        if isinstance(change, str):
            notes.append(Skipped(config.subject, change, subject_fixes))
            continue
        by_server.setdefault(config.server, []).append(change)
        planned.add(index)
    completed = tuple(
        judgement if index in planned else _unplanned_profiles(judgement)
        for index, judgement in enumerate(judgements)
    )
    change_sets: list[ChangeSet] = []
    used_slugs = {PARTNER_APPLICATIONS_SLUG}
    for server in sorted(by_server, key=lambda name: (name.casefold(), name)):
        slug = base = f"web-config-{layout.safe_slug(server)}"
        counter = 2
        while slug in used_slugs:
            slug = f"{base}-{counter}"
            counter += 1
        used_slugs.add(slug)
        changes = sorted(by_server[server], key=lambda change: change.relative_path.casefold())
        change_sets.append(
            ChangeSet(
                kind=ChangeKind.WEB_CONFIG_PROFILES,
                slug=slug,
                server=server,
                web_configs=tuple(changes),
            )
        )
    return change_sets, completed


# --- the order of an enablement ---------------------------------------------------------------


def _with_app_only_limits(
    change_sets: list[ChangeSet], applications: Sequence[ApplicationJudgement]
) -> list[ChangeSet]:
    """Each web.config set that ENABLES a token, with the partner applications' limits.

    A token enabled on a vdir makes Exchange accept the tokens it names (app-only ones for
    `V1S2SAppOnly`); it may take effect only once every partner application holds no app-only
    permission beyond what the policy approves of it (`target_app_only`, which the partner
    change sets). An application the audit could not judge (or whose identifier is not a GUID)
    gets no limit: it must hold none.
    """
    limits: dict[str, AppOnlyLimit] = {}
    for judgement in applications:
        identifier = judgement.application_identifier
        if judgement.judged and judgement.target_app_only is not None and is_valid_guid(identifier):
            limits.setdefault(
                judgement.application_identifier.lower(),
                AppOnlyLimit(
                    application_identifier=judgement.application_identifier.lower(),
                    name=judgement.name,
                    app_only=judgement.target_app_only,
                ),
            )
    ordered = tuple(limits[key] for key in sorted(limits))
    return [
        dataclasses.replace(change_set, app_only_limits=ordered)
        if change_set.enables
        else change_set
        for change_set in change_sets
    ]


# --- fleet findings --------------------------------------------------------------------------


def _with_fleet_fixes(
    change_sets: list[ChangeSet],
    profiles: Sequence[ProfilesJudgement],
    findings: Sequence[Finding],
    notes: list[Skipped],
) -> list[ChangeSet]:
    """The change sets, each change listing the active fleet findings the whole plan resolves."""
    by_vdir: dict[str, list[ProfilesJudgement]] = {}
    for judgement in profiles:
        by_vdir.setdefault(fleet_subject(judgement.vdir).casefold(), []).append(judgement)
    resolved: dict[str, list[str]] = {}  # casefolded vdir -> fingerprints the plan resolves
    for finding in findings:
        key = finding.subject.casefold()
        if finding.suppressed or key not in by_vdir:
            continue
        changed = any(j.target is not None for j in by_vdir[key])
        if changed and agree_after(by_vdir[key]):
            resolved.setdefault(key, []).append(finding.fingerprint)
            continue
        reason = (
            "the planned changes leave the servers disagreeing on these profiles"
            if changed
            else "no planned change touches this vdir; align its servers by hand"
        )
        notes.append(Skipped(finding.subject, reason, (finding.fingerprint,)))
    if not resolved:
        return change_sets
    updated: list[ChangeSet] = []
    for change_set in change_sets:
        changes = tuple(
            dataclasses.replace(
                change,
                fixes=(*change.fixes, *resolved.get(fleet_subject(change.vdir).casefold(), ())),
            )
            for change in change_set.web_configs
        )
        updated.append(dataclasses.replace(change_set, web_configs=changes))
    return updated
