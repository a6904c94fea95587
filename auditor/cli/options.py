"""Options and checks several commands share: the option types, the policy in force, dates,
paths, server names and new output files.

Every check here exits 2 with one `error:` line naming the option and what was expected.
The policy is found as `audit` finds it: `--policy` files, else `$AUDITOR_POLICY`, else
`./auditor.yaml`, else the shipped default alone; a policy found without `--policy` inside an
audit input is refused (whoever wrote the evidence must not choose the policy that judges it).
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli.apps import state
from auditor.cli.terminal import fail, show_error

if TYPE_CHECKING:
    from auditor.model import Policy
    from auditor.parsers.ignore import Exclusions

POLICY_ENV = "AUDITOR_POLICY"
LOCAL_POLICY = Path("auditor.yaml")

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
            "Processes reading the inputs, this one and N - 1 workers (default: the idle "
            "cores; 1: this process alone). Small audits and busy machines use one; the "
            "output is the same."
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


def parse_date(value: str | None, option: str) -> datetime.date:
    """The date `option` gives (YYYY-MM-DD); today when it is not given."""
    if value is None:
        return datetime.date.today()
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value}: not a date; expected YYYY-MM-DD")


def require_paths(paths: Sequence[Path]) -> None:
    """Exit 2 naming every path that does not exist."""
    missing = [str(path) for path in paths if not os.path.lexists(path)]
    if missing:
        fail("no such file or folder: " + ", ".join(missing))


def check_server(server: str | None) -> None:
    """Exit 2 when `--server` is not a server name (`auditor.names.SERVER`)."""
    from auditor import names

    if server is not None and not names.is_server_name(server):
        fail(f"--server {server}: not a server name; expected {names.SERVER.description}")


def refuse_dash(out: Path | None) -> None:
    """`--out -` is not a file name: stdout is what leaving out `--out` gives."""
    if out is not None and str(out) == "-":
        fail("--out -: not a file name; leave out --out to write to stdout")


def write_new_file(out: Path, data: bytes) -> None:
    """Write `data` to a new file `out`; an existing file or an unwritable place is exit 2."""
    try:
        with open(out, "xb") as handle:
            handle.write(data)
    except FileExistsError:
        fail(f"{out}: already exists; not overwritten")
    except OSError as error:
        fail(f"{out}: cannot write: {error.strerror or error}")


@dataclass(frozen=True, slots=True)
class PolicyChoice:
    """The policy files in force and where they were found (for the summary)."""

    files: tuple[Path, ...]
    origin: str


def policy_choice(given: Sequence[Path] | None) -> PolicyChoice:
    """`--policy` files, else `AUDITOR_POLICY`, else `./auditor.yaml`, else the default only."""
    if given:
        return PolicyChoice(tuple(given), "--policy")
    from_env = os.environ.get(POLICY_ENV, "")
    if from_env:
        return PolicyChoice((Path(from_env),), POLICY_ENV)
    if LOCAL_POLICY.is_file():
        return PolicyChoice((LOCAL_POLICY,), "the working folder")
    return PolicyChoice((), "shipped default")


def refuse_policy_inside_inputs(choice: PolicyChoice, inputs: Sequence[Path]) -> None:
    """Exit 2 when a policy found without `--policy` lies inside one of the audit's inputs.

    Whoever wrote the evidence must not choose the policy that judges it: an `auditor.yaml`
    (or `$AUDITOR_POLICY` file) in the evidence folder could empty the forbidden lists. A
    policy given with `--policy` is the user's choice and is not checked; nor is
    `./auditor.yaml` at the root of a git repository (the working folder holds `.git`): the
    repository's own policy, reviewed with it, never read as an input.
    """
    from auditor.run import lies_inside

    if choice.origin == "--policy":
        return
    if choice.origin == "the working folder" and os.path.exists(".git"):
        return
    for policy_file in choice.files:
        for given in inputs:
            if lies_inside(policy_file, given):
                fail(
                    f"{policy_file}: this policy (found via {choice.origin}) lies inside the "
                    f"audit input {given}; a policy found there could have been "
                    "written by whoever produced the evidence, so it is not used. Pass it with "
                    f"--policy {policy_file} if it is really wanted"
                )


def load_policy(choice: PolicyChoice, *, strict_waivers: bool = False) -> Policy:
    """The policy `choice` names on top of the default; every error shown, then exit 2."""
    from auditor.policy import PolicyError
    from auditor.policy import load_policy as load

    state.doing = "reading the policy " + ", ".join(str(path) for path in choice.files)
    try:
        return load(choice.files, strict_waivers=strict_waivers)
    except PolicyError as error:
        for each in error.errors[:-1]:
            show_error(str(each))
        fail(str(error.errors[-1]))


def exclusions(
    exclude: Sequence[str] | None,
    inputs: Sequence[Path],
    never_read: Sequence[tuple[Path, str, bool]],
    never_read_files: tuple[tuple[int, int], ...] = (),
) -> Exclusions:
    """What the walk leaves out (`auditor.run.exclusions`); a warning when the working
    folder's `.auditorignore` is not trusted, exit 2 when it cannot be read."""
    from auditor.run import RunError
    from auditor.run import exclusions as leave_out

    try:
        found = leave_out(exclude or (), inputs, never_read, never_read_files)
    except RunError as error:
        fail(str(error))
    if found.warning is not None:
        typer.echo(f"warning: {found.warning}", err=True)
    return found.exclusions
