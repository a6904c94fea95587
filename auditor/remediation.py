"""The remediation plan: which change each active finding calls for, as `ChangeSet`s.

Only unsuppressed findings drive changes, and a change only ever removes privilege unless the
policy explicitly approves it:

* Partner applications (one org-wide change set, slug `partner-applications`): every
  application with an active PA001-PA004 finding gets AppOnlyPermissions = the policy's approved
  list for it (default: empty) minus anything the policy forbids, in the policy's order. The
  audited list is what the export showed; the script's drift guard compares it with the live
  value. An application whose export is incomplete is not planned (EV001 covers it).
* web.config (one change set per server, slug `web-config-<server slug>`): every file with an
  active WC001/WC002 finding gets OAuthHttpModule.Profiles = the audited tokens, repaired and
  without forbidden tokens (`target_profiles`).

Whatever cannot be planned safely is not planned: `skipped` says what and why, so the report
can show it. Values that would be written to Exchange are allow-listed here (`auditor.psquote`);
a rejected value skips that change with a note, it never reaches a template.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from auditor import layout
from auditor.model import (
    ChangeKind,
    ChangeSet,
    Finding,
    Inventory,
    PartnerApplication,
    PartnerApplicationChange,
    Policy,
    VdirPolicy,
    WebConfig,
    WebConfigChange,
)
from auditor.psquote import (
    is_valid_app_pool_name,
    is_valid_guid,
    is_valid_permission_name,
    is_valid_profile_token,
    is_valid_sha256,
)

PARTNER_APPLICATION_RULES = frozenset({"PA001", "PA002", "PA003", "PA004"})
WEB_CONFIG_RULES = frozenset({"WC001", "WC002"})
PARTNER_APPLICATIONS_SLUG = "partner-applications"
PROFILE_SEPARATOR = "|"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A subject with active findings for which no change was planned, and why."""

    subject: str
    reason: str
    fixes: tuple[str, ...]  # fingerprints of the findings left without a script


def plan(
    inventory: Inventory, policy: Policy, findings: Sequence[Finding]
) -> tuple[ChangeSet, ...]:
    """The change sets the active findings call for, in a deterministic order."""
    return _plan(inventory, policy, findings)[0]


def skipped(
    inventory: Inventory, policy: Policy, findings: Sequence[Finding]
) -> tuple[Skipped, ...]:
    """The subjects with active remediable findings that `plan` left out, with the reason."""
    return _plan(inventory, policy, findings)[1]


def script_names(change_set: ChangeSet) -> tuple[str, str]:
    """Package-relative names of the remediation and rollback scripts of `change_set`."""
    return f"remediation/{change_set.slug}.ps1", f"rollback/{change_set.slug}.ps1"


# --- planning --------------------------------------------------------------------------------


def _active_fixes(findings: Sequence[Finding], subject: str, rules: frozenset[str]) -> list[str]:
    fixes: list[str] = []
    for finding in findings:
        if finding.suppressed or finding.rule_id not in rules or finding.subject != subject:
            continue
        if finding.fingerprint not in fixes:
            fixes.append(finding.fingerprint)
    return fixes


def _plan(
    inventory: Inventory, policy: Policy, findings: Sequence[Finding]
) -> tuple[tuple[ChangeSet, ...], tuple[Skipped, ...]]:
    notes: list[Skipped] = []
    change_sets: list[ChangeSet] = []
    app_changes = _plan_partner_applications(inventory, policy, findings, notes)
    if app_changes:
        change_sets.append(
            ChangeSet(
                kind=ChangeKind.PARTNER_APPLICATIONS,
                slug=PARTNER_APPLICATIONS_SLUG,
                server=None,
                partner_applications=app_changes,
            )
        )
    change_sets.extend(_plan_web_configs(inventory, policy, findings, notes))
    return tuple(change_sets), tuple(notes)


def target_app_only(application_identifier: str, policy: Policy) -> tuple[str, ...]:
    """The AppOnlyPermissions the policy wants: approved minus forbidden, in policy order.

    Forbidden globs match case-insensitively, as rule PA003 matches them.
    """
    entry = policy.application(application_identifier)
    approved = entry.approved_app_only if entry is not None else ()
    patterns = [pattern.casefold() for pattern in policy.forbidden_app_only]
    target: list[str] = []
    for name in approved:
        if any(fnmatch.fnmatchcase(name.casefold(), pattern) for pattern in patterns):
            continue
        if name not in target:
            target.append(name)
    return tuple(target)


def _plan_partner_applications(
    inventory: Inventory, policy: Policy, findings: Sequence[Finding], notes: list[Skipped]
) -> tuple[PartnerApplicationChange, ...]:
    by_id: dict[str, PartnerApplication] = {}
    duplicates: set[str] = set()
    for app in inventory.partner_applications:
        key = app.application_identifier.lower()
        if key in by_id and by_id[key].app_only_permissions.values != (
            app.app_only_permissions.values
        ):
            duplicates.add(key)
        by_id.setdefault(key, app)
    changes: list[PartnerApplicationChange] = []
    for key in sorted(by_id):
        app = by_id[key]
        fixes = _active_fixes(findings, app.subject, PARTNER_APPLICATION_RULES)
        if not fixes:
            continue

        def skip(reason: str, app: PartnerApplication = app, fixes: list[str] = fixes) -> None:
            notes.append(Skipped(app.subject, reason, tuple(fixes)))

        if not is_valid_guid(app.application_identifier):
            skip("the ApplicationIdentifier is not a GUID; the script selects applications by it")
            continue
        if key in duplicates:
            skip(
                "the inputs disagree on this application's AppOnlyPermissions; "
                "export it once more and audit again"
            )
            continue
        if not app.app_only_permissions.complete:
            skip("the exported AppOnlyPermissions are incomplete; the drift guard needs them whole")
            continue
        target = target_app_only(key, policy)
        invalid = [name for name in target if not is_valid_permission_name(name)]
        if invalid:
            skip(f"the policy approves names that are not permission names: {invalid!r}")
            continue
        audited = app.app_only_permissions.values
        if audited == target:
            skip("AppOnlyPermissions already equal the approved list")
            continue
        changes.append(
            PartnerApplicationChange(
                application_identifier=key,
                name=app.name,
                audited_app_only=audited,
                target_app_only=target,
                fixes=tuple(fixes),
            )
        )
    return tuple(changes)


def forbidden_profiles(vdir_policy: VdirPolicy | None, policy: Policy) -> frozenset[str]:
    """Profile tokens that must not stay in a vdir's OAuthHttpModule.Profiles.

    The vdir's forbidden tokens plus the ones forbidden everywhere, minus the vdir's allowed
    ones; plus the app-only tokens (`V1S2SAppOnly`) when no application has approved app-only
    permissions (as rule WC001 judges them).
    """
    forbidden = set(policy.forbidden_profiles_everywhere)
    if vdir_policy is not None:
        forbidden.update(vdir_policy.forbidden_profiles)
        forbidden.difference_update(vdir_policy.allowed_profiles)
    if not any(entry.approved_app_only for entry in policy.applications):
        forbidden.update(policy.app_only_profile_tokens)
    return frozenset(forbidden)


def target_profiles(audited: Sequence[str], vdir_policy: VdirPolicy | None, policy: Policy) -> str:
    """The repaired OAuthHttpModule.Profiles value for the audited tokens (split on `|`).

    Tokens are trimmed and their case fixed to the known token; empty segments, unknown tokens
    (Exchange drops them anyway) and forbidden tokens are removed; order is kept, duplicates
    go. A token that needed repair is only kept when the vdir's policy allows it or ships it by
    default (when the vdir policy names either), so a repair never enables a profile that the
    policy did not ask for.
    """
    forbidden = {token.casefold() for token in forbidden_profiles(vdir_policy, policy)}
    known = {token.casefold(): token for token in reversed(policy.known_profile_tokens)}
    endorsed: set[str] | None = None
    if vdir_policy is not None and (vdir_policy.allowed_profiles or vdir_policy.default_profiles):
        endorsed = set(vdir_policy.allowed_profiles) | set(vdir_policy.default_profiles or ())
    kept: list[str] = []
    for raw in audited:
        token = raw.strip()
        if not token or token.casefold() in forbidden:
            continue
        if known:
            canonical = known.get(token.casefold())
            if canonical is None:
                continue
        elif is_valid_profile_token(token):
            canonical = token
        else:
            continue
        repaired = canonical != raw
        if repaired and endorsed is not None and canonical not in endorsed:
            continue
        if is_valid_profile_token(canonical) and canonical not in kept:
            kept.append(canonical)
    return PROFILE_SEPARATOR.join(kept)


def _web_config_change(
    config: WebConfig, policy: Policy, fixes: list[str]
) -> WebConfigChange | str:
    """The change for one web.config, or the reason it cannot be planned."""
    if config.oauth_profiles is None:
        return "the file has no effective OAuthHttpModule.Profiles setting"
    try:
        vdir = layout.vdir_by_id(config.vdir)
    except KeyError:
        return f"the vdir {config.vdir!r} is unknown, so its path on the server is unknown"
    if vdir.install_path is None:
        return f"the web.config of {vdir.id!r} lives outside the Exchange install folder"
    if not is_valid_sha256(config.sha256):
        return "the file's SHA-256 is missing, so the drift guard cannot check it"
    app_pool = vdir.app_pool if vdir.app_pool and is_valid_app_pool_name(vdir.app_pool) else None
    audited = config.oauth_profiles.raw
    target = target_profiles(config.oauth_profiles.tokens, policy.vdir(vdir.id), policy)
    if target == audited:
        return "OAuthHttpModule.Profiles already has the target value"
    return WebConfigChange(
        vdir=vdir.id,
        relative_path=vdir.install_path,
        app_pool=app_pool,
        audited_sha256=config.sha256.lower(),
        audited_value=audited,
        target_value=target,
        fixes=tuple(fixes),
    )


def _plan_web_configs(
    inventory: Inventory, policy: Policy, findings: Sequence[Finding], notes: list[Skipped]
) -> list[ChangeSet]:
    by_server: dict[str, list[WebConfigChange]] = {}
    seen: set[tuple[str, str]] = set()
    ordered = sorted(inventory.web_configs, key=lambda c: (c.server, c.vdir, c.path, c.sha256))
    for config in ordered:
        fixes = _active_fixes(findings, config.subject, WEB_CONFIG_RULES)
        if not fixes:
            continue
        if (config.server, config.vdir) in seen:
            notes.append(
                Skipped(config.subject, "more than one input holds this web.config", tuple(fixes))
            )
            continue
        seen.add((config.server, config.vdir))
        change = _web_config_change(config, policy, fixes)
        if isinstance(change, str):
            notes.append(Skipped(config.subject, change, tuple(fixes)))
            continue
        by_server.setdefault(config.server, []).append(change)
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
    return change_sets
