"""The audit pipeline: discover and parse, evaluate, plan remediation, render scripts, one Report.

This module wires the stages together and owns nothing else: no printing, no writing (the
package writer does that), no clock (the caller passes `as_of`).
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import re
from collections.abc import Sequence
from pathlib import Path

from auditor import __version__
from auditor.heap import heap_frozen
from auditor.model import (
    EvidenceClass,
    Finding,
    Policy,
    Report,
    Script,
    ScriptKind,
    Severity,
)
from auditor.parsers.ignore import Exclusions

CHANGE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class AuditError(Exception):
    """The audit cannot start: bad arguments or an invalid policy. The message says why."""


@dataclasses.dataclass(frozen=True, slots=True)
class AuditRequest:
    """Everything an audit depends on; the same request gives a byte-identical package."""

    paths: tuple[Path, ...]
    policy_paths: tuple[Path, ...] = ()
    as_of: datetime.date = datetime.date(1970, 1, 1)
    change_id: str = ""
    fail_on: Severity = Severity.HIGH
    server: str | None = None
    allow_incomplete: bool = False
    scope: tuple[EvidenceClass, ...] = ()  # `--scope`: narrows the audit on purpose
    requester: str = ""
    reviewers: tuple[str, ...] = ()
    # What discovery leaves out (`--exclude`, `.auditorignore`, the package folder being
    # written); the policy files in use are added here.
    exclusions: Exclusions = dataclasses.field(default_factory=Exclusions)
    jobs: int | None = 1  # worker processes reading the inputs; None: the idle cores


POLICY_IN_USE = "the policy in use: never an input"


def default_change_id(as_of: datetime.date, plan_digest: str) -> str:
    """The change id used when none is given: `AUDIT-<yyyymmdd>-<8 hex of the plan>`.

    `plan_digest` is `plan_digest(report)`: two packages of one day with different plans (another
    policy, other evidence) get different ids, and so different default backup folders.
    """
    return f"AUDIT-{as_of.strftime('%Y%m%d')}-{plan_digest[:8]}"


def plan_digest(report: Report) -> str:
    """SHA-256 of the canonical plan.json document without its change id (it names the id)."""
    from auditor.render.json_ import plan_text_without_change_id

    text = plan_text_without_change_id(report)
    return hashlib.sha256(text.encode("utf-8", "backslashreplace")).hexdigest()


def package_id(report: Report) -> str:
    """The package id: SHA-256 of the package's plan.json, as `auditor.package` writes it.

    plan.json holds the change id, the inputs and every planned change, and never the scripts,
    so the scripts can carry the hash of the plan they carry out.
    """
    from auditor.render.json_ import render_plan

    return hashlib.sha256(render_plan(report).encode("utf-8", "backslashreplace")).hexdigest()


def load_policy(policy_paths: Sequence[Path]) -> Policy:
    """The shipped default policy with the given ones on top; raises AuditError when invalid."""
    from auditor.policy import PolicyError
    from auditor.policy import load_policy as load

    try:
        return load(policy_paths)
    except PolicyError as error:
        raise AuditError(str(error)) from None


def run_audit(request: AuditRequest) -> Report:
    """Run the whole audit and return the Report every renderer reads."""
    from auditor.parsers import read_inventory
    from auditor.rules import evaluate
    from auditor.scope import assess_scope

    change_id = request.change_id
    if change_id and not CHANGE_ID_PATTERN.fullmatch(change_id):
        raise AuditError(
            f"--change-id {change_id!r} is not allowed: use 1 to 64 characters from "
            "A-Z a-z 0-9 . _ - starting with a letter or digit"
        )
    policy = load_policy(request.policy_paths)
    inventory = read_inventory(
        list(request.paths),
        server=request.server,
        csv_list_separator=policy.csv_list_separator,
        exclusions=request.exclusions.never_reading(
            (path, POLICY_IN_USE, False) for path in request.policy_paths
        ),
        jobs=request.jobs,
    )
    with heap_frozen():  # every object the reading made stays: see heap_frozen
        scope, inventory = assess_scope(inventory, policy, chosen=request.scope)
        evaluation = evaluate(
            inventory,
            policy,
            as_of=request.as_of,
            allow_incomplete=request.allow_incomplete,
            scope=scope,
        )
        report = Report(
            tool_version=__version__,
            as_of=request.as_of,
            change_id=change_id,
            fail_on=request.fail_on,
            policy=policy,
            inventory=inventory,
            findings=evaluation.findings,
            not_applied=evaluation.not_applied,
            complete=evaluation.complete,
            requester=request.requester,
            reviewers=request.reviewers,
            judgements=evaluation.judgements,
            scope=scope,
        )
        return attach_remediation(report)


def attach_remediation(report: Report) -> Report:
    """Plan the changes the active findings call for, render their scripts, link the findings.

    The report gets the plan's change sets, what could not be planned (`skipped`), the
    judgements completed with what the plan does, its change id when it had none
    (`default_change_id`), its package id (`package_id`, named by every script), each
    finding's remediation script (`auditor.decisions.Resolution.script`) and, last, its
    `decisions` (`auditor.decisions.decide`): every fact the outputs state, decided once.
    """
    from auditor.decisions import decide, resolutions
    from auditor.remediation import make_plan, script_names
    from auditor.remediation_manual import plan_manual_steps
    from auditor.render.ps1 import ScriptHeader, ScriptInputs, render_change_set

    planned = make_plan(report.inventory, report.judgements, report.policy, report.findings)
    change_sets = planned.change_sets
    manual = plan_manual_steps(report.inventory, report.policy, report.findings, report.not_applied)
    report = dataclasses.replace(
        report, change_sets=change_sets, skipped=planned.skipped, manual_steps=manual
    )
    if not report.change_id:
        report = dataclasses.replace(
            report, change_id=default_change_id(report.as_of, plan_digest(report))
        )
    report = dataclasses.replace(report, package_id=package_id(report))
    scripts: list[Script] = []
    inputs = ScriptInputs(report.inventory)
    finding_ids = _FindingIds(report.findings)
    for change_set in change_sets:
        fixes = change_set.fixes
        header = ScriptHeader(
            change_id=report.change_id,
            tool_version=report.tool_version,
            policy_name=report.policy.name,
            policy_sha256=report.policy.sha256,
            input_hashes=inputs.of(change_set),
            finding_ids=finding_ids.of(fixes),
            package_id=report.package_id,
        )
        remediation_text, rollback_text = render_change_set(change_set, header)
        remediation_name, rollback_name = script_names(change_set)
        scripts.append(
            _script(
                remediation_name, ScriptKind.REMEDIATION, remediation_text, fixes, rollback_name
            )
        )
        scripts.append(
            _script(rollback_name, ScriptKind.ROLLBACK, rollback_text, fixes, remediation_name)
        )
    report = dataclasses.replace(
        report, scripts=tuple(scripts), skipped=planned.skipped, judgements=planned.judgements
    )
    resolved = resolutions(report)
    findings = tuple(
        dataclasses.replace(finding, remediation=resolved[finding.fingerprint].script)
        for finding in report.findings
    )
    report = dataclasses.replace(report, findings=findings)
    return dataclasses.replace(report, decisions=decide(report))


def _script(name: str, kind: ScriptKind, content: str, fixes: tuple[str, ...], pair: str) -> Script:
    digest = hashlib.sha256(content.encode("ascii")).hexdigest()
    return Script(name=name, kind=kind, content=content, sha256=digest, fixes=fixes, pair=pair)


class _FindingIds:
    """`RULE:fingerprint` of the findings a script fixes, in the findings' order; the findings
    are indexed once per audit, so a fleet's scripts cost what they fix, not every finding."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = findings
        self.positions: dict[str, list[int]] = {}
        for index, finding in enumerate(findings):
            self.positions.setdefault(finding.fingerprint, []).append(index)

    def of(self, fixes: tuple[str, ...]) -> tuple[str, ...]:
        indexes = sorted(index for fix in set(fixes) for index in self.positions.get(fix, ()))
        return tuple(
            f"{self.findings[index].rule_id}:{self.findings[index].fingerprint}"
            for index in indexes
        )
