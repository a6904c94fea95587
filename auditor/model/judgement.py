"""What the rules decided: findings, and every per-permission and per-token judgement.

Owns `Finding` (one rule firing on one subject), the judgement of one application's permissions
(`Presence`, `PermissionMark`, `PermissionJudgement`, `ApplicationJudgement`) and of one
web.config's Profiles value (`TokenMark`, `TokenAction`, `TokenJudgement`, `ProfilesJudgement`),
all of one audit (`Judgements`), and a rule that could not be evaluated (`NotApplied`). The
rules make these once; the planner and renderers only read them. Imports the inputs and the
policy stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from auditor.model.inputs import Evidence, Location, format_place
from auditor.model.policy import RuleId, Waiver
from auditor.model.severity import Severity


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule firing on one subject.

    `fingerprint` is stable across runs and independent of paths and line numbers (rule id,
    subject and a rule-defined discriminator), so SARIF consumers and waivers can track it.
    `details` holds the structured facts a renderer or remediation planner needs (e.g. the
    excess permissions); it is JSON-safe.
    """

    rule_id: RuleId
    severity: Severity
    title: str
    message: str
    subject: str
    location: Location
    evidence: tuple[Evidence, ...]
    fingerprint: str
    details: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    suppressed: bool = False
    waiver: Waiver | None = None
    remediation: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "subject": self.subject,
            "location": self.location.to_json(),
            "evidence": [item.to_json() for item in self.evidence],
            "details": self.details,
            "suppressed": self.suppressed,
            "waiver": self.waiver.to_json() if self.waiver else None,
            "fingerprint": self.fingerprint,
            "remediation": self.remediation,
        }


class Presence(StrEnum):
    """Whether a name is in an exported list; UNKNOWN when the list is incomplete."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class PermissionMark(StrEnum):
    """What the rules decided about one permission name of one application.

    Renderers print these words (and colour them); they never decide a mark themselves.
    """

    FORBIDDEN = "FORBIDDEN"  # granted app-only and matching a forbidden pattern (PA003)
    EXCESS = "EXCESS"  # granted app-only and not approved (PA002)
    NOT_IN_ACT_AS = "NOT IN ACTAS"  # granted app-only and not among ActAsPermissions (PA004)
    APPROVED = "APPROVED"  # granted app-only and approved
    NOT_GRANTED = "APPROVED, NOT GRANTED"  # approved and not granted app-only


@dataclass(frozen=True, slots=True)
class PermissionJudgement:
    """One permission name of one application: where it is, and what the rules decided.

    `after` says whether the name is in AppOnlyPermissions once the planned change ran
    (`Presence.UNKNOWN` when the list cannot be judged; equal to `app_only` when no change is
    planned for the application).
    """

    name: str
    act_as: Presence
    app_only: Presence
    approved: bool
    forbidden_by: str | None  # the forbidden pattern this name matches, when granted app-only
    marks: tuple[PermissionMark, ...]
    after: Presence = Presence.UNKNOWN


@dataclass(frozen=True, slots=True)
class ApplicationJudgement:
    """The judgement of one partner application's permissions (one row per distinct name)."""

    subject: str
    application_identifier: str  # lower case
    name: str
    known: bool  # the policy knows this ApplicationIdentifier
    judged: bool  # False when AppOnlyPermissions were incomplete: nothing below is a verdict
    approved: tuple[str, ...]
    permissions: tuple[PermissionJudgement, ...]
    target_app_only: tuple[str, ...] | None  # held and approved, not forbidden; None: not judged
    source: Location | None = None  # the export record judged (file and line)

    @property
    def excess(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.permissions if PermissionMark.EXCESS in p.marks)

    @property
    def forbidden(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.permissions if PermissionMark.FORBIDDEN in p.marks)


class TokenMark(StrEnum):
    """What the rules decided about one segment of an `OAuthHttpModule.Profiles` value."""

    HONOURED = "HONOURED"  # Exchange honours it as written (an exact known token)
    FORBIDDEN = "FORBIDDEN"  # equals a forbidden token (after folding case, spaces, format chars)
    DROPPED = "DROPPED"  # Exchange drops it (empty, padded, wrong case, unknown)
    ADDED = "ADDED"  # honoured, and not in the vdir's shipped default
    UNKNOWN_TOKEN = "UNKNOWN TOKEN"  # not a token the policy knows


class TokenAction(StrEnum):
    """What the planned change does with a segment."""

    KEEP = "keep"  # stays as it is
    REMOVE = "remove"  # removed from the value
    ENABLE = "enable"  # rewritten to its canonical spelling, so it takes effect where today


@dataclass(frozen=True, slots=True)
class TokenJudgement:
    """One `|`-separated segment as written, and what the rules decided about it."""

    segment: str
    canonical: str | None  # the known token it folds to, if any
    marks: tuple[TokenMark, ...]
    drop_kind: str | None  # "empty", "whitespace", "case", "unknown" when DROPPED
    action: TokenAction = TokenAction.KEEP
    forbidden_reason: str | None = None  # "forbidden" or "no-approved-app-only" when FORBIDDEN


@dataclass(frozen=True, slots=True)
class ProfilesJudgement:
    """The judgement of one web.config's effective OAuthHttpModule.Profiles value."""

    subject: str
    server: str
    vdir: str
    path: str
    line: int | None
    raw: str | None  # None when the file has no effective Profiles key
    tokens: tuple[TokenJudgement, ...]
    default: tuple[str, ...] | None  # the vdir's shipped default, when the policy has one
    missing_default: tuple[str, ...]  # default tokens Exchange does not honour here
    target: str | None  # the value after the planned change; None when no change is judged

    @property
    def place(self) -> str:
        return format_place(self.path, self.line)

    @property
    def matches_default(self) -> bool:
        if self.default is None or self.raw is None:
            return False
        honoured = {t.segment for t in self.tokens if TokenMark.HONOURED in t.marks}
        clean = all(TokenMark.HONOURED in t.marks for t in self.tokens)
        return clean and honoured == set(self.default)


@dataclass(frozen=True, slots=True)
class Judgements:
    """Every per-permission and per-token decision of one audit, made once by the rules."""

    applications: tuple[ApplicationJudgement, ...] = ()
    profiles: tuple[ProfilesJudgement, ...] = ()

    def application(self, subject: str) -> ApplicationJudgement | None:
        for judgement in self.applications:
            if judgement.subject == subject:
                return judgement
        return None


@dataclass(frozen=True, slots=True)
class NotApplied:
    """A rule that could not be evaluated, and why (no input of the kind it reads, incomplete)."""

    rule_id: RuleId
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "reason": self.reason}
