"""`audit --baseline findings.json`: what changed since an earlier audit, by finding fingerprint.

A fingerprint does not depend on paths or line numbers (see `Finding`), so the same problem
found again in a re-export is `unchanged`; a finding whose fingerprint the baseline lacks is
`new`; a baseline finding that is no longer found is `fixed`. Suppressed findings count too: a
waiver does not make a finding new or fixed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auditor.model import Finding, Severity


class BaselineError(Exception):
    """The baseline is not a readable `findings.json`; the message names the file and why."""


@dataclass(frozen=True, slots=True)
class BaselineFinding:
    """What the baseline says of a finding: enough to name a fixed one."""

    fingerprint: str
    rule_id: str
    severity: str
    subject: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """Each current finding as new or unchanged, and the baseline findings no longer found."""

    new: tuple[Finding, ...]
    unchanged: tuple[Finding, ...]
    fixed: tuple[BaselineFinding, ...]

    def is_new(self, finding: Finding) -> bool:
        return finding in self.new

    def new_failing(self, fail_on: Severity) -> tuple[Finding, ...]:
        """New unsuppressed findings at or above `fail_on`: what `--fail-on-new` fails on."""
        return tuple(
            finding
            for finding in self.new
            if not finding.suppressed and finding.severity.at_least(fail_on)
        )


def read_baseline(path: Path) -> tuple[BaselineFinding, ...]:
    """The findings of an earlier `findings.json`; raises BaselineError when it is not one."""
    try:
        document = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: the baseline does not exist") from None
    except OSError as error:
        raise BaselineError(f"{path}: cannot be read: {error.strerror}") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise BaselineError(f"{path}: not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("schema_version") != 1:
        raise BaselineError(f"{path}: not an auditor findings.json (schema_version 1)")
    findings = document.get("findings")
    if not isinstance(findings, list):
        raise BaselineError(f"{path}: not an auditor findings.json (no findings list)")
    return tuple(_baseline_finding(path, number, item) for number, item in enumerate(findings))


def _baseline_finding(path: Path, number: int, item: Any) -> BaselineFinding:
    fields = ("fingerprint", "rule_id", "severity", "subject")
    if not isinstance(item, dict) or not all(isinstance(item.get(key), str) for key in fields):
        raise BaselineError(
            f"{path}: finding {number + 1} lacks a fingerprint, rule_id, severity or subject"
        )
    return BaselineFinding(
        fingerprint=item["fingerprint"],
        rule_id=item["rule_id"],
        severity=item["severity"],
        subject=item["subject"],
    )


def compare(findings: Sequence[Finding], baseline: Sequence[BaselineFinding]) -> Comparison:
    """Mark each finding against the baseline by fingerprint."""
    known = {item.fingerprint for item in baseline}
    current = {finding.fingerprint for finding in findings}
    return Comparison(
        new=tuple(finding for finding in findings if finding.fingerprint not in known),
        unchanged=tuple(finding for finding in findings if finding.fingerprint in known),
        fixed=tuple(item for item in baseline if item.fingerprint not in current),
    )
