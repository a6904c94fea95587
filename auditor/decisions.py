"""Every fact the outputs state about a judged audit, decided once, before anything renders.

The rules judge permissions and tokens (`Judgements`), the planner decides what gets a script.
What every output then says about the whole is decided here, once, from the Report, and carried
on `Report.decisions` (set by `auditor.audit`): the verdict now and after the change, the
findings the change fixes and the ones that remain; each waiver's state on `as_of` (in force,
expiring soon, expired); what resolves each finding ("resolved by" names remediation script
paths, one form everywhere); what each partner-application change removes, keeps and grants;
who holds app-only permissions after the change; whether the servers agree on a vdir's profiles
(`auditor.profiles.FleetJudgement`, as rule FL001 made it); the hybrid trust's end state as a
checklist when the audit chose that class (`trust_checklist`: each item ok, a finding, or not
assessed, from the HT findings, the trust evidence the scope expected and the not-applied
reasons); where each remediation script runs (`script_reach`: on its own server, or once for
the organisation); and the exit code of an audit.

Renderers, the planner and the CLI read these values; they compare no permission names, fold
no tokens, compute no dates and decide no verdict (`tests/test_decided_once.py` enforces it).
This module sits with the model at the foundation: it imports only `auditor.model` and
`auditor.profiles`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING

from auditor.decisions_trust import trust_checklist
from auditor.model import (
    Finding,
    PartnerApplicationChange,
    PermissionJudgement,
    Presence,
    Problem,
    ProblemCode,
    Report,
    ScriptReach,
    Severity,
    Verdict,
    Waiver,
)
from auditor.model.decision import RESOLVED_BY_SHOWN as RESOLVED_BY_SHOWN
from auditor.model.decision import AppOnlyChange as AppOnlyChange
from auditor.model.decision import Decisions as Decisions
from auditor.model.decision import ExitDecision as ExitDecision
from auditor.model.decision import Held
from auditor.model.decision import PermissionOutcome as PermissionOutcome
from auditor.model.decision import Resolution as Resolution
from auditor.model.decision import ResolutionKind as ResolutionKind
from auditor.model.decision import VerdictDecision as VerdictDecision
from auditor.model.decision import WaiverDecision as WaiverDecision
from auditor.model.decision import WaiverState as WaiverState
from auditor.profiles import judge_fleet

if TYPE_CHECKING:
    from auditor.model import ApplicationJudgement

EXIT_OK = 0  # the audit is complete and nothing fails it
EXIT_FINDINGS = 1  # findings at or above `--fail-on`
EXIT_INCOMPLETE = 2  # the audit could not be completed

# A waiver that runs out within this many days of `as_of` is called out (report, policy validate).
EXPIRY_WARNING_DAYS = 30


# --- waivers -----------------------------------------------------------------------------------


def waiver_state(waiver: Waiver, as_of: datetime.date) -> tuple[WaiverState, int]:
    """The waiver's state on `as_of` and the days left until its expiry day."""
    days = (waiver.expires - as_of).days
    if days < 0:
        return WaiverState.EXPIRED, days
    if days <= EXPIRY_WARNING_DAYS:
        return WaiverState.EXPIRES_SOON, days
    return WaiverState.ACTIVE, days


# --- resolutions: what fixes each finding -------------------------------------------------------


# --- verdict -----------------------------------------------------------------------------------


def _verdict(report: Report, fixes: frozenset[str]) -> VerdictDecision:
    active = report.active_findings
    failing = tuple(f for f in active if f.severity.at_least(report.fail_on))
    remaining = tuple(f for f in active if f.fingerprint not in fixes)
    remaining_failing = tuple(f for f in remaining if f.severity.at_least(report.fail_on))
    current = report.verdict
    after: Verdict | None = None
    if report.change_sets:
        if current is Verdict.INCOMPLETE:
            after = Verdict.INCOMPLETE
        else:
            after = Verdict.FAIL if remaining_failing else Verdict.PASS
    return VerdictDecision(
        current=current,
        fail_on=report.fail_on,
        active=active,
        failing=failing,
        below=tuple(f for f in active if not f.severity.at_least(report.fail_on)),
        fixed=tuple(f for f in active if f.fingerprint in fixes),
        remaining=remaining,
        remaining_failing=remaining_failing,
        after=after,
    )


# --- permissions -------------------------------------------------------------------------------


def permission_outcome(permission: PermissionJudgement) -> PermissionOutcome:
    """The change's effect on one permission, from where it is before and after."""
    before, after = permission.app_only, permission.after
    if Presence.UNKNOWN in (before, after):
        return PermissionOutcome.UNKNOWN
    if before is Presence.YES:
        return PermissionOutcome.KEPT if after is Presence.YES else PermissionOutcome.REMOVED
    return PermissionOutcome.GRANTED if after is Presence.YES else PermissionOutcome.ABSENT


def app_only_change(change: PartnerApplicationChange) -> AppOnlyChange:
    """What the change does: the model's `removes` and `adds`, and the names it keeps."""
    removed = change.removes
    return AppOnlyChange(
        subject=change.subject,
        before=len(change.audited_app_only),
        after=len(change.target_app_only),
        removed=removed,
        kept=tuple(dict.fromkeys(n for n in change.audited_app_only if n not in removed)),
        granted=change.adds,
    )


def shows_app_only(judgement: ApplicationJudgement) -> bool:
    """True when the application holds (or may hold) an app-only permission, before or after
    the change: its permission matrix is worth showing."""
    return any(
        p.app_only is not Presence.NO or p.after is Presence.YES for p in judgement.permissions
    )


def _held_after(applications: Iterable[ApplicationJudgement]) -> Held:
    held = []
    for judgement in applications:
        names = tuple(p.name for p in judgement.permissions if p.after is Presence.YES)
        if names:
            held.append((judgement.name, names))
    return tuple(held)


# --- the decisions of one report ------------------------------------------------------------


def decide(report: Report) -> Decisions:
    """The decisions of a report whose plan is attached (`auditor.audit.attach_remediation`)."""
    plan = _PlanIndex(report)
    return Decisions(
        verdict=_verdict(report, frozenset(plan.fixed_by)),
        resolutions=plan.resolutions(report),
        waivers=_waivers(report, plan.changed_by),
        app_only_changes=plan.app_changes,
        held_after=_held_after(report.judgements.applications),
        fleets=judge_fleet(
            report.judgements.profiles, {j.vdir: j.default for j in report.judgements.profiles}
        ),
        trust=trust_checklist(report),
        reach=script_reach(report),
    )


def script_reach(report: Report) -> ScriptReach:
    """Where each remediation script of the plan runs: a change set for one server (web.config
    files) on that server only, an organisation-wide one (no server) once for the organisation."""
    per_server: list[tuple[str, str]] = []
    organisation: list[str] = []
    for change_set in report.change_sets:
        script = change_set.script_names[0]
        if change_set.server is None:
            organisation.append(script)
        else:
            per_server.append((script, change_set.server))
    return ScriptReach(tuple(per_server), tuple(organisation))


def resolutions(report: Report) -> dict[str, Resolution]:
    """What resolves each finding of `report` (by fingerprint), from its plan."""
    return _PlanIndex(report).resolutions(report)


def decided(report: Report) -> Decisions:
    """`report.decisions`, or decided now for a report built without `auditor.audit`."""
    return report.decisions if report.decisions is not None else decide(report)


class _PlanIndex:
    """The plan indexed once: the scripts that fix each finding and change each subject."""

    def __init__(self, report: Report) -> None:
        self.fixed_by: dict[str, list[str]] = {}
        self.changed_by: dict[str, list[str]] = {}
        self.app_changes: dict[str, AppOnlyChange] = {}
        self.skipped = {fp: item.reason for item in reversed(report.skipped) for fp in item.fixes}
        for item in report.plan_items():
            script = item.script_names[0]
            for fingerprint in dict.fromkeys(item.change.fixes):
                _add(self.fixed_by.setdefault(fingerprint, []), script)
            _add(self.changed_by.setdefault(item.subject, []), script)
            if isinstance(item.change, PartnerApplicationChange):
                self.app_changes[item.subject] = app_only_change(item.change)

    def resolutions(self, report: Report) -> dict[str, Resolution]:
        return {f.fingerprint: self._resolution(report, f) for f in report.findings}

    def _resolution(self, report: Report, finding: Finding) -> Resolution:
        scripts = tuple(self.fixed_by.get(finding.fingerprint, ()))
        own_template = report.policy.rule(finding.rule_id).remediation is not None
        if len(scripts) > 1 or (scripts and not own_template):
            return Resolution(ResolutionKind.TOGETHER, scripts)
        if scripts:
            return Resolution(ResolutionKind.SCRIPT, scripts)
        waived = finding.details.get("waiver") if finding.rule_id == "WV001" else None
        if isinstance(waived, dict):
            anyway = tuple(self.changed_by.get(str(waived.get("subject")), ()))
            if anyway:
                return Resolution(ResolutionKind.WAIVED_ANYWAY, anyway, str(waived.get("rule")))
        if finding.fingerprint in self.skipped:
            return Resolution(ResolutionKind.SKIPPED, reason=self.skipped[finding.fingerprint])
        return Resolution(ResolutionKind.REMAINS)


def _add(scripts: list[str], script: str) -> None:
    if script not in scripts:
        scripts.append(script)


def _waivers(report: Report, changed_by: dict[str, list[str]]) -> tuple[WaiverDecision, ...]:
    decisions = []
    for waiver in report.policy.waivers:
        state, days = waiver_state(waiver, report.as_of)
        suppresses = tuple(f.fingerprint for f in report.findings if f.waiver == waiver)
        changed = tuple(changed_by.get(waiver.subject, ()))
        decisions.append(WaiverDecision(waiver, state, days, suppresses, changed))
    return tuple(decisions)


# --- problems and the exit code ---------------------------------------------------------------


def leaves_evidence_unassessed(problem: Problem) -> bool:
    """True when a problem means evidence a rule needs was not assessed (the audit is
    incomplete, exit 2): every problem, unless its parser graded it low or info and it is not
    about incomplete evidence (fail closed when unsure)."""
    if problem.code is ProblemCode.INCOMPLETE_EVIDENCE:
        return True
    return problem.severity.at_least(Severity.MEDIUM)


def exit_decision(
    report: Report, *, allow_incomplete: bool, fail_on_new: bool, exit_zero: bool
) -> ExitDecision:
    """2 when evidence a rule needed was not assessed (unless allowed), else 1 when findings
    fail the gate (`--fail-on`, with `--fail-on-new` only the new ones), else 0; `--exit-zero`
    turns a 1 into 0."""
    if not report.complete and not allow_incomplete:
        return ExitDecision(EXIT_INCOMPLETE)
    gates: list[str] = []
    if fail_on_new and report.baseline is not None:
        new = report.new_failing()
        fails = bool(new)
        at = report.fail_on.value
        if new:
            gates.append(f"{len(new)} new finding(s) at or above {at} (--fail-on-new)")
    else:
        fails = report.failing()
    code = EXIT_FINDINGS if fails and not exit_zero else EXIT_OK
    if fail_on_new and report.baseline is not None and not fails:
        gates.append(
            f"no new findings at or above {report.fail_on.value} since the baseline "
            f"(--fail-on-new: exit {code})"
        )
    if exit_zero and fails:
        gates.append("report only (--exit-zero: exit 0)")
    return ExitDecision(code, "; ".join(gates) or None)
