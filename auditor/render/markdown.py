"""`summary.md`: the short human summary of an audit (also what a ticket or a PR comment shows)."""

from __future__ import annotations

from auditor.model import Report, Severity
from auditor.render.json_ import verdict


def md_cell(value: str) -> str:
    """A value made safe for one Markdown table cell: no pipes, no newlines, no HTML."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in value)
    for raw, escaped in (("\\", "\\\\"), ("|", "\\|"), ("<", "&lt;"), (">", "&gt;"), ("`", "'")):
        cleaned = cleaned.replace(raw, escaped)
    return cleaned


def render_markdown(report: Report) -> str:
    """The Markdown summary of one audit."""
    counts = report.counts()
    lines = [
        f"# auditor: {verdict(report).upper()}",
        "",
        f"- change id: `{md_cell(report.change_id)}`",
        f"- judged as of: {report.as_of}",
        f"- policy: {md_cell(report.policy.name)} (sha256 `{report.policy.sha256}`)",
        f"- fails on: {report.fail_on.value} and above",
        f"- inputs: {len(report.inventory.inputs)} files, "
        f"{len(report.inventory.partner_applications)} partner applications, "
        f"{len(report.inventory.web_configs)} web.config files",
        "",
        "| severity | active findings |",
        "|---|---|",
        *(f"| {severity.value} | {counts[severity]} |" for severity in Severity),
        "",
    ]
    if not report.complete:
        lines += [
            "**The audit is incomplete**: evidence a rule needed could not be read. "
            "Fix the inputs listed under problems and audit again.",
            "",
        ]
    lines += ["## Findings", ""]
    if report.findings:
        lines += [
            "| rule | severity | subject | where | status | script |",
            "|---|---|---|---|---|---|",
        ]
        for finding in report.findings:
            where = finding.location.path
            if finding.location.line is not None:
                where = f"{where}:{finding.location.line}"
            status = "active"
            if finding.suppressed and finding.waiver is not None:
                status = f"waived ({finding.waiver.ticket}, until {finding.waiver.expires})"
            lines.append(
                f"| {finding.rule_id} | {finding.severity.value} | {md_cell(finding.subject)} | "
                f"{md_cell(where)} | {md_cell(status)} | {md_cell(finding.remediation or '-')} |"
            )
    else:
        lines.append("No findings.")
    lines.append("")
    if report.scripts:
        lines += ["## Scripts", "", "| script | sha256 |", "|---|---|"]
        lines += [f"| {md_cell(script.name)} | `{script.sha256}` |" for script in report.scripts]
        lines.append("")
    if report.not_applied:
        lines += ["## Rules not applied", ""]
        lines += [f"- {item.rule_id}: {md_cell(item.reason)}" for item in report.not_applied]
        lines.append("")
    if report.inventory.problems:
        lines += ["## Problems", ""]
        for problem in report.inventory.problems:
            where = problem.path if problem.line is None else f"{problem.path}:{problem.line}"
            lines.append(f"- `{md_cell(where)}` {problem.code.value}: {md_cell(problem.message)}")
        lines.append("")
    return "\n".join(lines)
