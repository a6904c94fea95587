"""Renderers and the CLI only display decided facts: they decide none themselves.

`auditor.decisions` decides the verdict, waiver states, what resolves a finding, what a change
removes and keeps and the exit code; the rules judge permissions and tokens. A module under
`auditor/render/` or `auditor/cli/` that compares permission presence, folds a profile value,
computes with dates, decides a verdict or reads a rule's untyped `Finding.details` is deciding
again, and fails here (DESIGN: "a
renderer that compares names, folds tokens or computes a date is deciding").

Each pattern is checked on the syntax tree; `test_the_check_catches_*` prove every pattern
is caught on the code it was written against (the decisions once made in `render/html.py`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "auditor"
DISPLAYING = sorted(
    path for folder in ("render", "cli") for path in (PACKAGE / folder).rglob("*.py")
)

# Attributes that hold a profile value or one of its segments: folding one is judging tokens.
_PROFILE_VALUES = frozenset(
    {"segment", "segments", "raw", "audited_value", "target_value", "canonical", "token", "tokens"}
)
# Attributes holding the dates a waiver state or an expiry is computed from.
_DATES = frozenset({"as_of", "expires", "judged_at"})
# Calls that decide whether findings fail the audit.
_VERDICT_CALLS = frozenset({"failing", "new_failing", "at_least"})


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}


def decisions_made(source: str, *, renderer: bool = True) -> list[str]:
    """Every place in `source` that decides a fact, as `line: what`."""
    tree = ast.parse(source)
    parents = _parents(tree)
    found: list[str] = []

    def say(node: ast.AST, what: str) -> None:
        found.append(f"{getattr(node, 'lineno', 0)}: {what}")

    for node in ast.walk(tree):
        name = _name(node)
        if name == "details" and _is_attribute(node):
            say(node, "reads a rule's untyped details (read the typed decision instead)")
        if name == "Presence":
            say(node, "compares where a permission is before and after (removed, kept)")
        if name in ("timedelta", "relativedelta") or (name == "days" and _is_attribute(node)):
            say(node, "computes with dates")
        if renderer and name in ("today", "now", "utcnow") and _is_attribute(node):
            say(node, "reads the clock")
        if name == "fail_on" and _is_attribute(node):
            parent = parents.get(node)
            if not (isinstance(parent, ast.Attribute) and parent.attr == "value"):
                say(node, "decides with fail_on")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            _call(node, say)
        if isinstance(node, ast.BinOp | ast.Compare):
            operands = (
                [node.left, node.right]
                if isinstance(node, ast.BinOp)
                else [node.left, *node.comparators]
            )
            if any(_name(operand) in _DATES for operand in operands):
                say(node, "computes with dates")
    return found


def _is_attribute(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute)


def _call(node: ast.Call, say: Callable[[ast.AST, str], None]) -> None:
    assert isinstance(node.func, ast.Attribute)
    method = node.func.attr
    receiver = _name(node.func.value)
    if method in _VERDICT_CALLS:
        say(node, f"decides a verdict ({method})")
    elif method == "casefold":
        say(node, "folds names")
    elif method in ("lower", "upper") and receiver in _PROFILE_VALUES:
        say(node, "folds a profile token")
    elif method == "split" and (
        receiver in _PROFILE_VALUES
        or any(isinstance(arg, ast.Constant) and arg.value == "|" for arg in node.args)
    ):
        say(node, "splits a profile value")


@pytest.mark.parametrize("path", DISPLAYING, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_renderers_and_the_cli_decide_nothing(path: Path) -> None:
    renderer = "render" in path.relative_to(PACKAGE).parts
    made = decisions_made(path.read_text(encoding="utf-8"), renderer=renderer)
    assert made == [], (
        f"{path.relative_to(PACKAGE)} decides (move it to auditor/decisions.py): {made}"
    )


# What `render/html.py` decided before `auditor.decisions` existed, one line each.
_DECIDING = {
    "waiver expiry": "days = (waiver.expires - report.as_of).days",
    "verdict": "failing = report.failing()",
    "threshold": "ok = finding.severity.at_least(threshold)",
    "fail_on": "_severity_list(context.active, report.fail_on)",
    "removed": "gone = before is Presence.YES and after is Presence.NO",
    "re-split": "today = set(change.audited_value.split(PROFILE_SEPARATOR))",
    "split on bar": "tokens = value.split('|')",
    "fold": "key = vdir.casefold()",
    "details": 'vdir = finding.details.get("vdir")',
    "fold token": "t = token.segment.lower()",
    "clock": "now = datetime.date.today()",
    "timedelta": "soon = as_of + datetime.timedelta(days=30)",
}


@pytest.mark.parametrize("source", _DECIDING.values(), ids=list(_DECIDING))
def test_the_check_catches_a_decision(source: str) -> None:
    assert decisions_made(source) != []


@pytest.mark.parametrize(
    "source",
    [
        'text = f"fails on: {report.fail_on.value} and above"',
        'line = f"judged as of: {report.as_of}"',
        "parts = change.relative_path.split('\\\\')",
        "css = mark.name.lower()",
        "verdict = report.verdict",
    ],
)
def test_displaying_a_decided_fact_passes(source: str) -> None:
    assert decisions_made(source) == []
