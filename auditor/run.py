"""What `auditor audit` and `auditor attest` do between reading the command line and printing.

The command line (`auditor.cli`) reads a request, calls these functions and prints their
results; everything here is about files and folders, nothing about the terminal: no printing,
no exit. A failure is a `RunError` whose message is the one line the user reads.

- The audit: what discovery leaves out (`--exclude`, the working folder's `.auditorignore` when
  it is trusted, the package being written), where SARIF locations start (`--sarif-root`), the
  audit itself with its baseline, and writing the change package.
- Attest: the package's plan.json, the exports of the before and after folders, and the
  comparison of the two with the plan (`auditor.attest`).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from auditor.attest import AttestResult
    from auditor.audit import AuditRequest
    from auditor.model import Inventory, Report, Waiver
    from auditor.package import Baseline
    from auditor.parsers.ignore import Exclusions

IGNORE_FILE_REASON = "auditor's ignore file"
PACKAGE_BEING_WRITTEN = "the package folder this run writes"


class RunError(Exception):
    """The command cannot complete; the message says why, in one line."""


def lies_inside(path: Path, given: Path) -> bool:
    """True when `path` is the input `given` or lies below the folder `given` (links resolved)."""
    try:
        found, root = path.resolve(), given.resolve()
    except (OSError, RuntimeError):  # a link loop: refuse rather than guess
        return True
    return found == root or (root.is_dir() and found.is_relative_to(root))


# --- what the audit reads ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Exclusion:
    """What the walk leaves out, and the warning to show when the ignore file was not used."""

    exclusions: Exclusions
    warning: str | None = None


def exclusions(
    exclude: Sequence[str],
    inputs: Sequence[Path],
    never_read: Sequence[tuple[Path, str, bool]],
    never_read_files: tuple[tuple[int, int], ...] = (),
) -> Exclusion:
    """What the walk leaves out: `--exclude`, the trusted `.auditorignore` (both relative to
    the working folder), the ignore file itself and `never_read`.

    The working folder's `.auditorignore` is trusted when it lies outside every input, or the
    working folder is a git repository's root (as for `./auditor.yaml`). One inside the evidence
    folder could hide evidence, so it is not used (the warning says so; the files it names are
    then read, and what is not an export is a located problem).
    """
    from auditor.parsers.ignore import IGNORE_FILE, Exclusions, IgnoreFileError, read_ignore_file

    files = list(never_read)
    lines: tuple[str, ...] = ()
    warning = None
    path = Path(IGNORE_FILE)
    if path.is_file():
        inside = next((given for given in inputs if lies_inside(path, given)), None)
        if inside is not None and not os.path.exists(".git"):
            warning = (
                f"{IGNORE_FILE}: lies inside the audit input {inside}; an ignore file there "
                "could have been written by whoever produced the evidence, so it is not used "
                "outside a git repository: pass --exclude GLOB instead"
            )
        else:
            try:
                lines = read_ignore_file(path)
            except IgnoreFileError as error:
                raise RunError(str(error)) from None
            files.append((path, IGNORE_FILE_REASON, False))
    return Exclusion(
        Exclusions.of(exclude, files, never_read_files, ignore_lines=lines, base=os.getcwd()),
        warning,
    )


def default_out(change_id: str | None) -> Path:
    """`reports/<change-id>`; before the audit, without `--change-id`, the id depends on the
    plan, so the whole of `reports/` (where auditor writes default packages) is left out."""
    return Path("reports") / change_id if change_id else Path("reports")


def sarif_root(given: Path | None, inputs: Sequence[Path]) -> tuple[str, str]:
    """Where the `--sarif-root` folder lies from the inputs' common root, as
    `(Report.sarif_strip, Report.sarif_prefix)`: it holds every input, so it lies either below
    the common root (a folder argument: strip its name) or at or above it (prefix the way down).

    Default: the working folder when every input lies under it, else the inputs' common root.
    A given folder the inputs do not lie under is a `RunError`.
    """
    from auditor.parsers.discover import common_root

    root = os.path.realpath(common_root(inputs))
    if given is None:
        here = os.path.realpath(os.getcwd())
        if not all(lies_inside(Path(path), Path(here)) for path in inputs):
            return "", ""
        chosen = here
    else:
        if not given.is_dir():
            raise RunError(f"--sarif-root {given}: not a folder")
        chosen = os.path.realpath(given)
        if not all(lies_inside(Path(path), given) for path in inputs):
            raise RunError(
                f"--sarif-root {given}: the inputs do not lie under it; give the repository "
                "folder that holds them"
            )
    below = os.path.relpath(chosen, root).replace(os.sep, "/")
    if below == ".":
        return "", ""
    if not below.startswith(".."):
        return below + "/", ""
    return "", os.path.relpath(root, chosen).replace(os.sep, "/") + "/"


# --- the audit and its package ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class PackageChoice:
    """Where and how the audit's package is written, and what it is compared with."""

    out: Path | None = None  # `--out`; None: reports/<change id>
    write: bool = True  # False: `--no-package`
    force: bool = False  # replace an earlier auditor package in `out`
    baseline: Path | None = None  # an earlier findings.json
    sarif_root: Path | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """What was checked before the audit starts: the SARIF root and the baseline read."""

    sarif: tuple[str, str]
    earlier: Baseline | None


@dataclasses.dataclass(frozen=True, slots=True)
class AuditOutcome:
    """The finished audit: its report, the package folder and the waivers that matched nothing."""

    report: Report
    out_dir: Path
    unused: tuple[Waiver, ...]


def prepare_audit(inputs: Sequence[Path], choice: PackageChoice) -> Prepared:
    """Check what can be checked before the audit runs: `--sarif-root`, the baseline file and
    the `--out` folder. A problem is a `RunError`."""
    from auditor.package import BaselineError, PackageError, check_out_dir, load_baseline

    sarif = sarif_root(choice.sarif_root, inputs)
    earlier = None
    try:
        if choice.baseline is not None:
            earlier = load_baseline(choice.baseline)
        if choice.out is not None and choice.write:
            check_out_dir(choice.out, force=choice.force, inputs=inputs)
    except (BaselineError, PackageError) as error:
        raise RunError(str(error)) from None
    return Prepared(sarif, earlier)


def audit_and_write(
    request: AuditRequest,
    choice: PackageChoice,
    prepared: Prepared,
    doing: Callable[[str], None] = lambda _: None,
) -> AuditOutcome:
    """Run the audit, compare it with the baseline, and write its package (unless
    `--no-package`). `doing` hears what is being processed, for an internal error's message."""
    from auditor.audit import AuditError, run_audit
    from auditor.heap import heap_frozen
    from auditor.package import BaselineError
    from auditor.parsers import ServerOptionError

    doing("auditing " + ", ".join(str(path) for path in request.paths))
    try:
        report = _compared(run_audit(request), choice, prepared)
    except (AuditError, ServerOptionError, BaselineError) as error:
        raise RunError(str(error)) from None
    strip, prefix = prepared.sarif
    report = dataclasses.replace(report, sarif_strip=strip, sarif_prefix=prefix)
    with heap_frozen():  # the report's objects: out of the collector's passes while rendering
        return _write_outcome(request, choice, report, doing)


def _write_outcome(
    request: AuditRequest, choice: PackageChoice, report: Report, doing: Callable[[str], None]
) -> AuditOutcome:
    """The package of `report` written (unless `--no-package`), and the waivers it left unused."""
    from auditor.package import PackageError, check_out_dir, is_package
    from auditor.package import write_package as write
    from auditor.rules.waivers import unused_waivers

    unused = unused_waivers(
        report.findings,
        report.policy,
        report.as_of,
        not_applied={item.rule_id for item in report.not_applied},
    )
    out_dir = choice.out if choice.out is not None else default_out(report.change_id)
    if choice.write:
        # The default folder may be replaced when it holds an earlier auditor package.
        replace = choice.force or (choice.out is None and is_package(out_dir))
        doing(f"writing the package {out_dir}")
        try:
            check_out_dir(out_dir, force=replace, inputs=request.paths)
            write(report, out_dir, force=replace)
        except PackageError as error:
            raise RunError(str(error)) from None
    return AuditOutcome(report, out_dir, tuple(unused))


def _compared(report: Report, choice: PackageChoice, prepared: Prepared) -> Report:
    """`report` with each finding marked new, unchanged or fixed against the baseline."""
    from auditor.package import compare

    earlier = prepared.earlier
    if earlier is None or choice.baseline is None:
        return report
    earlier.check_organisation(report.inventory.organisation)
    return dataclasses.replace(
        report, baseline=compare(report.findings, earlier.findings, choice.baseline.name)
    )


# --- attest -----------------------------------------------------------------------------------


def read_plan(package: Path) -> str:
    """The text of the package's plan.json; unreadable or not UTF-8: a `RunError`."""
    plan_path = package / "plan.json"
    try:
        return plan_path.read_text(encoding="utf-8")
    except OSError as error:
        raise RunError(f"{plan_path}: cannot be read ({error.strerror or error})") from None
    except UnicodeDecodeError:
        raise RunError(f"{plan_path}: not UTF-8 text") from None


def read_exports(folder: Path, server: str | None) -> Inventory:
    """The inventory of one export folder (before or after the change)."""
    from auditor.parsers import ServerOptionError, read_inventory

    try:
        return read_inventory([folder], server=server)
    except ServerOptionError as error:
        raise RunError(str(error)) from None


def attest_exports(
    before: tuple[Path, Inventory],
    after: tuple[Path, Inventory],
    plan_text: str,
    as_of: datetime.date,
) -> AttestResult:
    """Compare the before and after exports (each folder with its inventory) with the plan,
    the auth certificates judged on `as_of`; a bad plan is an `AttestError` with its line."""
    from auditor.attest import attest

    return attest(
        before[1],
        after[1],
        plan_text,
        read_before=_reader(before[0]),
        read_after=_reader(after[0]),
        as_of=as_of,
    )


def _reader(folder: Path) -> Callable[[str], bytes]:
    """Read a file of the inventory read from `folder` by its display path."""
    from auditor.parsers.discover import common_root

    root = Path(common_root([folder]))
    return lambda path: (root / path).read_bytes()
