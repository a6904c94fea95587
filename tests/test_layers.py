"""The import graph shows the pipeline: no module imports one on a higher stage.

Stages, lowest first: the shared foundation (model, resources, psquote, layout), then parsers,
rules, policy loading (a rule's effective settings start from its declaration) and the
remediation planner, renderers, the pipeline and package writers, the CLI. Renderers display
judgements: they import neither the policy loader nor a pattern matcher; parsers never import
rules. Every import counts, including the ones inside
functions (the CLI imports lazily).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "auditor"

# Module prefix -> stage; the longest matching prefix wins.
STAGES = {
    "auditor": 0,
    "auditor.model": 0,
    "auditor.resources": 0,
    "auditor.psquote": 0,
    "auditor.layout": 0,
    "auditor.names": 0,
    "auditor.matching": 0,
    "auditor.profiles": 0,  # decided once from judgements and plan values (reads the model only)
    "auditor.decisions": 0,
    "auditor.parsers": 1,
    "auditor.policy": 3,
    "auditor.rules": 2,
    "auditor.scope": 2,
    "auditor.remediation": 3,
    "auditor.remediation_override": 3,
    "auditor.remediation_manual": 3,
    "auditor.remediation_authserver": 3,
    "auditor.render": 4,
    "auditor.audit": 5,
    "auditor.attest": 5,
    "auditor.attest_documents": 5,
    "auditor.attest_trust": 5,
    "auditor.attest_trust_facts": 5,
    "auditor.attest_trust_plan": 5,
    "auditor.package": 5,
    "auditor.run": 5,
    "auditor.cli": 6,
    "auditor.__main__": 6,
}
PATTERN_MATCHERS = frozenset({"fnmatch", "glob", "auditor.rules.judge", "auditor.matching"})


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _stage(module: str) -> int:
    matches = [prefix for prefix in STAGES if module == prefix or module.startswith(prefix + ".")]
    assert matches, f"{module} has no stage in tests/test_layers.py"
    return STAGES[max(matches, key=len)]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
RENDERERS = sorted(name for name in MODULES if name.startswith("auditor.render."))


def _auditor_imports(module: str) -> set[str]:
    return {
        name
        for name in _imports(MODULES[module])
        if name == "auditor" or (name.startswith("auditor.") and _is_module(name))
    }


def _is_module(name: str) -> bool:
    return name in MODULES or any(module.startswith(name + ".") for module in MODULES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_a_higher_stage(module: str) -> None:
    higher = sorted(name for name in _auditor_imports(module) if _stage(name) > _stage(module))
    assert higher == [], f"{module} (stage {_stage(module)}) imports {higher}"


@pytest.mark.parametrize("module", [name for name in MODULES if name.startswith("auditor.parsers")])
def test_parsers_do_not_import_rules(module: str) -> None:
    assert not {name for name in _imports(MODULES[module]) if name.startswith("auditor.rules")}


_NOT_YET: dict[str, str] = {}  # renderer -> why it still reads the policy (none left)


@pytest.mark.parametrize(
    "module",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=_NOT_YET[name]))
        if name in _NOT_YET
        else name
        for name in RENDERERS
    ],
)
def test_renderers_read_neither_the_policy_nor_a_pattern_matcher(module: str) -> None:
    imported = _imports(MODULES[module])
    assert not {name for name in imported if name.startswith("auditor.policy")}
    assert not imported & PATTERN_MATCHERS
    assert "Policy" not in {name.rsplit(".", 1)[-1] for name in imported}


def test_every_module_has_a_stage() -> None:
    for module in MODULES:
        _stage(module)
