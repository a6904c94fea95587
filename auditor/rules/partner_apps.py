"""Rules PA001-PA005: a partner application's AppOnlyPermissions against the policy.

A permission list that the export truncated is never compared (EV001 reports it instead).
Approved names match exactly; forbidden patterns match case-insensitively, so a mis-cased
`mail.send` is still forbidden (both choices fail closed). Every PA finding carries the same
`details` (`app_only`, `act_as`, `approved`, `excess`, `forbidden`, `not_in_act_as`) so that the
remediation planner and the report need no second look at the inventory.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.model import Finding, Location, PartnerApplication
from auditor.rules.context import RuleContext, listing, new_finding


@dataclass(frozen=True, slots=True)
class _Judgement:
    """What the policy says about one application's app-only permissions."""

    app: PartnerApplication
    known: bool
    approved: tuple[str, ...]
    excess: tuple[str, ...]
    forbidden: tuple[tuple[str, str], ...]  # (permission, pattern it matched)
    not_in_act_as: tuple[str, ...] | None  # None when ActAs is incomplete

    @property
    def label(self) -> str:
        return f"Partner application '{self.app.name}' ({self.app.application_identifier})"

    def details(self) -> dict[str, Any]:
        return {
            "application_identifier": self.app.application_identifier.lower(),
            "name": self.app.name,
            "app_only": list(_unique(self.app.app_only_permissions.values)),
            "act_as": list(self.app.act_as_permissions.values),
            "approved": list(self.approved),
            "excess": list(self.excess),
            "forbidden": [permission for permission, _ in self.forbidden],
            "forbidden_patterns": {permission: pattern for permission, pattern in self.forbidden},
            "not_in_act_as": list(self.not_in_act_as or ()),
        }

    def location(self) -> Location:
        evidence = self.app.app_only_permissions.evidence
        return Location(evidence.path, evidence.line)


def first_match(name: str, patterns: Sequence[str]) -> str | None:
    """The first pattern `name` matches (glob, case-insensitive), or None."""
    folded = name.casefold()
    for pattern in patterns:
        if fnmatch.fnmatchcase(folded, pattern.casefold()):
            return pattern
    return None


def _unique(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def _judge(context: RuleContext, app: PartnerApplication) -> _Judgement | None:
    """The judgement of a complete AppOnly list; None when it cannot be judged."""
    if not app.app_only_permissions.complete:
        return None
    app_policy = context.policy.application(app.application_identifier)
    approved = app_policy.approved_app_only if app_policy else ()
    app_only = _unique(app.app_only_permissions.values)
    approved_set = set(approved)
    forbidden: list[tuple[str, str]] = []
    for permission in app_only:
        pattern = first_match(permission, context.policy.forbidden_app_only)
        if pattern is not None:
            forbidden.append((permission, pattern))
    not_in_act_as = None
    if app.act_as_permissions.complete:
        act_as = set(app.act_as_permissions.values)
        not_in_act_as = tuple(p for p in app_only if p not in act_as)
    return _Judgement(
        app=app,
        known=app_policy is not None,
        approved=approved,
        excess=tuple(p for p in app_only if p not in approved_set),
        forbidden=tuple(forbidden),
        not_in_act_as=not_in_act_as,
    )


def _judgements(context: RuleContext) -> Iterator[_Judgement]:
    for app in context.inventory.partner_applications:
        judgement = _judge(context, app)
        if judgement is not None and judgement.app.app_only_permissions.values:
            yield judgement


def _evidence(judgement: _Judgement) -> tuple[Any, ...]:
    return (judgement.app.app_only_permissions.evidence, judgement.app.act_as_permissions.evidence)


def check_pa001(context: RuleContext) -> Iterator[Finding]:
    """PA001: AppOnlyPermissions equal ActAsPermissions (as sets, non-empty)."""
    for judgement in _judgements(context):
        app = judgement.app
        if not app.act_as_permissions.complete:
            continue
        if set(app.app_only_permissions.values) != set(app.act_as_permissions.values):
            continue
        count = len(_unique(app.act_as_permissions.values))
        yield new_finding(
            context,
            "PA001",
            subject=app.subject,
            message=(
                f"{judgement.label} has AppOnlyPermissions identical to its ActAsPermissions: "
                f"all {count} delegated permissions are granted app-only, for every mailbox."
            ),
            location=judgement.location(),
            evidence=_evidence(judgement),
            details=judgement.details(),
        )


def check_pa002(context: RuleContext) -> Iterator[Finding]:
    """PA002: AppOnlyPermissions hold names the policy does not approve for the application."""
    for judgement in _judgements(context):
        if not judgement.excess:
            continue
        approved = listing(judgement.approved) if judgement.approved else "none"
        yield new_finding(
            context,
            "PA002",
            subject=judgement.app.subject,
            message=(
                f"{judgement.label} holds {len(judgement.excess)} app-only permission(s) the "
                f"policy does not approve: {listing(judgement.excess)} (approved: {approved})."
            ),
            location=judgement.location(),
            evidence=_evidence(judgement),
            details=judgement.details(),
        )


def check_pa003(context: RuleContext) -> Iterator[Finding]:
    """PA003: AppOnlyPermissions hold permissions forbidden outright (one finding per app)."""
    for judgement in _judgements(context):
        if not judgement.forbidden:
            continue
        named = [f"{permission} ({pattern})" for permission, pattern in judgement.forbidden]
        yield new_finding(
            context,
            "PA003",
            subject=judgement.app.subject,
            message=(
                f"{judgement.label} holds {len(named)} app-only permission(s) forbidden "
                f"outright: {listing(named)}."
            ),
            location=judgement.location(),
            evidence=_evidence(judgement),
            details=judgement.details(),
        )


def check_pa004(context: RuleContext) -> Iterator[Finding]:
    """PA004: AppOnlyPermissions hold names that are not among the ActAsPermissions."""
    for judgement in _judgements(context):
        if not judgement.not_in_act_as:
            continue
        yield new_finding(
            context,
            "PA004",
            subject=judgement.app.subject,
            message=(
                f"{judgement.label} holds app-only permission(s) that are not among its "
                f"ActAsPermissions: {listing(judgement.not_in_act_as)}."
            ),
            location=judgement.location(),
            evidence=_evidence(judgement),
            details=judgement.details(),
        )


def check_pa005(context: RuleContext) -> Iterator[Finding]:
    """PA005: a partner application whose ApplicationIdentifier the policy does not know."""
    for app in context.inventory.partner_applications:
        if context.policy.application(app.application_identifier) is not None:
            continue
        yield new_finding(
            context,
            "PA005",
            subject=app.subject,
            message=(
                f"Partner application '{app.name}' ({app.application_identifier}) is not known "
                "to the policy; identify it and record it under `applications`."
            ),
            location=Location(app.source.path, app.source.line),
            evidence=(app.source,),
            details={
                "application_identifier": app.application_identifier.lower(),
                "name": app.name,
                "enabled": app.enabled,
                "linked_account": app.linked_account,
            },
        )
