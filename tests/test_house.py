"""The house rules of issue 23 that a reader checks by eye, checked by the suite.

- A module holds one job: at most 500 lines, unless its docstring says why its one job needs
  more, in a paragraph that starts "Longer than 500 lines:".
- A function reads in one screen: at most 60 lines, decorators and docstring included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "auditor"
MODULE_LINES = 500
FUNCTION_LINES = 60
LONG_MODULE_REASON = "Longer than 500 lines:"

MODULES = sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    if path.is_relative_to(PACKAGE.parent):
        return path.relative_to(PACKAGE.parent).as_posix()
    return path.name


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_holds_one_job(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    if lines <= MODULE_LINES:
        return
    docstring = ast.get_docstring(ast.parse(text)) or ""
    assert LONG_MODULE_REASON in docstring, (
        f"{_name(path)} has {lines} lines (limit {MODULE_LINES}); split it by job, or say in "
        f"its docstring why its one job needs more ('{LONG_MODULE_REASON} ...')"
    )


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            assert node.end_lineno is not None
            length = node.end_lineno - first + 1
            if length > FUNCTION_LINES:
                found.append(f"{_name(path)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_is_longer_than_a_screen() -> None:
    long = [entry for path in MODULES for entry in _long_functions(path)]
    assert not long, f"functions over {FUNCTION_LINES} lines:\n" + "\n".join(long)


def test_the_rules_catch_what_they_describe(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(FUNCTION_LINES))
    module = tmp_path / "long.py"
    module.write_text(f'"""Short."""\n\n\ndef long() -> None:\n{body}\n', encoding="utf-8")
    assert len(_long_functions(module)) == 1
