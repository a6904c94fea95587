"""`auditor verify` and `auditor attest`: the package before it runs, the change after.

`verify` re-checks every hash of a package against its MANIFEST.sha256. `attest` verifies the
package, reads its plan.json and the before and after exports, and compares them
(`auditor.run`, `auditor.attest`); it prints one line per check.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli.apps import app, state
from auditor.cli.options import (
    ServerOption,
    check_server,
    parse_date,
    require_paths,
)
from auditor.cli.terminal import (
    EXIT_FINDINGS,
    WordedCommand,
    fail,
    paths_for,
    place,
    printable,
    say,
    show_error,
)

AttestAsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="DATE",
        help="Judge the auth certificates' validity on this date (YYYY-MM-DD; default: today).",
    ),
]

if TYPE_CHECKING:
    from auditor.model import Inventory
    from auditor.package import VerifyResult


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

    state.doing = f"verifying {package}"
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
    as_of: AttestAsOfOption = None,
) -> None:
    """After the change: prove the approved change landed and nothing else changed."""
    from auditor.attest import AttestError
    from auditor.run import RunError, attest_exports, read_plan

    check_server(server)
    judged_at = parse_date(as_of, "--as-of")
    require_paths([before, after, package])
    if not _verified(package).ok:
        show_error(
            f"{printable(str(package / 'MANIFEST.sha256'))}: the package does not match its "
            "manifest; nothing was attested"
        )
        raise typer.Exit(EXIT_FINDINGS)
    state.doing = f"attesting {before} and {after} against {package}"
    try:
        plan_text = read_plan(package)
    except RunError as error:
        fail(str(error))
    exports = [(folder, _exports(folder, server)) for folder in (before, after)]
    try:
        result = attest_exports(exports[0], exports[1], plan_text, judged_at)
    except AttestError as error:
        fail(f"{place(printable(str(package / 'plan.json')), error.line)}: {error}")
    for check in result.checks:
        say(f"{'FAIL' if check in result.differences else 'ok  '}  {printable(check)}")
    for note in result.notes:
        say(f"note  {printable(note)}")
    if not result.ok:
        say(f"attest: {len(result.differences)} of {len(result.checks)} checks failed")
        raise typer.Exit(EXIT_FINDINGS)
    say(f"attest: all {len(result.checks)} checks passed")


def _exports(folder: Path, server: str | None) -> Inventory:
    """The exports of `folder`, their problems printed; any problem: exit 2, nothing attested."""
    from auditor.cli.summary import print_problems
    from auditor.run import RunError, read_exports

    try:
        inventory = read_exports(folder, server)
    except RunError as error:
        fail(str(error))
    print_problems(inventory, paths_for([folder]))
    if inventory.problems:
        fail(
            f"{printable(str(folder))}: {len(inventory.problems)} problem(s) reading these "
            "exports (above); nothing was attested"
        )
    return inventory
