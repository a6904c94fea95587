"""Regenerate docs/rules/<ID>.md from the rule catalogue (policies/default.yaml).

Run after changing a rule in the catalogue: `.venv/bin/python scripts/make_rule_docs.py`.
tests/test_cli_rules.py fails while a page differs from what this script writes.
"""

from __future__ import annotations

from pathlib import Path

from auditor.policy import load_policy
from auditor.render.rule_doc import rule_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    rules = load_policy([]).rules
    for stale in DOCS.glob("*.md"):
        if stale.stem not in {info.id for info in rules}:
            stale.unlink()
    for info in rules:
        (DOCS / f"{info.id}.md").write_text(rule_markdown(info), encoding="utf-8", newline="\n")
    print(f"wrote {len(rules)} pages to {DOCS}")


if __name__ == "__main__":
    main()
