"""Build a whole `Report` (rules, waivers, plan, scripts) from an inventory and a policy."""

from __future__ import annotations

import datetime

from auditor.audit import attach_remediation
from auditor.model import Inventory, Policy, Report, Severity
from auditor.rules import evaluate

AS_OF = datetime.date(2026, 3, 1)


def audit_report(inventory: Inventory, policy: Policy, as_of: datetime.date = AS_OF) -> Report:
    """What `auditor audit` builds for `inventory` under `policy`, without reading files."""
    evaluation = evaluate(inventory, policy, as_of=as_of)
    report = Report(
        tool_version="0",
        as_of=as_of,
        change_id="CHG-1",
        fail_on=Severity.HIGH,
        policy=policy,
        inventory=inventory,
        findings=evaluation.findings,
        not_applied=evaluation.not_applied,
        complete=evaluation.complete,
        judgements=evaluation.judgements,
    )
    return attach_remediation(report)
