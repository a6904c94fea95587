"""Regenerate docs/rules/<ID>.md from the rule declarations (each beside its check).

Run after adding or changing a rule: `.venv/bin/python scripts/make_rule_docs.py`. Every page is
`auditor rules explain ID` of a built-in rule at its declared settings; a page whose rule is gone
is removed. tests/rules/test_rule_docs.py fails while a committed page differs from what this
script writes (or a rule has no page), so the generated pages never go stale.
"""

from __future__ import annotations

from pathlib import Path

from auditor.render.rule_doc import rule_markdown
from auditor.rules import RULES

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


def pages() -> dict[str, str]:
    """Every page this script writes: file name -> Markdown text (LF line endings)."""
    return {f"{declared.id}.md": rule_markdown(declared.info()) for declared in RULES}


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    wanted = pages()
    for stale in DOCS.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        (DOCS / name).write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {len(wanted)} pages to {DOCS}")


if __name__ == "__main__":
    main()
