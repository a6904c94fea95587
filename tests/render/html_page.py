"""The rendered report as a test reads it (test-only, plain module: tests import `html_page`).

`Page` is the page as a browser's tokenizer sees it (tags, attributes, style text, tables, plain
text); `sections` cuts it into its top-level sections for the per-section snapshots; `audit_all`
audits the `scenarios` every HTML test module shares (the recipe, the hostile inputs).
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import html_scenarios as scenarios
import lxml.html
import pytest

from auditor.model import Report
from auditor.render.html import render_html

INLINE_TAGS = {"a", "code", "span", "strong", "em", "abbr"}


class Page(HTMLParser):
    """The page as a browser's tokenizer sees it: tags, attributes, style text, tables, text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.style_text = ""
        self.tables: list[dict[str, object]] = []
        self.text: list[str] = []
        self._in_style = False
        self._table: dict[str, object] | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in INLINE_TAGS:
            self.text.append(" ")
        if tag == "style":
            self._in_style = True
        elif tag == "table":
            self._table = {"caption": "", "classes": dict(attrs).get("class") or "", "rows": []}
            self.tables.append(self._table)
        elif tag == "caption":
            self._caption = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag not in INLINE_TAGS:
            self.text.append(" ")
        if tag == "style":
            self._in_style = False
        elif tag == "caption" and self._table is not None and self._caption is not None:
            self._table["caption"] = "".join(self._caption).strip()
            self._caption = None
        elif tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._table is not None and self._row is not None:
            rows = self._table["rows"]
            assert isinstance(rows, list)
            rows.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style_text += data
            return
        self.text.append(data)
        for sink in (self._cell, self._caption):
            if sink is not None:
                sink.append(data)

    def table(self, caption: str) -> list[list[str]]:
        for table in self.tables:
            if table["caption"] == caption:
                rows = table["rows"]
                assert isinstance(rows, list)
                return rows
        raise AssertionError(f"no table captioned {caption!r}")

    @property
    def plain_text(self) -> str:
        return " ".join("".join(self.text).split())


@dataclass(frozen=True)
class Audited:
    """A scenario's inputs (exports folder, policy file), its report and its page."""

    inputs: tuple[Path, Path]
    report: Report
    html: str


WRITERS = {"recipe": scenarios.write_recipe, "hostile": scenarios.write_hostile}


def sections(html: str) -> dict[str, str]:
    """Each top-level element of the page's body and of its <main>, by id (or class, or tag).

    Embedded script sources are replaced by their line count: the scripts are snapshot by the
    ps1 tests, and `test_embedded_source_is_the_script` checks that the page shows them exactly.
    """
    body = lxml.html.document_fromstring(html).body
    out: dict[str, str] = {}
    for element in body:
        if element.tag == "main":
            for section in element:
                out[section.get("id") or section.tag] = _outer(section)
        else:
            out[element.get("id") or element.get("class") or element.tag] = _outer(element)
    return out


def _outer(element: lxml.html.HtmlElement) -> str:
    for pre in element.iterfind(".//details[@class='source']//pre"):
        pre.text = f"({len((pre.text or '').splitlines())} numbered lines)"
        for child in list(pre):
            pre.remove(child)
    text: str = lxml.html.tostring(element, encoding="unicode")
    return text.strip()


def audit_all(factory: pytest.TempPathFactory) -> dict[str, Audited]:
    """Each scenario of `WRITERS` written to its own folder, audited and rendered."""
    out: dict[str, Audited] = {}
    for name, write in WRITERS.items():
        inputs = write(factory.mktemp(name))
        report = scenarios.audit(*inputs)
        out[name] = Audited(inputs, report, render_html(report))
    return out
