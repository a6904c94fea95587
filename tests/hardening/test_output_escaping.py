"""Every output escapes values from the exports for its own format.

The hostile-value corpus (the PowerShell pieces of `tests/ps1/ps1_support.HOSTILE_PIECES` and
the markup of `tests/render/html_scenarios`, plus Markdown's own syntax) goes, as a partner
application's Name, through the real pipeline (a CLIXML export, parse, audit, plan) into EVERY
file of the package: report.html, summary.md, RUNBOOK.md, findings.json, plan.json, SARIF,
JUnit and the scripts. Each output must have the same structure as the render of a harmless
sentinel Name: the same Markdown tokens (no link, image, HTML, code span, emphasis, heading or
table cell from a value), the same HTML elements and attributes, well-formed XML with the same
elements, JSON that parses to the same shape, scripts with the same parse tree (values
collapsed). The value itself must survive where a format can carry it (JSON).
"""

from __future__ import annotations

import datetime
import json
import shutil
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from lxml import html as lxml_html
from markdown_it import MarkdownIt

from auditor.audit import AuditRequest, run_audit
from auditor.package import package_files
from auditor.resources import examples_dir

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ps1"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "render"))
from html_scenarios import IMG, JS_URL, STYLE_BREAK, SVG, XSS
from ps1_support import HOSTILE_PIECES, analyse

MARKDOWN_PIECES = [
    "[click](https://evil.example/x)",
    "![img](https://evil.example/x.png)",
    "<https://evil.example>",
    "<b>bold</b>",
    "`code`",
    "*em* _em_ **strong**",
    "~~gone~~",
    "| cell | cell |",
    "\n# heading\n",
    "\n- item\n",
    "&lt;&amp;",
    "\\",
]
CORPUS = [*HOSTILE_PIECES, XSS, IMG, SVG, JS_URL, STYLE_BREAK, *MARKDOWN_PIECES]
SENTINEL = "Graph Sentinel Name"
AS_OF = datetime.date(2026, 11, 26)


def _clixml_text(value: str) -> str:
    """`value` as Export-Clixml writes a string: XML-escaped, controls and `_x` as `_xHHHH_`."""
    out: list[str] = []
    for char in value:
        code = ord(char)
        if char == "_" or code < 0x20 or 0x7F <= code <= 0x9F or char in "\u2028\u2029\ufeff":
            out.append(f"_x{code:04X}_")
        elif char == "&":
            out.append("&amp;")
        elif char == "<":
            out.append("&lt;")
        elif char == ">":
            out.append("&gt;")
        else:
            out.append(char)
    return "".join(out)


def _package(tmp_path: Path, name: str) -> dict[str, str]:
    """Every file of the package audited from the example with Graph's Name set to `name`."""
    inputs = tmp_path / "in"
    shutil.copytree(examples_dir(), inputs)
    clixml = inputs / "EX01" / "PartnerApplication.xml"
    text = clixml.read_bytes().decode("utf-16")
    original = '<S N="Name">Microsoft Graph</S>'
    assert original in text
    text = text.replace(original, f'<S N="Name">{_clixml_text(name)}</S>')
    clixml.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    report = run_audit(AuditRequest(paths=(inputs,), as_of=AS_OF, change_id="CHG-1"))
    assert any(app.name == name for app in report.inventory.partner_applications)
    shutil.rmtree(inputs)
    return {path: data.decode("utf-8") for path, data in package_files(report).items()}


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def markdown_shape(text: str) -> list[str]:
    """The Markdown token stream: block tokens and every inline child, by type and tag."""
    shape: list[str] = []
    for token in _markdown().parse(text):
        shape.append(f"{token.type}:{token.tag}")
        for child in token.children or ():
            if child.type != "text":  # adjacent text runs merge differently; not structure
                shape.append(f"  {child.type}:{child.tag}")
    return shape


def html_shape(text: str) -> list[str]:
    """Every element of the page with its attribute names, in document order."""
    root = lxml_html.document_fromstring(text)
    return [
        f"{element.tag}[{','.join(sorted(str(key) for key in element.attrib))}]"
        for element in root.iter()
        if isinstance(element.tag, str)
    ]


def xml_shape(text: str) -> list[str]:
    """Every element of a well-formed XML document (parse fails loudly otherwise)."""
    root = etree.fromstring(text.encode("utf-8"), etree.XMLParser(resolve_entities=False))
    return [
        f"{element.tag}[{','.join(sorted(str(key) for key in element.attrib))}]"
        for element in root.iter()
        if isinstance(element.tag, str)
    ]


def json_shape(value: Any) -> Any:
    """The document with every string replaced by its type: keys and nesting only."""
    if isinstance(value, dict):
        return {key: json_shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_shape(item) for item in value]
    return type(value).__name__


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []


def shapes(files: dict[str, str]) -> dict[str, Any]:
    """The structure of every output of the package, by file."""
    found: dict[str, Any] = {}
    for path, text in files.items():
        if path.endswith(".md"):
            found[path] = markdown_shape(text)
        elif path.endswith(".html"):
            found[path] = html_shape(text)
        elif path.endswith((".xml", ".sarif")) and not path.endswith(".json"):
            found[path] = xml_shape(text) if path.endswith(".xml") else json_shape(json.loads(text))
        elif path.endswith(".json"):
            found[path] = json_shape(json.loads(text))
        elif path.endswith(".ps1"):
            assert text.isascii(), path
            assert "\n" not in text.replace("\r\n", ""), f"{path}: a line ends without CRLF"
            analysis = analyse(text)
            assert analysis.problems == (), path
            found[path] = list(analysis.shape)
        else:
            raise AssertionError(f"{path}: no structural check for this output")
    return found


@pytest.fixture(scope="module")
def sentinel(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    files = _package(tmp_path_factory.mktemp("sentinel"), SENTINEL)
    assert {"report.html", "summary.md", "RUNBOOK.md", "findings.json", "plan.json"} <= set(files)
    assert {"findings.sarif", "junit.xml"} <= set(files)
    assert any(path.endswith(".ps1") for path in files)
    return shapes(files)


@pytest.mark.parametrize("piece", CORPUS, ids=[repr(piece)[1:-1][:40] for piece in CORPUS])
def test_a_hostile_name_leaves_every_output_structurally_unchanged(
    piece: str, sentinel: dict[str, Any], tmp_path: Path
) -> None:
    name = f"Graph {piece} Name"
    files = _package(tmp_path, name)
    found = shapes(files)
    assert found.keys() == sentinel.keys()
    for path in sorted(found):
        assert found[path] == sentinel[path], f"{path}: the value {name!r} changed its structure"
    # JSON carries the value as it is: it survives the round trip.
    findings = json.loads(files["findings.json"])
    assert any(name in text for text in _strings(findings))


def test_runbook_shows_a_markdown_name_as_text(tmp_path: Path) -> None:
    """The operator reads the Name, escaped: no link to follow, no HTML in the run order."""
    files = _package(tmp_path, "Graph [click](https://evil.example) <b>x</b> Name")
    runbook = files["RUNBOOK.md"]
    assert "Graph \\[click\\](https\\://evil.example) \\<b\\>x\\</b\\> Name" in runbook
    rendered = _markdown().render(runbook)
    assert "<a " not in rendered and "<b>" not in rendered
    assert "Graph [click](https://evil.example) &lt;b&gt;x&lt;/b&gt; Name" in rendered
