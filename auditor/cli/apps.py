"""The Typer applications, the root options and the console script's entry point.

`app` (with its `policy`, `rules` and `schema` groups) is what every command module decorates;
`main` runs it so that every failure is an exit code and one line: click's usage errors as
`error: ... (see `auditor CMD --help`)`, an internal error as one line naming what was being
processed (`state.doing`), the traceback only with `--debug`.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from typing import Annotated, Any

import typer

from auditor.cli.terminal import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    ColourChoice,
    prepare_streams,
    set_colour,
    show_error,
)

EXIT_CODES_HELP = (
    "\b\nExit codes:\n"
    "  0  complete: nothing at or above --fail-on\n"
    "  1  findings at or above --fail-on (verify, attest: a difference)\n"
    "  2  could not complete: bad arguments or input, invalid policy, incomplete\n"
    "     evidence, internal error (auditor --debug ... shows the traceback)"
)

# Plain click help (no rich): `auditor --help` starts as fast as `import typer`.
HELP_OPTIONS = {"help_option_names": ["-h", "--help"]}

app = typer.Typer(
    context_settings=HELP_OPTIONS,
    no_args_is_help=True,
    add_completion=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Offline compliance auditor for Exchange partner applications and OAuth web.config "
    "profiles. Nothing here touches the network.",
    epilog=EXIT_CODES_HELP,
)


def _group(description: str, **settings: Any) -> typer.Typer:
    """A command group (`auditor policy ...`): plain help with the exit codes."""
    return typer.Typer(rich_markup_mode=None, help=description, epilog=EXIT_CODES_HELP, **settings)


policy_app = _group("Author and check policies.", no_args_is_help=True)
rules_app = _group(
    "The rule catalogue: every rule auditor checks (id, severity, title).",
    subcommand_metavar="[explain ID]",
)
schema_app = _group(
    "Print the JSON Schemas of auditor's documents (findings.json, plan.json, the policy).",
    no_args_is_help=True,
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
class RunState:
    """What one run of the command line knows beyond its arguments."""

    debug: bool = False
    doing: str = "starting"  # what is being processed, for the one-line internal error


state = RunState()


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
    # Every invocation starts afresh (tests invoke the app many times in one process).
    state.debug = debug
    state.doing = "starting"
    set_colour(color)


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
    if state.debug:
        traceback.print_exception(error)
    hint = "" if state.debug else "; run `auditor --debug ...` for the traceback"
    show_error(
        f"internal error while {state.doing}: {type(error).__name__}: {error}{hint}; "
        "please report it"
    )
    return EXIT_INCOMPLETE
