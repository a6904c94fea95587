"""`auditor audit`: read the command line, run, print.

`audit` reads its options into an `AuditRequest` and a `PackageChoice` (exit 2 on a bad one),
runs the audit and writes the package (`auditor.run`), then prints the summary or the
`--format` document, the notes and problems, and exits with the code the report decides.
"""

from __future__ import annotations

import importlib
import io
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli.apps import app, state
from auditor.cli.options import (
    POLICY_ENV,
    AsOfOption,
    ExcludeOption,
    JobsOption,
    PathsArgument,
    PolicyChoice,
    PolicyOption,
    ServerOption,
    check_server,
    exclusions,
    parse_date,
    policy_choice,
    refuse_policy_inside_inputs,
    require_paths,
)
from auditor.cli.terminal import (
    EXIT_INCOMPLETE,
    WordedCommand,
    fail,
    paths_for,
    printable,
)

if TYPE_CHECKING:
    from auditor.audit import AuditRequest
    from auditor.decisions import ExitDecision
    from auditor.model import Policy, Report
    from auditor.run import AuditOutcome, PackageChoice, Prepared


class SeverityChoice(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    SARIF = "sarif"
    MARKDOWN = "markdown"
    JUNIT = "junit"
    GITHUB = "github"
    GITLAB = "gitlab"


# --- audit ------------------------------------------------------------------------------------

OutOption = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        metavar="DIR",
        help="Package folder (default: reports/<change-id>). A non-empty folder is refused.",
    ),
]
FailOnOption = Annotated[
    SeverityChoice,
    typer.Option(
        "--fail-on",
        metavar="SEVERITY",
        help="Exit 1 at or above this severity: critical, high, medium, low or info.",
    ),
]
ChangeIdOption = Annotated[
    str | None,
    typer.Option(
        "--change-id",
        metavar="ID",
        help=(
            "Change id named in every script "
            "(default: AUDIT-<yyyymmdd>-<8 hex of the plan>, unique per package)."
        ),
    ),
]
ForceOption = Annotated[
    bool,
    typer.Option("--force", help="Replace an earlier auditor package in --out (only that)."),
]
AllowIncompleteOption = Annotated[
    bool,
    typer.Option(
        "--allow-incomplete",
        help="Finish even when evidence is incomplete (still reported as EV001/EV002).",
    ),
]
ScopeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--scope",
        metavar="CLASS",
        help=(
            "Narrow the audit on purpose: the evidence classes to assess, of "
            "partner-applications, web-config and hybrid-trust (comma-separated or repeated; "
            "all three by default); every output then says what was not assessed."
        ),
    ),
]
RequesterOption = Annotated[
    str,
    typer.Option("--requester", metavar="NAME", help="Requester printed in the approval block."),
]
ReviewerOption = Annotated[
    list[str] | None,
    typer.Option(
        "--reviewer",
        metavar="NAME",
        help="Reviewer printed in the approval block (repeatable).",
    ),
]
FormatOption = Annotated[
    OutputFormat,
    typer.Option(
        "--format",
        metavar="FORMAT",
        help="What goes to stdout: text (a summary), json (findings.json), sarif, markdown, "
        "junit, github (workflow annotations) or gitlab (code-quality JSON).",
    ),
]
NoPackageOption = Annotated[
    bool, typer.Option("--no-package", help="Evaluate only: write no change package.")
]
QuietOption = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="No text summary or notes; errors and warnings are still shown."
    ),
]
BaselineOption = Annotated[
    Path | None,
    typer.Option(
        "--baseline",
        metavar="FILE",
        help="An earlier findings.json: mark each finding new, unchanged or fixed.",
    ),
]
FailOnNewOption = Annotated[
    bool,
    typer.Option(
        "--fail-on-new",
        help="With --baseline: exit 1 only for new findings at or above --fail-on.",
    ),
]
SarifRootOption = Annotated[
    Path | None,
    typer.Option(
        "--sarif-root",
        metavar="DIR",
        help="SARIF locations are relative to DIR (the repository root; default: the "
        "working folder when the inputs lie under it).",
    ),
]
ExitZeroOption = Annotated[
    bool,
    typer.Option(
        "--exit-zero",
        help="Report only: findings never fail the run (exit 2 still means it could not complete).",
    ),
]
StrictOption = Annotated[
    bool,
    typer.Option("--strict", help="A waiver that matched no finding is an error (exit 2)."),
]
VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", help="Show every finding with the waiver subject that waives it."
    ),
]


@dataclass(frozen=True, slots=True)
class AuditOptions:
    """`auditor audit`'s command line, as given (one field per option)."""

    paths: list[Path] | None
    policy: list[Path] | None
    out: Path | None
    fail_on: SeverityChoice
    as_of: str | None
    change_id: str | None
    server: str | None
    force: bool
    allow_incomplete: bool
    scope: list[str] | None
    requester: str
    reviewer: list[str] | None
    output_format: OutputFormat
    no_package: bool
    quiet: bool
    baseline: Path | None
    fail_on_new: bool
    exclude: list[str] | None
    sarif_root: Path | None
    exit_zero: bool
    strict: bool
    verbose: bool
    jobs: int | None


@app.command(
    cls=WordedCommand, short_help="Audit exports against the policy and write the change package."
)
def audit(
    paths: PathsArgument = None,
    policy: PolicyOption = None,
    out: OutOption = None,
    fail_on: FailOnOption = SeverityChoice.HIGH,
    as_of: AsOfOption = None,
    change_id: ChangeIdOption = None,
    server: ServerOption = None,
    force: ForceOption = False,
    allow_incomplete: AllowIncompleteOption = False,
    scope: ScopeOption = None,
    requester: RequesterOption = "",
    reviewer: ReviewerOption = None,
    output_format: FormatOption = OutputFormat.TEXT,
    no_package: NoPackageOption = False,
    quiet: QuietOption = False,
    baseline: BaselineOption = None,
    fail_on_new: FailOnNewOption = False,
    exclude: ExcludeOption = None,
    sarif_root: SarifRootOption = None,
    exit_zero: ExitZeroOption = False,
    strict: StrictOption = False,
    verbose: VerboseOption = False,
    jobs: JobsOption = None,
) -> None:
    """Audit exports against the policy and write the change package (the main job).

    With no PATH, audits the bundled example exports of a two-server hybrid organisation.
    """
    options = AuditOptions(**locals())  # every parameter above, by name
    planned = _read_request(options)
    outcome = _run_audit(planned)
    from auditor.decisions import exit_decision

    decision = exit_decision(
        outcome.report,
        allow_incomplete=allow_incomplete,
        fail_on_new=fail_on_new,
        exit_zero=exit_zero,
    )
    raise typer.Exit(_print_outcome(outcome, planned, options, decision))


@dataclass(frozen=True, slots=True)
class _Planned:
    """The audit the command line asks for, checked before it runs."""

    request: AuditRequest
    policy: PolicyChoice
    package: PackageChoice
    prepared: Prepared


def _read_request(options: AuditOptions) -> _Planned:
    """The audit the command line asks for; a bad option or input is exit 2."""
    from auditor.audit import AuditRequest
    from auditor.model import Severity
    from auditor.resources import examples_dir
    from auditor.run import PACKAGE_BEING_WRITTEN, PackageChoice, RunError, default_out
    from auditor.run import prepare_audit as prepare
    from auditor.scope import ScopeError, parse_scope_option

    judged_at = parse_date(options.as_of, "--as-of")
    try:
        chosen_scope = parse_scope_option(options.scope or ())
    except ScopeError as error:
        fail(str(error))
    check_server(options.server)
    if options.fail_on_new and options.baseline is None:
        fail("--fail-on-new needs --baseline FILE (the findings.json to compare with)")
    input_paths = list(options.paths) if options.paths else [examples_dir()]
    require_paths(input_paths)
    choice = policy_choice(options.policy)
    refuse_policy_inside_inputs(choice, input_paths)
    package = PackageChoice(
        out=options.out,
        write=not options.no_package,
        force=options.force,
        baseline=options.baseline,
        sarif_root=options.sarif_root,
    )
    try:
        prepared = prepare(input_paths, package)
    except RunError as error:
        fail(str(error))
    written = options.out or default_out(options.change_id)
    request = AuditRequest(
        paths=tuple(input_paths),
        policy_paths=choice.files,
        as_of=judged_at,
        change_id=options.change_id or "",
        fail_on=Severity(options.fail_on.value),
        server=options.server,
        allow_incomplete=options.allow_incomplete,
        scope=chosen_scope,
        requester=options.requester,
        reviewers=tuple(options.reviewer or ()),
        exclusions=exclusions(
            options.exclude,
            input_paths,
            () if options.no_package else ((written, PACKAGE_BEING_WRITTEN, True),),
            _stdout_file(),
        ),
        jobs=options.jobs,
    )
    return _Planned(request, choice, package, prepared)


def _run_audit(planned: _Planned) -> AuditOutcome:
    """Run the audit and write its package; a failure is exit 2."""
    from auditor.run import RunError, audit_and_write

    def doing(what: str) -> None:
        state.doing = what

    try:
        return audit_and_write(planned.request, planned.package, planned.prepared, doing)
    except RunError as error:
        fail(str(error))


def _print_outcome(
    outcome: AuditOutcome, planned: _Planned, options: AuditOptions, decision: ExitDecision
) -> int:
    """Print the summary (or the `--format` document), notes, problems and unused waivers;
    the exit code, made 2 by `--strict` when a waiver matched nothing."""
    from auditor.cli.summary import (
        SummaryOptions,
        print_excluded,
        print_problems,
        print_summary,
        print_unused_waivers,
    )

    state.doing = "printing the result"
    code = decision.code
    report = outcome.report
    choice = planned.policy
    shown = paths_for(planned.request.paths)
    if options.output_format is OutputFormat.TEXT:
        if not options.quiet:
            print_summary(
                report,
                SummaryOptions(
                    policy_line=_policy_line(report.policy, choice),
                    out_dir=None if options.no_package else outcome.out_dir,
                    shown=shown,
                    gate=decision.gate,
                    verbose=options.verbose,
                ),
            )
    else:
        typer.echo(_document(report, options.output_format), nl=False)
    if not options.quiet:
        print_excluded(report.inventory, shown, verbose=options.verbose)
    print_problems(report.inventory, shown)
    print_unused_waivers(outcome.unused, choice.files, strict=options.strict)
    if options.strict and outcome.unused and code != EXIT_INCOMPLETE:
        return EXIT_INCOMPLETE
    return code


def _stdout_file() -> tuple[tuple[int, int], ...]:
    """(device, inode) of the file stdout is redirected to, if it is one (`> out.sarif`)."""
    try:
        status = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return ()
    return ((status.st_dev, status.st_ino),) if stat.S_ISREG(status.st_mode) else ()


# The document each `--format` but text prints: (module, renderer), imported when used.
DOCUMENTS = {
    OutputFormat.JSON: ("auditor.render.json_", "render_findings"),
    OutputFormat.SARIF: ("auditor.render.sarif", "render_sarif"),
    OutputFormat.MARKDOWN: ("auditor.render.markdown", "render_markdown"),
    OutputFormat.JUNIT: ("auditor.render.junit", "render_junit"),
    OutputFormat.GITHUB: ("auditor.render.ci", "render_github"),
    OutputFormat.GITLAB: ("auditor.render.ci", "render_gitlab"),
}


def _document(report: Report, output_format: OutputFormat) -> str:
    """The document `--format` prints: the same bytes as the package file (github, gitlab:
    the findings as CI annotations and a code-quality report)."""
    module, name = DOCUMENTS[output_format]
    render: Callable[[Report], str] = getattr(importlib.import_module(module), name)
    return render(report)


def _policy_line(policy: Policy, choice: PolicyChoice) -> str:
    if not choice.files:
        return (
            f"{printable(policy.name)} (the shipped default; no ./auditor.yaml, no ${POLICY_ENV})"
        )
    files = ", ".join(printable(str(path)) for path in choice.files)
    return f"{printable(policy.name)} from {files} (found via {choice.origin})"
