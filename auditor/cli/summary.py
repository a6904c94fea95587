"""What `auditor audit` and `auditor parse` print: the summary and the inventory, as text."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from auditor.cli.terminal import Paths, place, printable, say, show_error, terminal_width

if TYPE_CHECKING:
    from auditor.model import Finding, Inventory, Report, Waiver

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
    if inventory.excluded:
        say(f"{len(inventory.excluded)} not read on purpose")
        for item in inventory.excluded:
            folder = "/" if item.path.endswith("/") else ""
            say(f"  {shown.shown(item.path)}{folder}: {printable(item.reason)}")
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
    if inventory.trust:
        _say_trust(inventory, shown)


def _say_trust(inventory: Inventory, shown: Paths) -> None:
    """The hybrid-trust records read, by kind: each one's server (if any) and where it was read
    (`parse --json` shows their values)."""
    say()
    say("hybrid trust records (values: auditor parse --json)")
    for kind, records in inventory.trust.to_json().items():
        if not records:
            continue
        say(f"  {kind.replace('_', ' ')}: {len(records)}")
        for record in records:
            where = place(shown.shown(record["source"]["path"]), record["source"]["line"])
            server = record.get("server")
            say(f"    {printable(server) + ': ' if server else ''}{where}")


def print_problems(inventory: Inventory, shown: Paths) -> None:
    """Every problem of the inventory as one line on stderr: `error: file:line: message`, or
    `warning:` for one that leaves no evidence unassessed (as `auditor.decisions` decides)."""
    from auditor.decisions import leaves_evidence_unassessed

    for problem in inventory.problems:
        where = f"{place(shown.shown(problem.path), problem.line)}: {problem.message}"
        if leaves_evidence_unassessed(problem):
            show_error(where)
        else:
            typer.echo(f"warning: {printable(where)}", err=True)


# --- audit ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SummaryOptions:
    """What the summary shows besides the report: the policy line, the package folder, how
    paths are shown, the line saying what decided the exit code, and `-v`."""

    policy_line: str
    out_dir: Path | None
    shown: Paths
    gate: str | None = None  # e.g. "no new findings at or above high since the baseline"
    verbose: bool = False


_VERDICT_COLOUR = {"pass": "green", "fail": "red", "incomplete": "yellow"}
_SEVERITY_COLOUR = {"critical": "red", "high": "red", "medium": "yellow"}


def print_summary(report: Report, options: SummaryOptions) -> None:
    """`auditor audit`: the verdict, the policy used, counts, the findings, the package.

    The verdict line comes first (with what decided the exit code when that is not the verdict
    alone: `--fail-on-new`, `--exit-zero`). Then the findings: with a baseline every new
    unwaived finding first, never elided (what a reviewer of a later audit must see), then the
    others up to `SHOWN_FINDINGS` (`-v`: all of them, each with the waiver subject that would
    waive it); waived findings by rule and subject.
    """
    _say_headline(report, options)
    _say_findings(report, options)
    if options.out_dir is not None:
        say(
            f"package: {printable(os.path.relpath(options.out_dir))} (report.html, "
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


def _say_headline(report: Report, options: SummaryOptions) -> None:
    """The verdict line, the scope, the policy, the inputs and the counts (with the baseline's)."""
    from auditor.model import Severity

    counts = report.counts()
    summary = ", ".join(f"{counts[severity]} {severity.value}" for severity in Severity)
    waived = [finding for finding in report.findings if finding.suppressed]
    inventory = report.inventory
    gate = f"; {options.gate}" if options.gate else ""
    say(
        f"auditor {report.tool_version}: {printable(report.verdict_line)} (as of {report.as_of}, "
        f"fail on {report.fail_on.value}){gate}",
        fg=_VERDICT_COLOUR.get(report.verdict.value),
        bold=True,
    )
    say(f"scope: {printable(_scope_line(report))}")
    for weakening in report.policy.weakenings:
        say(f"WEAKENS the shipped default: {printable(weakening.text)}")
    say(f"policy: {options.policy_line}")
    say(
        f"inputs: {len(inventory.inputs)} files, "
        f"{len(inventory.partner_applications)} partner applications, "
        f"{len(inventory.web_configs)} web.config files; {len(inventory.skipped)} skipped"
        + (f" ({len(inventory.excluded)} excluded)" if inventory.excluded else "")
    )
    say(f"findings: {summary}; {len(waived)} suppressed by waivers")
    baseline = report.baseline
    if baseline is not None:
        new_count = len(report.new_findings)
        say(
            f"baseline: {new_count} new, {len(report.findings) - new_count} unchanged, "
            f"{len(baseline.fixed)} fixed (against {printable(baseline.file)})"
        )


def _say_findings(report: Report, options: SummaryOptions) -> None:
    """New findings first, then the others up to `SHOWN_FINDINGS` (`-v`: all), the waived,
    the fixed, and what has no script or was not applied."""
    active = report.active_findings
    new = [finding for finding in active if finding in report.new_findings]
    rest = [finding for finding in active if finding not in new]
    limit = len(rest) if options.verbose else max(0, SHOWN_FINDINGS - len(new))
    for finding in [*new, *rest[:limit]]:
        _say_finding(report, finding, options)
    if len(rest) > limit:
        say(f"  ... and {len(rest) - limit} more in the report (-v shows every finding)")
    for finding in report.findings:
        if finding.suppressed:
            waiver = finding.waiver
            until = (
                f" (ticket {printable(waiver.ticket)}, until {waiver.expires})" if waiver else ""
            )
            say(f"  WAIVED   {finding.rule_id}  {printable(finding.subject)}{until}")
    if report.baseline is not None:
        for fixed in report.baseline.fixed:
            say(f"  FIXED    {fixed.rule_id}  {printable(fixed.subject)}", fg="green")
    for skipped in report.skipped:
        say(f"  no script for {printable(skipped.subject)}: {printable(skipped.reason)}")
    for reason, rule_ids in _by_reason(report).items():
        say(f"  not applied: {', '.join(rule_ids)}: {reason}")


def _by_reason(report: Report) -> dict[str, list[str]]:
    """The rules not applied, by reason, each reason once (in the order it first comes)."""
    grouped: dict[str, list[str]] = {}
    for item in report.not_applied:
        grouped.setdefault(item.reason, []).append(item.rule_id)
    return grouped


def print_excluded(inventory: Inventory, shown: Paths, *, verbose: bool) -> None:
    """A note on stderr for each output of auditor left out (an earlier package, a SARIF
    file: `Excluded.own_output`, kept out of the package); `-v`: for everything excluded."""
    for item in inventory.excluded:
        if verbose or item.own_output:
            folder = "/" if item.path.endswith("/") else ""
            typer.echo(f"note: not read: {shown.shown(item.path)}{folder}: {item.reason}", err=True)


def print_unused_waivers(waivers: Sequence[Waiver], files: Sequence[Path], *, strict: bool) -> None:
    """A waiver in force that waived no finding: a warning (`--strict`: an error)."""
    given = {file.name: str(file) for file in files}
    for waiver in waivers:
        source = waiver.source or "policy"
        where = place(printable(given.get(source, source)), waiver.line)
        message = (
            f"{where}: waiver of {waiver.rule} on {printable(waiver.subject)} matched no "
            "finding (check its subject: `auditor audit -v` shows each finding's)"
        )
        if strict:
            show_error(message)
        else:
            typer.echo(f"warning: {message}", err=True)


def _scope_line(report: Report) -> str:
    scope = report.scope
    servers = ", ".join(scope.servers[:8]) + (" ..." if len(scope.servers) > 8 else "")
    shown = f": {servers}" if servers else ""
    vdirs = ", ".join(scope.vdirs)
    excluded = "".join(f"; {name} excluded ({why})" for name, why in scope.excluded[:3])
    return f"{scope.servers_text()}{shown}; judged vdirs: {vdirs}{excluded}"


def _say_finding(report: Report, finding: Finding, options: SummaryOptions) -> None:
    from auditor.model import BaselineState

    where = place(options.shown.shown(finding.location.path), finding.location.line)
    mark = ""
    state = report.baseline_state(finding)
    if state is not None:
        mark = "NEW " if state is BaselineState.NEW else "    "
    head = f"  {mark}{finding.severity.value.upper():<8} {finding.rule_id}  "
    room = terminal_width() - len(head) - len(where) - 4  # the line fits when it can
    say(
        f"{head}{_shortened(printable(finding.message), room)}  [{where}]",
        fg=_SEVERITY_COLOUR.get(finding.severity.value),
        bold=state is BaselineState.NEW,
    )
    if options.verbose:
        say(f"      waiver subject: {printable(finding.subject)} (rule {finding.rule_id})")


def _shortened(text: str, limit: int) -> str:
    """`text` cut to `limit` characters (at least 40) for the terminal; the package has the
    whole message."""
    limit = max(40, limit)
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


# --- verify, attest, collect ------------------------------------------------------------------
