"""Typer's coercion of command-line values, without pydantic, for the types auditor's options use.

Typer 0.29 coerces every value that is not a plain flag through a pydantic `TypeAdapter`: the
first such value imports pydantic and builds adapters, about half the time of `auditor parse` on
one small file (even an absent `--help` or `--server` builds one). For the annotations auditor's
commands use (`Path`, `str`, `int`, `bool`, a `StrEnum`, and lists of these) the adapters only call
Typer's own functions (`coerce_cli_path`, `coerce_cli_choice`) or return the value as given;
`PlainParam` calls the same functions directly. Anything else (another type, a value that is
not text, a choice that matches none) is handed to Typer's own coercion, so errors and unusual
values behave exactly as Typer makes them. tests/test_cli_coercion.py compares the two on
every option of every command.

Typer's coercion hooks are internal (`typer._coercion`); when they are not there (another Typer
version), nothing is installed and Typer coerces as it always does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

try:
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_choice, coerce_cli_path
    from typer.core import _TyperParameter
except ImportError:  # pragma: no cover - another Typer: its own coercion is used
    HOOKS = False
else:
    HOOKS = True

Kind = Literal["path", "text", "choice", "flag", "number"]


class _Declined(Exception):
    """A value the plain coercion does not handle: Typer's own coercion takes it."""


def install(params: list[Any]) -> None:
    """Give each Typer parameter of a command the plain coercion when its type allows it.

    Called before a command or group parses its arguments, on every parameter it has then
    (help and shell-completion options included).
    """
    if not HOOKS:
        return  # pragma: no cover
    for param in params:
        if isinstance(param, _TyperParameter) and param._runtime_param is None:
            plain = plain_param(param.type_descriptor)
            if plain is not None:
                param._runtime_param = plain


def plain_param(descriptor: Any) -> Any:
    """A `PlainParam` for `descriptor`, or None when Typer's own coercion must handle it."""
    if not HOOKS or descriptor.file_annotation is not None:
        return None
    info = descriptor.parameter_info
    annotation = descriptor.annotation
    many = get_origin(annotation) is list
    leaf = get_args(annotation)[0] if many else annotation
    if info.parser is not None or get_origin(leaf) is not None or not isinstance(leaf, type):
        return None
    kind: Kind
    choices: tuple[Any, ...] = ()
    if leaf is bool:
        kind = "flag"  # given: already a bool (Typer skips it); absent: None, never coerced
    elif issubclass(leaf, Enum):
        kind = "choice"
        choices = tuple(leaf)
    elif leaf is str:
        kind = "text"
    elif leaf is int:
        kind = "number"  # `--jobs`
    elif leaf is Path and info.path_type in (None, Path):
        kind = "path"
    else:
        return None
    return PlainParam(
        parameter_info=info, annotation=annotation, kind=kind, many=many, choices=choices
    )


if HOOKS:

    @dataclass(frozen=True)
    class PlainParam(RuntimeParam):
        """What Typer's adapter for `Path`, `str` or an enum (or a list of them) does."""

        kind: Kind
        many: bool
        choices: tuple[Any, ...]  # the enum's members, for a choice

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                if self.many:
                    items = value if isinstance(value, (list, tuple)) else [value]
                    return [self._one(item, param, ctx) for item in items]
                return self._one(value, param, ctx)
            except _Declined:
                typer_own = build_runtime_param(param.type_descriptor)
                return typer_own._coerce_value(value, param=param, ctx=ctx)

        def _one(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.kind == "flag":
                if type(value) is bool:
                    return value
            elif self.kind == "choice":  # Typer's adapter: this function on any value
                try:
                    return coerce_cli_choice(
                        value,
                        choices=self.choices,
                        case_sensitive=self.parameter_info.case_sensitive,
                        ctx=ctx,
                    )
                except ValueError:  # Typer words the error (through pydantic)
                    raise _Declined from None
            elif self.kind == "text":
                if type(value) is str:
                    return value
            elif self.kind == "number":  # pydantic's lax int: an int, or a text of digits
                if type(value) is int:
                    return value
                if type(value) is str and value.isascii() and value.isdigit():
                    return int(value)
            elif isinstance(value, Path):  # a default: Typer's adapter keeps it as it is
                return coerce_cli_path(
                    value, self.parameter_info, path_type=Path, param=param, ctx=ctx
                )
            elif type(value) is str:  # Typer's adapter makes it a Path first (pydantic's Path())
                return coerce_cli_path(
                    Path(value), self.parameter_info, path_type=Path, param=param, ctx=ctx
                )
            raise _Declined
