"""The terminal side of the command line: lines that fit, one error style, a quiet closed pipe.

Output fits the terminal (`COLUMNS`, 80 when unset and stdout is not a terminal) and shows input
paths relative to the working folder; every error is one line, `error: file:line: message`, on
stderr, never wrapped; a closed stdout (`| head`) ends the output quietly. `WordedCommand` makes
help read in words (`PATH...`, `DIR`, `ID`) instead of Typer's `[PATH]...`, `{package}` and
Python types.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn, TextIO, cast

import typer
from typer.core import TyperCommand

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INCOMPLETE = 2


class WordedCommand(TyperCommand):
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


class PipeSafeStdout(io.TextIOBase):
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


def prepare_streams() -> None:
    """Undecodable text is shown escaped, never an error; a closed stdout ends quietly."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    sys.stdout = cast(TextIO, PipeSafeStdout(sys.stdout))


def terminal_width() -> int:
    """The terminal width: `COLUMNS`, else the terminal's, else 80."""
    return max(40, shutil.get_terminal_size((80, 24)).columns)


class ColourChoice(StrEnum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(slots=True)
class _Colour:
    choice: ColourChoice = ColourChoice.AUTO


_colour = _Colour()


def set_colour(choice: ColourChoice) -> None:
    """`--color`: always, never, or auto (the default)."""
    _colour.choice = choice


def colour_on() -> bool:
    """Colour the summary? `--color always|never`; else `NO_COLOR` (set, non-empty) turns it
    off, `FORCE_COLOR` (set, non-empty) on, and otherwise a terminal on stdout decides
    (https://no-color.org, https://force-color.org)."""
    if _colour.choice is not ColourChoice.AUTO:
        return _colour.choice is ColourChoice.ALWAYS
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def say(text: str = "", *, fg: str | None = None, bold: bool = False) -> None:
    """One logical line on stdout, wrapped to the terminal width with a hanging indent,
    in colour (`fg`, `bold`) when colour is on."""
    lines = wrapped(text)
    if (fg is None and not bold) or not lines or not colour_on():
        typer.echo(lines)
        return
    styled = "\n".join(typer.style(line, fg=fg, bold=bold or None) for line in lines.split("\n"))
    typer.echo(styled, color=True)


def wrapped(text: str) -> str:
    """`text` wrapped to the terminal width, continuation lines indented four more spaces."""
    if not text:
        return ""
    indent = text[: len(text) - len(text.lstrip(" "))]
    return "\n".join(
        textwrap.wrap(
            text,
            width=terminal_width(),
            subsequent_indent=indent + "    ",
            break_long_words=True,
            break_on_hyphens=False,
        )
    )


def show_error(message: str) -> None:
    """`error: message` on stderr: always one line, whatever the width, for grep and CI logs."""
    typer.echo(f"error: {printable(message)}", err=True)


def fail(message: str, code: int = EXIT_INCOMPLETE) -> NoReturn:
    """`error: message` on stderr, then exit with `code` (2 unless said otherwise)."""
    show_error(message)
    raise typer.Exit(code)


def printable(text: str) -> str:
    """Terminal-safe text: control characters (escape sequences included) shown escaped."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def place(path: str, line: int | None) -> str:
    """`path:line`, or the path alone when the input has no line."""
    return path if line is None else f"{path}:{line}"


@dataclass(frozen=True, slots=True)
class Paths:
    """Shows package paths (relative to the inputs' common root) relative to the working folder."""

    root: str

    def shown(self, display: str) -> str:
        return printable(os.path.relpath(os.path.join(self.root, display)))


def paths_for(inputs: Sequence[Path]) -> Paths:
    """How to show the package paths of an audit of `inputs` on this terminal."""
    from auditor.parsers.discover import common_root

    return Paths(common_root(inputs))


# --- arguments --------------------------------------------------------------------------------
