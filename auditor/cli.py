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

import datetime
import io
import os
import shutil
import sys
import textwrap
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TextIO, cast

import typer
from typer.core import TyperCommand

if TYPE_CHECKING:
    from auditor.model import Finding, Inventory, Policy, Report
    from auditor.package import Comparison, VerifyResult

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INCOMPLETE = 2

EXIT_CODES_HELP = (
    "\b\nExit codes:\n"
    "  0  complete: nothing at or above --fail-on\n"
    "  1  findings at or above --fail-on (verify, attest: a difference)\n"
    "  2  could not complete: bad arguments or input, invalid policy, incomplete\n"
    "     evidence, internal error (auditor --debug ... shows the traceback)"
)
POLICY_ENV = "AUDITOR_POLICY"
LOCAL_POLICY = Path("auditor.yaml")
SOON_DAYS = 30
SHOWN_FINDINGS = 8

# Plain click help (no rich): `auditor --help` starts as fast as `import typer`.
app = typer.Typer(
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Offline compliance auditor for Exchange partner applications and OAuth web.config "
    "profiles. Nothing here touches the network.",
    epilog=EXIT_CODES_HELP,
)
policy_app = typer.Typer(
    no_args_is_help=True,
    rich_markup_mode=None,
    help="Author and check policies.",
    epilog=EXIT_CODES_HELP,
)
rules_app = typer.Typer(
    rich_markup_mode=None,
    subcommand_metavar="[explain ID]",
    help="The rule catalogue: every rule auditor checks (id, severity, title).",
    epilog=EXIT_CODES_HELP,
)
app.add_typer(policy_app, name="policy", short_help="Author and check policies.")
app.add_typer(
    rules_app,
    name="rules",
    short_help="List the rule catalogue; `rules explain ID` explains one rule.",
)


class _Command(TyperCommand):
    """A command whose arguments read as words in usage and help (`PATH...`, `DIR`, `ID`).

    Typer would print `[PATH]...`, `{package}` and a Python type (`<list[Path]>`); here an
    argument is shown by its metavar alone, in brackets when it is optional.
    """

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                metavar = param.metavar or (param.name or "").upper()
                pieces.append(metavar if param.required else f"[{metavar}]")
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                metavar = param.metavar or (param.name or "").upper()
                arguments.append((metavar, getattr(param, "help", None) or ""))
            else:
                record = param.get_help_record(ctx)
                if record is not None:
                    options.append(record)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)


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


# --- output -----------------------------------------------------------------------------------


class _PipeSafeStdout(io.TextIOBase):
    """stdout that goes quiet once its reader has gone (`| head`), instead of raising.

    Once a write fails with a broken pipe, the descriptor is pointed at the null device, so
    buffered output and the final flush at exit go nowhere and nothing is printed to stderr.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream
        self._gone = False

    def write(self, text: str) -> int:
        if not self._gone:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._reader_gone()
        return len(text)

    def flush(self) -> None:
        if not self._gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._reader_gone()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding

    def writable(self) -> bool:
        return True

    def _reader_gone(self) -> None:
        self._gone = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, io.UnsupportedOperation):
            pass


def _prepare_streams() -> None:
    """Undecodable text is shown escaped, never an error; a closed stdout ends quietly."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    sys.stdout = cast(TextIO, _PipeSafeStdout(sys.stdout))


def _width() -> int:
    """The terminal width: `COLUMNS`, else the terminal's, else 80."""
    return max(40, shutil.get_terminal_size((80, 24)).columns)


def _out(text: str = "") -> None:
    """One logical line on stdout, wrapped to the terminal width with a hanging indent."""
    typer.echo(_wrapped(text))


def _wrapped(text: str) -> str:
    if not text:
        return ""
    indent = text[: len(text) - len(text.lstrip(" "))]
    return "\n".join(
        textwrap.wrap(
            text,
            width=_width(),
            subsequent_indent=indent + "    ",
            break_long_words=True,
            break_on_hyphens=False,
        )
    )


def _error(message: str) -> None:
    """`error: message` on stderr: always one line, whatever the width, for grep and CI logs."""
    typer.echo(f"error: {_printable(message)}", err=True)


def _fail(message: str, code: int = EXIT_INCOMPLETE) -> NoReturn:
    _error(message)
    raise typer.Exit(code)


def _printable(text: str) -> str:
    """Terminal-safe text: control characters (escape sequences included) shown escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _where(path: str, line: int | None) -> str:
    """`path:line`, or the path alone when the input has no line."""
    return path if line is None else f"{path}:{line}"


@dataclass(frozen=True, slots=True)
class _Paths:
    """Shows package paths (relative to the inputs' common root) relative to the working folder."""

    root: str

    def shown(self, display: str) -> str:
        return _printable(os.path.relpath(os.path.join(self.root, display)))


def _paths_for(inputs: Sequence[Path]) -> _Paths:
    from auditor.parsers.discover import common_root

    return _Paths(common_root(inputs))


# --- arguments --------------------------------------------------------------------------------


def _parse_date(value: str | None, option: str) -> datetime.date:
    if value is None:
        return datetime.date.today()
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} {value}: not a date; expected YYYY-MM-DD")


def _require_paths(paths: Sequence[Path]) -> None:
    missing = [str(path) for path in paths if not os.path.lexists(path)]
    if missing:
        _fail("no such file or folder: " + ", ".join(missing))


def _refuse_dash(out: Path | None) -> None:
    if out is not None and str(out) == "-":
        _fail("--out -: not a file name; leave out --out to write to stdout")


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


def _load_policy(choice: _PolicyChoice, *, strict_waivers: bool = False) -> Policy:
    from auditor.policy import PolicyError, load_policy

    _run.doing = "reading the policy " + ", ".join(str(path) for path in choice.files)
    try:
        return load_policy(choice.files, strict_waivers=strict_waivers)
    except PolicyError as error:
        _fail(str(error))


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
            help="Print the version and exit.",
            is_eager=True,
            callback=_print_version,
        ),
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of an internal error.")
    ] = False,
) -> None:
    _run.debug = debug


# --- parse ------------------------------------------------------------------------------------


@app.command(
    cls=_Command, short_help="Show exactly what was read from the exports (the inventory)."
)
def parse(
    paths: PathsArgument = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the inventory as JSON.")] = False,
    server: ServerOption = None,
) -> None:
    """Show exactly what was read from the exports (the inventory), to check the parser."""
    from auditor.parsers import ServerOptionError, read_inventory
    from auditor.render.json_ import render_inventory

    if not paths:
        _fail("give at least one export file or folder")
    _require_paths(paths)
    _run.doing = "reading " + ", ".join(str(path) for path in paths)
    try:
        inventory = read_inventory(paths, server=server)
    except ServerOptionError as error:
        _fail(str(error))
    shown = _paths_for(paths)
    if as_json:
        typer.echo(render_inventory(inventory), nl=False)
    else:
        _print_inventory(inventory, shown)
    _print_problems(inventory, shown)
    if inventory.problems:
        raise typer.Exit(EXIT_INCOMPLETE)


def _print_inventory(inventory: Inventory, shown: _Paths) -> None:
    _out(f"{len(inventory.inputs)} input files")
    for source in inventory.inputs:
        fmt = source.format.value if source.format else "unknown"
        _out(f"  {fmt:<12} {source.sha256[:12]}  {shown.shown(source.path)}")
    if inventory.skipped:
        _out(f"{len(inventory.skipped)} skipped (never an export)")
        for skipped in inventory.skipped:
            _out(f"  {shown.shown(skipped)}")
    _out()
    _out(f"{len(inventory.partner_applications)} partner applications")
    for record in inventory.partner_applications:
        act_as = record.act_as_permissions
        app_only = record.app_only_permissions
        enabled = {True: "yes", False: "no", None: "not in the export"}[record.enabled]
        _out(f"  {_printable(record.name)} ({_printable(record.application_identifier)})")
        _out(f"    enabled: {enabled}")
        _out(f"    linked account: {_printable(record.linked_account or 'none')}")
        _out(
            f"    ActAs ({len(act_as.values)}{'' if act_as.complete else ', INCOMPLETE'}): "
            + (_printable(", ".join(act_as.values)) or "none")
        )
        _out(
            f"    AppOnly ({len(app_only.values)}{'' if app_only.complete else ', INCOMPLETE'}): "
            + (_printable(", ".join(app_only.values)) or "none")
        )
        for evidence in (record.source, *record.also_in):
            _out(f"    source: {_where(shown.shown(evidence.path), evidence.line)}")
    _out()
    _out(f"{len(inventory.web_configs)} web.config files")
    for config in inventory.web_configs:
        profiles = config.oauth_profiles
        value = (
            "no OAuthHttpModule.Profiles"
            if profiles is None
            else f"{_printable(profiles.raw)}  (line {profiles.line})"
        )
        _out(f"  {_printable(config.server)}  {_printable(config.vdir)}: {value}")


def _print_problems(inventory: Inventory, shown: _Paths) -> None:
    for problem in inventory.problems:
        _error(f"{_where(shown.shown(problem.path), problem.line)}: {problem.message}")


# --- audit ------------------------------------------------------------------------------------


@app.command(
    cls=_Command, short_help="Audit exports against the policy and write the change package."
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
        typer.Option("--change-id", metavar="ID", help="Change id named in every script."),
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
            help="What goes to stdout: text (a summary), json (findings.json), sarif or markdown.",
        ),
    ] = OutputFormat.TEXT,
    no_package: Annotated[
        bool, typer.Option("--no-package", help="Evaluate only: write no change package.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No text summary; errors are still shown.")
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
) -> None:
    """Audit exports against the policy and write the change package (the main job).

    With no PATH, audits the bundled example exports of a two-server hybrid organisation.
    """
    from auditor.audit import AuditError, AuditRequest, run_audit
    from auditor.model import Severity
    from auditor.package import (
        BaselineError,
        PackageError,
        check_out_dir,
        compare,
        is_package,
        read_baseline,
        write_package,
    )
    from auditor.parsers import ServerOptionError
    from auditor.resources import examples_dir

    judged_at = _parse_date(as_of, "--as-of")
    if fail_on_new and baseline is None:
        _fail("--fail-on-new needs --baseline FILE (the findings.json to compare with)")
    input_paths = list(paths) if paths else [examples_dir()]
    _require_paths(input_paths)
    choice = _policy_choice(policy)
    earlier = None
    if baseline is not None:
        try:
            earlier = read_baseline(baseline)
        except BaselineError as error:
            _fail(str(error))
    if out is not None and not no_package:
        try:
            check_out_dir(out, force=force, inputs=input_paths)
        except PackageError as error:
            _fail(str(error))
    request = AuditRequest(
        paths=tuple(input_paths),
        policy_paths=choice.files,
        as_of=judged_at,
        change_id=change_id or "",
        fail_on=Severity(fail_on.value),
        server=server,
        allow_incomplete=allow_incomplete,
        requester=requester,
        reviewers=tuple(reviewer or ()),
    )
    _run.doing = "auditing " + ", ".join(str(path) for path in input_paths)
    try:
        report = run_audit(request)
    except (AuditError, ServerOptionError) as error:
        _fail(str(error))
    out_dir = out if out is not None else Path("reports") / report.change_id
    if not no_package:
        # The default folder may be replaced when it holds an earlier auditor package.
        replace = force or (out is None and is_package(out_dir))
        _run.doing = f"writing the package {out_dir}"
        try:
            check_out_dir(out_dir, force=replace, inputs=input_paths)
            write_package(report, out_dir, force=replace)
        except PackageError as error:
            _fail(str(error))
    comparison = compare(report.findings, earlier) if earlier is not None else None
    shown = _paths_for(input_paths)
    _run.doing = "printing the result"
    if output_format is OutputFormat.TEXT:
        if not quiet:
            _print_summary(report, choice, None if no_package else out_dir, shown, comparison)
    else:
        typer.echo(_document(report, output_format), nl=False)
    _print_problems(report.inventory, shown)
    raise typer.Exit(_audit_exit_code(report, allow_incomplete, comparison, fail_on_new))


def _document(report: Report, output_format: OutputFormat) -> str:
    """The document `--format` prints: the same bytes as the package file."""
    match output_format:
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


def _audit_exit_code(
    report: Report, allow_incomplete: bool, comparison: Comparison | None, fail_on_new: bool
) -> int:
    if not report.complete and not allow_incomplete:
        return EXIT_INCOMPLETE
    if fail_on_new and comparison is not None:
        return EXIT_FINDINGS if comparison.new_failing(report.fail_on) else EXIT_OK
    return EXIT_FINDINGS if report.failing() else EXIT_OK


def _print_summary(
    report: Report,
    choice: _PolicyChoice,
    out_dir: Path | None,
    shown: _Paths,
    comparison: Comparison | None,
) -> None:
    from auditor.model import Severity
    from auditor.render.json_ import verdict

    counts = report.counts()
    summary = ", ".join(f"{counts[severity]} {severity.value}" for severity in Severity)
    suppressed = sum(1 for finding in report.findings if finding.suppressed)
    inventory = report.inventory
    _out(
        f"auditor {report.tool_version}: {verdict(report).upper()} (as of {report.as_of}, "
        f"fail on {report.fail_on.value})"
    )
    _out(f"policy: {_policy_line(report.policy, choice)}")
    _out(
        f"inputs: {len(inventory.inputs)} files, "
        f"{len(inventory.partner_applications)} partner applications, "
        f"{len(inventory.web_configs)} web.config files; {len(inventory.skipped)} skipped"
    )
    _out(f"findings: {summary}; {suppressed} suppressed by waivers")
    if comparison is not None:
        _out(
            f"baseline: {len(comparison.new)} new, {len(comparison.unchanged)} unchanged, "
            f"{len(comparison.fixed)} fixed"
        )
    active = report.active_findings
    for finding in active[:SHOWN_FINDINGS]:
        _out(_finding_line(finding, shown, comparison))
    if len(active) > SHOWN_FINDINGS:
        _out(f"  ... and {len(active) - SHOWN_FINDINGS} more in the report")
    if comparison is not None:
        for fixed in comparison.fixed:
            _out(f"  FIXED    {fixed.rule_id}  {_printable(fixed.subject)}")
    for skipped in report.skipped:
        _out(f"  no script for {_printable(skipped.subject)}: {_printable(skipped.reason)}")
    for item in report.not_applied:
        _out(f"  not applied: {item.rule_id}: {item.reason}")
    if out_dir is not None:
        _out(
            f"package: {_printable(os.path.relpath(out_dir))} (report.html, "
            f"findings.json/.sarif, junit.xml, summary.md, {len(report.scripts)} scripts, "
            "MANIFEST.sha256)"
        )
    else:
        _out("package: not written (--no-package)")
    if not report.complete:
        _out(
            "the audit is INCOMPLETE: evidence a rule needed is missing (exit 2); "
            "see the errors below"
        )


def _policy_line(policy: Policy, choice: _PolicyChoice) -> str:
    if not choice.files:
        return (
            f"{_printable(policy.name)} (the shipped default; no ./auditor.yaml, no ${POLICY_ENV})"
        )
    files = ", ".join(_printable(str(path)) for path in choice.files)
    return f"{_printable(policy.name)} from {files} (found via {choice.origin})"


def _finding_line(finding: Finding, shown: _Paths, comparison: Comparison | None) -> str:
    where = _where(shown.shown(finding.location.path), finding.location.line)
    mark = ""
    if comparison is not None:
        mark = "NEW " if comparison.is_new(finding) else "    "
    return (
        f"  {mark}{finding.severity.value.upper():<8} {finding.rule_id}  "
        f"{_shortened(_printable(finding.message))}  [{where}]"
    )


def _shortened(text: str, limit: int = 160) -> str:
    """`text` cut to `limit` characters for the terminal; the package has the whole message."""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


# --- verify, attest, collect ------------------------------------------------------------------


@app.command(cls=_Command, short_help="Re-check every hash of a change package before it is run.")
def verify(
    package: Annotated[Path, typer.Argument(metavar="DIR", help="A change package folder.")],
) -> None:
    """Re-check every hash of a change package against its MANIFEST.sha256 before it is run."""
    result = _verified(package)
    if not result.ok:
        _out(f"{package}: {len(result.differences)} difference(s); do not run this package")
        raise typer.Exit(EXIT_FINDINGS)
    _out(f"{package}: OK, {result.checked} files match MANIFEST.sha256")


def _verified(package: Path) -> VerifyResult:
    """Verify `package` against its manifest, printing every difference; unreadable: exit 2."""
    from auditor.package import PackageError, verify_package

    _run.doing = f"verifying {package}"
    try:
        result = verify_package(package)
    except PackageError as error:
        _fail(str(error))
    for difference in result.differences:
        _out(f"DIFFERS  {_printable(difference)}")
    return result


@app.command(
    cls=_Command, short_help="After the change: prove the approved change landed, nothing else."
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
    from auditor.parsers import ServerOptionError, read_inventory

    _require_paths([before, after, package])
    if not _verified(package).ok:
        _out(f"{package}: the package does not match its manifest; nothing was attested")
        raise typer.Exit(EXIT_FINDINGS)
    _run.doing = f"attesting {before} and {after} against {package}"
    try:
        plan_text = (package / "plan.json").read_text(encoding="utf-8")
        result = run_attest(
            read_inventory([before], server=server),
            read_inventory([after], server=server),
            plan_text,
        )
    except (OSError, UnicodeDecodeError, AttestError, ServerOptionError) as error:
        _fail(str(error))
    for check in result.checks:
        _out(f"{'FAIL' if check in result.differences else 'ok  '}  {_printable(check)}")
    if not result.ok:
        _out(f"attest: {len(result.differences)} of {len(result.checks)} checks failed")
        raise typer.Exit(EXIT_FINDINGS)
    _out(f"attest: all {len(result.checks)} checks passed")


@app.command(
    cls=_Command, short_help="Write the read-only collection script an Exchange admin runs."
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
    _out(f"wrote {out}: run it in the Exchange Management Shell on each server")


def _write_new_file(out: Path, data: bytes) -> None:
    """Write `data` to a new file `out`; an existing file or an unwritable place is exit 2."""
    try:
        with open(out, "xb") as handle:
            handle.write(data)
    except FileExistsError:
        _fail(f"{out}: already exists; not overwritten")
    except OSError as error:
        _fail(f"{out}: cannot write: {error.strerror or error}")


# --- rules ------------------------------------------------------------------------------------


@rules_app.callback(invoke_without_command=True)
def rules_list(context: typer.Context) -> None:
    """List every rule: id, severity, title (from the catalogue, with the policy's overrides)."""
    if context.invoked_subcommand is not None:
        return
    loaded = _load_policy(_policy_choice(None))
    for info in loaded.rules:
        state = "" if info.enabled else " (disabled)"
        _out(f"{info.id}  {info.severity.value:<8}  {info.title}{state}")


@rules_app.command(
    "explain", cls=_Command, short_help="Explain one rule: why, when, fix, waiver, sources."
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
        _fail(f"unknown rule {rule_id}; `auditor rules` lists every rule")
    typer.echo(rule_markdown(info), nl=False)


# --- policy -----------------------------------------------------------------------------------


@policy_app.command(
    "validate", cls=_Command, short_help="Validate policy files and report waiver expiry."
)
def policy_validate(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILE...", help="Policy files, applied in order.")
    ],
    as_of: AsOfOption = None,
) -> None:
    """Validate policy files (schema, duplicate keys, dates, waivers) on top of the default.

    Waivers that expired by --as-of (default: today) are errors (exit 1); waivers that expire
    within 30 days are warnings.
    """
    judged_at = _parse_date(as_of, "--as-of")
    loaded = _load_policy(_PolicyChoice(tuple(files), "arguments"), strict_waivers=True)
    _out(f"valid: {_printable(loaded.name)}")
    _out(f"  sha256 {loaded.sha256}")
    expired = 0
    for waiver in loaded.waivers:
        expires = datetime.date.fromisoformat(waiver.expires)
        where = _where(_printable(waiver.source or "policy"), waiver.line)
        what = f"waiver of {waiver.rule} on {_printable(waiver.subject)}"
        if expires < judged_at:
            expired += 1
            _error(f"{where}: {what} expired on {waiver.expires}; it suppresses nothing (WV001)")
        elif (expires - judged_at).days <= SOON_DAYS:
            days = (expires - judged_at).days
            typer.echo(
                f"warning: {where}: {what} expires on {waiver.expires} (in {days} days)",
                err=True,
            )
    if expired:
        raise typer.Exit(EXIT_FINDINGS)


@policy_app.command(
    "show", cls=_Command, short_help="Print the effective policy (default plus yours)."
)
def policy_show(policy: PolicyOption = None) -> None:
    """Print the effective policy: the shipped default merged with the given policies."""
    from auditor.policy import policy_as_yaml

    loaded = _load_policy(_policy_choice(policy))
    typer.echo(policy_as_yaml(loaded), nl=False)


@policy_app.command(
    "init", cls=_Command, short_help="Print a starter policy that extends the default."
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
    _out(f"wrote {out}")


@policy_app.command(
    "schema", cls=_Command, short_help="Print the policy JSON Schema for editors and CI."
)
def policy_schema() -> None:
    """Print the policy JSON Schema (Draft 2020-12) for editors and CI."""
    from auditor.policy import policy_schema as schema
    from auditor.render.json_ import dumps

    typer.echo(dumps(schema()), nl=False)


# --- entry point ------------------------------------------------------------------------------


def main() -> None:
    """The console script: every failure is an exit code and one line, never a traceback."""
    _prepare_streams()
    try:
        result = app(standalone_mode=False, prog_name="auditor")
    except typer.TyperException as error:  # click's usage errors: one `error:` line, exit 2
        sys.exit(_usage_error(error))
    except typer.Abort:
        _error("aborted")
        sys.exit(EXIT_INCOMPLETE)
    except Exception as error:  # the last line of defence: one line, exit 2
        sys.exit(_internal_error(error))
    sys.exit(result if isinstance(result, int) else EXIT_OK)


def _usage_error(error: typer.TyperException) -> int:
    """A bad command line in the one error style, naming the help to read; help alone as is."""
    context = getattr(error, "ctx", None)
    if type(error).__name__ == "NoArgsIsHelpError":  # `auditor` alone: the help, exit 2
        typer.echo(error.format_message(), err=True)
        return EXIT_INCOMPLETE
    hint = f" (see `{context.command_path} --help`)" if context is not None else ""
    _error(f"{error.format_message()}{hint}")
    return EXIT_INCOMPLETE


def _internal_error(error: BaseException) -> int:
    if _run.debug:
        traceback.print_exception(error)
    hint = "" if _run.debug else "; run `auditor --debug ...` for the traceback"
    _error(
        f"internal error while {_run.doing}: {type(error).__name__}: {error}{hint}; "
        "please report it"
    )
    return EXIT_INCOMPLETE
