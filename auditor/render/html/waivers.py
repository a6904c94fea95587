"""The waivers section (`partials/waivers.html.j2`): each waiver of the policy with its status
against `report.as_of`, the findings it suppresses and the changes that fix its subject anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from auditor.model import (
    Report,
    Waiver,
)
from auditor.render.html.context import FindingRef, _Context

# Waivers that run out within this many days of `as_of` are called out in the summary.
EXPIRY_WARNING_DAYS = 30


class WaiverStatus(StrEnum):
    """A waiver judged against `report.as_of` (arithmetic on two dates, no policy)."""

    EXPIRED = "EXPIRED"
    EXPIRES_SOON = "EXPIRES SOON"
    ACTIVE = "ACTIVE"

    @property
    def css(self) -> str:
        return self.name.lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class WaiverView:
    waiver: Waiver
    status: WaiverStatus
    days_left: int  # negative once expired
    suppresses: tuple[FindingRef, ...]
    fixed_by: tuple[str, ...] = ()  # change sets that change the waived subject anyway


def _waivers(report: Report, context: _Context) -> tuple[WaiverView, ...]:
    views: list[WaiverView] = []
    for waiver in report.policy.waivers:
        days = (waiver.expires - report.as_of).days
        if days < 0:
            status = WaiverStatus.EXPIRED
        elif days <= EXPIRY_WARNING_DAYS:
            status = WaiverStatus.EXPIRES_SOON
        else:
            status = WaiverStatus.ACTIVE
        suppresses = tuple(
            context.ref(finding) for finding in report.findings if finding.waiver == waiver
        )
        fixed_by = tuple(context.changed_by.get(waiver.subject, ()))
        views.append(WaiverView(waiver, status, days, suppresses, fixed_by))
    return tuple(views)
