"""The verdict at the top of the summary (`partials/summary.html.j2`): the current state of
the audited scope and what the proposed change is expected to leave, worded from the decided
verdict (`Report.decisions.verdict`: which findings fail, which the change fixes, what remains).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.model import (
    ChangeSet,
    Finding,
    Report,
)
from auditor.model import Verdict as Decided
from auditor.render.html.context import Current, _Context, _severities
from auditor.render.html.text import plural


@dataclass(frozen=True, slots=True)
class Verdict:
    current: Current
    sentence: str  # the first line of the page, word for word
    change_required: bool  # False: nothing to approve, no signature lines


def _severity_list(findings: Sequence[Finding]) -> str:
    counts = dict.fromkeys(_severities(), 0)
    for finding in findings:
        counts[finding.severity] += 1
    return ", ".join(f"{n} {severity.value}" for severity, n in counts.items() if n)


def _verdict(report: Report, context: _Context) -> Verdict:
    decided = context.verdict
    failing = _severity_list(decided.failing)
    scope = report.scope.describe()
    if context.current is Current.INCOMPLETE:
        found = f"; in what could be read: {failing}" if failing else ""
        current = f"Current configuration: INCOMPLETE for {scope} (evidence missing{found})."
    elif context.current is Current.NON_COMPLIANT:
        current = f"Current configuration: NON-COMPLIANT for {scope} ({failing})."
    else:
        below = _severity_list(decided.below)
        detail = f"{below} below {decided.fail_on.value}" if below else "no findings"
        current = f"Current configuration: PASS for {scope} ({detail})."
    active = decided.active
    if decided.after is None:
        if active and report.manual_changes:
            rest = (
                f" No script is generated: none of the {plural(len(active), 'finding')}"
                " has a generated change; the proposed change is"
                f" {plural(len(report.manual_changes), 'manual step')} of the runbook."
            )
        elif active:
            rest = (
                f" No change is proposed: none of the {plural(len(active), 'finding')}"
                " has a generated change (see what remains)."
            )
        else:
            within = " within the assessed scope" if report.scope.gaps_text() else ""
            rest = f" No change required{within}."
        return Verdict(context.current, current + rest, change_required=False)
    where = _where(report.change_sets)
    fixes = (
        f" The proposed change fixes {len(decided.fixed)} of"
        f" {plural(len(active), 'finding')} on {where}."
    )
    if decided.after is Decided.INCOMPLETE:
        after = "INCOMPLETE until the missing evidence is supplied"
    elif decided.after is Decided.FAIL:
        after = f"NON-COMPLIANT ({_severity_list(decided.remaining_failing)} remain)"
    else:
        after = "PASS"
    return Verdict(context.current, f"{current}{fixes} Expected after the change: {after}.", True)


def _where(change_sets: Sequence[ChangeSet]) -> str:
    servers = list(dict.fromkeys(cs.server for cs in change_sets if cs.server is not None))
    organisation = any(cs.server is None for cs in change_sets)
    parts = []
    if servers:
        parts.append(plural(len(servers), "server"))
    if organisation:
        parts.append("the organisation")
    return " and ".join(parts)
