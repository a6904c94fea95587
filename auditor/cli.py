"""The command line (Typer): the only module that prints or exits.

Exit codes: 0 the audit is complete and nothing is at or above `--fail-on`; 1 findings at or
above it (or `verify` found a difference); 2 the audit could not be completed (bad arguments,
invalid policy, unreadable input, incomplete evidence that a rule needed).
Heavy modules are imported inside the commands so that `auditor --help` starts fast.
"""

from __future__ import annotations

import datetime
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

if TYPE_CHECKING:
    from auditor.model import Inventory, Report
    from auditor.package import VerifyResult

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INCOMPLETE = 2

# Plain click help (no rich): `auditor --help` starts as fast as `import typer`.
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Offline compliance auditor for Exchange partner applications and OAuth web.config "
    "profiles. Nothing here touches the network.",
)
policy_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Author and check policies."
)
app.add_typer(policy_app, name="policy")


class SeverityChoice(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


def _fail(message: str, code: int = EXIT_INCOMPLETE) -> NoReturn:
    typer.echo(f"auditor: error: {message}", err=True)
    raise typer.Exit(code)


def _parse_date(value: str | None, option: str) -> datetime.date:
    if value is None:
        return datetime.date.today()
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        _fail(f"{option} {value!r} is not a date; expected YYYY-MM-DD")


def _require_paths(paths: list[Path]) -> None:
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        _fail("no such file or folder: " + ", ".join(missing))


PathsArgument = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Export files or folders (walked recursively). Formats are sniffed from content.",
        show_default=False,
    ),
]
ServerOption = Annotated[
    str | None,
    typer.Option("--server", help="Server name for inputs whose folder layout does not name one."),
]
PolicyOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--policy",
        "-p",
        help="Policy file on top of the shipped default (repeatable; later ones win).",
    ),
]


@app.command()
def parse(
    paths: PathsArgument = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the inventory as JSON.")] = False,
    server: ServerOption = None,
) -> None:
    """Show exactly what was read from the exports (the inventory), to check the parser."""
    from auditor.parsers import read_inventory
    from auditor.render.json_ import render_inventory

    if not paths:
        _fail("give at least one export file or folder")
    _require_paths(paths)
    inventory = read_inventory(paths, server=server)
    if as_json:
        sys.stdout.write(render_inventory(inventory))
    else:
        _print_inventory(inventory)
    if inventory.problems:
        raise typer.Exit(EXIT_INCOMPLETE)


def _print_inventory(inventory: Inventory) -> None:
    echo = typer.echo
    echo(f"{len(inventory.inputs)} input files")
    for source in inventory.inputs:
        fmt = source.format.value if source.format else "unknown"
        echo(f"  {fmt:<12} {source.sha256[:12]}  {source.path}")
    echo(f"\n{len(inventory.partner_applications)} partner applications")
    for app_record in inventory.partner_applications:
        act_as = app_record.act_as_permissions
        app_only = app_record.app_only_permissions
        echo(f"  {_printable(app_record.name)} ({app_record.application_identifier})")
        echo(f"    enabled: {app_record.enabled}   linked account: {app_record.linked_account}")
        echo(
            f"    ActAs ({len(act_as.values)}{'' if act_as.complete else ', INCOMPLETE'}): "
            + _printable(", ".join(act_as.values))
        )
        echo(
            f"    AppOnly ({len(app_only.values)}{'' if app_only.complete else ', INCOMPLETE'}): "
            + _printable(", ".join(app_only.values))
        )
        echo(f"    source: {app_record.source.path}:{app_record.source.line}")
    echo(f"\n{len(inventory.web_configs)} web.config files")
    for config in inventory.web_configs:
        profiles = config.oauth_profiles
        value = (
            "(no OAuthHttpModule.Profiles)"
            if profiles is None
            else (f"{_printable(profiles.raw)!s}  (line {profiles.line})")
        )
        echo(f"  {_printable(config.server)}  {_printable(config.vdir)}: {value}")
    if inventory.problems:
        echo(f"\n{len(inventory.problems)} problems")
        for problem in inventory.problems:
            echo(f"  {_where(problem.path, problem.line)}: {problem.code.value}: {problem.message}")


def _where(path: str, line: int | None) -> str:
    """`path:line`, or the path alone when the input has no line."""
    return path if line is None else f"{path}:{line}"


def _shortened(text: str, limit: int = 200) -> str:
    """`text` cut to `limit` characters for the terminal; the package has the whole message."""
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def _printable(text: str) -> str:
    """Terminal-safe text: control characters (escape sequences included) shown escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


@app.command()
def audit(
    paths: PathsArgument = None,
    policy: PolicyOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Package folder (default: reports/<change-id>)."),
    ] = None,
    fail_on: Annotated[
        SeverityChoice, typer.Option("--fail-on", help="Exit 1 at or above this severity.")
    ] = SeverityChoice.HIGH,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Judge waivers and expiry as of this date (YYYY-MM-DD)."),
    ] = None,
    change_id: Annotated[
        str | None, typer.Option("--change-id", help="Change id named in every script.")
    ] = None,
    server: ServerOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a non-empty --out folder.")
    ] = False,
    allow_incomplete: Annotated[
        bool,
        typer.Option(
            "--allow-incomplete",
            help="Finish even when evidence is incomplete (still reported as EV001/EV002).",
        ),
    ] = False,
    requester: Annotated[
        str, typer.Option("--requester", help="Name printed as requester in the approval block.")
    ] = "",
    reviewer: Annotated[
        list[str] | None,
        typer.Option("--reviewer", help="Reviewer printed in the approval block (repeatable)."),
    ] = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option("--format", help="Terminal output: summary text or findings.json."),
    ] = OutputFormat.TEXT,
) -> None:
    """Audit exports against the policy and write the change package (the main job).

    With no PATH, audits the bundled example exports of a two-server hybrid organisation.
    """
    from auditor.audit import AuditError, AuditRequest, run_audit
    from auditor.model import Severity
    from auditor.package import MANIFEST_NAME, PackageError, write_package
    from auditor.resources import examples_dir

    judged_at = _parse_date(as_of, "--as-of")
    input_paths = list(paths) if paths else [examples_dir()]
    _require_paths(input_paths)
    request = AuditRequest(
        paths=tuple(input_paths),
        policy_paths=tuple(policy or ()),
        as_of=judged_at,
        change_id=change_id or "",
        fail_on=Severity(fail_on.value),
        server=server,
        allow_incomplete=allow_incomplete,
        requester=requester,
        reviewers=tuple(reviewer or ()),
    )
    try:
        report = run_audit(request)
    except AuditError as error:
        _fail(str(error))
    out_dir = out if out is not None else Path("reports") / report.change_id
    # The default folder may be replaced when it holds an earlier auditor package.
    replace = force or (out is None and (out_dir / MANIFEST_NAME).is_file())
    try:
        write_package(report, out_dir, force=replace)
    except PackageError as error:
        _fail(str(error))
    if output_format is OutputFormat.JSON:
        from auditor.render.json_ import render_findings

        sys.stdout.write(render_findings(report))
    else:
        _print_summary(report, out_dir)
    if not report.complete and not allow_incomplete:
        raise typer.Exit(EXIT_INCOMPLETE)
    raise typer.Exit(EXIT_FINDINGS if report.failing() else EXIT_OK)


def _print_summary(report: Report, out_dir: Path) -> None:
    from auditor.model import Severity
    from auditor.render.json_ import verdict

    echo = typer.echo
    counts = report.counts()
    summary = ", ".join(f"{counts[severity]} {severity.value}" for severity in Severity)
    suppressed = sum(1 for finding in report.findings if finding.suppressed)
    echo(
        f"auditor {report.tool_version}: {verdict(report).upper()} (as of {report.as_of}, "
        f"fail on {report.fail_on.value})"
    )
    echo(
        f"inputs: {len(report.inventory.inputs)} files, "
        f"{len(report.inventory.partner_applications)} partner applications, "
        f"{len(report.inventory.web_configs)} web.config files"
    )
    echo(f"findings: {summary}; {suppressed} suppressed by waivers")
    for finding in report.active_findings[:8]:
        where = _where(finding.location.path, finding.location.line)
        echo(
            f"  {finding.severity.value.upper():<8} {finding.rule_id}  "
            f"{_shortened(_printable(finding.message))}  [{where}]"
        )
    if len(report.active_findings) > 8:
        echo(f"  ... and {len(report.active_findings) - 8} more in the report")
    for problem in report.inventory.problems[:8]:
        echo(f"  PROBLEM  {_where(problem.path, problem.line)}: {problem.message}")
    for item in report.not_applied:
        echo(f"  not applied: {item.rule_id}: {item.reason}")
    echo(
        f"package: {out_dir}  (report.html, findings.json/.sarif, junit.xml, summary.md, "
        f"{len(report.scripts)} scripts, MANIFEST.sha256)"
    )
    if not report.complete:
        echo(
            "the audit is INCOMPLETE: evidence a rule needed is missing (exit 2); "
            "see the problems above"
        )


@app.command()
def verify(
    package: Annotated[Path, typer.Argument(help="A change package folder.")],
) -> None:
    """Re-check every hash of a change package against its MANIFEST.sha256 before it is run."""
    result = _verified(package)
    if not result.ok:
        typer.echo(f"{package}: {len(result.differences)} difference(s); do not run this package")
        raise typer.Exit(EXIT_FINDINGS)
    typer.echo(f"{package}: OK, {result.checked} files match MANIFEST.sha256")


def _verified(package: Path) -> VerifyResult:
    """Verify `package` against its manifest, printing every difference; unreadable: exit 2."""
    from auditor.package import PackageError, verify_package

    try:
        result = verify_package(package)
    except PackageError as error:
        _fail(str(error))
    for difference in result.differences:
        typer.echo(f"DIFFERS  {difference}")
    return result


@app.command()
def attest(
    before: Annotated[Path, typer.Option("--before", help="Exports taken before the change.")],
    after: Annotated[Path, typer.Option("--after", help="Exports taken after the change.")],
    package: Annotated[Path, typer.Option("--package", help="The approved change package.")],
    server: ServerOption = None,
) -> None:
    """After the change: prove the approved change landed and nothing else changed."""
    from auditor.attest import AttestError
    from auditor.attest import attest as run_attest
    from auditor.parsers import read_inventory

    _require_paths([before, after, package])
    if not _verified(package).ok:
        _fail(f"{package}: the package does not match its manifest", EXIT_FINDINGS)
    try:
        plan_text = (package / "plan.json").read_text(encoding="utf-8")
        result = run_attest(
            read_inventory([before], server=server),
            read_inventory([after], server=server),
            plan_text,
        )
    except (OSError, AttestError) as error:
        _fail(str(error))
    for check in result.checks:
        typer.echo(f"{'FAIL' if check in result.differences else 'ok  '}  {_printable(check)}")
    if not result.ok:
        typer.echo(f"attest: {len(result.differences)} of {len(result.checks)} checks failed")
        raise typer.Exit(EXIT_FINDINGS)
    typer.echo(f"attest: all {len(result.checks)} checks passed")


@app.command()
def collect(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the script here instead of stdout.")
    ] = None,
) -> None:
    """Write the read-only collection script an Exchange admin runs to produce complete exports."""
    from auditor import __version__
    from auditor.render.ps1 import render_collect_script

    script = render_collect_script(__version__)
    if out is None:
        sys.stdout.write(script)
        return
    if out.exists():
        _fail(f"{out}: already exists; not overwritten")
    try:
        out.write_bytes(script.encode("ascii"))
    except OSError as error:
        _fail(f"{out}: cannot write: {error}")
    typer.echo(f"wrote {out}: run it in the Exchange Management Shell on each server")


@policy_app.command("validate")
def policy_validate(
    files: Annotated[list[Path], typer.Argument(help="Policy files, applied in order.")],
) -> None:
    """Validate policy files (schema, duplicate keys, dates, waivers) on top of the default."""
    from auditor.policy import PolicyError, load_policy

    try:
        loaded = load_policy(files, strict_waivers=True)
    except PolicyError as error:
        _fail(str(error))
    typer.echo(f"valid: {loaded.name} (sha256 {loaded.sha256})")
    for line, why in loaded.malformed_waivers:
        typer.echo(f"  warning: waiver at line {line}: {why} (it suppresses nothing; WV001)")


@policy_app.command("show")
def policy_show(policy: PolicyOption = None) -> None:
    """Print the effective policy: the shipped default merged with the given policies."""
    from auditor.policy import PolicyError, load_policy, policy_as_yaml

    try:
        loaded = load_policy(policy or [])
    except PolicyError as error:
        _fail(str(error))
    sys.stdout.write(policy_as_yaml(loaded))


@policy_app.command("init")
def policy_init(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Print a starter organisation policy that extends the shipped default."""
    from auditor.policy import policy_init_text

    text = policy_init_text()
    if out is None:
        sys.stdout.write(text)
        return
    if out.exists():
        _fail(f"{out}: already exists; not overwritten")
    out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}")


@policy_app.command("schema")
def policy_schema() -> None:
    """Print the policy JSON Schema (Draft 2020-12) for editors and CI."""
    from auditor.policy import policy_schema as schema
    from auditor.render.json_ import dumps

    sys.stdout.write(dumps(schema()))


def main() -> None:
    app()
