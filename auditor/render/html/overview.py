"""The counts section (`partials/overview.html.j2`): active and waived findings per severity."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model import (
    Report,
    Severity,
)
from auditor.render.html.context import _severities


@dataclass(frozen=True, slots=True)
class SeverityCount:
    severity: Severity
    active: int
    suppressed: int


def _counts(report: Report) -> tuple[SeverityCount, ...]:
    active = report.counts()
    suppressed = dict.fromkeys(Severity, 0)
    for finding in report.findings:
        if finding.suppressed:
            suppressed[finding.severity] += 1
    return tuple(
        SeverityCount(severity, active[severity], suppressed[severity])
        for severity in _severities()
    )
