"""The model's modules follow the pipeline: each imports only the stages below it.

`auditor.model` is one package per stage (severity, inputs, trust, inventory, policy, judgement,
plan, decision, report); a value of a lower stage never refers to a higher one, and every public
name stays importable from `auditor.model` itself.
"""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

import auditor.model

MODEL = Path(auditor.model.__file__).resolve().parent
STAGES = (
    "severity",
    "inputs",
    "trust",
    "inventory",
    "policy",
    "judgement",
    "plan",
    "decision",
    "report",
)


def _model_imports(stage: str) -> set[str]:
    tree = ast.parse((MODEL / f"{stage}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("auditor"):
            assert node.module and node.module.startswith("auditor.model."), (
                f"auditor.model.{stage} imports {node.module}: the model imports no other module"
            )
            found.add(node.module.removeprefix("auditor.model."))
        elif isinstance(node, ast.Import):
            assert not any(alias.name.startswith("auditor") for alias in node.names)
    return found


def test_every_module_of_the_model_is_a_stage() -> None:
    modules = {path.stem for path in MODEL.glob("*.py")} - {"__init__"}
    assert modules == set(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_a_stage_imports_only_lower_stages(stage: str) -> None:
    lower = set(STAGES[: STAGES.index(stage)])
    assert _model_imports(stage) <= lower, f"auditor.model.{stage} imports a higher stage"


@pytest.mark.parametrize("stage", STAGES)
def test_every_public_name_is_importable_from_the_model(stage: str) -> None:
    module = importlib.import_module(f"auditor.model.{stage}")
    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and getattr(value, "__module__", module.__name__) == module.__name__
        and not isinstance(value, types.ModuleType)
    }
    missing = sorted(
        name for name in public if getattr(auditor.model, name, None) is not getattr(module, name)
    )
    assert missing == []
    assert public <= set(auditor.model.__all__)
