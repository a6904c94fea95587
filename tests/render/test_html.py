"""The change-board HTML report: snapshot, self-containment, escaping, content a board relies on."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import itertools
import time
from html.parser import HTMLParser

import pytest
import report_factory
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from auditor.model import Report, Severity
from auditor.render.html import render_html, visible


class HTMLSnapshotExtension(SingleFileSnapshotExtension):
    """One `.html` file per snapshot, compared byte for byte."""

    file_extension = "html"
    _write_mode = WriteMode.BINARY


@pytest.fixture
def snapshot_html(snapshot):  # type: ignore[no-untyped-def]
    return snapshot.use_extension(HTMLSnapshotExtension)


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


@pytest.fixture(scope="module")
def recipe() -> Report:
    return report_factory.recipe_report()


@pytest.fixture(scope="module")
def hostile() -> Report:
    return report_factory.hostile_report()


@pytest.fixture(scope="module")
def recipe_html(recipe: Report) -> str:
    return render_html(recipe)


@pytest.fixture(scope="module")
def hostile_html(hostile: Report) -> str:
    return render_html(hostile)


def test_recipe_report_matches_snapshot(recipe_html: str, snapshot_html) -> None:  # type: ignore[no-untyped-def]
    assert recipe_html.encode("utf-8") == snapshot_html


def test_hostile_report_matches_snapshot(hostile_html: str, snapshot_html) -> None:  # type: ignore[no-untyped-def]
    assert hostile_html.encode("utf-8") == snapshot_html


@pytest.mark.parametrize("name", ["recipe", "hostile"])
def test_rendering_is_byte_identical(name: str) -> None:
    build = getattr(report_factory, f"{name}_report")
    assert render_html(build()) == render_html(build())


# --- self-contained: nothing the browser could fetch ---------------------------------------------

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


@pytest.mark.parametrize("name", ["recipe", "hostile"])
def test_page_loads_nothing_and_runs_nothing(name: str, request: pytest.FixtureRequest) -> None:
    html = request.getfixturevalue(f"{name}_html")
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


@pytest.mark.parametrize("name", ["recipe", "hostile"])
def test_csp_meta_allows_only_this_pages_stylesheet(
    name: str, request: pytest.FixtureRequest
) -> None:
    page = Page(request.getfixturevalue(f"{name}_html"))
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


# --- escaping -----------------------------------------------------------------------------------


def test_hostile_values_are_escaped_text(hostile_html: str) -> None:
    assert report_factory.XSS not in hostile_html
    assert "<img" not in hostile_html
    assert "<svg onload" not in hostile_html
    assert "</style><script>" not in hostile_html
    assert hostile_html.count("</style>") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_html
    assert "&#34;&gt;&lt;img src=x onerror=&#34;window.__pwned=1;alert(1)&#34;&gt;" in hostile_html
    text = Page(hostile_html).plain_text
    assert report_factory.XSS in text  # shown to the reader, as text
    assert report_factory.JS_URL in text


def test_hidden_characters_are_shown_not_passed_through(hostile_html: str) -> None:
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


# --- what the board reads -----------------------------------------------------------------------


def _with_findings(report: Report, keep: set[str]) -> Report:
    return dataclasses.replace(
        report, findings=tuple(f for f in report.findings if f.rule_id in keep)
    )


@pytest.mark.parametrize(
    ("change", "headline"),
    [
        (lambda r: r, "FAIL: 2 critical, 2 high findings at or above high"),
        (
            lambda r: dataclasses.replace(r, fail_on=Severity.CRITICAL),
            "FAIL: 2 critical findings at or above critical",
        ),
        (lambda r: _with_findings(r, {"WC001"}), "FAIL: 1 high finding at or above high"),
        (lambda r: _with_findings(r, {"FL001"}), "PASS: no findings at or above high"),
        (
            lambda r: dataclasses.replace(_with_findings(r, {"FL001"}), complete=False),
            "INCOMPLETE: evidence missing",
        ),
        (lambda r: dataclasses.replace(r, complete=False), "INCOMPLETE: evidence missing"),
    ],
    ids=["fail", "fail-on-critical", "one-high", "pass", "incomplete-clean", "incomplete-failing"],
)
def test_verdict_line(recipe: Report, change, headline: str) -> None:  # type: ignore[no-untyped-def]
    report = change(recipe)
    page = Page(render_html(report))
    assert headline in page.plain_text
    others = {"FAIL:", "PASS:", "INCOMPLETE:"} - {headline.split(" ")[0]}
    verdict_text = page.plain_text.split("Findings by severity")[0]
    assert not any(other in verdict_text for other in others)


def test_counts_by_severity_and_chart(recipe_html: str) -> None:
    page = Page(recipe_html)
    assert page.table("Findings by severity")[1:] == [
        ["critical", "2", "0"],
        ["high", "2", "1"],
        ["medium", "1", "0"],
        ["low", "0", "0"],
        ["info", "0", "0"],
    ]
    assert "critical: 2; high: 2; medium: 1; low: 0; info: 0" in page.plain_text
    bars = [attrs for tag, attrs in page.tags if tag == "rect"]
    assert [bar["width"] for bar in bars] == ["260.0", "260.0", "130.0", "0.0", "0.0"]


def test_permission_matrix_marks_excess_and_forbidden_in_text(recipe_html: str) -> None:
    rows = Page(recipe_html).table("Microsoft Graph: permission matrix")
    assert rows[0] == ["Permission", "ActAs", "AppOnly", "Approved", "Status"]
    body = {row[0]: row[1:] for row in rows[1:]}
    assert list(body) == list(report_factory.GRAPH_ACT_AS)
    forbidden = {name for name, cells in body.items() if "FORBIDDEN" in cells[3]}
    assert forbidden == {
        "Mail.Send",
        "Sites.ReadWrite.All",
        "User.ReadWrite.All",
        "Group.ReadWrite.All",
        "Privilege.SkipClientAccessRules",
    }
    assert body["Mail.Read"] == ["yes", "yes", "no", "EXCESS"]
    assert body["Mail.Send"] == ["yes", "yes", "no", "FORBIDDEN EXCESS"]


def test_permission_matrix_approved_and_unlisted_names(recipe: Report) -> None:
    graph_policy = dataclasses.replace(
        recipe.policy.applications[0], approved_app_only=("Mail.Read", "Calendars.Read.All")
    )
    graph = recipe.inventory.partner_applications[1]
    graph = dataclasses.replace(
        graph,
        app_only_permissions=dataclasses.replace(
            graph.app_only_permissions, values=("Mail.Read", "Mail.Send", "EWS.AccessAsUser.All")
        ),
    )
    report = dataclasses.replace(
        recipe,
        policy=dataclasses.replace(
            recipe.policy, applications=(graph_policy, *recipe.policy.applications[1:])
        ),
        inventory=dataclasses.replace(
            recipe.inventory,
            partner_applications=(recipe.inventory.partner_applications[0], graph),
        ),
    )
    body = {
        row[0]: row[1:]
        for row in Page(render_html(report)).table("Microsoft Graph: permission matrix")[1:]
    }
    assert body["Mail.Read"] == ["yes", "yes", "yes", "APPROVED"]
    assert body["Mail.Write"] == ["yes", "no", "no", ""]
    assert body["EWS.AccessAsUser.All"] == ["no", "yes", "no", "EXCESS NOT IN ACTAS"]
    assert body["Calendars.Read.All"] == ["no", "no", "yes", "APPROVED, NOT GRANTED"]


def test_incomplete_lists_are_marked_and_not_compared(hostile_html: str) -> None:
    page = Page(hostile_html)
    assert "AppOnlyPermissions were truncated in the export" in page.plain_text
    captions = [t["caption"] for t in page.tables if "matrix" in str(t["classes"])]
    rows = page.table(str(captions[1]))
    not_shown = next(row for row in rows if row[0] == "Contacts.Read")
    assert not_shown == ["Contacts.Read", "yes", "unknown", "no", ""]
    shown = next(row for row in rows if row[0] == "Mail.Send")
    assert shown == ["Mail.Send", "yes", "yes", "no", "FORBIDDEN EXCESS"]


def test_fleet_shows_added_and_missing_tokens(recipe_html: str) -> None:
    rows = Page(recipe_html).table("OAuth profiles per server and vdir")[1:]
    by_place = {(row[0], row[1]): row for row in rows}
    ex01_api = by_place[("EX01", "Default Web Site/API")]
    assert "V1S2SAppOnly FORBIDDEN ADDED" in ex01_api[2]
    assert ex01_api[3] == "none"
    assert ex01_api[5] == "WC001"
    ex02_ews = by_place[("EX02", "Default Web Site/EWS")]
    assert ex02_ews[3] == "Callback MISSING"
    assert "ADDED" not in ex02_ews[2]


def test_fleet_shows_padded_and_empty_tokens(hostile_html: str) -> None:
    text = Page(hostile_html).plain_text
    assert "␣V1AppOnly ADDED" in text
    assert "(empty) ADDED" in text


def test_every_finding_has_rule_rationale_evidence_and_fix(
    recipe: Report, recipe_html: str
) -> None:
    text = Page(recipe_html).plain_text
    for finding in recipe.findings:
        rule = recipe.policy.rule(finding.rule_id)
        assert finding.message in text
        assert rule.rationale in text
        for reference in rule.references:
            assert reference in text
        for item in finding.evidence:
            assert " ".join(item.raw.split()) in text
    assert 'href="#script-1"><code>remediation/partner-applications.ps1</code></a>' in recipe_html
    fl001 = text[text.index("EX02 lacks 'Callback'") :]
    assert "Fix no generated script; see the rule's rationale" in fl001


def test_references_are_text_not_links(hostile_html: str) -> None:
    assert 'href="https://' not in hostile_html
    assert 'href="javascript:' not in hostile_html
    assert "<li>javascript:window.__pwned=3</li>" in hostile_html


def test_scripts_are_embedded_with_hash_and_highlighting(recipe: Report, recipe_html: str) -> None:
    text = Page(recipe_html).plain_text
    for script in recipe.scripts:
        assert recipe_html.count(script.sha256) >= 2  # approval block and script section
        assert f"{len(script.content.splitlines())}; line endings CRLF" in text
    assert '<span class="nb">Set-PartnerApplication</span>' in recipe_html
    assert "[CR]" not in recipe_html


def test_missing_script_is_flagged(hostile_html: str) -> None:
    assert "NOT IN THIS PACKAGE" in hostile_html


def test_suppressed_findings_and_waivers(recipe_html: str) -> None:
    page = Page(recipe_html)
    rows = page.table("Waivers in the policy, judged as of 2025-06-30")[1:]
    assert [row[0] for row in rows] == ["ACTIVE 75 days left", "EXPIRES SOON 12 days left"]
    assert rows[0][5] == "RISK-1187" and rows[0][8] == "WC001"
    assert "1 finding suppressed by a waiver" in page.plain_text
    assert (
        "Owner Dana Whitfield (Messaging) Ticket RISK-1187 Approver Priya Raman" in page.plain_text
    )
    assert (
        "Waivers expiring within 30 days of 2025-06-30, or expired EXPIRES SOON PA005"
        in page.plain_text
    )


def test_inputs_problems_not_applied_and_policy(recipe: Report, hostile_html: str) -> None:
    page = Page(render_html(recipe))
    inputs = page.table("5 input files as read")[1:]
    assert inputs == [
        [source.path, source.format.value if source.format else "", source.sha256]
        for source in recipe.inventory.inputs
    ]
    assert recipe.policy.sha256 in page.plain_text
    hostile = Page(hostile_html)
    assert "1 input problem and 1 rule not applied" in hostile.plain_text
    assert hostile.table("Rules that could not be evaluated, and why")[1][0] == "PA001"


def test_approval_block(recipe_html: str) -> None:
    page = Page(recipe_html)
    text = page.plain_text
    approval = text[text.index("Approval Change id") :]
    assert approval.startswith("Approval Change id CHG0042137 Verdict FAIL")
    for choice in ("Approved", "Approved with conditions", "Rejected", "Deferred"):
        assert choice in approval
    assert page.table("Requester and reviewers")[0] == ["Role", "Name", "Signature", "Date"]
    boxes = [attrs for tag, attrs in page.tags if attrs.get("class") == "box"]
    assert len(boxes) == 4


def test_accessibility_basics(recipe_html: str) -> None:
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


# --- large reports ------------------------------------------------------------------------------


def test_five_thousand_findings_render_quickly_and_collapsed() -> None:
    report = report_factory.large_report(5000)
    assert len(report.findings) == 5000
    start = time.perf_counter()
    html = render_html(report)
    elapsed = time.perf_counter() - start
    assert elapsed < 10, elapsed
    page = Page(html)
    rule_groups = [
        attrs for tag, attrs in page.tags if tag == "details" and attrs.get("class") == "rule"
    ]
    assert rule_groups and all("open" not in attrs for attrs in rule_groups)
    articles = [attrs for tag, attrs in page.tags if tag == "article"]
    assert len(articles) == 5000
    assert "Findings by rule" in page.plain_text
