"""`findings.json` and `auditor parse --json`: the stable JSON contracts of DESIGN.md section 5."""

from __future__ import annotations

import json
from typing import Any

from auditor.model import Inventory, Report


def dumps(document: Any) -> str:
    """Canonical JSON text: sorted keys, two-space indent, ASCII-safe, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def render_inventory(inventory: Inventory) -> str:
    """The `auditor parse --json` document, compact (it grows with the fleet; pipe it to jq)."""
    document = inventory.to_json()
    return json.dumps(document, sort_keys=True, ensure_ascii=True, separators=(",", ":")) + "\n"


def findings_document(report: Report) -> dict[str, Any]:
    """The `findings.json` document as a JSON-ready dict."""
    return {
        "schema_version": 1,
        "tool_version": report.tool_version,
        "as_of": report.as_of,
        "change_id": report.change_id,
        "requester": report.requester,
        "reviewers": list(report.reviewers),
        "fail_on": report.fail_on.value,
        "complete": report.complete,
        "verdict": verdict(report),
        "policy": {
            "name": report.policy.name,
            "sha256": report.policy.sha256,
            "sources": list(report.policy.sources),
        },
        "inputs": [source.to_json() for source in report.inventory.inputs],
        "counts": {severity.value: count for severity, count in report.counts().items()},
        "findings": [finding.to_json() for finding in report.findings],
        "rules_not_applied": [item.to_json() for item in report.not_applied],
        "scripts": [
            {
                "name": script.name,
                "kind": script.kind,
                "sha256": script.sha256,
                "fixes": list(script.fixes),
                "pair": script.pair,
            }
            for script in report.scripts
        ],
        "problems": [problem.to_json() for problem in report.inventory.problems],
        "skipped_inputs": list(report.inventory.skipped),
    }


def render_findings(report: Report) -> str:
    return dumps(findings_document(report))


def verdict(report: Report) -> str:
    """`incomplete`, `fail` or `pass`: the one word every output leads with."""
    if not report.complete:
        return "incomplete"
    return "fail" if report.failing() else "pass"


def plan_document(report: Report) -> dict[str, Any]:
    """`plan.json`: every change the scripts make, audited value and target, for `attest`."""
    return {
        "schema_version": 1,
        "change_id": report.change_id,
        "as_of": report.as_of,
        "inputs": [source.to_json() for source in report.inventory.inputs],
        "change_sets": [
            {
                "kind": change_set.kind.value,
                "slug": change_set.slug,
                "server": change_set.server,
                "partner_applications": [
                    {
                        "application_identifier": change.application_identifier,
                        "name": change.name,
                        "audited_app_only": list(change.audited_app_only),
                        "target_app_only": list(change.target_app_only),
                        "fixes": list(change.fixes),
                    }
                    for change in change_set.partner_applications
                ],
                "web_configs": [
                    {
                        "vdir": change.vdir,
                        "relative_path": change.relative_path,
                        "app_pool": change.app_pool,
                        "audited_sha256": change.audited_sha256,
                        "audited_value": change.audited_value,
                        "target_value": change.target_value,
                        "fixes": list(change.fixes),
                    }
                    for change in change_set.web_configs
                ],
            }
            for change_set in report.change_sets
        ],
    }


def render_plan(report: Report) -> str:
    return dumps(plan_document(report))
