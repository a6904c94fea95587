"""Locates the data shipped with auditor (policies, templates, bundled examples).

In a source checkout they sit at the top level of the repository; in an installed wheel hatch
copies them to `auditor/_data/`. Nothing else in auditor needs to know which.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    source_tree = _PACKAGE_DIR.parent / name
    if source_tree.is_dir():
        return source_tree
    raise FileNotFoundError(f"auditor data folder {name!r} is missing from this installation")


def policies_dir() -> Path:
    return _data_dir("policies")


def templates_dir() -> Path:
    return _data_dir("templates")


def default_policy_path() -> Path:
    return policies_dir() / "default.yaml"


def examples_dir() -> Path:
    """The bundled example exports that `auditor audit` with no path reads."""
    return _PACKAGE_DIR / "examples"


def schemas_dir() -> Path:
    """The JSON Schemas of auditor's documents (`auditor/schemas/<name>.schema.json`)."""
    return _PACKAGE_DIR / "schemas"


def document_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of `name` (findings, plan, policy); an unknown name raises KeyError."""
    if name not in ("findings", "plan", "policy"):
        raise KeyError(f"no schema named {name!r}")
    return cast(
        dict[str, Any],
        json.loads((schemas_dir() / f"{name}.schema.json").read_text(encoding="utf-8")),
    )
