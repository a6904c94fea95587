"""`findings.sarif`: SARIF 2.1.0 for code-scanning dashboards.

Rules come from the policy's effective rules (each declared beside its check, with the policy's
overrides): `help` is the explanation `auditor rules explain` prints, `helpUri`
`<docs_url>/<ID>.md` when the policy names where the rule pages are published; every finding is
a result with a partial fingerprint (`auditorFingerprint/v2`: v2 since a partner-application
finding's fingerprint covers the permission set it names); waived findings carry an accepted
external suppression with the waiver's ticket. Every location is relative to `%SRCROOT%`
(`originalUriBaseIds`), the folder `--sarif-root` names (`Report.artifact_path`), so a
code-scanning alert links to the file in the repository; the root's absolute path is never
written. With a baseline each result carries `baselineState` (`new`, `unchanged`); the fixed
findings (state `absent`) are listed in the run's `properties.baseline`, not as results.
`automationDetails.id` is `auditor/<change id>`.
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


SOURCE_ROOT = "%SRCROOT%"
ARCHIVE_SEPARATOR = "!/"


def _location(report: Report, path: str) -> dict[str, Any]:
    """An artifact location of an input path, relative to `%SRCROOT%`; a zip member's is its
    archive's (`collection.zip!/EX01/pa.xml` is in `collection.zip`)."""
    archive = path.split(ARCHIVE_SEPARATOR, 1)[0]
    return {"uri": artifact_uri(report.artifact_path(archive)), "uriBaseId": SOURCE_ROOT}


def _physical(report: Report, path: str, line: int | None) -> dict[str, Any]:
    """The physical location of `path:line`; the line only when it is a line of that file."""
    located: dict[str, Any] = {"artifactLocation": _location(report, path)}
    if line is not None and line > 0 and ARCHIVE_SEPARATOR not in path:
        located["region"] = {"startLine": line}
    return located


def _rule(info: RuleInfo, docs_url: str | None) -> dict[str, Any]:
    help_lines = [info.rationale, *info.references]
    return {
        "id": info.id,
        **({"helpUri": f"{docs_url}/{quote(info.id)}.md"} if docs_url else {}),
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


def _result(report: Report, finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    location: dict[str, Any] = {"logicalLocations": [{"fullyQualifiedName": finding.subject}]}
    if finding.rule_id != "WV001":  # WV001 is located in the policy, not an input
        location = {
            "physicalLocation": _physical(report, finding.location.path, finding.location.line),
            **location,
        }
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "level": _LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [location],
        "partialFingerprints": {"auditorFingerprint/v2": finding.fingerprint},
        "properties": {"severity": finding.severity.value, "subject": finding.subject},
    }
    if finding.rule_id in rule_index:
        result["ruleIndex"] = rule_index[finding.rule_id]
    state = report.baseline_state(finding)
    if state is not None:
        result["baselineState"] = state.value
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


def _baseline_properties(report: Report) -> dict[str, Any]:
    """With a baseline: its file name and the fixed findings (`baselineState` `absent`), as run
    properties rather than results: code-scanning services do not honour `kind: pass` and
    would raise an alert for each."""
    if report.baseline is None:
        return {}
    return {
        "baseline": {
            "file": report.baseline.file,
            "fixed": [item.to_json() for item in report.baseline.fixed],
        }
    }


def render_sarif(report: Report) -> str:
    """The SARIF 2.1.0 log of one audit."""
    rules = [_rule(info, report.policy.docs_url) for info in report.policy.rules]
    rule_index: dict[str, int] = {info.id: i for i, info in enumerate(report.policy.rules)}
    run = {
        "tool": {
            "driver": {
                "name": "auditor",
                "version": report.tool_version,
                "semanticVersion": report.tool_version,
                "rules": rules,
            }
        },
        "invocations": [_invocation(report)],
        "artifacts": [
            {
                "location": {
                    "uri": artifact_uri(report.artifact_path(source.path)),
                    "uriBaseId": SOURCE_ROOT,
                },
                "hashes": {"sha-256": source.sha256},
                **({"sourceLanguage": source.format.value} if source.format else {}),
            }
            for source in report.inventory.inputs
        ],
        "automationDetails": {"id": f"auditor/{report.change_id}"},
        "originalUriBaseIds": {SOURCE_ROOT: {"description": {"text": _SOURCE_ROOT_TEXT}}},
        "results": [_result(report, finding, rule_index) for finding in report.findings],
        "properties": _run_properties(report),
    }
    return dumps({"$schema": SARIF_SCHEMA_URI, "version": "2.1.0", "runs": [run]})


_SOURCE_ROOT_TEXT = (
    "The folder locations are relative to: --sarif-root, by default the working folder when "
    "the inputs lie under it (the repository checkout), else the folder holding the inputs"
)


def _invocation(report: Report) -> dict[str, Any]:
    """Whether the audit completed, and every input problem as a tool notification."""
    return {
        "executionSuccessful": report.complete,
        "toolExecutionNotifications": [
            {
                "level": "error",
                "message": {"text": problem.message},
                "locations": [{"physicalLocation": _physical(report, problem.path, problem.line)}],
            }
            for problem in report.inventory.problems
        ],
    }


def _run_properties(report: Report) -> dict[str, Any]:
    return {
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
        **_baseline_properties(report),
    }
