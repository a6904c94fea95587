"""The waivers section (`partials/waivers.html.j2`): each waiver of the policy with its state
on `report.as_of`, the findings it suppresses and the scripts that change its subject anyway,
as `Report.decisions.waivers` decided them.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.decisions import EXPIRY_WARNING_DAYS as EXPIRY_WARNING_DAYS
from auditor.decisions import WaiverState
from auditor.model import (
    Report,
    Waiver,
)
from auditor.render.html.context import FindingRef, _Context

WaiverStatus = WaiverState  # the page's name for `auditor.decisions.WaiverState`


@dataclass(frozen=True, slots=True)
class WaiverView:
    waiver: Waiver
    status: WaiverStatus
    days_left: int  # negative once expired
    suppresses: tuple[FindingRef, ...]
    fixed_by: tuple[str, ...] = ()  # remediation scripts that change the waived subject anyway


def _waivers(report: Report, context: _Context) -> tuple[WaiverView, ...]:
    refs = {finding.fingerprint: context.ref(finding) for finding in report.findings}
    return tuple(
        WaiverView(
            decision.waiver,
            decision.state,
            decision.days_left,
            tuple(refs[fingerprint] for fingerprint in decision.suppresses),
            decision.changed_by,
        )
        for decision in context.decisions.waivers
    )
