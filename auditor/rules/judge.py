"""The one judgement: per permission of each application and per token of each Profiles value.

Every policy decision auditor makes about a single name is made here, once: whether an
app-only permission is approved, excess, forbidden (by which pattern) or not in ActAs, and
whether a `OAuthHttpModule.Profiles` segment is honoured, forbidden, dropped by Exchange or
added to the shipped default, and what a remediation would do with it (keep, remove, enable).
The PA and WC rules raise their findings from these judgements; the remediation planner turns
them into plan items; every renderer only displays them. The matching primitives live in
`auditor.matching` (the policy's weakening report uses them too); nothing else matches a
forbidden pattern or folds a profile token.

Matching, chosen to fail closed:

* Forbidden permission patterns are globs matched case-insensitively against the name and
  against each whitespace-separated part of it, so `mail.send` and `Mail.Send` glued into one
  string (`Mail.Read Mail.Send`) are both forbidden. Approvals match exactly.
* A profile segment is compared after case folding and removing every Unicode space, format
  and control character, so `v1s2sapponly`, `V1S2SAppOnly` + NBSP and a zero-width space inside
  all count as the forbidden token, although Exchange (exact, case-sensitive) drops them today.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from auditor.matching import (
    fold_token,
    forbidden_pattern,
    forbidden_profile_tokens,
)
from auditor.model import (
    ApplicationJudgement,
    Inventory,
    Judgements,
    Location,
    PartnerApplication,
    PermissionJudgement,
    PermissionList,
    PermissionMark,
    Policy,
    Presence,
    ProfilesJudgement,
    TokenAction,
    TokenJudgement,
    TokenMark,
    VdirPolicy,
    WebConfig,
)

# How Exchange drops a segment (`TokenJudgement.drop_kind`).
DROP_EMPTY = "empty"
DROP_WHITESPACE = "whitespace"
DROP_CASE = "case"
DROP_UNKNOWN = "unknown"

# --- partner applications ----------------------------------------------------------------------


def _presence(name: str, permissions: PermissionList, names: frozenset[str]) -> Presence:
    if name in names:
        return Presence.YES
    return Presence.NO if permissions.complete else Presence.UNKNOWN


def approved_target(
    current: Iterable[str], approved: Iterable[str], patterns: Sequence[str]
) -> tuple[str, ...]:
    """The AppOnlyPermissions a remediation sets: held and approved, not forbidden.

    In the order of the current list, each name once. A remediation only ever takes
    permissions away: whatever the policy approves, a name the application does not hold today
    is never granted by auditor (approving is not requesting).
    """
    approved_names = frozenset(approved)
    target: list[str] = []
    for name in current:
        if (
            name in approved_names
            and name not in target
            and forbidden_pattern(name, patterns) is None
        ):
            target.append(name)
    return tuple(target)


def judge_application(app: PartnerApplication, policy: Policy) -> ApplicationJudgement:
    """Every permission name of `app` (ActAs, AppOnly, approved), judged against `policy`.

    When AppOnlyPermissions are incomplete (`judged` False) only the names the export shows are
    judged, and only as forbidden: a forbidden name that is shown is certainly granted.
    """
    app_policy = policy.application(app.application_identifier)
    approved = app_policy.approved_app_only if app_policy is not None else ()
    act_as, app_only = app.act_as_permissions, app.app_only_permissions
    judged = app_only.complete
    act_as_names, app_only_names = frozenset(act_as.values), frozenset(app_only.values)
    approved_names = frozenset(approved)
    target = (
        approved_target(app_only.values, approved, policy.forbidden_app_only) if judged else None
    )
    target_names = frozenset(target or ())
    rows: list[PermissionJudgement] = []
    for name in dict.fromkeys((*act_as.values, *app_only.values, *approved)):
        in_act_as = _presence(name, act_as, act_as_names)
        in_app_only = _presence(name, app_only, app_only_names)
        is_approved = name in approved_names
        forbidden_by = None
        if in_app_only is Presence.YES:
            forbidden_by = forbidden_pattern(name, policy.forbidden_app_only)
        if target is None:
            after = Presence.UNKNOWN
        else:
            after = Presence.YES if name in target_names else Presence.NO
        rows.append(
            PermissionJudgement(
                name=name,
                act_as=in_act_as,
                app_only=in_app_only,
                approved=is_approved,
                forbidden_by=forbidden_by,
                marks=_permission_marks(
                    in_act_as, in_app_only, is_approved, forbidden_by, judged=judged
                ),
                after=after,
            )
        )
    return ApplicationJudgement(
        subject=app.subject,
        application_identifier=app.application_identifier.lower(),
        name=app.name,
        known=app_policy is not None,
        judged=judged,
        approved=approved,
        permissions=tuple(rows),
        target_app_only=target,
        source=Location(app.source.path, app.source.line),
    )


def _permission_marks(
    in_act_as: Presence,
    in_app_only: Presence,
    is_approved: bool,
    forbidden_by: str | None,
    *,
    judged: bool,
) -> tuple[PermissionMark, ...]:
    """What one permission name is: forbidden, excess, not in ActAs, approved, not granted.

    A name of an incomplete AppOnlyPermissions list (`judged` False) is only ever FORBIDDEN.
    """
    marks: list[PermissionMark] = []
    if in_app_only is Presence.YES:
        if forbidden_by is not None:
            marks.append(PermissionMark.FORBIDDEN)
        if judged:
            if not is_approved:
                marks.append(PermissionMark.EXCESS)
            if in_act_as is Presence.NO:
                marks.append(PermissionMark.NOT_IN_ACT_AS)
            if not marks:
                marks.append(PermissionMark.APPROVED)
    elif in_app_only is Presence.NO and is_approved:
        marks.append(PermissionMark.NOT_GRANTED)
    return tuple(marks)


# --- OAuthHttpModule.Profiles ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileTables:
    """The policy's profile tokens, folded once per evaluation."""

    known: frozenset[str]
    known_folded: Mapping[str, str]  # folded -> canonical spelling
    any_app_only_approved: bool

    @classmethod
    def build(cls, policy: Policy) -> ProfileTables:
        known = tuple(policy.known_profile_tokens)
        return cls(
            known=frozenset(known),
            known_folded={fold_token(token): token for token in reversed(known)},
            any_app_only_approved=any(app.approved_app_only for app in policy.applications),
        )


def forbidden_profiles(
    policy: Policy, vdir_policy: VdirPolicy | None, tables: ProfileTables
) -> dict[str, tuple[str, str]]:
    """Folded token -> (spelling, reason) for every profile token forbidden on a vdir.

    The vdir's forbidden tokens and the ones forbidden everywhere, minus the vdir's allowed
    ones (reason `forbidden`); then the app-only tokens (`V1S2SAppOnly`) while the policy
    approves no app-only permission at all (reason `no-approved-app-only`). Defined once, in
    `auditor.matching.forbidden_profile_tokens`.
    """
    return forbidden_profile_tokens(policy, vdir_policy, tables.any_app_only_approved)


def _drop_kind(segment: str, canonical: str | None) -> str:
    if segment == "":
        return DROP_EMPTY
    if canonical is None:
        return DROP_UNKNOWN
    if fold_token(segment) != segment.casefold():
        return DROP_WHITESPACE
    return DROP_CASE


@dataclass(frozen=True, slots=True)
class _VdirTokens:
    """What the policy says about profile tokens on one vdir."""

    tables: ProfileTables
    forbidden: Mapping[str, tuple[str, str]]  # from `forbidden_profiles`
    approved: frozenset[str]  # tokens a repair may enable: allowed here, or shipped default
    default: tuple[str, ...] | None

    def segment(self, segment: str) -> TokenJudgement:
        """The marks of one segment (its action is decided with the whole value in view)."""
        folded = fold_token(segment)
        exact = segment in self.tables.known
        canonical = self.tables.known_folded.get(folded) if folded else None
        marks: list[TokenMark] = []
        drop_kind = None
        if exact:
            marks.append(TokenMark.HONOURED)
        else:
            marks.append(TokenMark.DROPPED)
            drop_kind = _drop_kind(segment, canonical)
            if canonical is None and segment != "":
                marks.append(TokenMark.UNKNOWN_TOKEN)
        spelling, reason = self.forbidden.get(folded, (None, None)) if folded else (None, None)
        if reason is not None:
            marks.append(TokenMark.FORBIDDEN)
            canonical = canonical or spelling
        if exact and self.default is not None and segment not in self.default:
            marks.append(TokenMark.ADDED)
        return TokenJudgement(
            segment=segment,
            canonical=canonical,
            marks=tuple(marks),
            drop_kind=drop_kind,
            forbidden_reason=reason,
        )

    def action(
        self, token: TokenJudgement, honoured: set[str], effective_after: list[str]
    ) -> TokenAction:
        """Keep, remove or enable `token`, given what is honoured and what stays so far."""
        if token.forbidden_reason is not None or token.canonical is None:
            return TokenAction.REMOVE
        if TokenMark.HONOURED in token.marks:
            return TokenAction.REMOVE if token.segment in effective_after else TokenAction.KEEP
        canonical = token.canonical
        if canonical in honoured or canonical in effective_after or canonical not in self.approved:
            return TokenAction.REMOVE
        return TokenAction.ENABLE


# What a Profiles value judges to on a vdir: its segments' judgements, the value a repair would
# set, and the vdir's default tokens it lacks.
_Judged = tuple[tuple[TokenJudgement, ...], str, tuple[str, ...]]


def judge_profiles(
    config: WebConfig,
    policy: Policy,
    tables: ProfileTables,
    memo: dict[tuple[str, str], _Judged] | None = None,
) -> ProfilesJudgement:
    """Every segment of the file's effective Profiles value, and the value a repair would set.

    A segment is kept when Exchange honours it and nothing forbids it; removed when it is
    forbidden, empty, unknown or a duplicate; and enabled (rewritten to its canonical spelling,
    `TokenAction.ENABLE`) only when it folds to a token the policy approves on this vdir
    (`allowed_profiles`, or the vdir's shipped default) that is not forbidden and not already
    in effect. By default a padded or mis-cased forbidden token is therefore removed.

    `memo` keeps what a value judges to on a vdir for the next file with the same value there
    (`judge`: the servers of a fleet repeat their values). Measured on the 500-server fleet of
    `benchmarks/fleet.py` (12,000 web.configs), in one process: 0.13 s to 0.22 s for every
    web.config judged alone, 0.04 s for `judge` (three runs each, `process_time`).
    """
    vdir_policy = policy.vdir(config.vdir)
    default = vdir_policy.default_profiles if vdir_policy else None
    profiles = config.oauth_profiles
    if profiles is None:
        return ProfilesJudgement(
            subject=config.subject,
            server=config.server,
            vdir=config.vdir,
            path=config.path,
            line=None,
            raw=None,
            tokens=(),
            default=default,
            missing_default=tuple(default or ()),
            target=None,
        )
    judged = None if memo is None else memo.get((config.vdir, profiles.raw))
    if judged is None:
        judged = _judge_value(profiles.tokens if profiles.raw != "" else (), policy, tables, config)
        if memo is not None:
            memo[(config.vdir, profiles.raw)] = judged
    judgements, target, missing_default = judged
    return ProfilesJudgement(
        subject=config.subject,
        server=config.server,
        vdir=config.vdir,
        path=profiles.evidence.path or config.path,
        line=profiles.line,
        raw=profiles.raw,
        tokens=judgements,
        default=default,
        missing_default=missing_default,
        target=target,
    )


def _judge_value(
    segments: tuple[str, ...], policy: Policy, tables: ProfileTables, config: WebConfig
) -> _Judged:
    """What the Profiles `segments` judge to on `config`'s vdir (`judge_profiles`)."""
    vdir_policy = policy.vdir(config.vdir)
    default = vdir_policy.default_profiles if vdir_policy else None
    approved = set(default or ())
    if vdir_policy is not None:
        approved.update(vdir_policy.allowed_profiles)
    rules = _VdirTokens(
        tables=tables,
        forbidden=forbidden_profiles(policy, vdir_policy, tables),
        approved=frozenset(approved),
        default=default,
    )
    honoured = {segment for segment in segments if segment in tables.known}
    effective_after: list[str] = []
    judgements: list[TokenJudgement] = []
    for segment in segments:
        token = rules.segment(segment)
        action = rules.action(token, honoured, effective_after)
        if action is not TokenAction.REMOVE and token.canonical is not None:
            effective_after.append(token.canonical)
        judgements.append(dataclasses.replace(token, action=action))
    missing = tuple(token for token in default or () if token not in honoured)
    return tuple(judgements), "|".join(effective_after), missing


def judge(inventory: Inventory, policy: Policy) -> Judgements:
    """The judgement of every partner application and every web.config of `inventory`."""
    tables = ProfileTables.build(policy)
    memo: dict[tuple[str, str], _Judged] = {}
    return Judgements(
        applications=tuple(
            judge_application(app, policy) for app in inventory.partner_applications
        ),
        profiles=tuple(
            judge_profiles(config, policy, tables, memo) for config in inventory.web_configs
        ),
    )
