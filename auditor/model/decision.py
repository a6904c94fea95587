"""The decided facts every output reads (`Report.decisions`): values only, decided upstream.

Owns the values `auditor.decisions` and `auditor.profiles` decide once from a judged and planned
report: whether the servers agree on a vdir (`FleetVariant`, `FleetJudgement`), each waiver's
state (`WaiverState`, `WaiverDecision`), what resolves each finding (`ResolutionKind`,
`Resolution`, with the one wording every output uses), the verdict now and after the change
(`VerdictDecision`), what a change does to app-only permissions (`PermissionOutcome`,
`AppOnlyChange`), the exit code (`ExitDecision`), the hybrid trust's end state as a checklist
(`TrustState`, `TrustCheck`, `TrustChecklist`), where each remediation script runs
(`ScriptReach`) and all of them together (`Decisions`).
Imports only lower stages of the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from auditor.model.inputs import fleet_subject
from auditor.model.judgement import Finding
from auditor.model.policy import Waiver
from auditor.model.severity import Severity


class Verdict(StrEnum):
    """The one word every output leads with."""

    PASS = "pass"
    FAIL = "fail"
    INCOMPLETE = "incomplete"

    @property
    def configuration(self) -> str:
        """The word the change-board report uses: "Current configuration: NON-COMPLIANT"."""
        return "NON-COMPLIANT" if self is Verdict.FAIL else self.value.upper()


@dataclass(frozen=True, slots=True)
class FleetVariant:
    """The servers that honour one set of profiles on a vdir (None: no Profiles key)."""

    profiles: tuple[str, ...] | None  # in first-seen order
    servers: tuple[str, ...]
    added: tuple[str, ...] = ()  # honoured here and not in the first variant
    missing: tuple[str, ...] = ()  # honoured in the first variant and not here

    def describe(self) -> str:
        if self.profiles is None:
            return "no OAuthHttpModule.Profiles"
        return "|".join(self.profiles) if self.profiles else "no profile Exchange honours"


@dataclass(frozen=True, slots=True)
class FleetJudgement:
    """Whether the servers agree on the profiles Exchange honours on one vdir (rule FL001).

    `variants` come most servers first (the shipped default first on a tie); the servers agree
    when there is one variant.
    """

    vdir: str
    default_profiles: tuple[str, ...] | None
    variants: tuple[FleetVariant, ...]

    @property
    def subject(self) -> str:
        return fleet_subject(self.vdir)

    @property
    def agree(self) -> bool:
        return len(self.variants) < 2


# More scripts than this resolving one finding are named as a range, first and last.
RESOLVED_BY_SHOWN = 6


class WaiverState(StrEnum):
    """A waiver on `as_of`: its expiry day still counts as in force."""

    ACTIVE = "ACTIVE"
    EXPIRES_SOON = "EXPIRES SOON"  # in force, and expires within EXPIRY_WARNING_DAYS
    EXPIRED = "EXPIRED"  # suppresses nothing (WV001)

    @property
    def css(self) -> str:
        return self.name.lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class WaiverDecision:
    """One policy waiver on `as_of`, what it suppresses and which scripts change its subject."""

    waiver: Waiver
    state: WaiverState
    days_left: int  # days from `as_of` to the expiry day; negative once expired
    suppresses: tuple[str, ...] = ()  # fingerprints of the findings it waives
    changed_by: tuple[str, ...] = ()  # remediation scripts that change the waived subject


class ResolutionKind(StrEnum):
    """How the proposed change deals with one finding."""

    SCRIPT = "script"  # the finding's own remediation script fixes it
    TOGETHER = "together"  # fixed by scripts made for other findings (FL001) or by several
    WAIVED_ANYWAY = "waived-anyway"  # WV001: the change fixes the waived finding anyway
    SKIPPED = "skipped"  # the planner left it without a change, with a reason
    REMAINS = "remains"  # no change is planned for it


@dataclass(frozen=True, slots=True)
class Resolution:
    """What resolves one finding, by remediation script path (`remediation/<slug>.ps1`)."""

    kind: ResolutionKind
    scripts: tuple[str, ...] = ()
    reason: str = ""  # SKIPPED: the planner's reason; WAIVED_ANYWAY: the waived rule

    @property
    def resolved(self) -> bool:
        return self.kind in (ResolutionKind.TOGETHER, ResolutionKind.WAIVED_ANYWAY)

    @property
    def script(self) -> str | None:
        """The first script that fixes it (findings.json's `remediation`)."""
        fixes = self.kind in (ResolutionKind.SCRIPT, ResolutionKind.TOGETHER)
        return self.scripts[0] if fixes and self.scripts else None

    @property
    def text(self) -> str:
        """The one wording every output uses: `resolved by remediation/x.ps1`, `remains: ...`."""
        scripts = self.scripts
        if len(scripts) > RESOLVED_BY_SHOWN:
            named = f"the {len(scripts)} changes together ({scripts[0]}, ..., {scripts[-1]})"
        else:
            named = ", ".join(scripts)
        match self.kind:
            case ResolutionKind.SCRIPT:
                return named
            case ResolutionKind.TOGETHER:
                return f"resolved by {named}"
            case ResolutionKind.WAIVED_ANYWAY:
                return (
                    f"resolved by {named}: the proposed change fixes the waived {self.reason} "
                    "finding anyway, so the waiver need not be renewed"
                )
            case ResolutionKind.SKIPPED:
                return f"remains: {self.reason}"
            case ResolutionKind.REMAINS:
                return "remains: no change is planned for it"


@dataclass(frozen=True, slots=True)
class VerdictDecision:
    """The verdict on the current configuration and the one expected after the change."""

    current: Verdict
    fail_on: Severity
    active: tuple[Finding, ...]  # unsuppressed findings
    failing: tuple[Finding, ...]  # active, at or above `fail_on`
    below: tuple[Finding, ...]  # active, below `fail_on`
    fixed: tuple[Finding, ...]  # active, listed among the fixes of a change set
    remaining: tuple[Finding, ...]  # active, not fixed by the change
    remaining_failing: tuple[Finding, ...]  # remaining, at or above `fail_on`
    after: Verdict | None  # expected after the change; None when no change is proposed


class PermissionOutcome(StrEnum):
    """What the planned change does to one app-only permission of one application."""

    REMOVED = "removed"
    GRANTED = "granted"
    KEPT = "kept"
    UNKNOWN = "unknown"  # the list could not be judged
    ABSENT = "-"  # not granted before, not after


@dataclass(frozen=True, slots=True)
class AppOnlyChange:
    """One application's AppOnlyPermissions change: names removed, kept, granted."""

    subject: str
    before: int
    after: int
    removed: tuple[str, ...]
    kept: tuple[str, ...]
    granted: tuple[str, ...]


Held = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class ExitDecision:
    """The exit code of `auditor audit`, and what decided it when not the verdict alone."""

    code: int
    gate: str | None = None  # e.g. "report only (--exit-zero: exit 0)"


class TrustState(StrEnum):
    """Where one item of the hybrid trust's end state stands."""

    OK = "ok"  # every rule of the item ran on evidence read, and none fired
    FINDING = "finding"  # a rule of the item fired (waived or not)
    NOT_ASSESSED = "not assessed"  # a rule did not run, or its evidence was not read

    @property
    def css(self) -> str:
        return self.name.lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class TrustCheck:
    """One line of the hybrid-trust checklist: an item of the end state, its rules, its state.

    `text` says what was compared (OK), what fired (FINDING) or why not (NOT_ASSESSED);
    `evidence` the files the item's rules read (or where the missing ones belong); `findings`
    the fingerprints of the item's findings, in report order.
    """

    item: str
    rules: tuple[str, ...]
    state: TrustState
    text: str
    evidence: tuple[str, ...] = ()
    findings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "rules": list(self.rules),
            "state": self.state.value,
            "text": self.text,
            "evidence": list(self.evidence),
            "findings": list(self.findings),
        }

    @property
    def rules_text(self) -> str:
        """The rules as written: `HT111, HT113`, or the first and last of a longer run."""
        rules = self.rules
        return f"{rules[0]}-{rules[-1]}" if len(rules) > 2 else ", ".join(rules)


@dataclass(frozen=True, slots=True)
class TrustChecklist:
    """The hybrid trust's end state, item by item (`auditor.decisions.trust_checklist`)."""

    checks: tuple[TrustCheck, ...]

    def to_json(self) -> dict[str, Any]:
        return {"checks": [check.to_json() for check in self.checks]}


@dataclass(frozen=True, slots=True)
class ScriptReach:
    """Where the plan's remediation scripts run, in plan order: each per-server script on its
    own server only (`per_server`: script and server), each organisation-wide one once for the
    whole organisation (`organisation`: partner applications, the setting override, AuthServers).
    """

    per_server: tuple[tuple[str, str], ...] = ()
    organisation: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Decisions:
    """Every decided fact of one audit that the outputs show (`Report.decisions`)."""

    verdict: VerdictDecision
    resolutions: dict[str, Resolution]  # by finding fingerprint (every finding)
    waivers: tuple[WaiverDecision, ...]  # every policy waiver, in policy order
    app_only_changes: dict[str, AppOnlyChange]  # by application subject
    held_after: Held  # (application, app-only names after)
    fleets: tuple[FleetJudgement, ...]  # every vdir, whether its servers agree (FL001)
    trust: TrustChecklist | None = None  # None: the audit left the hybrid trust out
    reach: ScriptReach = ScriptReach()  # where each remediation script runs

    def resolution(self, finding: Finding) -> Resolution:
        return self.resolutions[finding.fingerprint]

    def fleet(self, subject: str) -> FleetJudgement | None:
        for judgement in self.fleets:
            if judgement.subject.casefold() == subject.casefold():
                return judgement
        return None
