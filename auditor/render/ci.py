"""`--format github` and `--format gitlab`: the findings where CI shows them.

`render_github` writes GitHub Actions workflow commands (`::error file=...,line=...::...`), one
per active finding and per input that could not be read, so each appears as an annotation on
the file; `render_gitlab` writes a GitLab code-quality report (a JSON array of issues with
`check_name`, `fingerprint`, `severity` and `location`). Both name files relative to the SARIF
root (`--sarif-root`, by default the working folder: the repository checkout), a zip member by
its archive; waived findings are left out (they are accepted risk, listed in the package).
With a baseline, a new finding's title starts with `NEW`.
"""

from __future__ import annotations

from typing import Any

from auditor.model import BaselineState, Finding, Report, Severity
from auditor.render.canonical import dumps

ARCHIVE_SEPARATOR = "!/"

_GITHUB_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}

# GitLab's code-quality severities: info, minor, major, critical, blocker.
_GITLAB_SEVERITY = {
    Severity.CRITICAL: "blocker",
    Severity.HIGH: "critical",
    Severity.MEDIUM: "major",
    Severity.LOW: "minor",
    Severity.INFO: "info",
}


def repository_path(report: Report, finding: Finding) -> str | None:
    """The finding's file relative to the SARIF root; None when it is in no input (WV001)."""
    if finding.rule_id == "WV001":
        return None
    return report.artifact_path(finding.location.path.split(ARCHIVE_SEPARATOR, 1)[0])


def _title(report: Report, finding: Finding) -> str:
    new = report.baseline_state(finding) is BaselineState.NEW
    return f"{'NEW ' if new else ''}{finding.rule_id} {finding.severity.value}: {finding.title}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(report: Report) -> str:
    """One GitHub Actions workflow command per active finding, then a notice with the verdict."""
    lines: list[str] = []
    for finding in report.active_findings:
        properties = []
        path = repository_path(report, finding)
        if path is not None:
            properties.append(f"file={_escape_property(path)}")
            line = finding.location.line
            if line is not None and line > 0 and ARCHIVE_SEPARATOR not in finding.location.path:
                properties.append(f"line={line}")
        properties.append(f"title={_escape_property(_title(report, finding))}")
        message = f"{finding.message} (subject {finding.subject})"
        level = _GITHUB_LEVEL[finding.severity]
        lines.append(f"::{level} {','.join(properties)}::{_escape_data(message)}")
    for problem in report.inventory.problems:  # what could not be read: exit 2
        archive, _, member = problem.path.partition(ARCHIVE_SEPARATOR)
        properties = [f"file={_escape_property(report.artifact_path(archive))}"]
        if problem.line is not None and problem.line > 0 and not member:
            properties.append(f"line={problem.line}")
        properties.append("title=auditor could not read this input")
        lines.append(f"::error {','.join(properties)}::{_escape_data(problem.message)}")
    lines.append(f"::notice title=auditor::{_escape_data(report.verdict_line)}")
    return "\n".join(lines) + "\n"


def render_gitlab(report: Report) -> str:
    """The GitLab code-quality report (`artifacts:reports:codequality`) of the active findings."""
    issues: list[dict[str, Any]] = []
    for finding in report.active_findings:
        path = repository_path(report, finding) or finding.location.path
        line = finding.location.line if finding.location.line and finding.location.line > 0 else 1
        issues.append(
            {
                "type": "issue",
                "check_name": str(finding.rule_id),
                "description": f"{_title(report, finding)}: {finding.message}",
                "categories": ["Security"],
                "fingerprint": finding.fingerprint,
                "severity": _GITLAB_SEVERITY[finding.severity],
                "location": {"path": path, "lines": {"begin": line}},
            }
        )
    return dumps(issues)
