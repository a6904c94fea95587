"""What `auditor audit` and `auditor parse` print: the summary and the inventory, as text."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.cli.terminal import Paths, place, printable, say, show_error

if TYPE_CHECKING:
    from auditor.model import Finding, Inventory, Report
    from auditor.package import Comparison

SHOWN_FINDINGS = 8


def print_inventory(inventory: Inventory, shown: Paths) -> None:
    """`auditor parse`: every input, skipped file, application and web.config, as read."""
    say(f"{len(inventory.inputs)} input files")
    for source in inventory.inputs:
        fmt = source.format.value if source.format else "unknown"
        say(f"  {fmt:<12} {source.sha256[:12]}  {shown.shown(source.path)}")
    if inventory.skipped:
        say(f"{len(inventory.skipped)} skipped (never an export)")
        for skipped in inventory.skipped:
            say(f"  {shown.shown(skipped)}")
    say()
    say(f"{len(inventory.partner_applications)} partner applications")
    for record in inventory.partner_applications:
        act_as = record.act_as_permissions
        app_only = record.app_only_permissions
        enabled = {True: "yes", False: "no", None: "not in the export"}[record.enabled]
        say(f"  {printable(record.name)} ({printable(record.application_identifier)})")
        say(f"    enabled: {enabled}")
        say(f"    linked account: {printable(record.linked_account or 'none')}")
        say(
            f"    ActAs ({len(act_as.values)}{'' if act_as.complete else ', INCOMPLETE'}): "
            + (printable(", ".join(act_as.values)) or "none")
        )
        say(
            f"    AppOnly ({len(app_only.values)}{'' if app_only.complete else ', INCOMPLETE'}): "
            + (printable(", ".join(app_only.values)) or "none")
        )
        for evidence in (record.source, *record.also_in):
            say(f"    source: {place(shown.shown(evidence.path), evidence.line)}")
    say()
    say(f"{len(inventory.web_configs)} web.config files")
    for config in inventory.web_configs:
        profiles = config.oauth_profiles
        value = (
            "no OAuthHttpModule.Profiles"
            if profiles is None
            else f"{printable(profiles.raw)}  (line {profiles.line})"
        )
        say(f"  {printable(config.server)}  {printable(config.vdir)}: {value}")


def print_problems(inventory: Inventory, shown: Paths) -> None:
    """Every problem of the inventory as one `error: file:line: message` line on stderr."""
    for problem in inventory.problems:
        show_error(f"{place(shown.shown(problem.path), problem.line)}: {problem.message}")


# --- audit ------------------------------------------------------------------------------------


def print_summary(
    report: Report,
    policy_line: str,
    out_dir: Path | None,
    shown: Paths,
    comparison: Comparison | None,
) -> None:
    """`auditor audit`: the verdict, the policy used, counts, the first findings, the package.

    With a baseline, every new finding that is not waived comes first, before the verdict: it
    is what a reviewer of a later audit must see.
    """
    from auditor.model import Severity

    if comparison is not None:
        new = [finding for finding in comparison.new if not finding.suppressed]
        for finding in new[:SHOWN_FINDINGS]:
            say(_finding_line(finding, shown, comparison).lstrip())
        if len(new) > SHOWN_FINDINGS:
            say(f"NEW ... and {len(new) - SHOWN_FINDINGS} more new findings in the report")
    counts = report.counts()
    summary = ", ".join(f"{counts[severity]} {severity.value}" for severity in Severity)
    suppressed = sum(1 for finding in report.findings if finding.suppressed)
    inventory = report.inventory
    say(
        f"auditor {report.tool_version}: {printable(report.verdict_line)} (as of {report.as_of}, "
        f"fail on {report.fail_on.value})"
    )
    say(f"scope: {printable(_scope_line(report))}")
    for weakening in report.policy.weakenings:
        say(f"WEAKENS the shipped default: {printable(weakening.text)}")
    say(f"policy: {policy_line}")
    say(
        f"inputs: {len(inventory.inputs)} files, "
        f"{len(inventory.partner_applications)} partner applications, "
        f"{len(inventory.web_configs)} web.config files; {len(inventory.skipped)} skipped"
    )
    say(f"findings: {summary}; {suppressed} suppressed by waivers")
    if comparison is not None:
        say(
            f"baseline: {len(comparison.new)} new, {len(comparison.unchanged)} unchanged, "
            f"{len(comparison.fixed)} fixed"
        )
    active = report.active_findings
    for finding in active[:SHOWN_FINDINGS]:
        say(_finding_line(finding, shown, comparison))
    if len(active) > SHOWN_FINDINGS:
        say(f"  ... and {len(active) - SHOWN_FINDINGS} more in the report")
    if comparison is not None:
        for fixed in comparison.fixed:
            say(f"  FIXED    {fixed.rule_id}  {printable(fixed.subject)}")
    for skipped in report.skipped:
        say(f"  no script for {printable(skipped.subject)}: {printable(skipped.reason)}")
    for item in report.not_applied:
        say(f"  not applied: {item.rule_id}: {item.reason}")
    if out_dir is not None:
        say(
            f"package: {printable(os.path.relpath(out_dir))} (report.html, "
            f"findings.json/.sarif, junit.xml, summary.md, {len(report.scripts)} scripts, "
            "MANIFEST.sha256)"
        )
    else:
        say("package: not written (--no-package)")
    if not report.complete:
        say(
            "the audit is INCOMPLETE: evidence a rule needed is missing (exit 2); "
            "see the errors below"
        )


def _scope_line(report: Report) -> str:
    scope = report.scope
    servers = ", ".join(scope.servers[:8]) + (" ..." if len(scope.servers) > 8 else "")
    shown = f": {servers}" if servers else ""
    vdirs = ", ".join(scope.vdirs)
    excluded = "".join(f"; {name} excluded ({why})" for name, why in scope.excluded[:3])
    return f"{scope.servers_text()}{shown}; judged vdirs: {vdirs}{excluded}"


def _finding_line(finding: Finding, shown: Paths, comparison: Comparison | None) -> str:
    where = place(shown.shown(finding.location.path), finding.location.line)
    mark = ""
    if comparison is not None:
        mark = "NEW " if comparison.is_new(finding) else "    "
    return (
        f"  {mark}{finding.severity.value.upper():<8} {finding.rule_id}  "
        f"{_shortened(printable(finding.message))}  [{where}]"
    )


def _shortened(text: str, limit: int = 160) -> str:
    """`text` cut to `limit` characters for the terminal; the package has the whole message."""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


# --- verify, attest, collect ------------------------------------------------------------------
