"""The change-board HTML report as a whole: per-section snapshots, self-containment, escaping.

Every report here comes from files (exports in the collection layout, web.configs, a policy)
written by `scenarios` and audited by `run_audit`: parsers, rules, planner and scripts as in
production. Snapshots are per section (one per top-level element of the page and scenario), so a
reviewer reads the diff of the section that changed; the whole page is checked self-contained
and byte-identical across two audits of the same inputs.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from pathlib import Path

import html_scenarios as scenarios
import lxml.html
import pytest
from conftest import count_calls
from html_page import WRITERS, Audited, Page, audit_all, sections

from auditor.render.html import inline_code, numbered_source, ranges, render_html, visible


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Audited]:
    return audit_all(tmp_path_factory)


@pytest.mark.parametrize("name", list(WRITERS))
def test_sections_match_snapshots(name: str, audited: dict[str, Audited], snapshot) -> None:  # type: ignore[no-untyped-def]
    shown = sections(audited[name].html)
    assert list(shown) == snapshot(name="sections")
    for section, html in shown.items():
        assert html == snapshot(name=section)


def test_embedded_source_is_the_script(audited: dict[str, Audited]) -> None:
    recipe = audited["recipe"].report
    recipe_html = audited["recipe"].html
    page = lxml.html.document_fromstring(recipe_html)
    embedded = [pre.text_content() for pre in page.iterfind(".//details[@class='source']//pre")]
    sources = {numbered_source(script.content) for script in recipe.scripts}
    assert embedded and all(text in sources for text in embedded)


@pytest.mark.parametrize("name", list(WRITERS))
def test_rendering_is_byte_identical(name: str, audited: dict[str, Audited]) -> None:
    """Two audits of the same inputs give the same page, byte for byte."""
    again = render_html(scenarios.audit(*audited[name].inputs))
    assert again == audited[name].html


LOADING_TAGS = {
    "script",
    "img",
    "iframe",
    "frame",
    "object",
    "embed",
    "audio",
    "video",
    "source",
    "track",
    "base",
    "form",
    "input",
    "button",
    "picture",
    "image",
    "use",
    "portal",
}


@pytest.mark.parametrize("name", list(WRITERS))
def test_page_loads_nothing_and_runs_nothing(name: str, audited: dict[str, Audited]) -> None:
    html = audited[name].html
    page = Page(html)
    tags = {tag for tag, _ in page.tags}
    assert not tags & LOADING_TAGS, tags & LOADING_TAGS
    for tag, attrs in page.tags:
        for attr, value in attrs.items():
            assert attr not in (
                "src",
                "srcset",
                "style",
                "action",
                "formaction",
                "ping",
                "background",
                "poster",
                "xlink:href",
            ), (tag, attr)
            assert not attr.startswith("on"), (tag, attr, value)
            if attr == "href":
                assert value is not None
                if tag == "link":
                    assert attrs.get("rel") == "icon" and value == "data:,", attrs
                else:
                    assert tag == "a" and value.startswith("#"), (tag, value)
            assert "http://" not in (value or "") and "https://" not in (value or ""), (tag, attr)
    assert [tag for tag, _ in page.tags].count("style") == 1
    assert "@import" not in page.style_text
    assert page.style_text.count("url(") == page.style_text.count("url(data:")
    assert "http:" not in page.style_text and "https:" not in page.style_text


@pytest.mark.parametrize("name", list(WRITERS))
def test_csp_meta_allows_only_this_pages_stylesheet(name: str, audited: dict[str, Audited]) -> None:
    page = Page(audited[name].html)
    metas = [attrs for tag, attrs in page.tags if tag == "meta"]
    csp = [m for m in metas if (m.get("http-equiv") or "").lower() == "content-security-policy"]
    assert len(csp) == 1
    directives = dict(
        [*part.strip().split(" ", 1), ""][:2] for part in (csp[0]["content"] or "").split(";")
    )
    digest = base64.b64encode(hashlib.sha256(page.style_text.encode("utf-8")).digest()).decode()
    assert directives == {
        "default-src": "'none'",
        "style-src": f"'sha256-{digest}'",
        "img-src": "data:",
        "base-uri": "'none'",
        "form-action": "'none'",
    }
    # The policy must come before the stylesheet it governs.
    tag_names = [tag for tag, _ in page.tags]
    assert tag_names.index("style") > next(i for i, (_, a) in enumerate(page.tags) if a is csp[0])


def test_hostile_values_are_escaped_text(audited: dict[str, Audited]) -> None:
    hostile_html = audited["hostile"].html
    assert scenarios.XSS not in hostile_html
    assert "<img" not in hostile_html
    assert "<svg onload" not in hostile_html
    assert "</style><script>" not in hostile_html
    assert hostile_html.count("</style>") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_html
    assert "&#34;&gt;&lt;img src=x onerror=&#34;window.__pwned=1;alert(1)&#34;&gt;" in hostile_html
    text = Page(hostile_html).plain_text
    assert scenarios.XSS in text  # shown to the reader, as text
    assert scenarios.JS_URL in text
    assert scenarios.STYLE_BREAK in text


def test_hidden_characters_are_shown_not_passed_through(audited: dict[str, Audited]) -> None:
    hostile_html = audited["hostile"].html
    for hidden in ("\x00", "\r", "\x1b", "\x07", "\u202e", "\u202c"):
        assert hidden not in hostile_html, repr(hidden)
    assert "NUL[NUL]CR[CR]ESC[ESC][31mBEL[BEL]" in hostile_html
    assert "[U+202E]RTL-override[U+202C]" in hostile_html
    assert "Ünïcödé 名前 Ελληνικά" in hostile_html


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text", "plain text"),
        ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
        ("a\x00b", "a[NUL]b"),
        ("crlf\r\n", "crlf[CR]\n"),
        ("\x1b[31mred", "[ESC][31mred"),
        ("del\x7f", "del[DEL]"),
        ("c1\x85", "c1[U+0085]"),
        ("evil\u202eexe.txt", "evil[U+202E]exe.txt"),
        ("zero\u200bwidth", "zero[U+200B]width"),
        ("bom\ufeff", "bom[U+FEFF]"),
        ("lone\ud800surrogate", "lone[U+D800]surrogate"),
        ("Ünïcödé 名前", "Ünïcödé 名前"),
    ],
)
def test_visible_replaces_hidden_characters(raw: str, shown: str) -> None:
    assert visible(raw) == shown


def test_backticks_in_rule_texts_render_as_code(audited: dict[str, Audited]) -> None:
    """EV001's rationale names `auditor collect`: the page shows it as code, escaped."""
    hostile = audited["hostile"].report
    hostile_html = audited["hostile"].html
    rationale = hostile.policy.rule("EV001").rationale
    assert "`auditor collect`" in rationale
    assert "<code>auditor collect</code>" in hostile_html
    assert str(inline_code(" ".join(rationale.split()))) in " ".join(hostile_html.split())


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("plain", "plain"),
        ("a `b` c", "a <code>b</code> c"),
        ("`<x>`", "<code>&lt;x&gt;</code>"),
        ("odd ` tick", "odd ` tick"),
        ("`a` and ` b", "<code>a</code> and ` b"),
    ],
)
def test_inline_code(text: str, html: str) -> None:
    assert str(inline_code(text)) == html


@pytest.mark.parametrize(
    ("names", "shown"),
    [
        (["EX001", "EX002", "EX003", "EX005"], "EX001-EX003, EX005"),
        (["EX01", "EX02"], "EX01, EX02"),
        (["a", "EX9", "EX10", "EX11"], "a, EX9, EX10, EX11"),
        (["EX098", "EX099", "EX100"], "EX098-EX100"),
        (["EX3", "EX3", "EX4", "EX5"], "EX3-EX5"),
    ],
)
def test_server_ranges(names: list[str], shown: str) -> None:
    assert ranges(names) == shown


def test_references_are_text_not_links(audited: dict[str, Audited]) -> None:
    hostile_html = audited["hostile"].html
    recipe_html = audited["recipe"].html
    for html in (hostile_html, recipe_html):
        assert 'href="https://' not in html
        assert 'href="javascript:' not in html
    assert '<span class="ref">https://learn.microsoft.com/' in recipe_html


def test_approval_block(audited: dict[str, Audited]) -> None:
    recipe_html = audited["recipe"].html
    page = Page(recipe_html)
    text = page.plain_text
    approval = text[text.index("Approval Change id") :]
    assert approval.startswith("Approval Change id CHG0042137 Verdict NON-COMPLIANT")
    for choice in ("Approved", "Approved with conditions", "Rejected", "Deferred"):
        assert choice in approval
    assert page.table("Requester and reviewers")[0] == ["Role", "Name", "Signature", "Date"]
    boxes = [attrs for tag, attrs in page.tags if attrs.get("class") == "box"]
    assert len(boxes) == 4


def test_running_print_header_escapes_the_change_id(
    tmp_path: Path, audited: dict[str, Audited]
) -> None:
    """Only letters, digits and spaces stay as they are in the CSS string; `--change-id`
    allows `.`, `_` and `-` too, each written as a CSS escape."""
    recipe_html = audited["recipe"].html
    assert '@top-left { content: "Change CHG0042137 \\00b7  NON-COMPLIANT";' in recipe_html
    exports, policy = scenarios.write_recipe(tmp_path)
    html = render_html(scenarios.audit(exports, policy, change_id="CHG-1.2_3"))
    style = Page(html).style_text
    header = style[style.index("@top-left") :].split(";")[0]
    assert (
        header
        == '@top-left { content: "Change CHG\\00002d1\\00002e2\\00005f3 \\00b7  NON-COMPLIANT"'
    )


def test_accessibility_basics(audited: dict[str, Audited]) -> None:
    recipe_html = audited["recipe"].html
    page = Page(recipe_html)
    assert ("html", {"lang": "en"}) in page.tags
    levels = [
        int(tag[1]) for tag, _ in page.tags if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit()
    ]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in itertools.pairwise(levels)), levels
    for tag, attrs in page.tags:
        if tag == "th":
            assert attrs.get("scope") in ("col", "row"), attrs


# --- scale --------------------------------------------------------------------------------------


def test_thousands_of_findings_render_in_linear_work(tmp_path: Path) -> None:
    report = scenarios.audit(scenarios.write_applications(tmp_path / "large", 500))
    assert len(report.findings) > 2000
    html = render_html(report)
    # Bounded work, counted (not timed: shared machines are noisy): at most linear in findings.
    tenth = scenarios.audit(scenarios.write_applications(tmp_path / "tenth", 50))
    assert count_calls(lambda: render_html(report)) < 10 * count_calls(lambda: render_html(tenth))
    page = Page(html)
    assert "Findings by rule" in page.plain_text
    rows = [attrs for tag, attrs in page.tags if tag == "tr" and attrs.get("id")]
    assert len(rows) == len(report.findings)
