"""What the change board reads in the HTML report: verdict, proposed change, applications, the
server grid, findings, waivers, scripts and inputs, each checked against the report that
`run_audit` made of fixture inputs (`scenarios`), never against a second judge.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import html_scenarios as scenarios
import pytest
import yaml
from html_page import Audited, Page, audit_all

from auditor.audit import AuditRequest, run_audit
from auditor.model import PermissionMark, Report, Severity, TokenMark
from auditor.render.html import render_html, visible
from auditor.resources import examples_dir, policies_dir

PLAN = "What changes, where, and the scripts that do it"


GRID = "Servers that deviate (2), one column per vdir that deviates somewhere"


APPROVE_MAIL_READ = policies_dir() / "examples" / "approve-graph-mail-read.yaml"


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Audited]:
    return audit_all(tmp_path_factory)


def _recipe_variant(
    root: Path, change: Callable[[Path], None] | None = None, **policy: object
) -> Report:
    """The recipe's inputs with `change` applied to the exports and `policy` settings added."""
    exports, _ = scenarios.write_recipe(root)
    if change is not None:
        change(exports)
    path = scenarios.write_policy(
        root / "variant.yaml", waivers=scenarios.recipe_waivers(), **policy
    )
    return scenarios.audit(exports, path)


def _first_screen(html: str) -> str:
    text = Page(html).plain_text
    return text[: text.index("Approval Change id")]


def _only(*rules: str) -> dict[str, object]:
    """Policy settings that turn off every rule but `rules`."""
    names = ("EV001", "EV002", "PA001", "PA002", "PA003", "PA004", "PA005")
    names += ("WC001", "WC002", "WC003", "FL001", "WV001")
    return {"rule_overrides": {rule: {"enabled": False} for rule in names if rule not in rules}}


def _without_ex02_rest(exports: Path) -> None:
    (exports / "EX02" / scenarios.REST_CONFIG).unlink()


# No cloud export: the hybrid trust is assessed on-premises and the verdict says so.
CLOUD = "its cloud side not assessed: no cloud evidence given"
SCOPE = (
    "partner applications and web.config of 2 of 2 servers and the on-premises hybrid trust;"
    f" {CLOUD}"
)


VERDICTS = {
    "fail": (
        {},
        f"Current configuration: NON-COMPLIANT for {SCOPE} (2 critical, 2 high). The proposed"
        " change fixes 6 of 7 findings on 2 servers and the organisation. Expected after the"
        " change: PASS.",
    ),
    "fail-on-critical": (
        {"fail_on": Severity.CRITICAL},
        f"Current configuration: NON-COMPLIANT for {SCOPE} (2 critical). The proposed change"
        " fixes 6 of 7 findings on 2 servers and the organisation. Expected after the change:"
        " PASS.",
    ),
    "one-high": (
        _only("WC001"),
        f"Current configuration: NON-COMPLIANT for {SCOPE} (1 high). The proposed change fixes"
        " 1 of 1 finding on 1 server. Expected after the change: PASS.",
    ),
    "pass-with-medium": (
        _only("FL001"),
        f"Current configuration: PASS for {SCOPE} (2 medium below high). No change is proposed:"
        " none of the 2 findings has a generated change (see what remains).",
    ),
    "pass-clean": (
        _only(),
        f"Current configuration: PASS for {SCOPE} (no findings). No change required within the"
        " assessed scope.",
    ),
    "incomplete-failing": (
        {"change": _without_ex02_rest},
        "Current configuration: INCOMPLETE for partner applications and web.config of 1 of 2"
        f" servers and the on-premises hybrid trust; {CLOUD}; not assessed: EX02 Default Web"
        " Site/API web.config"
        " (missing) (evidence missing; in what could be read: 2 critical, 3 high). The"
        " proposed change fixes 4 of 6 findings on 1 server and the organisation. Expected"
        " after the change: INCOMPLETE until the missing evidence is supplied.",
    ),
}


@pytest.mark.parametrize("case", list(VERDICTS))
def test_verdict_sentence_opens_the_page(case: str, tmp_path: Path) -> None:
    settings, sentence = VERDICTS[case]
    settings = dict(settings)
    fail_on = settings.pop("fail_on", Severity.HIGH)
    change = settings.pop("change", None)
    exports, _ = scenarios.write_recipe(tmp_path)
    if change is not None:
        change(exports)  # type: ignore[operator]
    policy = scenarios.write_policy(
        tmp_path / "variant.yaml", waivers=scenarios.recipe_waivers(), **settings
    )
    report = scenarios.audit(exports, policy, fail_on=fail_on)  # type: ignore[arg-type]
    text = Page(render_html(report)).plain_text
    body = text[text.index("Skip to the verdict") :]
    headline = body[body.index("Current configuration:") :]
    assert headline.startswith(sentence)
    assert body.index("Current configuration:") < body.index("Approval Change id")


def test_proposed_change_table_sits_under_the_verdict(audited: dict[str, Audited]) -> None:
    recipe_html = audited["recipe"].html
    page = Page(recipe_html)
    rows = page.table(PLAN)
    assert rows[0] == ["Target", "Where", "Before → after", "Restart", "Scripts"]
    graph, ex01, ex02 = rows[1:]
    assert graph[0] == f"Microsoft Graph {scenarios.GRAPH_ID}"
    assert graph[2].startswith("AppOnly before (29) → after (0) removes 29: Mail.Read, Mail.Write,")
    assert graph[4] == "remediation/partner-applications.ps1 rollback/partner-applications.ps1"
    assert ex01[0] == "EX01"
    assert ex01[1] == "Default Web Site/API FrontEnd\\HttpProxy\\Rest\\web.config"
    # Only the changed token is marked; a padded one is shown with its space visible.
    assert ex01[2] == f"Profiles: {scenarios.API_DEFAULT}|- V1S2SAppOnly"
    assert ex02[2] == f"Profiles: {scenarios.API_DEFAULT}|- ␣V1S2SAppOnly"
    assert ex01[3] == "app pool MSExchangeRestFrontEndAppPool recycled"
    first = _first_screen(recipe_html)
    assert "2 of 2 servers change: EX01, EX02." in first
    for label in ("What users notice", "Back-out", "Safety", "Verification"):
        assert f" {label} " in first, label
    assert "auditor verify" in first and "auditor attest" in first
    assert (
        "Not planned: what stays open after this change, and why What stays open "
        "Why no change is planned FL001 Default Web Site/EWS, across servers no planned change"
        " touches this vdir; align its servers by hand"
    ) in first


def _allow_on_api(root: Path) -> Path:
    """The example policy's approvals (app-only Mail.Read for Graph, V1S2SAppOnly on the API
    vdir) without its waiver."""
    example = yaml.safe_load(APPROVE_MAIL_READ.read_text(encoding="utf-8"))
    return scenarios.write_policy(
        root / "approve.yaml", applications=example["applications"], vdirs=example["vdirs"]
    )


def test_approved_padded_token_is_marked_enables(tmp_path: Path) -> None:
    """The policy allows V1S2SAppOnly on the API vdir: EX02's ` V1S2SAppOnly`, which
    Exchange drops today, is written correctly by the change, which ENABLES it."""
    exports, _ = scenarios.write_recipe(tmp_path)
    rows = Page(render_html(scenarios.audit(exports, _allow_on_api(tmp_path)))).table(PLAN)
    (ex02,) = [row for row in rows if row[0] == "EX02"]
    assert ex02[2] == f"Profiles: {scenarios.API_DEFAULT}|V1S2SAppOnly ENABLES"


def test_the_bundled_example_says_the_servers_changes_resolve_fl001(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The planner lists FL001 among the fixes of both servers' changes; the report says so.
    (The example with the dedicated hybrid app enabled: its own HT001 is the next test's.)"""
    shutil.copytree(examples_dir(), tmp_path / "examples")
    scenarios.enable_dedicated_app(tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    report = run_audit(
        AuditRequest(paths=(Path("examples"),), as_of=datetime.date(2026, 11, 26), change_id="C")
    )
    assert report.as_of == datetime.date(2026, 11, 26)  # a date, written as ISO text
    text = _first_screen(render_html(report))
    assert "audited as of 2026-11-26" in Page(render_html(report)).plain_text
    assert "fixes 7 of 7 findings on 2 servers and the organisation" in text
    assert (
        "FL001 Default Web Site/API, across servers: resolved by "
        "remediation/web-config-ex01.ps1, remediation/web-config-ex02.ps1" in text
    )
    assert "no change is planned" not in text


def test_the_bundled_example_says_the_override_script_fixes_ht001(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(examples_dir().parent)
    report = run_audit(
        AuditRequest(paths=(Path("examples"),), as_of=datetime.date(2026, 11, 26), change_id="C")
    )
    assert [s.name for s in report.scripts if "dedicated-app-override" in s.name]
    text = _first_screen(render_html(report))
    assert "fixes 8 of 8 findings" in text
    assert "no change is planned" not in text


def test_skipped_findings_say_why(audited: dict[str, Audited]) -> None:
    """FL001 on EWS: the servers disagree and no planned change touches the vdir."""
    recipe_html = audited["recipe"].html
    page = Page(recipe_html)
    reason = "no planned change touches this vdir; align its servers by hand"
    not_planned = page.table("Not planned: what stays open after this change, and why")
    assert not_planned[1] == ["FL001 Default Web Site/EWS, across servers", reason]
    assert (
        "This package does not fix: FL001 Default Web Site/EWS, across servers" in page.plain_text
    )
    fl001_rows = page.table("FL001 findings")
    assert fl001_rows[2][0] == "Default Web Site/EWS, across servers"
    assert fl001_rows[2][3] == f"no script: {reason}"
    assert fl001_rows[1][3] == (
        "resolved by remediation/web-config-ex01.ps1, remediation/web-config-ex02.ps1"
    )


def test_pass_asks_for_no_signature(tmp_path: Path) -> None:
    page = Page(render_html(_recipe_variant(tmp_path, **_only())))
    text = page.plain_text
    assert "No change required: this package proposes no change" in text
    assert "Signature" not in text and "Board decision" not in text
    assert not [attrs for tag, attrs in page.tags if attrs.get("class") == "box"]
    assert not [t for t in page.tables if "plan" in str(t["classes"])]


def test_counts_by_severity_without_a_chart(audited: dict[str, Audited]) -> None:
    recipe_html = audited["recipe"].html
    page = Page(recipe_html)
    assert page.table("Findings by severity") == [
        ["Findings", "critical", "high", "medium", "low", "info"],
        ["Active", "2", "2", "3", "0", "0"],
        ["Suppressed", "0", "1", "0", "0", "0"],
    ]
    assert not [tag for tag, _ in page.tags if tag in ("svg", "rect")]


def test_permission_matrix_shows_judgements_forbidden_first(audited: dict[str, Audited]) -> None:
    recipe = audited["recipe"].report
    recipe_html = audited["recipe"].html
    rows = Page(recipe_html).table("Microsoft Graph: permission matrix")
    assert rows[0] == ["Permission", "ActAs", "AppOnly", "Approved", "Status", "After the change"]
    body = {row[0]: row[1:] for row in rows[1:]}
    (graph,) = [a for a in recipe.inventory.partner_applications if a.name == "Microsoft Graph"]
    assert set(body) == set(graph.act_as_permissions.values)
    forbidden = [row[0] for row in rows[1:] if row[4].startswith("FORBIDDEN")]
    assert forbidden == [row[0] for row in rows[1 : len(forbidden) + 1]]  # forbidden first
    assert body["Mail.Read"] == ["yes", "yes", "no", "EXCESS", "removed"]
    assert body["Mail.Send"] == ["yes", "yes", "no", "FORBIDDEN EXCESS (Mail.Send*)", "removed"]


def _graph_export(folder: Path, app_only: list[str], act_as: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    app = {
        "ApplicationIdentifier": scenarios.GRAPH_ID,
        "Name": "Microsoft Graph",
        "Enabled": True,
        "AppOnlyPermissions": app_only,
        "ActAsPermissions": act_as,
    }
    (folder / "PartnerApplication.json").write_text(json.dumps([app]), encoding="utf-8")


def test_permission_matrix_approved_and_unlisted_names(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    _graph_export(
        exports / "EX01",
        ["Mail.Read", "Mail.Send", "Tasks.Read"],
        ["Mail.Read", "Mail.Write", "Mail.Send"],
    )
    approve = {
        "application_identifier": scenarios.GRAPH_ID,
        "name": "Microsoft Graph",
        "approved_app_only": ["Mail.Read", "Calendars.Read.All"],
    }
    policy = scenarios.write_policy(tmp_path / "policy.yaml", applications=[approve])
    rows = Page(render_html(scenarios.audit(exports, policy))).table(
        "Microsoft Graph: permission matrix"
    )
    body = {row[0]: row[1:] for row in rows[1:]}
    assert body["Mail.Read"] == ["yes", "yes", "yes", "APPROVED", "kept"]
    assert body["Mail.Write"] == ["yes", "no", "no", "", "-"]
    assert body["Tasks.Read"] == ["no", "yes", "no", "EXCESS NOT IN ACTAS", "removed"]
    assert body["Calendars.Read.All"] == ["no", "no", "yes", "APPROVED, NOT GRANTED", "-"]


def test_application_without_app_only_is_one_line(audited: dict[str, Audited]) -> None:
    recipe_html = audited["recipe"].html
    page = Page(recipe_html)
    assert "Exchange Online: permission matrix" not in [t["caption"] for t in page.tables]
    assert (
        f"Exchange Online ({scenarios.EXO_ID}, enabled; EX01/PartnerApplication.xml:"
        in page.plain_text
    )
    assert "no app-only permission; 0 delegated (ActAs) permissions." in page.plain_text


def test_application_in_many_exports_is_shown_once(tmp_path: Path) -> None:
    granted = ["Mail.Read", "Mail.Send"]
    for index in range(1, 13):
        extra = ["Mail.Extra"] if index == 12 else []
        server = tmp_path / "differs" / f"EX{index:03d}"
        _graph_export(server, granted + extra, granted)
        shutil.copytree(examples_dir() / "EX01" / "FrontEnd", server / "FrontEnd")
    page = Page(render_html(scenarios.audit(tmp_path / "differs")))
    captions = [t["caption"] for t in page.tables]
    assert captions.count("Microsoft Graph: permission matrix") == 1
    assert "in 12 exports; shown as in EX001-EX011 Differs EX012: AppOnly +Mail.Extra" in (
        page.plain_text
    )
    for index in range(1, 13):
        server = tmp_path / "same" / f"EX{index:03d}"
        _graph_export(server, granted, granted)
        shutil.copytree(examples_dir() / "EX01" / "FrontEnd", server / "FrontEnd")
    same = Page(render_html(scenarios.audit(tmp_path / "same")))
    assert "identical in 12 exports (EX001-EX012)" in same.plain_text


def test_incomplete_lists_are_marked_and_not_compared(audited: dict[str, Audited]) -> None:
    page = Page(audited["hostile"].html)
    assert "AppOnlyPermissions were truncated in the export" in page.plain_text
    captions = [str(t["caption"]) for t in page.tables if "matrix" in str(t["classes"])]
    truncated = page.table(next(c for c in captions if c.startswith("Truncated ")))
    # Format-List cut the AppOnly list: it is compared with nothing (no EXCESS, no NOT IN ACTAS)
    # and the plan does not touch it; the names it shows are still judged forbidden or not.
    assert truncated[1:] == [
        ["Mail.Write", "no", "yes", "no", "FORBIDDEN (*.Write*)", "kept"],
        ["Mail.Send", "no", "yes", "no", "FORBIDDEN (Mail.Send*)", "kept"],
        ["Mail.Read", "yes", "yes", "no", "", "kept"],
        ["User.Read", "no", "yes", "no", "", "kept"],
    ]
    rows = page.table(next(c for c in captions if c.startswith("Microsoft Graph")))
    # ActAsPermissions held a name no permission could be: that list is not compared.
    unknown = next(row for row in rows if row[0] == scenarios.STYLE_BREAK)
    assert unknown == [scenarios.STYLE_BREAK, "unknown", "yes", "no", "EXCESS", "removed"]
    shown = next(row for row in rows if row[0] == "Mail.Send")
    assert shown == ["Mail.Send", "yes", "yes", "no", "FORBIDDEN EXCESS (Mail.Send*)", "removed"]


def test_server_grid_shows_deviations_as_token_diffs(audited: dict[str, Audited]) -> None:
    recipe_html = audited["recipe"].html
    page = Page(recipe_html)
    assert page.table(GRID) == [
        ["Server", "Default Web Site/API", "Default Web Site/EWS"],
        ["EX01", "+V1S2SAppOnly FORBIDDEN (the change removes it) WC001", "default"],
        # EX02's WC001 is waived: the cell links the finding that is not (WC002).
        ["EX02", "␣V1S2SAppOnly DROPPED FORBIDDEN (the change removes it) WC002", "- Callback"],
    ]
    assert "1 vdir on 1 server matches the default." in page.plain_text


def test_server_grid_folds_default_servers_into_one_sentence(tmp_path: Path) -> None:
    def add_default_servers(exports: Path) -> None:
        for index in range(3, 13):
            server = exports / f"EX{index:02d}"
            shutil.copytree(exports / "EX02" / "FrontEnd", server / "FrontEnd")
            rest = server / scenarios.REST_CONFIG
            rest.write_bytes(rest.read_bytes().replace(b"| V1S2SAppOnly", b""))
            ews = server / scenarios.EWS_CONFIG
            ews.write_bytes(ews.read_bytes().replace(b"V1AppOnly", b"V1AppOnly|Callback"))

    text = Page(render_html(_recipe_variant(tmp_path, add_default_servers))).plain_text
    assert "No deviation on 10 servers: EX03-EX12." in text


def test_findings_are_grouped_per_rule(audited: dict[str, Audited]) -> None:
    recipe = audited["recipe"].report
    recipe_html = audited["recipe"].html
    page = Page(recipe_html)
    text = page.plain_text
    assert "PA001 on the organisation: AppOnlyPermissions are a wholesale copy" in text
    assert "WC001 on 1 server: A forbidden OAuth profile is enabled" in text
    assert "FL001 on 2 servers: Servers disagree" in text
    for finding in recipe.findings:
        rule = recipe.policy.rule(finding.rule_id)
        assert " ".join(visible(finding.message).split()) in text
        assert " ".join(rule.rationale.replace("`", "").split()) in text
        for reference in rule.references:
            assert reference in text
    assert 'href="#script-1"><code>remediation/partner-applications.ps1</code></a>' in recipe_html
    fl001 = page.table("FL001 findings")
    assert fl001[2][0] == "Default Web Site/EWS, across servers"
    # FL001's two files differ: the second is shown as a token diff against the first.
    assert "-Callback" in fl001[2][2]


def test_scripts_by_data_block_and_hash(audited: dict[str, Audited]) -> None:
    recipe = audited["recipe"].report
    recipe_html = audited["recipe"].html
    page = Page(recipe_html)
    text = page.plain_text
    for script in recipe.scripts:
        assert recipe_html.count(script.sha256) >= 2  # approval block and script section
        lines = len(script.content.splitlines())
        assert f"{script.kind}, {lines} lines, CRLF" in text
    (row,) = [
        r
        for r in page.table("6 scripts: what each changes, its SHA-256 and size")
        if r[0].startswith("remediation/web-config-ex01.ps1")
    ]
    assert f"{scenarios.API_DEFAULT}|V1S2SAppOnly" in row[3]
    # Full source only inside a closed <details>, within the embedding budget.
    sources = [
        attrs for tag, attrs in page.tags if tag == "details" and attrs.get("class") == "source"
    ]
    assert sources and all("open" not in attrs for attrs in sources)
    # The source is plain numbered text (escaped by the template), CRLF shown as lines.
    assert re.search(r"\n *\d+  .*Set-PartnerApplication -Identity", recipe_html)
    assert "[CR]" not in recipe_html


def test_script_source_over_budget_is_named_not_embedded(audited: dict[str, Audited]) -> None:
    """The six scripts together exceed the page's source budget: the last ones are named with
    their SHA-256 instead of embedded."""
    recipe = audited["recipe"].report
    recipe_html = audited["recipe"].html
    text = Page(recipe_html).plain_text
    (late,) = [s for s in recipe.scripts if s.name == "remediation/web-config-ex02.ps1"]
    assert (
        "remediation/web-config-ex02.ps1 remediation, 834 lines, CRLF, source not embedded" in text
    )
    assert f"source not embedded {late.sha256}" in text


def test_suppressed_findings_and_waivers(audited: dict[str, Audited]) -> None:
    recipe_html = audited["recipe"].html
    page = Page(recipe_html)
    rows = page.table("Waivers in the policy, judged as of 2026-06-10")[1:]
    assert [row[0] for row in rows] == ["ACTIVE 120 days left", "EXPIRES SOON 12 days left"]
    assert rows[0][5] == "CHG-2040" and rows[0][8] == "WC001"
    assert rows[1][8] == "none"
    assert "1 finding suppressed by a waiver" in page.plain_text
    assert (
        "Waivers expiring within 30 days of 2026-06-10, or expired: EXPIRES SOON PA005"
        in page.plain_text
    )


def test_inputs_relative_to_the_audit_root(audited: dict[str, Audited]) -> None:
    recipe = audited["recipe"].report
    hostile_html = audited["hostile"].html
    recipe_html = audited["recipe"].html
    page = Page(recipe_html)
    assert "paths relative to the audit root exports" in page.plain_text
    inputs = page.table("Input files as read")[1:]
    by_path = {row[0]: row for row in inputs if row[1] == "EX01"}
    xml = next(s for s in recipe.inventory.inputs if s.path.endswith("PartnerApplication.xml"))
    assert by_path["PartnerApplication.xml"] == [
        "PartnerApplication.xml",
        "EX01",
        "clixml",
        xml.sha256,
    ]
    assert by_path["FrontEnd/HttpProxy/Rest/web.config"][:3] == [
        "FrontEnd/HttpProxy/Rest/web.config",
        "EX01",
        "web.config",
    ]
    assert recipe.policy.sha256 in page.plain_text
    hostile = Page(hostile_html)
    assert "4 input problems and 17 rules not applied" in hostile.plain_text  # HT: left out
    assert hostile.table("Rules that could not be evaluated, and why")[1][0] == "FL001"


def _marks_in_matrix(html: str, caption: str) -> dict[str, str]:
    return {row[0]: row[4] for row in Page(html).table(caption)[1:]}


def test_every_permission_mark_is_the_judgement(tmp_path: Path) -> None:
    """A lower-case `mail.send` granted app-only is FORBIDDEN because the rules say so (they
    match case-insensitively); the page prints exactly the judgement's marks, row by row."""
    names = ["mail.send", "MAIL.SEND", "Mail.Read", "privilege.skipclientaccessrules"]
    _graph_export(tmp_path / "exports" / "EX01", names, names[1:3])
    report = scenarios.audit(tmp_path / "exports")
    (judgement,) = report.judgements.applications
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


def test_every_token_mark_is_the_judgement(tmp_path: Path) -> None:
    """`V1S2SAppOnly` allowed on a vdir by the policy is not FORBIDDEN there: no judgement says
    so, so the page does not either."""
    exports, _ = scenarios.write_recipe(tmp_path)
    report = scenarios.audit(exports, _allow_on_api(tmp_path))
    rows = Page(render_html(report)).table(GRID)
    assert rows[1] == ["EX01", "+V1S2SAppOnly", "default"]
    assert "FORBIDDEN" not in " ".join(" ".join(row) for row in rows)
    for judgement in report.judgements.profiles:
        for token in judgement.tokens:
            assert TokenMark.FORBIDDEN not in token.marks
