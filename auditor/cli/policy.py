"""`auditor policy validate|show|init|schema`: policy authoring.

`validate` reports every error of the policy files in one run, then each waiver that expired
(an error, exit 1), expires soon (`auditor.decisions.waiver_state`) or can match no finding of
its rule (warnings; errors with `--strict`).
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from auditor.cli.apps import policy_app
from auditor.cli.options import (
    POLICY_ENV,
    AsOfOption,
    PolicyOption,
    load_policy,
    parse_date,
    policy_choice,
    refuse_dash,
    write_new_file,
)
from auditor.cli.terminal import EXIT_FINDINGS, WordedCommand, place, printable, say, show_error

if TYPE_CHECKING:
    from auditor.model import Waiver


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
    judged_at = parse_date(as_of, "--as-of")
    choice = policy_choice(files)
    loaded = load_policy(choice, strict_waivers=True)
    found = "" if choice.origin == "--policy" else f" (found via {choice.origin})"
    say(f"valid: {printable(loaded.name)}{found}")
    say(f"  sha256 {loaded.sha256}")
    for weakening in loaded.weakenings:
        say(f"weakens: {printable(weakening.text)}")
    # The policy names a file by its name only (for the package); show the path as given.
    given = {file.name: str(file) for file in choice.files}
    errors = 0
    for waiver in loaded.waivers:
        errors += _check_waiver(waiver, given, judged_at, strict=strict)
    if errors:
        raise typer.Exit(EXIT_FINDINGS)


def _check_waiver(
    waiver: Waiver, given: dict[str, str], judged_at: datetime.date, *, strict: bool
) -> int:
    """Report an expired, soon expiring or impossible waiver; the number of errors shown."""
    from auditor.decisions import WaiverState, waiver_state
    from auditor.rules.waivers import impossible_subject

    errors = 0
    source = waiver.source or "policy"
    where = place(printable(given.get(source, source)), waiver.line)
    what = f"waiver of {waiver.rule} on {printable(waiver.subject)}"
    state, days = waiver_state(waiver, judged_at)
    if state is WaiverState.EXPIRED:
        errors += 1
        show_error(f"{where}: {what} expired on {waiver.expires}; it suppresses nothing (WV001)")
    elif state is WaiverState.EXPIRES_SOON:
        typer.echo(
            f"warning: {where}: {what} expires on {waiver.expires} (in {days} days)", err=True
        )
    why = impossible_subject(waiver)
    if why is not None:
        message = f"{where}: {what} can match no finding: {why}"
        if strict:
            errors += 1
            show_error(message)
        else:
            typer.echo(f"warning: {message}", err=True)
    return errors


@policy_app.command(
    "show", cls=WordedCommand, short_help="Print the effective policy (default plus yours)."
)
def policy_show(policy: PolicyOption = None) -> None:
    """Print the effective policy: the shipped default merged with the given policies."""
    from auditor.policy import policy_as_yaml

    loaded = load_policy(policy_choice(policy))
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

    refuse_dash(out)
    text = policy_init_text()
    if out is None:
        typer.echo(text, nl=False)
        return
    write_new_file(out, text.encode("utf-8"))
    say(f"wrote {out}")


@policy_app.command(
    "schema", cls=WordedCommand, short_help="Print the policy JSON Schema for editors and CI."
)
def policy_schema() -> None:
    """Print the policy JSON Schema (Draft 2020-12) for editors and CI."""
    from auditor.policy import policy_schema as schema
    from auditor.render.json_ import dumps

    typer.echo(dumps(schema()), nl=False)
