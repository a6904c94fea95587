"""How a loaded policy weakens the shipped default: one `PolicyWeakening` per way, with its file.

An organisation policy may lower the bar on purpose (approve a permission, allow a token, waive
a finding); a reviewer must see every such choice next to the verdict, named with the file that
makes it, because a PASS under a weakened policy is not a PASS under the default. This module
decides what counts (`policy_weakenings`, a pure function); the loader stores the result in
`Policy.weakenings`, and outputs only display it.

What counts, each compared with the shipped default through the rules' own matching
(`auditor.matching`):

* a forbidden permission pattern removed (`forbidden_app_only`): a default pattern that no
  pattern of the policy equals or, with `*` wildcards only, matches as text (`Mail.*` still
  covers `Mail.Send*`; `Mail.Send?` does not);
* a permission approved for an application (`approved_app_only`) that a default pattern
  forbids, whether or not the policy still forbids it;
* a profile token forbidden by default no longer forbidden everywhere, or on one vdir; a token
  forbidden by default on a vdir allowed there (`allowed_profiles`), the app-only tokens
  (`V1S2SAppOnly`) included; a token no longer treated as app-only;
* a rule that is critical or high by default disabled, or given a lower severity;
* a waiver of a critical rule, whatever its expiry (in force or not is judged against
  `--as-of` elsewhere).

`source` is the file that last set the weakening setting (`PolicySource.name`, never a path);
when no file set it (a list left out of a policy loaded without the default), the last file.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator, Mapping

from auditor.matching import fold_token, forbidden_pattern, forbidden_profile_tokens
from auditor.model import Policy, PolicyWeakening, Severity, VdirPolicy, WeakeningKind

_WEAKENED_SEVERITIES = frozenset({Severity.CRITICAL, Severity.HIGH})

# `origin(*parts)`: the file (`PolicySource.name`) that last set the setting `parts` names.
_Origin = Callable[..., str]


def setting_key(*parts: str) -> str:
    """The key under which the loader records which file set a setting (`origins`)."""
    return "/".join(part.casefold() for part in parts)


def policy_weakenings(
    policy: Policy, default: Policy, origins: Mapping[str, str]
) -> tuple[PolicyWeakening, ...]:
    """Every way `policy` weakens `default` (the shipped default), sorted by (source, text).

    `origins` maps a `setting_key` to the `PolicySource.name` of the file that last set it.
    """
    fallback = policy.sources[-1] if policy.sources else "policy"

    def origin(*parts: str) -> str:
        return origins.get(setting_key(*parts), fallback)

    found = [
        *_permission_patterns(policy, default, origin),
        *_approvals(policy, default, origin),
        *_profile_tokens(policy, default, origin),
        *_rules(policy, default, origin),
        *_hybrid_trust(policy, default, origin),
        *_waivers(policy, default),
    ]
    unique = {(item.source, item.text): item for item in found}
    return tuple(unique[key] for key in sorted(unique))


def _weakening(source: str, kind: WeakeningKind, subject: str, what: str) -> PolicyWeakening:
    return PolicyWeakening(source, kind, subject, f"policy {source} {what}")


def _still_covered(pattern: str, patterns: tuple[str, ...]) -> bool:
    """True when a pattern of `patterns` forbids at least what `pattern` forbids."""
    folded = pattern.casefold()
    for other in patterns:
        candidate = other.casefold()
        if candidate == folded:
            return True
        if not set(candidate) & set("?[]!") and fnmatch.fnmatchcase(folded, candidate):
            return True
    return False


def _permission_patterns(
    policy: Policy, default: Policy, origin: _Origin
) -> Iterator[PolicyWeakening]:
    for pattern in default.forbidden_app_only:
        if not _still_covered(pattern, policy.forbidden_app_only):
            yield _weakening(
                origin("forbidden_app_only"),
                WeakeningKind.FORBIDDEN_PERMISSION_REMOVED,
                pattern,
                f"no longer forbids app-only permissions matching {pattern} (forbidden by default)",
            )


def _approvals(policy: Policy, default: Policy, origin: _Origin) -> Iterator[PolicyWeakening]:
    for app in policy.applications:
        for name in app.approved_app_only:
            pattern = forbidden_pattern(name, default.forbidden_app_only)
            if pattern is None:
                continue
            yield _weakening(
                origin("applications", app.application_identifier, "approved_app_only"),
                WeakeningKind.FORBIDDEN_PERMISSION_APPROVED,
                name,
                f"approves {name} for {app.name} (forbidden by default: {pattern})",
            )


def _vdir_ids(policy: Policy, default: Policy) -> list[str]:
    ids: dict[str, str] = {}
    for entry in (*default.vdirs, *policy.vdirs):
        ids.setdefault(entry.vdir.casefold(), entry.vdir)
    return [ids[key] for key in sorted(ids)]


def _forbidden_on(policy: Policy, vdir: VdirPolicy | None) -> dict[str, tuple[str, str]]:
    any_approved = any(app.approved_app_only for app in policy.applications)
    return forbidden_profile_tokens(policy, vdir, any_approved)


def _profile_tokens(policy: Policy, default: Policy, origin: _Origin) -> Iterator[PolicyWeakening]:
    everywhere = {fold_token(token) for token in policy.forbidden_profiles_everywhere}
    for token in default.forbidden_profiles_everywhere:
        if fold_token(token) not in everywhere:
            yield _weakening(
                origin("forbidden_profiles_everywhere"),
                WeakeningKind.FORBIDDEN_TOKEN_REMOVED,
                token,
                f"no longer forbids profile token {token} everywhere (forbidden on every vdir "
                "by default)",
            )
    app_only = {fold_token(token) for token in policy.app_only_profile_tokens}
    for token in default.app_only_profile_tokens:
        if fold_token(token) not in app_only:
            yield _weakening(
                origin("app_only_profile_tokens"),
                WeakeningKind.APP_ONLY_TOKEN_REMOVED,
                token,
                f"no longer treats profile token {token} as app-only (app-only by default, "
                "forbidden while no app-only permission is approved)",
            )
    default_app_only = {fold_token(token) for token in default.app_only_profile_tokens}
    for vdir_id in _vdir_ids(policy, default):
        yield from _vdir_tokens(policy, default, vdir_id, default_app_only, origin)


def _vdir_tokens(
    policy: Policy,
    default: Policy,
    vdir_id: str,
    default_app_only: set[str],
    origin: _Origin,
) -> Iterator[PolicyWeakening]:
    ours, theirs = policy.vdir(vdir_id), default.vdir(vdir_id)
    shown = ours.vdir if ours is not None else vdir_id
    kept = {fold_token(token) for token in (ours.forbidden_profiles if ours else ())}
    for token in theirs.forbidden_profiles if theirs else ():
        if fold_token(token) not in kept:
            yield _weakening(
                origin("vdirs", shown, "forbidden_profiles"),
                WeakeningKind.FORBIDDEN_TOKEN_REMOVED,
                token,
                f"no longer forbids profile token {token} on {shown} (forbidden there by default)",
            )
    forbidden_by_default = _forbidden_on(default, theirs)
    for token in ours.allowed_profiles if ours else ():
        folded = fold_token(token)
        if folded not in forbidden_by_default:
            continue
        what = "the app-only profile token" if folded in default_app_only else "profile token"
        yield _weakening(
            origin("vdirs", shown, "allowed_profiles"),
            WeakeningKind.FORBIDDEN_TOKEN_ALLOWED,
            token,
            f"allows {what} {token} on {shown} (forbidden there by default)",
        )


def _rules(policy: Policy, default: Policy, origin: _Origin) -> Iterator[PolicyWeakening]:
    for shipped in default.rules:
        if shipped.severity not in _WEAKENED_SEVERITIES or not shipped.enabled:
            continue
        try:
            ours = policy.rule(shipped.id)
        except KeyError:
            continue  # the loader refuses a policy without every rule; nothing to compare
        rule = str(shipped.id)
        if not ours.enabled:
            yield _weakening(
                origin("rules", rule, "enabled"),
                WeakeningKind.RULE_DISABLED,
                rule,
                f"disables rule {rule} ({shipped.severity.value} by default)",
            )
        elif ours.severity.rank < shipped.severity.rank:
            yield _weakening(
                origin("rules", rule, "severity"),
                WeakeningKind.RULE_SEVERITY_LOWERED,
                rule,
                f"lowers rule {rule} from {shipped.severity.value} to {ours.severity.value}",
            )


def _hybrid_trust(policy: Policy, default: Policy, origin: _Origin) -> Iterator[PolicyWeakening]:
    """`hybrid_trust.require_dedicated_app: false` switches rule HT001 off in effect."""
    if default.hybrid_trust.require_dedicated_app and not policy.hybrid_trust.require_dedicated_app:
        yield _weakening(
            origin("hybrid_trust", "require_dedicated_app"),
            WeakeningKind.RULE_DISABLED,
            "HT001",
            "no longer requires the dedicated Exchange hybrid app (rule HT001; required by "
            "default)",
        )


def _waivers(policy: Policy, default: Policy) -> Iterator[PolicyWeakening]:
    critical = {str(info.id) for info in default.rules if info.severity is Severity.CRITICAL}
    critical |= {str(info.id) for info in policy.rules if info.severity is Severity.CRITICAL}
    fallback = policy.sources[-1] if policy.sources else "policy"
    for waiver in policy.waivers:
        if waiver.rule not in critical:
            continue
        yield _weakening(
            waiver.source or fallback,
            WeakeningKind.CRITICAL_RULE_WAIVED,
            waiver.rule,
            f"waives critical rule {waiver.rule} for {waiver.subject} until {waiver.expires} "
            f"(ticket {waiver.ticket})",
        )
