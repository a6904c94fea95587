"""`findings.sarif`: SARIF 2.1.0 for code-scanning dashboards.

Rules come from the policy's catalogue; every finding is a result with a partial fingerprint
(`auditorFingerprint/v2`: v2 since a partner-application finding's fingerprint covers the
permission set it names); waived findings carry an accepted external suppression with the
waiver's ticket.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from auditor.model import Finding, Report, RuleInfo, Severity
from auditor.render.canonical import dumps
from auditor.render.rule_doc import rule_markdown

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}

# GitHub code scanning reads this property (0.0-10.0) to rank security results.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def artifact_uri(path: str) -> str:
    """A relative URI reference for an input path (forward slashes, percent-encoded).

    A file name that is not UTF-8 arrives with its bytes as lone surrogates (`os.fsdecode`):
    they are percent-encoded as those original bytes; any other lone surrogate as its
    `surrogatepass` bytes. Never an exception.
    """
    text = path.replace("\\", "/")
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    return quote(data, safe="/:@-._~")


def _rule(info: RuleInfo) -> dict[str, Any]:
    help_lines = [info.rationale, *info.references]
    return {
        "id": info.id,
        "name": info.title,
        "shortDescription": {"text": info.title},
        "fullDescription": {"text": info.rationale},
        # The same explanation as `auditor rules explain` and docs/rules/<ID>.md, offline.
        "help": {"text": "\n".join(help_lines), "markdown": rule_markdown(info)},
        "defaultConfiguration": {"level": _LEVEL[info.severity], "enabled": info.enabled},
        "properties": {
            "security-severity": _SECURITY_SEVERITY[info.severity],
            "severity": info.severity.value,
            "tags": ["security", "exchange"],
        },
    }


def _result(finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    region: dict[str, Any] = {}
    if finding.location.line is not None and finding.location.line > 0:
        region = {"region": {"startLine": finding.location.line}}
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": artifact_uri(finding.location.path)},
                    **region,
                },
                "logicalLocations": [{"fullyQualifiedName": finding.subject}],
            }
        ],
        "partialFingerprints": {"auditorFingerprint/v2": finding.fingerprint},
        "properties": {"severity": finding.severity.value, "subject": finding.subject},
    }
    if finding.rule_id in rule_index:
        result["ruleIndex"] = rule_index[finding.rule_id]
    if finding.remediation:
        result["properties"]["remediation"] = finding.remediation
    if finding.suppressed and finding.waiver is not None:
        waiver = finding.waiver
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": (
                    f"{waiver.reason} (ticket {waiver.ticket}, owner {waiver.owner}, "
                    f"approver {waiver.approver}, expires {waiver.expires})"
                ),
            }
        ]
    return result


def render_sarif(report: Report) -> str:
    """The SARIF 2.1.0 log of one audit."""
    rules = [_rule(info) for info in report.policy.rules]
    rule_index: dict[str, int] = {info.id: i for i, info in enumerate(report.policy.rules)}
    log = {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "auditor",
                        "version": report.tool_version,
                        "semanticVersion": report.tool_version,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": report.complete,
                        "toolExecutionNotifications": [
                            {
                                "level": "error",
                                "message": {"text": problem.message},
                                "locations": [
                                    {
                                        "physicalLocation": {
                                            "artifactLocation": {"uri": artifact_uri(problem.path)},
                                            **(
                                                {"region": {"startLine": problem.line}}
                                                if problem.line
                                                else {}
                                            ),
                                        }
                                    }
                                ],
                            }
                            for problem in report.inventory.problems
                        ],
                    }
                ],
                "artifacts": [
                    {
                        "location": {"uri": artifact_uri(source.path)},
                        "hashes": {"sha-256": source.sha256},
                        **({"sourceLanguage": source.format.value} if source.format else {}),
                    }
                    for source in report.inventory.inputs
                ],
                "results": [_result(finding, rule_index) for finding in report.findings],
                "properties": {
                    "asOf": report.as_of.isoformat(),
                    "changeId": report.change_id,
                    "verdict": report.verdict.value,
                    "verdictLine": report.verdict_line,
                    "scope": report.scope.to_json(),
                    "policy": {
                        "name": report.policy.name,
                        "sha256": report.policy.sha256,
                        "weakenings": [w.text for w in report.policy.weakenings],
                    },
                },
            }
        ],
    }
    return dumps(log)
