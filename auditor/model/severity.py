"""The one ordered scale of severities that findings, problems and `--fail-on` share.

The lowest stage of the model: inputs (a `Problem`'s severity), the policy (a rule's) and the
report (`fail_on`) all read it.
"""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    """Finding and problem severities, ordered: `Severity.CRITICAL.rank` is the highest."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def at_least(self, other: Severity) -> bool:
        """True when this severity is `other` or more severe."""
        return self.rank >= other.rank


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}
