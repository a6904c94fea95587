"""The change-board HTML report: snapshot, self-containment, escaping, content a board relies on."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import itertools
import re
from html.parser import HTMLParser
from pathlib import Path

import fleet
import pytest
import report_factory
from conftest import CSS_EXCHANGE, count_calls, skip_or_fail
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from auditor.audit import AuditRequest, run_audit
from auditor.model import PermissionMark, Report, Severity, Skipped, TokenMark
from auditor.render.html import inline_code, ranges, render_html, visible
from auditor.resources import examples_dir


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
    findings = tuple(f for f in report.findings if f.rule_id in keep)
    kept = {f.fingerprint for f in findings}
    change_sets = tuple(cs for cs in report.change_sets if any(fp in kept for fp in cs.fixes))
    return dataclasses.replace(report, findings=findings, change_sets=change_sets)


def _first_screen(html: str) -> str:
    text = Page(html).plain_text
    return text[: text.index("Approval Change id")]


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        (
            lambda r: r,
            "Current configuration: NON-COMPLIANT for partner applications and web.config of 2 of 2"
            " servers (2 critical, 2 high). The proposed change"
            " fixes 4 of 5 findings on 1 server and the organisation. Expected after the"
            " change: PASS.",
        ),
        (
            lambda r: dataclasses.replace(r, fail_on=Severity.CRITICAL),
            "Current configuration: NON-COMPLIANT for partner applications and web.config of 2 of 2"
            " servers (2 critical). The proposed change fixes 4 of"
            " 5 findings on 1 server and the organisation. Expected after the change: PASS.",
        ),
        (
            lambda r: _with_findings(r, {"WC001"}),
            "Current configuration: NON-COMPLIANT for partner applications and web.config of 2 of 2"
            " servers (1 high). The proposed change fixes 1 of 1"
            " finding on 1 server. Expected after the change: PASS.",
        ),
        (
            lambda r: _with_findings(r, {"PA002", "FL001"}),
            "Current configuration: NON-COMPLIANT for partner applications and web.config of 2 of 2"
            " servers (1 high). The proposed change fixes 1 of 2"
            " findings on the organisation. Expected after the change: PASS.",
        ),
        (
            lambda r: _with_findings(r, {"FL001"}),
            "Current configuration: PASS for partner applications and web.config of 2 of 2"
            " servers (1 medium below high). No change is proposed: none of"
            " the 1 finding has a generated change (see what remains).",
        ),
        (
            lambda r: _with_findings(r, set()),
            "Current configuration: PASS for partner applications and web.config of 2 of 2"
            " servers (no findings). No change required.",
        ),
        (
            lambda r: dataclasses.replace(_with_findings(r, {"FL001"}), complete=False),
            "Current configuration: INCOMPLETE for partner applications and web.config of 2 of 2"
            " servers (evidence missing). No change is proposed",
        ),
        (
            lambda r: dataclasses.replace(r, complete=False),
            "Current configuration: INCOMPLETE for partner applications and web.config of 2 of 2"
            " servers (evidence missing; in what could be read:"
            " 2 critical, 2 high). The proposed change fixes 4 of 5 findings on 1 server and the"
            " organisation. Expected after the change: INCOMPLETE until the missing evidence is"
            " supplied.",
        ),
    ],
    ids=[
        "fail",
        "fail-on-critical",
        "one-high",
        "one-fixed-one-left",
        "pass-with-medium",
        "pass-clean",
        "incomplete-clean",
        "incomplete-failing",
    ],
)
def test_verdict_sentence_opens_the_page(recipe: Report, change, sentence: str) -> None:  # type: ignore[no-untyped-def]
    page = Page(render_html(change(recipe)))
    text = page.plain_text
    body = text[text.index("Skip to the verdict") :]
    headline = body[body.index("Current configuration:") :]
    assert headline.startswith(sentence)
    assert body.index("Current configuration:") < body.index("Approval Change id")


def test_proposed_change_table_sits_under_the_verdict(recipe_html: str) -> None:
    page = Page(recipe_html)
    rows = page.table("What changes, where, and the scripts that do it")
    assert rows[0] == ["Target", "Where", "Before → after", "Restart", "Scripts"]
    graph, ex01 = rows[1], rows[2]
    assert graph[0] == f"Microsoft Graph {report_factory.GRAPH_ID}"
    assert graph[2].startswith("AppOnly before (29) → after (0) removes 29: Mail.Read, Mail.Write,")
    assert graph[4] == "remediation/partner-applications.ps1 rollback/partner-applications.ps1"
    assert ex01[0] == "EX01"
    assert ex01[1] == "Default Web Site/API FrontEnd\\HttpProxy\\Rest\\web.config"
    # Only the changed token is marked.
    assert ex01[2] == (
        "Profiles: S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2"
        "|- V1S2SAppOnly"
    )
    assert ex01[3] == "app pool MSExchangeRestFrontEndAppPool recycled"
    first = _first_screen(recipe_html)
    assert "1 of 2 servers change: EX01; 1 unchanged." in first
    for label in ("What users notice", "Back-out", "Safety", "Verification"):
        assert f" {label} " in first, label
    assert "auditor verify" in first and "auditor attest" in first
    assert (
        "Not planned: what stays open after this change, and why What stays open "
        "Why no change is planned FL001 vdir:Default Web Site/EWS no change is planned for it"
    ) in first


def test_enabled_token_is_marked_enables(recipe: Report) -> None:
    change_set = recipe.change_sets[1]
    change = dataclasses.replace(
        change_set.web_configs[0],
        audited_value="S2SAppActAs| V1AppOnly",
        target_value="S2SAppActAs|V1AppOnly",
        removes=(" V1AppOnly",),
        enables=("V1AppOnly",),
    )
    report = dataclasses.replace(
        recipe,
        change_sets=(
            recipe.change_sets[0],
            dataclasses.replace(change_set, web_configs=(change,)),
        ),
    )
    rows = Page(render_html(report)).table("What changes, where, and the scripts that do it")
    assert rows[2][2] == "Profiles: S2SAppActAs|V1AppOnly ENABLES|- ␣V1AppOnly"


def test_what_remains_names_the_change_sets_that_resolve_it(recipe: Report) -> None:
    fl001 = next(f for f in recipe.findings if f.rule_id == "FL001")
    change_sets = tuple(
        dataclasses.replace(
            cs,
            web_configs=tuple(
                dataclasses.replace(c, fixes=(*c.fixes, fl001.fingerprint)) for c in cs.web_configs
            ),
        )
        for cs in recipe.change_sets
    )
    second = dataclasses.replace(change_sets[1], slug="web-config-ex02", server="EX02")
    report = dataclasses.replace(recipe, change_sets=(*change_sets, second))
    text = _first_screen(render_html(report))
    assert "fixes 5 of 5 findings on 2 servers and the organisation" in text
    assert (
        "FL001 vdir:Default Web Site/EWS: resolved by remediation/web-config-ex01.ps1, "
        "remediation/web-config-ex02.ps1" in text
    )


def test_the_bundled_example_says_the_servers_changes_resolve_fl001(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The planner lists FL001 among the fixes of both servers' changes; the report says so."""
    monkeypatch.chdir(examples_dir().parent)
    report = run_audit(
        AuditRequest(paths=(Path("examples"),), as_of=datetime.date(2026, 11, 26), change_id="C")
    )
    assert report.as_of == datetime.date(2026, 11, 26)  # a date, written as ISO text
    text = _first_screen(render_html(report))
    assert "audited as of 2026-11-26" in Page(render_html(report)).plain_text
    assert (
        "FL001 Default Web Site/API, across servers: resolved by "
        "remediation/web-config-ex01.ps1, remediation/web-config-ex02.ps1" in text
    )
    assert "no change is planned" not in text


def test_skipped_findings_say_why(recipe: Report) -> None:
    fl001 = next(f for f in recipe.findings if f.rule_id == "FL001")
    report = dataclasses.replace(
        recipe,
        skipped=(
            Skipped(
                fl001.subject, "no server can be chosen to follow the others", (fl001.fingerprint,)
            ),
        ),
    )
    html = render_html(report)
    not_planned = Page(html).table("Not planned: what stays open after this change, and why")
    assert not_planned[1] == [
        "FL001 vdir:Default Web Site/EWS",
        "no server can be chosen to follow the others",
    ]
    assert "This package does not fix: FL001 vdir:Default Web Site/EWS" in Page(html).plain_text
    fl001_rows = Page(html).table("FL001 findings")
    assert fl001_rows[1][3] == "no script: no server can be chosen to follow the others"


def test_pass_asks_for_no_signature(recipe: Report) -> None:
    report = _with_findings(recipe, set())
    page = Page(render_html(report))
    text = page.plain_text
    assert "No change required: this package proposes no change" in text
    assert "Signature" not in text and "Board decision" not in text
    assert not [attrs for tag, attrs in page.tags if attrs.get("class") == "box"]
    assert not [t for t in page.tables if "plan" in str(t["classes"])]


def test_counts_by_severity_without_a_chart(recipe_html: str) -> None:
    page = Page(recipe_html)
    assert page.table("Findings by severity") == [
        ["Findings", "critical", "high", "medium", "low", "info"],
        ["Active", "2", "2", "1", "0", "0"],
        ["Suppressed", "0", "1", "0", "0", "0"],
    ]
    assert not [tag for tag, _ in page.tags if tag in ("svg", "rect")]


def test_permission_matrix_shows_judgements_forbidden_first(recipe_html: str) -> None:
    rows = Page(recipe_html).table("Microsoft Graph: permission matrix")
    assert rows[0] == ["Permission", "ActAs", "AppOnly", "Approved", "Status", "After the change"]
    body = {row[0]: row[1:] for row in rows[1:]}
    assert set(body) == set(report_factory.GRAPH_ACT_AS)
    forbidden = [row[0] for row in rows[1:6]]
    assert forbidden == [
        "Mail.Send",
        "Sites.ReadWrite.All",
        "User.ReadWrite.All",
        "Group.ReadWrite.All",
        "Privilege.SkipClientAccessRules",
    ]
    assert body["Mail.Read"] == ["yes", "yes", "no", "EXCESS", "removed"]
    assert body["Mail.Send"] == ["yes", "yes", "no", "FORBIDDEN EXCESS (Mail.Send)", "removed"]


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
    report = report_factory.with_judgements(
        dataclasses.replace(
            recipe,
            policy=dataclasses.replace(
                recipe.policy, applications=(graph_policy, *recipe.policy.applications[1:])
            ),
            inventory=dataclasses.replace(
                recipe.inventory,
                partner_applications=(recipe.inventory.partner_applications[0], graph),
            ),
            change_sets=(),
        )
    )
    body = {
        row[0]: row[1:]
        for row in Page(render_html(report)).table("Microsoft Graph: permission matrix")[1:]
    }
    assert body["Mail.Read"] == ["yes", "yes", "yes", "APPROVED", "kept"]
    assert body["Mail.Write"] == ["yes", "no", "no", "", "-"]
    assert body["EWS.AccessAsUser.All"] == ["no", "yes", "no", "EXCESS NOT IN ACTAS", "kept"]
    assert body["Calendars.Read.All"] == ["no", "no", "yes", "APPROVED, NOT GRANTED", "-"]


def test_application_without_app_only_is_one_line(recipe_html: str) -> None:
    page = Page(recipe_html)
    assert "Exchange Online: permission matrix" not in [t["caption"] for t in page.tables]
    assert (
        f"Exchange Online ({report_factory.EXO_ID}, enabled; partner-applications.xml:3):"
        " no app-only permission; 0 delegated (ActAs) permissions." in page.plain_text
    )


def test_application_in_many_exports_is_shown_once(recipe: Report) -> None:
    graph = recipe.inventory.partner_applications[1]
    copies = tuple(
        dataclasses.replace(
            graph,
            server=f"EX{index:03d}",
            source=dataclasses.replace(graph.source, path=f"exports/EX{index:03d}/apps.xml"),
        )
        for index in range(1, 61)
    )
    differing = dataclasses.replace(
        copies[-1],
        app_only_permissions=dataclasses.replace(
            graph.app_only_permissions, values=(*graph.app_only_permissions.values, "Mail.Extra")
        ),
    )
    report = dataclasses.replace(
        recipe,
        inventory=dataclasses.replace(
            recipe.inventory,
            partner_applications=(
                recipe.inventory.partner_applications[0],
                *copies[:-1],
                differing,
            ),
        ),
    )
    page = Page(render_html(report))
    captions = [t["caption"] for t in page.tables]
    assert captions.count("Microsoft Graph: permission matrix") == 1
    assert "in 60 exports; shown as in EX001-EX059 Differs EX060: AppOnly +Mail.Extra" in (
        page.plain_text
    )
    same = dataclasses.replace(
        report,
        inventory=dataclasses.replace(
            report.inventory,
            partner_applications=(recipe.inventory.partner_applications[0], *copies),
        ),
    )
    assert "identical in 60 exports (EX001-EX060)" in Page(render_html(same)).plain_text


def test_incomplete_lists_are_marked_and_not_compared(hostile_html: str) -> None:
    page = Page(hostile_html)
    assert "AppOnlyPermissions were truncated in the export" in page.plain_text
    captions = [t["caption"] for t in page.tables if "matrix" in str(t["classes"])]
    rows = page.table(str(captions[-1]))
    not_shown = next(row for row in rows if row[0] == "Contacts.Read")
    assert not_shown == ["Contacts.Read", "yes", "unknown", "no", "", "unknown"]
    shown = next(row for row in rows if row[0] == "Mail.Send")
    assert shown == ["Mail.Send", "yes", "yes", "no", "FORBIDDEN EXCESS (Mail.Send)", "unknown"]


def test_server_grid_shows_deviations_as_token_diffs(recipe_html: str) -> None:
    page = Page(recipe_html)
    rows = page.table("Servers that deviate (2), one column per vdir that deviates somewhere")
    assert rows == [
        ["Server", "Default Web Site/API", "Default Web Site/EWS"],
        ["EX01", "+V1S2SAppOnly FORBIDDEN (the change removes it) WC001", "default"],
        ["EX02", "+V1S2SAppOnly FORBIDDEN", "- Callback"],  # EX02's WC001 is waived
    ]
    assert "1 vdir on 1 server matches the default." in page.plain_text


def test_server_grid_folds_default_servers_into_one_sentence(recipe: Report) -> None:
    # Servers that match the default: their EWS (twice, two copies) and their Rest web.config,
    # which the scope expects of every server (without it a server's cell says "not read").
    ews = recipe.inventory.web_configs[1]
    api = next(c for c in recipe.inventory.web_configs if c.vdir == "Default Web Site/API")
    api = dataclasses.replace(api, oauth_profiles=None, inherits_profiles=False)
    extra = tuple(
        dataclasses.replace(config, server=f"EX{index:02d}", path=f"{config.path}.{index}")
        for index in range(3, 13)
        for config in (ews, ews, api)
    )
    report = report_factory.with_judgements(
        dataclasses.replace(
            recipe,
            inventory=dataclasses.replace(
                recipe.inventory, web_configs=(*recipe.inventory.web_configs, *extra)
            ),
        )
    )
    text = Page(render_html(report)).plain_text
    assert "21 vdirs on 11 servers match the default." in text
    assert "No deviation on 10 servers: EX03-EX12." in text


def test_backticks_in_rule_texts_render_as_code(recipe: Report) -> None:
    rules = tuple(
        dataclasses.replace(
            rule, rationale="Run `Set-PartnerApplication` with `-AppOnlyPermissions`."
        )
        if rule.id == "PA001"
        else rule
        for rule in recipe.policy.rules
    )
    report = dataclasses.replace(recipe, policy=dataclasses.replace(recipe.policy, rules=rules))
    html = render_html(report)
    assert "Run <code>Set-PartnerApplication</code> with <code>-AppOnlyPermissions</code>." in html
    assert "`" not in Page(html).plain_text.split("Why it matters")[1].split("References")[0]


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


def test_findings_are_grouped_per_rule(recipe: Report, recipe_html: str) -> None:
    page = Page(recipe_html)
    text = page.plain_text
    assert "PA001 on the organisation: AppOnlyPermissions are a wholesale copy" in text
    assert "WC001 on 1 server: V1S2SAppOnly is enabled" in text
    assert "FL001 on 2 servers: Servers disagree" in text
    for finding in recipe.findings:
        rule = recipe.policy.rule(finding.rule_id)
        assert finding.message in text
        assert rule.rationale in text
        for reference in rule.references:
            assert reference in text
    assert 'href="#script-1"><code>remediation/partner-applications.ps1</code></a>' in recipe_html
    fl001 = next(t for t in page.tables if t["caption"] == "FL001 findings")["rows"]
    assert fl001[1][0] == "vdir:Default Web Site/EWS"
    assert fl001[1][3] == "no generated script"
    # FL001's two files differ: the second is shown as a token diff against the first.
    assert "EX01: <Obj" not in fl001[1][2]
    assert "EX02: -Callback" in fl001[1][2]


def test_references_are_text_not_links(hostile_html: str) -> None:
    assert 'href="https://' not in hostile_html
    assert 'href="javascript:' not in hostile_html
    assert '<span class="ref">javascript:window.__pwned=3</span>' in hostile_html


def test_scripts_by_data_block_and_hash(recipe: Report, recipe_html: str) -> None:
    page = Page(recipe_html)
    text = page.plain_text
    for script in recipe.scripts:
        assert recipe_html.count(script.sha256) >= 2  # approval block and script section
        lines = len(script.content.splitlines())
        assert f"{script.kind}; {lines} lines, line endings CRLF" in text
    data = page.table("remediation/web-config-ex01.ps1: the values it works with")
    assert data[1][1:] == [
        "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2|V1S2SAppOnly",
        "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2",
    ]
    # Full source only inside a closed <details>.
    sources = [
        attrs for tag, attrs in page.tags if tag == "details" and attrs.get("class") == "source"
    ]
    assert len(sources) == len(recipe.scripts)
    assert all("open" not in attrs for attrs in sources)
    # The source is plain numbered text (escaped by the template), CRLF shown as lines.
    assert re.search(r"\n *\d+  .*Set-PartnerApplication -Identity", recipe_html)
    assert "[CR]" not in recipe_html


def test_script_source_over_budget_is_named_not_embedded(recipe: Report) -> None:
    big = dataclasses.replace(
        recipe.scripts[0], content=recipe.scripts[0].content + "# x\r\n" * 20_000
    )
    report = dataclasses.replace(recipe, scripts=(big, *recipe.scripts[1:]))
    page = Page(render_html(report))
    assert (
        f"Source not embedded (1{len(big.content) - 100_000:,} characters)"[:21] in page.plain_text
    )
    assert f"see remediation/partner-applications.ps1 (SHA-256 {big.sha256})" in page.plain_text


def test_missing_script_is_flagged(hostile_html: str) -> None:
    assert "NOT IN THIS PACKAGE" in hostile_html


def test_suppressed_findings_and_waivers(recipe_html: str) -> None:
    page = Page(recipe_html)
    rows = page.table("Waivers in the policy, judged as of 2025-06-30")[1:]
    assert [row[0] for row in rows] == ["ACTIVE 75 days left", "EXPIRES SOON 12 days left"]
    assert rows[0][5] == "RISK-1187" and rows[0][8] == "WC001"
    assert "1 finding suppressed by a waiver" in page.plain_text
    assert (
        "Owner Dana Whitfield (Messaging); ticket RISK-1187; approver Priya Raman"
        in page.plain_text
    )
    assert (
        "Waivers expiring within 30 days of 2025-06-30, or expired: EXPIRES SOON PA005"
        in page.plain_text
    )


def test_inputs_relative_to_the_audit_root(recipe: Report, hostile_html: str) -> None:
    page = Page(render_html(recipe))
    assert "paths relative to the audit root exports" in page.plain_text
    inputs = page.table("Input files as read")[1:]
    assert inputs[0] == [
        "partner-applications.xml",
        "-",
        "clixml",
        recipe.inventory.inputs[0].sha256,
    ]
    assert inputs[1][:3] == ["FrontEnd/HttpProxy/Rest/web.config", "EX01", "web.config"]
    assert recipe.policy.sha256 in page.plain_text
    hostile = Page(hostile_html)
    assert "1 input problem and 1 rule not applied" in hostile.plain_text
    assert hostile.table("Rules that could not be evaluated, and why")[1][0] == "PA001"


def test_approval_block(recipe_html: str) -> None:
    page = Page(recipe_html)
    text = page.plain_text
    approval = text[text.index("Approval Change id") :]
    assert approval.startswith("Approval Change id CHG0042137 Verdict NON-COMPLIANT")
    for choice in ("Approved", "Approved with conditions", "Rejected", "Deferred"):
        assert choice in approval
    assert page.table("Requester and reviewers")[0] == ["Role", "Name", "Signature", "Date"]
    boxes = [attrs for tag, attrs in page.tags if attrs.get("class") == "box"]
    assert len(boxes) == 4


def test_running_print_header_escapes_the_change_id(hostile_html: str, recipe_html: str) -> None:
    assert '@top-left { content: "Change CHG0042137 \\00b7  NON-COMPLIANT";' in recipe_html
    style = Page(hostile_html).style_text
    header = style[style.index("@top-left") :].split(";")[0]
    assert "<" not in header and '"' not in header[header.index('"') + 1 : -1]


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


# --- one judgement: the page shows the rules' marks, never its own -------------------------------


def _marks_in_matrix(html: str, caption: str) -> dict[str, str]:
    return {row[0]: row[4] for row in Page(html).table(caption)[1:]}


def test_every_permission_mark_is_the_judgement(recipe: Report) -> None:
    """A lower-case `mail.send` granted app-only is FORBIDDEN because the rules say so (they
    match case-insensitively); the page prints exactly the judgement's marks, row by row."""
    graph = recipe.inventory.partner_applications[1]
    names = ("mail.send", "MAIL.SEND", "Mail.Read", "privilege.skipclientaccessrules")
    graph = dataclasses.replace(
        graph,
        act_as_permissions=dataclasses.replace(graph.act_as_permissions, values=names[1:3]),
        app_only_permissions=dataclasses.replace(graph.app_only_permissions, values=names),
    )
    report = report_factory.with_judgements(
        dataclasses.replace(
            recipe,
            inventory=dataclasses.replace(
                recipe.inventory,
                partner_applications=(recipe.inventory.partner_applications[0], graph),
            ),
        )
    )
    judgement = report.judgements.application(graph.subject)
    assert judgement is not None
    shown = _marks_in_matrix(render_html(report), "Microsoft Graph: permission matrix")
    for permission in judgement.permissions:
        words = " ".join(mark.value for mark in permission.marks)
        if permission.forbidden_by:
            words += f" ({permission.forbidden_by})"
        assert shown[permission.name] == words, permission.name
    assert shown["mail.send"].startswith("FORBIDDEN EXCESS NOT IN ACTAS")
    # A judgement the page could not have derived: the page shows it as given.
    odd = dataclasses.replace(
        judgement,
        permissions=tuple(
            dataclasses.replace(p, marks=(PermissionMark.APPROVED,), forbidden_by=None)
            for p in judgement.permissions
        ),
    )
    report = dataclasses.replace(
        report, judgements=dataclasses.replace(report.judgements, applications=(odd,))
    )
    shown = _marks_in_matrix(render_html(report), "Microsoft Graph: permission matrix")
    assert set(shown.values()) == {"APPROVED"}


def test_every_token_mark_is_the_judgement(recipe: Report) -> None:
    """`V1S2SAppOnly` allowed on a vdir by the policy is not FORBIDDEN there: no judgement says
    so, so the page does not either, however the policy's other vdirs read."""
    vdirs = tuple(
        dataclasses.replace(v, allowed_profiles=(*v.allowed_profiles, "V1S2SAppOnly"))
        if v.vdir == report_factory.API_VDIR
        else v
        for v in recipe.policy.vdirs
    )
    report = report_factory.with_judgements(
        dataclasses.replace(
            _with_findings(recipe, {"FL001"}),
            policy=dataclasses.replace(recipe.policy, vdirs=vdirs),
        )
    )
    html = render_html(report)
    rows = Page(html).table("Servers that deviate (2), one column per vdir that deviates somewhere")
    assert rows[1] == ["EX01", "+V1S2SAppOnly", "default"]
    assert "FORBIDDEN" not in " ".join(" ".join(row) for row in rows)
    for judgement in report.judgements.profiles:
        for token in judgement.tokens:
            assert TokenMark.FORBIDDEN not in token.marks


# --- scale --------------------------------------------------------------------------------------


def test_five_thousand_findings_render_quickly_and_compactly() -> None:
    report = report_factory.large_report(5000)
    assert len(report.findings) == 5000
    html = render_html(report)
    # Bounded work, counted (not timed: shared machines are noisy): at most linear in findings.
    tenth = report_factory.large_report(500)
    assert count_calls(lambda: render_html(report)) < 10 * count_calls(lambda: render_html(tenth))
    page = Page(html)
    assert "Findings by rule" in page.plain_text
    assert len([attrs for tag, attrs in page.tags if tag == "tr" and attrs.get("id")]) == 5000


def test_rule_variants_list_every_server(tmp_path: Path) -> None:
    """FL001's fleet judgement holds each distinct value with all its servers: the page lists
    them in full (a real audit of a 12-server fleet, two of them with V1S2SAppOnly added)."""
    e19 = CSS_EXCHANGE / "E19"
    if not e19.is_dir():
        skip_or_fail(f"reference corpus not found at {e19}")
    root = fleet.build_fleet(tmp_path / "fleet", e19, 12, (3, 9))
    rows = Page(render_html(fleet.fleet_report(root))).table("FL001 findings")
    assert rows[1][0] == "Default Web Site/API, across servers"
    assert "10 servers (EX001, EX002, EX004-EX008, EX010-EX012)" in rows[1][2]
    assert "2 servers (EX003, EX009): +V1S2SAppOnly" in rows[1][2]
