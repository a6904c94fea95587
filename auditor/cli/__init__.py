"""The command line (Typer): the only module that prints or exits.

Exit codes, for every command: 0 complete and nothing at or above `--fail-on`; 1 findings at or
above it (for `verify` and `attest`: a difference); 2 the command could not complete (bad
arguments, bad input, invalid policy, incomplete evidence a rule needed, an internal error:
one line naming what was being processed, `auditor --debug ...` for the traceback). A closed
stdout (`auditor rules | head`) ends the output quietly; the exit code stays the command's.

Terminal output fits the terminal (`COLUMNS`, 80 when unset and stdout is not a terminal),
shows input paths relative to the working directory and reports every error as one line,
`error: file:line: message`. Heavy modules are imported inside the commands so that
`auditor --help` starts fast.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import os
import stat
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli.terminal import (
    EXIT_FINDINGS,
    EXIT_INCOMPLETE,
    EXIT_OK,
    ColourChoice,
    PlainGroup,
    WordedCommand,
    fail,
    paths_for,
    place,
    prepare_streams,
    printable,
    say,
    set_colour,
    show_error,
)

if TYPE_CHECKING:
    from auditor.cli.terminal import Paths
    from auditor.model import Policy, Report
    from auditor.package import VerifyResult
    from auditor.parsers.ignore import Exclusions

EXIT_CODES_HELP = (
    "\b\nExit codes:\n"
    "  0  complete: nothing at or above --fail-on\n"
    "  1  findings at or above --fail-on (verify, attest: a difference)\n"
    "  2  could not complete: bad arguments or input, invalid policy, incomplete\n"
    "     evidence, internal error (auditor --debug ... shows the traceback)"
)
POLICY_ENV = "AUDITOR_POLICY"
LOCAL_POLICY = Path("auditor.yaml")

# Plain click help (no rich): `auditor --help` starts as fast as `import typer`.
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    cls=PlainGroup,
    context_settings=HELP_OPTIONS,
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Offline compliance auditor for Exchange partner applications and OAuth web.config "
    "profiles. Nothing here touches the network.",
    epilog=EXIT_CODES_HELP,
)
policy_app = typer.Typer(
    cls=PlainGroup,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Author and check policies.",
    epilog=EXIT_CODES_HELP,
)
rules_app = typer.Typer(
    cls=PlainGroup,
    rich_markup_mode=None,
    subcommand_metavar="[explain ID]",
    help="The rule catalogue: every rule auditor checks (id, severity, title).",
    epilog=EXIT_CODES_HELP,
)
schema_app = typer.Typer(
    cls=PlainGroup,
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Print the JSON Schemas of auditor's documents (findings.json, plan.json, the policy).",
    epilog=EXIT_CODES_HELP,
)
app.add_typer(policy_app, name="policy", short_help="Author and check policies.")
app.add_typer(
    schema_app,
    name="schema",
    short_help="Print the JSON Schema of findings.json, plan.json or the policy.",
)
app.add_typer(
    rules_app,
    name="rules",
    short_help="List the rule catalogue; `rules explain ID` explains one rule.",
)


@dataclass(slots=True)
class _Run:
    """What one run of the command line knows beyond its arguments."""

    debug: bool = False
    doing: str = "starting"  # what is being processed, for the one-line internal error


_run = _Run()


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


# --- output -----------------------------------------------------------------------------------


def _parse_date(value: str | None, option: str) -> datetime.date:
    if value is None:
        return datetime.date.today()
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value}: not a date; expected YYYY-MM-DD")


def _require_paths(paths: Sequence[Path]) -> None:
    missing = [str(path) for path in paths if not os.path.lexists(path)]
    if missing:
        fail("no such file or folder: " + ", ".join(missing))


def _check_server(server: str | None) -> None:
    """Exit 2 when `--server` is not a server name (`auditor.names.SERVER`)."""
    from auditor import names

    if server is not None and not names.is_server_name(server):
        fail(f"--server {server}: not a server name; expected {names.SERVER.description}")


def _refuse_dash(out: Path | None) -> None:
    if out is not None and str(out) == "-":
        fail("--out -: not a file name; leave out --out to write to stdout")


@dataclass(frozen=True, slots=True)
class _PolicyChoice:
    """The policy files in force and where they were found (for the summary)."""

    files: tuple[Path, ...]
    origin: str


def _policy_choice(given: Sequence[Path] | None) -> _PolicyChoice:
    """`--policy` files, else `AUDITOR_POLICY`, else `./auditor.yaml`, else the default only."""
    if given:
        return _PolicyChoice(tuple(given), "--policy")
    from_env = os.environ.get(POLICY_ENV, "")
    if from_env:
        return _PolicyChoice((Path(from_env),), POLICY_ENV)
    if LOCAL_POLICY.is_file():
        return _PolicyChoice((LOCAL_POLICY,), "the working folder")
    return _PolicyChoice((), "shipped default")


def _refuse_policy_inside_inputs(choice: _PolicyChoice, inputs: Sequence[Path]) -> None:
    """Exit 2 when a policy found without `--policy` lies inside one of the audit's inputs.

    Whoever wrote the evidence must not choose the policy that judges it: an `auditor.yaml`
    (or `$AUDITOR_POLICY` file) in the evidence folder could empty the forbidden lists. A
    policy given with `--policy` is the user's choice and is not checked.
    """
    if choice.origin == "--policy" or _repository_policy(choice):
        return
    for policy_file in choice.files:
        for given in inputs:
            if _lies_inside(policy_file, given):
                fail(
                    f"{policy_file}: this policy (found via {choice.origin}) lies inside the "
                    f"audit input {given}; a policy found there could have been "
                    "written by whoever produced the evidence, so it is not used. Pass it with "
                    f"--policy {policy_file} if it is really wanted"
                )


IGNORE_FILE_REASON = "auditor's ignore file"
PACKAGE_BEING_WRITTEN = "the package folder this run writes"


def _ignore_file(inputs: Sequence[Path]) -> tuple[Path, tuple[str, ...]] | None:
    """The working folder's `.auditorignore` and its lines, when it is trusted: it lies outside
    every input, or the working folder is a git repository's root (as for `./auditor.yaml`).

    One inside the evidence folder could hide evidence, so it is not used (a warning says so;
    the files it names are then read, and what is not an export is a located problem).
    """
    from auditor.parsers.ignore import IGNORE_FILE, IgnoreFileError, read_ignore_file

    path = Path(IGNORE_FILE)
    if not path.is_file():
        return None
    inside = next((given for given in inputs if _lies_inside(path, given)), None)
    if inside is not None and not os.path.exists(".git"):
        typer.echo(
            f"warning: {IGNORE_FILE}: lies inside the audit input {inside}; an ignore file "
            "there could have been written by whoever produced the evidence, so it is not used "
            "outside a git repository: pass --exclude GLOB instead",
            err=True,
        )
        return None
    try:
        return path, read_ignore_file(path)
    except IgnoreFileError as error:
        fail(str(error))


def _exclusions(
    exclude: Sequence[str] | None,
    inputs: Sequence[Path],
    never_read: Sequence[tuple[Path, str, bool]],
    never_read_files: tuple[tuple[int, int], ...] = (),
) -> Exclusions:
    """What the walk leaves out: `--exclude`, the trusted `.auditorignore` (both relative to
    the working folder), the ignore file itself and `never_read`."""
    from auditor.parsers.ignore import Exclusions

    ignore = _ignore_file(inputs)
    lines: tuple[str, ...] = ()
    files = list(never_read)
    if ignore is not None:
        lines = ignore[1]
        files.append((ignore[0], IGNORE_FILE_REASON, False))
    return Exclusions.of(
        exclude or (), files, never_read_files, ignore_lines=lines, base=os.getcwd()
    )


def _repository_policy(choice: _PolicyChoice) -> bool:
    """True for `./auditor.yaml` at the root of a git repository (the working folder holds
    `.git`): the repository's own policy, reviewed with it, never read as an input."""
    return choice.origin == "the working folder" and os.path.exists(".git")


def _lies_inside(path: Path, given: Path) -> bool:
    """True when `path` is the input `given` or lies below the folder `given` (links resolved)."""
    try:
        found, root = path.resolve(), given.resolve()
    except (OSError, RuntimeError):  # a link loop: refuse rather than guess
        return True
    return found == root or (root.is_dir() and found.is_relative_to(root))


def _load_policy(choice: _PolicyChoice, *, strict_waivers: bool = False) -> Policy:
    from auditor.policy import PolicyError, load_policy

    _run.doing = "reading the policy " + ", ".join(str(path) for path in choice.files)
    try:
        return load_policy(choice.files, strict_waivers=strict_waivers)
    except PolicyError as error:
        for each in error.errors[:-1]:
            show_error(str(each))
        fail(str(error.errors[-1]))


PathsArgument = Annotated[
    list[Path] | None,
    typer.Argument(
        metavar="PATH...",
        help="Export files or folders (folders are walked). Formats are sniffed from content.",
        show_default=False,
    ),
]
ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="NAME",
        help="Server name for inputs whose folder layout names no server.",
    ),
]
PolicyOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--policy",
        "-p",
        metavar="FILE",
        help="Policy file on top of the shipped default (repeatable; later ones win). "
        f"Default: ${POLICY_ENV}, else ./auditor.yaml when it exists.",
    ),
]
ExcludeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        metavar="GLOB",
        help="Do not read files or folders matching GLOB (gitignore syntax, relative to the "
        "working folder; repeatable), as the lines of ./.auditorignore do.",
    ),
]
JobsOption = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        metavar="N",
        min=1,
        help=(
            "Worker processes reading the inputs (default: the idle cores; 1: one process). "
            "Small audits and busy machines use one; the output is the same."
        ),
        show_default=False,
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of", metavar="DATE", help="Judge waivers and expiry on this date (YYYY-MM-DD)."
    ),
]


def _print_version(value: bool) -> None:
    if value:
        from auditor import __version__

        typer.echo(f"auditor {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            help="Print the version and exit.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="Show the traceback of an internal error (also after the command name).",
        ),
    ] = False,
    color: Annotated[
        ColourChoice,
        typer.Option(
            "--color",
            metavar="WHEN",
            help="Colour the summary: auto (a terminal, unless NO_COLOR is set; FORCE_COLOR "
            "forces it), always or never.",
        ),
    ] = ColourChoice.AUTO,
) -> None:
    _run.debug = _run.debug or debug
    set_colour(color)


# --- parse ------------------------------------------------------------------------------------


@app.command(
    cls=WordedCommand, short_help="Show exactly what was read from the exports (the inventory)."
)
def parse(
    paths: PathsArgument = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the inventory as JSON.")] = False,
    server: ServerOption = None,
    exclude: ExcludeOption = None,
    jobs: JobsOption = None,
) -> None:
    """Show exactly what was read from the exports (the inventory), to check the parser."""
    from auditor.audit import POLICY_IN_USE
    from auditor.cli.summary import print_inventory, print_problems
    from auditor.parsers import ServerOptionError, read_inventory
    from auditor.render.json_ import write_inventory

    if not paths:
        fail("give at least one export file or folder")
    _check_server(server)
    _require_paths(paths)
    _run.doing = "reading " + ", ".join(str(path) for path in paths)
    try:
        # The policy `audit` would use is not evidence here either.
        policy_files = [(path, POLICY_IN_USE, False) for path in _policy_choice(None).files]
        inventory = read_inventory(
            paths,
            server=server,
            exclusions=_exclusions(exclude, paths, policy_files),
            jobs=jobs,
        )
    except ServerOptionError as error:
        fail(str(error))
    shown = paths_for(paths)
    if as_json:
        write_inventory(inventory, sys.stdout.write)
        sys.stdout.flush()
    else:
        print_inventory(inventory, shown)
    print_problems(inventory, shown)
    if inventory.problems:
        raise typer.Exit(EXIT_INCOMPLETE)


@app.command(
    cls=WordedCommand, short_help="Audit exports against the policy and write the change package."
)
def audit(
    paths: PathsArgument = None,
    policy: PolicyOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            metavar="DIR",
            help="Package folder (default: reports/<change-id>). A non-empty folder is refused.",
        ),
    ] = None,
    fail_on: Annotated[
        SeverityChoice,
        typer.Option(
            "--fail-on",
            metavar="SEVERITY",
            help="Exit 1 at or above this severity: critical, high, medium, low or info.",
        ),
    ] = SeverityChoice.HIGH,
    as_of: AsOfOption = None,
    change_id: Annotated[
        str | None,
        typer.Option(
            "--change-id",
            metavar="ID",
            help=(
                "Change id named in every script "
                "(default: AUDIT-<yyyymmdd>-<8 hex of the plan>, unique per package)."
            ),
        ),
    ] = None,
    server: ServerOption = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Replace an earlier auditor package in --out (only that)."),
    ] = False,
    allow_incomplete: Annotated[
        bool,
        typer.Option(
            "--allow-incomplete",
            help="Finish even when evidence is incomplete (still reported as EV001/EV002).",
        ),
    ] = False,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            metavar="CLASS",
            help=(
                "Narrow the audit on purpose to partner-applications or web-config "
                "(repeatable); every output then says what was not assessed."
            ),
        ),
    ] = None,
    requester: Annotated[
        str,
        typer.Option(
            "--requester", metavar="NAME", help="Requester printed in the approval block."
        ),
    ] = "",
    reviewer: Annotated[
        list[str] | None,
        typer.Option(
            "--reviewer",
            metavar="NAME",
            help="Reviewer printed in the approval block (repeatable).",
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="What goes to stdout: text (a summary), json (findings.json), sarif, markdown, "
            "junit, github (workflow annotations) or gitlab (code-quality JSON).",
        ),
    ] = OutputFormat.TEXT,
    no_package: Annotated[
        bool, typer.Option("--no-package", help="Evaluate only: write no change package.")
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No text summary or notes; errors and warnings are still shown."
        ),
    ] = False,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            metavar="FILE",
            help="An earlier findings.json: mark each finding new, unchanged or fixed.",
        ),
    ] = None,
    fail_on_new: Annotated[
        bool,
        typer.Option(
            "--fail-on-new",
            help="With --baseline: exit 1 only for new findings at or above --fail-on.",
        ),
    ] = False,
    exclude: ExcludeOption = None,
    sarif_root: Annotated[
        Path | None,
        typer.Option(
            "--sarif-root",
            metavar="DIR",
            help="SARIF locations are relative to DIR (the repository root; default: the "
            "working folder when the inputs lie under it).",
        ),
    ] = None,
    exit_zero: Annotated[
        bool,
        typer.Option(
            "--exit-zero",
            help="Report only: findings never fail the run (exit 2 still means it could not "
            "complete).",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option("--strict", help="A waiver that matched no finding is an error (exit 2)."),
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Show every finding with the waiver subject that waives it."
        ),
    ] = False,
    jobs: JobsOption = None,
) -> None:
    """Audit exports against the policy and write the change package (the main job).

    With no PATH, audits the bundled example exports of a two-server hybrid organisation.
    """
    from auditor.audit import AuditError, AuditRequest, run_audit
    from auditor.cli.summary import (
        SummaryOptions,
        print_excluded,
        print_problems,
        print_summary,
        print_unused_waivers,
    )
    from auditor.decisions import exit_decision
    from auditor.model import Severity
    from auditor.package import (
        BaselineError,
        PackageError,
        check_out_dir,
        compare,
        is_package,
        load_baseline,
        write_package,
    )
    from auditor.parsers import ServerOptionError
    from auditor.resources import examples_dir
    from auditor.rules.waivers import unused_waivers
    from auditor.scope import ScopeError, parse_scope_option

    judged_at = _parse_date(as_of, "--as-of")
    try:
        chosen_scope = parse_scope_option(scope or ())
    except ScopeError as error:
        fail(str(error))
    _check_server(server)
    if fail_on_new and baseline is None:
        fail("--fail-on-new needs --baseline FILE (the findings.json to compare with)")
    input_paths = list(paths) if paths else [examples_dir()]
    _require_paths(input_paths)
    choice = _policy_choice(policy)
    _refuse_policy_inside_inputs(choice, input_paths)
    sarif_strip, sarif_prefix = _sarif_root(sarif_root, input_paths)
    earlier = None
    if baseline is not None:
        try:
            earlier = load_baseline(baseline)
        except BaselineError as error:
            fail(str(error))
    if out is not None and not no_package:
        try:
            check_out_dir(out, force=force, inputs=input_paths)
        except PackageError as error:
            fail(str(error))
    request = AuditRequest(
        paths=tuple(input_paths),
        policy_paths=choice.files,
        as_of=judged_at,
        change_id=change_id or "",
        fail_on=Severity(fail_on.value),
        server=server,
        allow_incomplete=allow_incomplete,
        scope=chosen_scope,
        requester=requester,
        reviewers=tuple(reviewer or ()),
        exclusions=_exclusions(
            exclude,
            input_paths,
            () if no_package else ((out or _default_out(change_id), PACKAGE_BEING_WRITTEN, True),),
            _stdout_file(),
        ),
        jobs=jobs,
    )
    _run.doing = "auditing " + ", ".join(str(path) for path in input_paths)
    try:
        report = run_audit(request)
    except (AuditError, ServerOptionError) as error:
        fail(str(error))
    if earlier is not None and baseline is not None:
        try:
            earlier.check_organisation(report.inventory.organisation)
        except BaselineError as error:
            fail(str(error))
        report = dataclasses.replace(
            report, baseline=compare(report.findings, earlier.findings, baseline.name)
        )
    report = dataclasses.replace(report, sarif_strip=sarif_strip, sarif_prefix=sarif_prefix)
    unused = unused_waivers(
        report.findings,
        report.policy,
        report.as_of,
        not_applied={item.rule_id for item in report.not_applied},
    )
    out_dir = out if out is not None else _default_out(report.change_id)
    if not no_package:
        # The default folder may be replaced when it holds an earlier auditor package.
        replace = force or (out is None and is_package(out_dir))
        _run.doing = f"writing the package {out_dir}"
        try:
            check_out_dir(out_dir, force=replace, inputs=input_paths)
            write_package(report, out_dir, force=replace)
        except PackageError as error:
            fail(str(error))
    shown = paths_for(input_paths)
    _run.doing = "printing the result"
    decision = exit_decision(
        report, allow_incomplete=allow_incomplete, fail_on_new=fail_on_new, exit_zero=exit_zero
    )
    code = decision.code
    if output_format is OutputFormat.TEXT:
        if not quiet:
            print_summary(
                report,
                SummaryOptions(
                    policy_line=_policy_line(report.policy, choice),
                    out_dir=None if no_package else out_dir,
                    shown=shown,
                    gate=decision.gate,
                    verbose=verbose,
                ),
            )
    else:
        typer.echo(_document(report, output_format, shown), nl=False)
    if not quiet:
        print_excluded(report.inventory, shown, verbose=verbose)
    print_problems(report.inventory, shown)
    print_unused_waivers(unused, choice.files, strict=strict)
    if strict and unused and code != EXIT_INCOMPLETE:
        code = EXIT_INCOMPLETE
    raise typer.Exit(code)


def _stdout_file() -> tuple[tuple[int, int], ...]:
    """(device, inode) of the file stdout is redirected to, if it is one (`> out.sarif`)."""
    try:
        status = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return ()
    return ((status.st_dev, status.st_ino),) if stat.S_ISREG(status.st_mode) else ()


def _default_out(change_id: str | None) -> Path:
    """`reports/<change-id>`; before the audit, without `--change-id`, the id depends on the
    plan, so the whole of `reports/` (where auditor writes default packages) is left out."""
    return Path("reports") / change_id if change_id else Path("reports")


def _sarif_root(given: Path | None, inputs: Sequence[Path]) -> tuple[str, str]:
    """Where the `--sarif-root` folder lies from the inputs' common root, as
    `(Report.sarif_strip, Report.sarif_prefix)`: it holds every input, so it lies either below
    the common root (a folder argument: strip its name) or at or above it (prefix the way down).

    Default: the working folder when every input lies under it, else the inputs' common root.
    A given folder the inputs do not lie under is exit 2.
    """
    from auditor.parsers.discover import common_root

    root = os.path.realpath(common_root(inputs))
    if given is None:
        here = os.path.realpath(os.getcwd())
        if not all(_lies_inside(Path(path), Path(here)) for path in inputs):
            return "", ""
        chosen = here
    else:
        if not given.is_dir():
            fail(f"--sarif-root {given}: not a folder")
        chosen = os.path.realpath(given)
        if not all(_lies_inside(Path(path), given) for path in inputs):
            fail(
                f"--sarif-root {given}: the inputs do not lie under it; give the repository "
                "folder that holds them"
            )
    below = os.path.relpath(chosen, root).replace(os.sep, "/")
    if below == ".":
        return "", ""
    if not below.startswith(".."):
        return below + "/", ""
    return "", os.path.relpath(root, chosen).replace(os.sep, "/") + "/"


def _document(report: Report, output_format: OutputFormat, shown: Paths) -> str:
    """The document `--format` prints: the same bytes as the package file (github, gitlab:
    the findings as CI annotations and a code-quality report)."""
    match output_format:
        case OutputFormat.GITHUB:
            from auditor.render.ci import render_github

            return render_github(report)
        case OutputFormat.GITLAB:
            from auditor.render.ci import render_gitlab

            return render_gitlab(report)
        case OutputFormat.JUNIT:
            from auditor.render.junit import render_junit

            return render_junit(report)
        case OutputFormat.JSON:
            from auditor.render.json_ import render_findings

            return render_findings(report)
        case OutputFormat.SARIF:
            from auditor.render.sarif import render_sarif

            return render_sarif(report)
        case OutputFormat.MARKDOWN:
            from auditor.render.markdown import render_markdown

            return render_markdown(report)
        case OutputFormat.TEXT:
            raise ValueError("the text format is the summary, not a document")


def _policy_line(policy: Policy, choice: _PolicyChoice) -> str:
    if not choice.files:
        return (
            f"{printable(policy.name)} (the shipped default; no ./auditor.yaml, no ${POLICY_ENV})"
        )
    files = ", ".join(printable(str(path)) for path in choice.files)
    return f"{printable(policy.name)} from {files} (found via {choice.origin})"


@app.command(
    cls=WordedCommand, short_help="Re-check every hash of a change package before it is run."
)
def verify(
    package: Annotated[Path, typer.Argument(metavar="DIR", help="A change package folder.")],
) -> None:
    """Re-check every hash of a change package against its MANIFEST.sha256 before it is run."""
    result = _verified(package)
    if not result.ok:
        say(f"{package}: {len(result.differences)} difference(s); do not run this package")
        raise typer.Exit(EXIT_FINDINGS)
    signed = (
        f" ({len(result.signed)} signed script(s): the text before each signature block)"
        if result.signed
        else ""
    )
    say(f"{package}: OK, {result.checked} files match MANIFEST.sha256{signed}")


def _verified(package: Path) -> VerifyResult:
    """Verify `package` against its manifest, printing every difference; unreadable: exit 2."""
    from auditor.package import PackageError, verify_package

    _run.doing = f"verifying {package}"
    try:
        result = verify_package(package)
    except PackageError as error:
        fail(str(error))
    for name in result.signed:
        say(f"signed   {printable(name)}: signed (signature not checked here)")
    for difference in result.differences:
        say(f"DIFFERS  {printable(difference)}")
    return result


@app.command(
    cls=WordedCommand,
    short_help="After the change: prove the approved change landed, nothing else.",
)
def attest(
    before: Annotated[
        Path, typer.Option("--before", metavar="DIR", help="Exports taken before the change.")
    ],
    after: Annotated[
        Path, typer.Option("--after", metavar="DIR", help="Exports taken after the change.")
    ],
    package: Annotated[
        Path, typer.Option("--package", metavar="DIR", help="The approved change package.")
    ],
    server: ServerOption = None,
) -> None:
    """After the change: prove the approved change landed and nothing else changed."""
    from auditor.attest import AttestError
    from auditor.attest import attest as run_attest
    from auditor.cli.summary import print_problems
    from auditor.model import Inventory
    from auditor.parsers import ServerOptionError, read_inventory

    _check_server(server)
    _require_paths([before, after, package])
    if not _verified(package).ok:
        show_error(
            f"{printable(str(package / 'MANIFEST.sha256'))}: the package does not match its "
            "manifest; nothing was attested"
        )
        raise typer.Exit(EXIT_FINDINGS)
    _run.doing = f"attesting {before} and {after} against {package}"
    plan_path = package / "plan.json"
    shown_plan = printable(str(plan_path))
    try:
        plan_text = plan_path.read_text(encoding="utf-8")
    except OSError as error:
        fail(f"{shown_plan}: cannot be read ({error.strerror or error})")
    except UnicodeDecodeError:
        fail(f"{shown_plan}: not UTF-8 text")
    inventories: list[Inventory] = []
    for folder in (before, after):
        try:
            inventory = read_inventory([folder], server=server)
        except ServerOptionError as error:
            fail(str(error))
        print_problems(inventory, paths_for([folder]))
        if inventory.problems:
            fail(
                f"{printable(str(folder))}: {len(inventory.problems)} problem(s) reading these "
                "exports (above); nothing was attested"
            )
        inventories.append(inventory)
    try:
        result = run_attest(
            inventories[0],
            inventories[1],
            plan_text,
            read_before=_reader(before),
            read_after=_reader(after),
        )
    except AttestError as error:
        fail(f"{place(shown_plan, error.line)}: {error}")
    for check in result.checks:
        say(f"{'FAIL' if check in result.differences else 'ok  '}  {printable(check)}")
    if not result.ok:
        say(f"attest: {len(result.differences)} of {len(result.checks)} checks failed")
        raise typer.Exit(EXIT_FINDINGS)
    say(f"attest: all {len(result.checks)} checks passed")


def _reader(folder: Path) -> Callable[[str], bytes]:
    """Read a file of the inventory read from `folder` by its display path."""
    from auditor.parsers.discover import common_root

    root = Path(common_root([folder]))
    return lambda path: (root / path).read_bytes()


@app.command(
    cls=WordedCommand, short_help="Write the read-only collection script an Exchange admin runs."
)
def collect(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="FILE", help="Write the script here instead of stdout."
        ),
    ] = None,
) -> None:
    """Write the read-only collection script an Exchange admin runs to produce complete exports."""
    from auditor import __version__
    from auditor.render.ps1 import render_collect_script

    _refuse_dash(out)
    script = render_collect_script(__version__)
    if out is None:
        typer.echo(script, nl=False)
        return
    _write_new_file(out, script.encode("ascii"))
    say(f"wrote {out}: run it in the Exchange Management Shell on each server")


def _write_new_file(out: Path, data: bytes) -> None:
    """Write `data` to a new file `out`; an existing file or an unwritable place is exit 2."""
    try:
        with open(out, "xb") as handle:
            handle.write(data)
    except FileExistsError:
        fail(f"{out}: already exists; not overwritten")
    except OSError as error:
        fail(f"{out}: cannot write: {error.strerror or error}")


# --- rules ------------------------------------------------------------------------------------


class RulesFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@rules_app.callback(invoke_without_command=True)
def rules_list(
    context: typer.Context,
    output_format: Annotated[
        RulesFormat,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="text (one line per rule) or json (every field of every rule, never wrapped).",
        ),
    ] = RulesFormat.TEXT,
) -> None:
    """List every rule: id, severity, title (from the catalogue, with the policy's overrides)."""
    if context.invoked_subcommand is not None:
        return
    loaded = _load_policy(_policy_choice(None))
    if output_format is RulesFormat.JSON:
        from auditor.render.json_ import dumps

        typer.echo(dumps([info.to_json() for info in loaded.rules]), nl=False)
        return
    for info in loaded.rules:
        state = "" if info.enabled else " (disabled)"
        say(f"{info.id}  {info.severity.value:<8}  {info.title}{state}")


@rules_app.command(
    "explain", cls=WordedCommand, short_help="Explain one rule: why, when, fix, waiver, sources."
)
def rules_explain(
    rule_id: Annotated[str, typer.Argument(metavar="ID", help="A rule id, e.g. PA001.")],
) -> None:
    """Explain one rule: rationale, what triggers it, remediation, how to waive, references."""
    from auditor.render.rule_doc import rule_markdown

    loaded = _load_policy(_policy_choice(None))
    try:
        info = loaded.rule(rule_id.strip().upper())
    except KeyError:
        fail(f"unknown rule {rule_id}; `auditor rules` lists every rule")
    typer.echo(rule_markdown(info), nl=False)


# --- policy -----------------------------------------------------------------------------------


@policy_app.command(
    "validate", cls=WordedCommand, short_help="Validate policy files and report waiver expiry."
)
def policy_validate(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="FILE...",
            help=f"Policy files, applied in order (default: ${POLICY_ENV}, else ./auditor.yaml, "
            "as audit finds it).",
            show_default=False,
        ),
    ] = None,
    as_of: AsOfOption = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="A waiver whose subject no finding of its rule can have is an error."
        ),
    ] = False,
) -> None:
    """Validate policy files (schema, duplicate keys, dates, waivers) on top of the default.

    Every error is reported in one run, by line. Waivers that expired by --as-of (default:
    today) are errors (exit 1); waivers that expire within 30 days, and waivers whose subject
    cannot name a finding of their rule (a typo waives nothing), are warnings (--strict: errors,
    exit 1).
    """
    from auditor.decisions import WaiverState, waiver_state
    from auditor.rules.waivers import impossible_subject

    judged_at = _parse_date(as_of, "--as-of")
    choice = _policy_choice(files)
    files = list(choice.files)
    loaded = _load_policy(choice, strict_waivers=True)
    found = "" if choice.origin == "--policy" else f" (found via {choice.origin})"
    say(f"valid: {printable(loaded.name)}{found}")
    say(f"  sha256 {loaded.sha256}")
    for weakening in loaded.weakenings:
        say(f"weakens: {printable(weakening.text)}")
    expired = 0
    # The policy names a file by its name only (for the package); show the path as given.
    given = {file.name: str(file) for file in files}
    for waiver in loaded.waivers:
        source = waiver.source or "policy"
        where = place(printable(given.get(source, source)), waiver.line)
        what = f"waiver of {waiver.rule} on {printable(waiver.subject)}"
        state, days = waiver_state(waiver, judged_at)
        if state is WaiverState.EXPIRED:
            expired += 1
            show_error(
                f"{where}: {what} expired on {waiver.expires}; it suppresses nothing (WV001)"
            )
        elif state is WaiverState.EXPIRES_SOON:
            typer.echo(
                f"warning: {where}: {what} expires on {waiver.expires} (in {days} days)",
                err=True,
            )
        why = impossible_subject(waiver)
        if why is not None:
            message = f"{where}: {what} can match no finding: {why}"
            if strict:
                expired += 1
                show_error(message)
            else:
                typer.echo(f"warning: {message}", err=True)
    if expired:
        raise typer.Exit(EXIT_FINDINGS)


@policy_app.command(
    "show", cls=WordedCommand, short_help="Print the effective policy (default plus yours)."
)
def policy_show(policy: PolicyOption = None) -> None:
    """Print the effective policy: the shipped default merged with the given policies."""
    from auditor.policy import policy_as_yaml

    loaded = _load_policy(_policy_choice(policy))
    typer.echo(policy_as_yaml(loaded), nl=False)


@policy_app.command(
    "init", cls=WordedCommand, short_help="Print a starter policy that extends the default."
)
def policy_init(
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", metavar="FILE", help="Write here instead of stdout."),
    ] = None,
) -> None:
    """Print a starter organisation policy that extends the shipped default."""
    from auditor.policy import policy_init_text

    _refuse_dash(out)
    text = policy_init_text()
    if out is None:
        typer.echo(text, nl=False)
        return
    _write_new_file(out, text.encode("utf-8"))
    say(f"wrote {out}")


@policy_app.command(
    "schema", cls=WordedCommand, short_help="Print the policy JSON Schema for editors and CI."
)
def policy_schema() -> None:
    """Print the policy JSON Schema (Draft 2020-12) for editors and CI."""
    from auditor.policy import policy_schema as schema
    from auditor.render.json_ import dumps

    typer.echo(dumps(schema()), nl=False)


# --- schema -----------------------------------------------------------------------------------


class SchemaName(StrEnum):
    FINDINGS = "findings"
    PLAN = "plan"
    POLICY = "policy"


@schema_app.command(
    "findings", cls=WordedCommand, short_help="The JSON Schema findings.json follows."
)
def schema_findings() -> None:
    """Print the JSON Schema (Draft 2020-12) that every findings.json validates against."""
    _print_schema(SchemaName.FINDINGS)


@schema_app.command("plan", cls=WordedCommand, short_help="The JSON Schema plan.json follows.")
def schema_plan() -> None:
    """Print the JSON Schema (Draft 2020-12) of plan.json, which `auditor attest` reads."""
    _print_schema(SchemaName.PLAN)


@schema_app.command("policy", cls=WordedCommand, short_help="The policy JSON Schema.")
def schema_policy() -> None:
    """Print the policy JSON Schema (Draft 2020-12), as `auditor policy schema` does."""
    _print_schema(SchemaName.POLICY)


def _print_schema(name: SchemaName) -> None:
    from auditor.render.json_ import dumps
    from auditor.resources import document_schema

    typer.echo(dumps(document_schema(name.value)), nl=False)


# --- entry point ------------------------------------------------------------------------------


def main() -> None:
    """The console script: every failure is an exit code and one line, never a traceback."""
    prepare_streams()
    try:
        result = app(
            args=_global_options_first(sys.argv[1:]), standalone_mode=False, prog_name="auditor"
        )
    except typer.TyperException as error:  # click's usage errors: one `error:` line, exit 2
        sys.exit(_usage_error(error))
    except typer.Abort:
        show_error("aborted")
        sys.exit(EXIT_INCOMPLETE)
    except Exception as error:  # the last line of defence: one line, exit 2
        sys.exit(_internal_error(error))
    sys.exit(result if isinstance(result, int) else EXIT_OK)


def _global_options_first(args: list[str]) -> list[str]:
    """`--debug` and `--color WHEN` are global options that may also follow the command
    (`auditor audit --debug`): moved before it (only up to a `--`)."""
    end = args.index("--") if "--" in args else len(args)
    moved: list[str] = []
    rest: list[str] = []
    index = 0
    while index < end:
        arg = args[index]
        if arg == "--debug" or arg.startswith("--color="):
            moved.append(arg)
        elif arg == "--color" and index + 1 < end:
            moved.extend(args[index : index + 2])
            index += 1
        else:
            rest.append(arg)
        index += 1
    return moved + rest + args[end:]


def _usage_error(error: typer.TyperException) -> int:
    """A bad command line in the one error style, naming the help to read; help alone as is."""
    context = getattr(error, "ctx", None)
    if type(error).__name__ == "NoArgsIsHelpError":  # `auditor` alone: the help, exit 2
        typer.echo(error.format_message(), err=True)
        return EXIT_INCOMPLETE
    hint = f" (see `{context.command_path} --help`)" if context is not None else ""
    show_error(f"{error.format_message()}{hint}")
    return EXIT_INCOMPLETE


def _internal_error(error: BaseException) -> int:
    if _run.debug:
        traceback.print_exception(error)
    hint = "" if _run.debug else "; run `auditor --debug ...` for the traceback"
    show_error(
        f"internal error while {_run.doing}: {type(error).__name__}: {error}{hint}; "
        "please report it"
    )
    return EXIT_INCOMPLETE
