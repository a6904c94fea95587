"""The hybrid-trust section (`partials/trust.html.j2`): the trust's end state as a checklist,
one line per item (the dedicated-app override, the EvoSTS AuthServer, AuthConfig, each Client
Access server's build, the auth certificate current and next, the cloud clean-up) with its
state, what was compared or why not, the evidence files and links to its findings, as
`Report.decisions.trust` decided them. Shown only when the audit chose the hybrid trust.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model import Report, TrustState
from auditor.render.html.context import FindingRef, _Context

# The existing mark colours each state is shown in (the page's style sheet stays as it is).
_MARK_CSS = {
    TrustState.OK: "approved",
    TrustState.FINDING: "forbidden",
    TrustState.NOT_ASSESSED: "incomplete",
}


@dataclass(frozen=True, slots=True)
class TrustLine:
    item: str
    rules: str  # "HT001-HT006", "HT101"
    state: str  # OK, FINDING, NOT ASSESSED
    css: str
    text: str
    evidence: tuple[str, ...]  # the first `SHOWN_EVIDENCE` files
    more_evidence: int  # how many more files (all are listed under Inputs and in findings.json)
    findings: tuple[FindingRef, ...]


# A line's evidence cell names this many files, then counts the rest: the auth certificate of
# a 500-server fleet reads 500 certificate exports, which Inputs lists one by one.
SHOWN_EVIDENCE = 8


def _trust(report: Report, context: _Context) -> tuple[TrustLine, ...] | None:
    checklist = context.decisions.trust
    if checklist is None:
        return None
    by_fingerprint = {finding.fingerprint: finding for finding in report.findings}
    return tuple(
        TrustLine(
            check.item,
            check.rules_text,
            check.state.value.upper(),
            _MARK_CSS[check.state],
            check.text,
            check.evidence[:SHOWN_EVIDENCE],
            max(0, len(check.evidence) - SHOWN_EVIDENCE),
            tuple(context.ref(by_fingerprint[fp]) for fp in check.findings),
        )
        for check in checklist.checks
    )
