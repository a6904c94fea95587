"""The story a change board reads is the plan's: RUNBOOK.md and the report's impact, back-out and
verification text, for three packages (the bundled example; the least-privilege example policy,
which ENABLES a token; an incomplete audit without EX02's Rest web.config), each section
snapshot-tested on its own and every claim in it checked against plan.json.
"""

from __future__ import annotations

import datetime
import html
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import html_scenarios as scenarios

from auditor.audit import AuditRequest, run_audit
from auditor.model import EvidenceClass, Report
from auditor.render.html import render_html
from auditor.render.json_ import render_plan
from auditor.render.runbook import render_runbook
from auditor.render.story import REGRANT_SWITCH
from auditor.resources import examples_dir, policies_dir, templates_dir

AS_OF = datetime.date(2026, 11, 26)
PACKAGES = ("example", "least-privilege", "incomplete")
_SCRIPT = re.compile(r"(?:remediation|rollback)/[a-z0-9<>-]+\.ps1")


def _audit(paths: tuple[Path, ...], **options: Any) -> Report:
    return run_audit(AuditRequest(paths=paths, as_of=AS_OF, change_id="CHG-STORY-1", **options))


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Report]:
    incomplete = tmp_path_factory.mktemp("incomplete") / "examples"
    shutil.copytree(examples_dir(), incomplete)
    (incomplete / "EX02" / "FrontEnd" / "HttpProxy" / "Rest" / "web.config").unlink()
    policy = policies_dir() / "examples" / "approve-graph-mail-read.yaml"
    return {
        "example": _audit((examples_dir(),)),
        "least-privilege": _audit((examples_dir(),), policy_paths=(policy,)),
        "incomplete": _audit((incomplete,)),
        "web-config-only": _audit((examples_dir(),), scope=(EvidenceClass.WEB_CONFIG,)),
    }


def _sections(runbook: str) -> dict[str, str]:
    parts = runbook.split("\n## ")
    return {part.split("\n", 1)[0]: part.split("\n", 1)[1].strip() for part in parts[1:]}


def _plan_lines(report: Report) -> dict[str, list[str]]:
    """The report's proposed-change facts (What users notice, Back-out, ...) as plain text."""
    page = render_html(report)
    block = page[page.index('<dl class="facts plan-lines">') :]
    block = block[: block.index("</dl>")]
    out: dict[str, list[str]] = {}
    current = ""
    for label, text in re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", block, flags=re.S):
        current = html.unescape(re.sub(r"<[^>]+>", "", label)) or current
        out.setdefault(current, []).append(html.unescape(re.sub(r"<[^>]+>", "", text)))
    return out


def _plan(report: Report) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(render_plan(report))
    return document


# --- snapshots, one per section -----------------------------------------------------------------


@pytest.mark.parametrize("package", PACKAGES)
def test_runbook_sections_match_snapshots(
    reports: dict[str, Report], package: str, snapshot
) -> None:  # type: ignore[no-untyped-def]
    sections = _sections(render_runbook(reports[package]))
    assert list(sections) == snapshot(name="titles")
    for title, text in sections.items():
        if title == "Scripts and their SHA-256":
            continue  # hashes: the package snapshots cover the scripts
        assert text == snapshot(name=title)


@pytest.mark.parametrize("package", PACKAGES)
def test_report_impact_back_out_and_verification_match_snapshots(  # type: ignore[no-untyped-def]
    reports: dict[str, Report], package: str, snapshot
) -> None:
    lines = _plan_lines(reports[package])
    for label in ("What users notice", "Back-out", "Verification"):
        assert lines[label] == snapshot(name=label)


# --- every claim against plan.json ----------------------------------------------------------------


@pytest.mark.parametrize("package", [*PACKAGES, "web-config-only"])
def test_only_scripts_of_the_package_are_named(reports: dict[str, Report], package: str) -> None:
    report = reports[package]
    plan = _plan(report)
    slugs = [change_set["slug"] for change_set in plan["change_sets"]]
    expected = {f"{kind}/{slug}.ps1" for slug in slugs for kind in ("remediation", "rollback")}
    runbook = render_runbook(report)
    assert set(_SCRIPT.findall(runbook)) == expected
    report_text = " ".join(line for lines in _plan_lines(report).values() for line in lines)
    named = {
        name.replace("\\", "/").lstrip("./")
        for name in re.findall(r"\.\\(?:remediation|rollback)\\[a-z0-9-]+\.ps1", report_text)
    }
    assert named == {name for name in expected if name.startswith("rollback/")}
    has_partner = any(cs["kind"] == "partner-applications" for cs in plan["change_sets"])
    for words in ("Set-PartnerApplication", REGRANT_SWITCH, "partner application(s)"):
        assert (words in runbook) is has_partner, words


@pytest.mark.parametrize("package", PACKAGES)
def test_each_step_runs_where_the_plan_says(reports: dict[str, Report], package: str) -> None:
    plan = _plan(reports[package])
    sections = _sections(render_runbook(reports[package]))
    steps = re.findall(
        r"^(\d+)\. (\S+): (.*)$", sections["Which script runs where, in this order"], re.M
    )
    assert [name for _, name, _ in steps] == [
        f"remediation/{cs['slug']}.ps1"
        for cs in sorted(plan["change_sets"], key=lambda cs: cs["kind"] != "partner-applications")
    ]
    servers = {cs["slug"]: cs["server"] for cs in plan["change_sets"]}
    for _, name, text in steps:
        server = servers[name.removeprefix("remediation/").removesuffix(".ps1")]
        if server is None:
            assert "Exchange Management Shell" in text and "itself" not in text
        else:
            assert f"on the server {server} itself" in text
    changing = [cs["server"] for cs in plan["change_sets"] if cs["server"]]
    assert sections["Servers to change"] == f"{len(changing)} server(s): " + ", ".join(changing)


@pytest.mark.parametrize("package", PACKAGES)
def test_back_out_is_the_reverse_with_exact_commands(
    reports: dict[str, Report], package: str
) -> None:
    plan = _plan(reports[package])
    back_out = _sections(render_runbook(reports[package]))["Back-out, in this order"]
    steps = re.findall(r"^\d+\. (\S+): (.*)$", back_out, re.M)
    run = [f"rollback/{cs['slug']}.ps1" for cs in plan["change_sets"]]
    run.sort(key=lambda name: name != "rollback/partner-applications.ps1")
    assert [name for name, _ in steps] == list(reversed(run))
    kinds = {cs["slug"]: cs["kind"] for cs in plan["change_sets"]}
    for name, text in steps:
        command = ".\\" + name.replace("/", "\\")
        slug = name.removeprefix("rollback/").removesuffix(".ps1")
        server = {cs["slug"]: cs["server"] for cs in plan["change_sets"]}[slug]
        if kinds[slug] == "dedicated-app-override":  # org-wide, nothing to regrant
            step = 1 + [f"rollback/{cs['slug']}.ps1" for cs in plan["change_sets"]].index(name)
            assert f"Run: `{command}`." in text and REGRANT_SWITCH not in text
            assert f"Exchange server where step {step} ran" in text
        elif server is None:
            assert f"Run: `{command} {REGRANT_SWITCH}`." in text
            assert "Exchange server where step 1 ran" in text
        else:
            assert f"Run: `{command}`." in text and REGRANT_SWITCH not in text.split("Run:")[1]
            assert f"on the server {server} itself" in text
    (report_back,) = _plan_lines(reports[package])["Back-out"]
    assert report_back.startswith("In this order: ")
    assert re.findall(r"\.\\rollback\\[a-z0-9-]+\.ps1(?: -ConfirmRegrant)?", report_back) == [
        ".\\" + name.replace("/", "\\") + (f" {REGRANT_SWITCH}" if "partner" in name else "")
        for name in reversed(run)
    ]


def test_the_partner_rollback_template_takes_the_regrant_switch() -> None:
    template = (templates_dir() / "ps1" / "partner-applications.rollback.ps1.j2").read_text()
    assert f"[switch] ${REGRANT_SWITCH.lstrip('-')}" in template
    assert f"-not ${REGRANT_SWITCH.lstrip('-')} -and -not $WhatIfPreference" in template


@pytest.mark.parametrize("package", PACKAGES)
def test_who_loses_and_gains_what_is_the_plan(reports: dict[str, Report], package: str) -> None:
    plan = _plan(reports[package])
    notice = _sections(render_runbook(reports[package]))["What users notice"]
    for change_set in plan["change_sets"]:
        for app in change_set["partner_applications"]:
            lost = re.search(
                rf"token of {re.escape(app['name'])} \({app['application_identifier']}\) lose "
                r"(\d+) app-only permission\(s\) organisation-wide as soon as the script ends: "
                r"(.*?); it keeps (?:none|(\d+): (.*?))\. Its delegated",
                notice,
            )
            assert lost is not None
            assert int(lost.group(1)) == len(app["removes"])
            assert lost.group(2).split(", ") == app["removes"]
            kept = lost.group(4).split(", ") if lost.group(4) else []
            assert kept == app["target_app_only"]
    enables = {
        (cs["server"], token)
        for cs in plan["change_sets"]
        for change in cs["web_configs"]
        for token in change["enables"]
    }
    said = set(re.findall(r"ENABLES (\S+) on Default Web Site/API on ([^,\s]+), from", notice))
    assert {(server, token) for token, server in said} == enables
    removed = set(
        re.findall(r"on (\S+): app-only \(client credentials\) callers lose access", notice)
    )
    assert removed == {
        cs["server"]
        for cs in plan["change_sets"]
        for change in cs["web_configs"]
        if "V1S2SAppOnly" in change["removes"]
    }
    # Who gains: the app-only permissions the plan leaves in place.
    gains = re.findall(r"app-only permissions after this package: (.*?)\.\n", notice + "\n")
    assert len(gains) == len(enables)
    for gained in gains:
        kept = {
            f"{app['name']}: {', '.join(app['target_app_only'])}"
            for cs in plan["change_sets"]
            for app in cs["partner_applications"]
            if app["target_app_only"]
        }
        assert set(gained.split("; ")) == kept


@pytest.mark.parametrize("package", PACKAGES)
def test_recycles_and_the_functional_check_name_the_changed_servers(
    reports: dict[str, Report], package: str
) -> None:
    plan = _plan(reports[package])
    sections = _sections(render_runbook(reports[package]))
    servers = ", ".join(cs["server"] for cs in plan["change_sets"] if cs["server"])
    notice, verify = sections["What users notice"], sections["Afterwards: verify"]
    assert f"MSExchangeRestFrontEndAppPool is recycled once on {servers} (an overlapped" in notice
    assert "No failed requests are expected" in notice and "fail once" not in notice
    assert f"Functional check of /API (Default Web Site/API, the REST vdir) on {servers}" in verify
    assert "https://<server>/api/v2.0/me" in verify and "401" in verify
    assert "WWW-Authenticate" in verify and "Outlook on the web" not in verify


def _template_text(name: str) -> str:
    """A template with the partials it includes (`{% include '_x.ps1.j2' %}`) in place."""
    text = (templates_dir() / "ps1" / name).read_text()
    return re.sub(r"\{% include '([^']+)' %\}", lambda match: _template_text(match.group(1)), text)


def _template_outputs(name: str) -> list[list[str]]:
    """The single-quoted pieces of every `AUDITOR-*` Write-Output line of a template."""
    text = _template_text(name)
    outputs = []
    for line in text.splitlines():
        if "Write-Output" in line and "AUDITOR-" in line:
            outputs.append(
                [piece.replace("''", "'") for piece in re.findall(r"'((?:[^']|'')*)'", line)]
            )
    return outputs


def _printed_by(expected: str, template: str) -> bool:
    for pieces in _template_outputs(template):
        pattern = ".*?".join(re.escape(piece) for piece in pieces if piece)
        if pieces and expected.startswith(pieces[0]) and re.fullmatch(pattern + ".*", expected):
            return True
    return False


@pytest.mark.parametrize("package", PACKAGES)
def test_expected_output_is_what_the_scripts_print(
    reports: dict[str, Report], package: str
) -> None:
    runbook = _sections(render_runbook(reports[package]))
    plan = _plan(reports[package])
    kinds = {cs["slug"]: cs["kind"] for cs in plan["change_sets"]}
    for section, folder in (
        ("Which script runs where, in this order", "remediation"),
        ("Back-out, in this order", "rollback"),
    ):
        for name, expected in re.findall(
            r"^\d+\. \S+/(\S+)\.ps1: .*?Expected output: (.*)\.$", runbook[section], re.M
        ):
            lines = re.findall(r"`(AUDITOR-[^`]*)`", expected)
            assert lines and lines[-1].startswith("AUDITOR-DONE: ")
            template = f"{kinds[name]}.{folder}.ps1.j2"
            for line in lines:
                assert _printed_by(line, template), (template, line)


def test_enables_has_its_own_colour_and_word(reports: dict[str, Report]) -> None:
    report = reports["least-privilege"]
    page = render_html(report)
    css = dict(
        re.findall(r"^(\.mark-[a-z-, .]+|code\.enabled) \{ (color: #[0-9a-f]+);", page, re.M)
    )
    approved = next(colour for selector, colour in css.items() if ".mark-approved" in selector)
    assert css[".mark-enables"] != approved and css["code.enabled"] != approved
    assert '<span class="mark mark-enables">ENABLES</span>' in page
    assert 'class="enables-line">Step 2: ENABLES V1S2SAppOnly' in page
    runbook = render_runbook(report)
    assert "ENABLES: this step widens access." in runbook
    summary = __import__("auditor.render.markdown", fromlist=["render_markdown"]).render_markdown(
        report
    )
    assert "**ENABLES V1S2SAppOnly**" in summary


def test_a_package_without_partner_script_never_describes_one(reports: dict[str, Report]) -> None:
    runbook = render_runbook(reports["web-config-only"])
    assert "partner-applications.ps1" not in runbook
    assert "No partner application changes: app-only permissions stay as audited." in runbook
    assert "Step 1 (partner applications)" not in runbook


# --- the report answers the board for every package ----------------------------------------


def test_an_incomplete_audit_says_what_stays_open_beside_the_change(
    reports: dict[str, Report],
) -> None:
    page = render_html(reports["incomplete"])
    summary = page[page.index('<section id="summary"') : page.index('<section id="approval"')]
    table = summary[summary.index('class="plan not-planned"') :]
    table = html.unescape(re.sub(r"<[^>]+>", " ", table[: table.index("</table>")]))
    assert "EX02 Default Web Site/API web.config" in table and "not assessed (missing" in table
    approval = page[page.index('<section id="approval"') : page.index('<section id="runbook"')]
    does_not_fix = approval[approval.index('class="does-not-fix"') :]
    does_not_fix = html.unescape(re.sub(r"<[^>]+>", "", does_not_fix[: does_not_fix.index("</p>")]))
    assert "This package does not fix:" in does_not_fix
    assert "EX02 Default Web Site/API web.config" in does_not_fix
    # The Not-planned box scrolls at 390 px, so it can be reached from the keyboard.
    assert (
        '<div class="scroll" tabindex="0" role="region" aria-label="Not planned: what stays open'
        in summary
    )


def test_a_complete_package_that_fixes_everything_has_no_not_planned_block(
    tmp_path: Path,
) -> None:
    # The least-privilege package of the example with the dedicated hybrid app enabled (the
    # example's HT001 override script is not yet a plan item: tests/render/test_html_board.py)
    shutil.copytree(examples_dir(), tmp_path / "examples")
    scenarios.enable_dedicated_app(tmp_path / "examples")
    policy = policies_dir() / "examples" / "approve-graph-mail-read.yaml"
    page = render_html(_audit((tmp_path / "examples",), policy_paths=(policy,)))
    assert 'class="plan not-planned"' not in page and 'class="does-not-fix"' not in page


def _script_fixes(page: str) -> dict[str, str]:
    """Each script's "Fixes" text, from the script blocks or the one-table form."""
    scripts = page[page.index('<section id="scripts"') :]
    found = dict(
        re.findall(r"<h3><code>([^<]+)</code></h3>.*?<dt>Fixes</dt><dd>(.*?)</dd>", scripts, re.S)
    )
    found |= dict(
        re.findall(
            r'<tr id="script-\d+"><th scope="row"><code>([^<]+)</code>.*?</th>'
            r'<td class="hash">[0-9a-f]+</td><td>(.*?)</td>',
            scripts,
            re.S,
        )
    )
    return found


@pytest.mark.parametrize("package", ["example", "least-privilege"])  # table and block forms
def test_rollback_scripts_are_never_listed_as_fixes(
    reports: dict[str, Report], package: str
) -> None:
    fixes = _script_fixes(render_html(reports[package]))
    assert set(fixes) == {script.name for script in reports[package].scripts}
    for name, text in fixes.items():
        if name.startswith("rollback/"):
            assert not re.search(r"(PA|WC|FL|HT)\d{3}", text) and "none" in text, name
        else:
            assert re.search(r"(PA|WC|HT)\d{3}", text), name


def test_a_waived_finding_the_package_fixes_anyway_says_so(reports: dict[str, Report]) -> None:
    # The example policy's WC002 waiver on EX02 expired; the change on EX02 fixes it anyway.
    report = reports["least-privilege"]
    slugs = [
        item.change_set.slug
        for item in report.plan_items()
        if item.subject == "web-config:EX02:Default Web Site/API"
    ]
    assert slugs == ["web-config-ex02"]
    text = html.unescape(re.sub(r"<[^>]+>", "", render_html(report)))
    assert (
        "resolved by remediation/web-config-ex02.ps1: the proposed change fixes the waived "
        "WC002 finding anyway, so the waiver need not be renewed" in text
    )
    assert (
        "The proposed change fixes this subject anyway (remediation/web-config-ex02.ps1): no "
        "need to renew" in text
    )


def test_summary_md_uses_the_reports_verdict_words(reports: dict[str, Report]) -> None:
    from auditor.render.markdown import render_markdown

    for name, words in (("example", "NON-COMPLIANT"), ("incomplete", "INCOMPLETE")):
        report = reports[name]
        lines = render_markdown(report).splitlines()
        assert lines[0] == f"# auditor: Current configuration: {words}"
        assert lines[2] == f"**{report.verdict_line}**"
        assert f"Current configuration: {words} for" in render_html(report)


def test_finding_messages_show_code_not_backticks(reports: dict[str, Report]) -> None:
    page = render_html(reports["incomplete"])
    messages = re.findall(r'<p class="message">(.*?)</p>', page, re.S)
    assert any("<code>auditor collect</code>" in message for message in messages)
    assert not any("`" in message for message in messages)


@pytest.mark.parametrize("package", PACKAGES)
def test_the_runbook_says_what_stays_open(reports: dict[str, Report], package: str) -> None:
    report = reports[package]
    sections = _sections(render_runbook(report))
    plan = _plan(report)
    expected = [f"{item['subject']}: no script" for item in plan["skipped"]] + [
        f"{item.what}: not assessed ({item.state.value})" for item in report.scope.not_assessed
    ]
    title = "Not planned: what stays open after this package"
    if not expected:
        assert title not in sections
        return
    lines = sections[title].splitlines()
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(f"- {start}"), line
    if package == "incomplete":
        assert "EX02 Default Web Site/API web.config: not assessed (missing)" in sections[title]
