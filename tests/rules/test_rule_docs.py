"""The committed rule pages (`docs/rules/<ID>.md`) are what `scripts/make_rule_docs.py` writes.

The pages are generated from the rule declarations; a rule added or changed without running the
script fails here, naming the command that fixes it.
"""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "rules"


def test_the_committed_rule_pages_are_current() -> None:
    script = runpy.run_path(str(ROOT / "scripts" / "make_rule_docs.py"), run_name="make_rule_docs")
    wanted: dict[str, str] = script["pages"]()

    committed = {path.name: path.read_bytes().decode("utf-8") for path in DOCS.glob("*.md")}

    fix = "run .venv/bin/python scripts/make_rule_docs.py"
    assert sorted(committed) == sorted(wanted), fix
    for name, text in wanted.items():
        assert committed[name] == text, f"docs/rules/{name} is out of date: {fix}"
    assert "PA001.md" in wanted and "## Why it matters" in wanted["PA001.md"]
