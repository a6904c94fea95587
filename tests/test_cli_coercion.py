"""Command-line values are coerced without pydantic exactly as Typer's own coercion does.

`auditor.cli.coercion` replaces Typer's pydantic adapters for `Path`, `str`, `bool`, enums and
lists of them (the import of pydantic alone was half of `auditor parse` on a small file). For
every option and argument of every command, each sample value gives the same result, or the
same error, both ways; and a command line runs without importing pydantic at all (only a value
Typer refuses, such as `--fail-on nope`, is worded by Typer's own coercion, through pydantic).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer._coercion import build_runtime_param
from typer.core import _TyperParameter

from auditor.cli import OutputFormat, SeverityChoice, app
from auditor.cli.coercion import PlainParam, plain_param

ROOT = Path(__file__).resolve().parent.parent
SAMPLES: list[Any] = [
    None,
    "x",
    "",
    "-",
    "reports/out",
    " padded ",
    "é-ü",
    "\udcff",  # a file name that is not UTF-8, as argv carries it
    "high",
    "HIGH",
    "12",
    "007",
    "-3",
    " 4",
    "json",
    "nope",
    True,
    False,
    3,
    Path("given"),
    ["a", "b"],
    ("a",),
    ["high", "nope"],
    [],
    SeverityChoice.HIGH,
    OutputFormat.TEXT,
    [Path("a"), "b"],
]


def _commands() -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []

    def walk(command: Any, path: str) -> None:
        found.append((path, command))
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "auditor")
    return found


def _parameters() -> list[tuple[str, Any, Any]]:
    found = []
    for path, command in _commands():
        context = typer.Context(command, info_name=path)
        for param in command.get_params(context):
            if isinstance(param, _TyperParameter):
                found.append((f"{path} {param.name}", command, param))
    return found


PARAMETERS = _parameters()


def _outcome(runtime: Any, value: Any, param: Any, context: Any) -> object:
    try:
        return ("value", runtime.coerce(value, param=param, ctx=context))
    except Exception as error:  # the same error, both ways
        return ("error", type(error).__name__, str(error))


def test_every_parameter_of_every_command_gets_the_plain_coercion() -> None:
    assert len(PARAMETERS) > 40
    missing = [name for name, _, param in PARAMETERS if plain_param(param.type_descriptor) is None]
    assert missing == []


@pytest.mark.parametrize(("name", "command", "param"), PARAMETERS, ids=[p[0] for p in PARAMETERS])
def test_plain_coercion_gives_what_typer_gives(name: str, command: Any, param: Any) -> None:
    plain = plain_param(param.type_descriptor)
    assert isinstance(plain, PlainParam)
    typer_own = build_runtime_param(param.type_descriptor)
    context = typer.Context(command, info_name=name)
    for value in SAMPLES:
        assert _outcome(plain, value, param, context) == _outcome(
            typer_own, value, param, context
        ), (name, value)


@pytest.mark.parametrize(
    "arguments",
    [
        ["parse", "policies/default.yaml"],
        ["audit", "--no-package", "--fail-on", "info", "policies/default.yaml"],
        ["audit", "--fail-on", "high", "--format", "json", "--no-package", "x"],
        ["policy", "show"],
        ["rules", "explain", "PA001"],
        ["verify", "no-such-folder"],
    ],
    ids=" ".join,
)
def test_a_command_line_never_imports_pydantic(arguments: list[str]) -> None:
    probe = (
        "import sys\n"
        "from auditor.cli import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    sys.__stderr__.write('PYDANTIC=%s\\n' % ('pydantic' in sys.modules))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
        check=False,
    )
    assert "PYDANTIC=False" in run.stderr, run.stderr
