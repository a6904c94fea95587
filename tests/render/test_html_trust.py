"""The report's "Hybrid trust" section: the trust's end state as a checklist, one line per item
with its state and evidence, shown only when the audit chose the hybrid trust.

Every report is audited for real (`run_audit` with `--scope hybrid-trust`) on the hybrid
organisation of the HT rule cases (the real CSS-Exchange E19 samples, `build_organisation`) or
on the fixture organisations of `tests/rules/trust_orgs` (real auth-certificate lab exports,
synthetic cloud evidence). The real E19 server runs an old build with an expired auth
certificate, which the checklist shows as findings.
"""

from __future__ import annotations

import datetime
import shutil
import sys
from pathlib import Path

import fleet
import pytest
from html_page import Page, sections
from html_scenarios import enable_dedicated_app

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rules"))
from rule_case_loader import build_organisation

from auditor.audit import AuditRequest, run_audit
from auditor.model import EvidenceClass, Report, TrustState
from auditor.render.html import render_html
from auditor.render.markdown import render_markdown
from auditor.resources import examples_dir
from auditor.rules import registered_rules

AS_OF = datetime.date(2026, 11, 26)
TRUST_ORGS = Path(__file__).resolve().parent.parent / "rules" / "trust_orgs"
CHECKLIST = "Hybrid trust checklist"


def _audit(root: Path, *, trust: bool = True) -> Report:
    """The audit of `root` as chosen: the hybrid trust only, or left out on purpose."""
    scope = (
        (EvidenceClass.HYBRID_TRUST,)
        if trust
        else (EvidenceClass.PARTNER_APPLICATIONS, EvidenceClass.WEB_CONFIG)
    )
    return run_audit(AuditRequest(paths=(root,), as_of=AS_OF, scope=scope))


@pytest.fixture
def organisation(tmp_path: Path, css_exchange: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return build_organisation({}, Path(), css_exchange)


def _rows(html: str) -> dict[str, list[str]]:
    """The checklist's rows by item: rules, state, text, evidence, findings."""
    header, *rows = Page(html).table(CHECKLIST)
    assert header == [
        "Item",
        "Rules",
        "State",
        "Compared, found or why not",
        "Evidence",
        "Findings",
    ]
    return {row[0]: row[1:] for row in rows}


def test_the_section_lists_each_item_with_its_state_and_evidence(organisation: Path) -> None:
    report = _audit(organisation)
    rows = _rows(render_html(report))

    assert list(rows) == [
        "Dedicated-app override",
        "EvoSTS AuthServer",
        "AuthConfig",
        "Build of SOLO-E19A",
        "Auth certificate: current",
        "Auth certificate: next",
        "Cloud clean-up: first-party service principal keys",
        "Cloud: dedicated app holds the current auth certificate",
    ]
    override = rows["Dedicated-app override"]
    assert override[:2] == ["HT001-HT006", "OK"]
    assert "ExchangeOnpremAsThirdPartyAppId" in override[2]  # names what was compared
    assert override[3] == (
        "org/SettingOverride.xml, org/HybridConfiguration.xml, org/IntraOrganizationConnector.xml"
    )
    assert rows["EvoSTS AuthServer"][1:4:2] == ["OK", "org/AuthServer.xml"]
    assert rows["AuthConfig"][:2] == ["HT009", "OK"]
    build = rows["Build of SOLO-E19A"]
    assert build[:2] == ["HT101", "FINDING"]
    assert "15.2.986.5" in build[2]
    assert build[3:] == ["org/SOLO-E19A/ExSetup.xml", "HT101"]
    current = rows["Auth certificate: current"]
    assert current[:2] == ["HT111, HT113", "FINDING"]
    assert current[3] == "org/AuthConfig.xml, org/SOLO-E19A/ExchangeCertificate.xml"
    # No next certificate while the current one has expired is never an OK.
    assert rows["Auth certificate: next"][1] == "NOT ASSESSED"
    clean_up = rows["Cloud clean-up: first-party service principal keys"]
    assert clean_up == ["HT121", "NOT ASSESSED", "no cloud evidence given", "none given", "none"]


def test_a_finding_line_links_its_findings(organisation: Path) -> None:
    report = _audit(organisation)
    html = render_html(report)
    section = sections(html)["trust"]

    ids = {attrs.get("id") for _, attrs in Page(html).tags}
    links = [a["href"] for tag, a in Page(section).tags if tag == "a" and a.get("href")]
    assert links and all(str(href)[1:] in ids for href in links)
    checks = report.decisions.trust.checks if report.decisions and report.decisions.trust else ()
    by_fingerprint = {f.fingerprint: f.rule_id for f in report.findings}
    assert sorted(by_fingerprint[fp] for c in checks for fp in c.findings) == ["HT101", "HT111"]


def test_the_section_snapshot(organisation: Path, snapshot) -> None:  # type: ignore[no-untyped-def]
    shown = sections(render_html(_audit(organisation)))

    assert "trust" in shown
    assert shown["trust"] == snapshot(name="trust")


def test_an_audit_that_leaves_the_hybrid_trust_out_has_no_checklist(organisation: Path) -> None:
    report = _audit(organisation, trust=False)
    html = render_html(report)

    assert report.decisions is not None and report.decisions.trust is None
    assert "trust" not in sections(html)
    assert 'href="#trust"' not in html and CHECKLIST not in html
    assert "## Hybrid trust" not in render_markdown(report)
    # ... and says so beside its verdict
    assert "hybrid trust not assessed (--scope partner-applications,web-config)" in html


def test_summary_md_lists_the_checklist(organisation: Path) -> None:
    text = render_markdown(_audit(organisation))

    block = text[text.index("## Hybrid trust") : text.index("## Findings")]
    lines = [line for line in block.splitlines() if line.startswith("- ")]
    assert len(lines) == 8
    assert lines[0].startswith("- **OK** Dedicated-app override (HT001-HT006): ")
    assert lines[3].startswith("- **FINDING** Build of SOLO-E19A (HT101): SOLO-E19A runs ExSetup")
    assert lines[3].endswith("evidence: `org/SOLO-E19A/ExSetup.xml`")
    assert lines[6] == (
        "- **NOT ASSESSED** Cloud clean-up: first-party service principal keys (HT121): "
        "no cloud evidence given; evidence: none given"
    )


def test_missing_exports_leave_their_items_not_assessed_and_cloud_evidence_is_judged() -> None:
    report = _audit(TRUST_ORGS / "cloud-first-party-keys")
    rows = _rows(render_html(report))

    override = rows["Dedicated-app override"]
    assert override[1] == "NOT ASSESSED"
    assert "the SettingOverride.xml export missing" in override[2]
    assert rows["EvoSTS AuthServer"][1:3] == ["NOT ASSESSED", "the AuthServer.xml export missing"]
    builds = [item for item in rows if item.startswith("Build of")]
    assert builds == ["Build of 2 Client Access servers: E2k16-1, E2k16-2"]  # both at the floor
    assert rows[builds[0]][1] == "OK"
    assert rows[builds[0]][2] == (
        "ExSetup 15.1.2507.55 (2 servers): each at or above the April 2025 hotfix of its build line"
    )
    assert "cloud-first-party-keys/ExSetup-1.xml" in rows[builds[0]][3]
    clean_up = rows["Cloud clean-up: first-party service principal keys"]
    assert clean_up[1] == "FINDING" and clean_up[3] == "cloud-first-party-keys/graph.json"
    dedicated = rows["Cloud: dedicated app holds the current auth certificate"]
    assert dedicated[1] == "OK"
    assert "E1BDF9AE58C93C75E76C9DD882138FB8FF0FA786" in dedicated[2]


def test_every_trust_rule_is_on_exactly_one_kind_of_line() -> None:
    report = _audit(TRUST_ORGS / "cloud-clean")
    assert report.decisions is not None and report.decisions.trust is not None
    checks = report.decisions.trust.checks
    assert {check.state for check in checks} <= set(TrustState)
    listed: dict[str, set[str]] = {}
    for check in checks:
        for rule_id in check.rules:
            listed.setdefault(rule_id, set()).add(check.item.split(" of ")[0])
    trust_rules = {rule.id for rule in registered_rules() if rule.id.startswith("HT")}
    assert set(listed) == trust_rules
    assert all(len(items) == 1 for items in listed.values()), listed


def test_values_from_the_exports_are_escaped(
    tmp_path: Path, css_exchange: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    hostile = "SOLO-<b>E19A</b>\u202e"
    edits = {"SOLO-E19A/ExSetup.xml": [["SOLO-E19A.solo.com", hostile.replace("<", "&lt;")]]}
    root = build_organisation({"edits": edits}, Path(), css_exchange)
    html = render_html(_audit(root))

    section = sections(html)["trust"]
    # The server the ExSetup export names gets its own line, its name shown as text.
    assert "Build of SOLO-&lt;b&gt;E19A&lt;/b&gt;[U+202E]</th>" in section
    assert "<b>" not in section
    assert "\u202e" not in section


POLICY = """name: org
version: 1
extends: default
rule_overrides:
  HT006:
    enabled: false
waivers:
  - rule: HT101
    subject: server:SOLO-E19A
    reason: upgrade booked
    ticket: RISK-9
    owner: messaging
    approver: ciso
    expires: "2026-12-31"
"""


def test_a_disabled_rule_is_not_an_ok_and_a_waived_finding_stays_a_finding(
    organisation: Path,
) -> None:
    policy = Path("org.yaml")
    policy.write_text(POLICY, encoding="utf-8")
    report = run_audit(
        AuditRequest(
            paths=(organisation,),
            policy_paths=(policy,),
            as_of=AS_OF,
            scope=(EvidenceClass.HYBRID_TRUST,),
        )
    )
    rows = _rows(render_html(report))

    assert rows["Dedicated-app override"][1:3] == [
        "NOT ASSESSED",
        "HT006: disabled by the policy",
    ]
    build = rows["Build of SOLO-E19A"]
    assert build[1] == "FINDING" and build[2].endswith("(waived)")


def test_a_fleet_shares_one_build_line_and_names_its_exceptions(
    tmp_path: Path, css_exchange: Path
) -> None:
    """Ten servers at the floor are one OK line (six named, the rest counted); a server below
    it keeps a FINDING line of its own; a long evidence list names eight files and counts the
    rest (all are under Inputs and in findings.json)."""
    root = fleet.build_fleet(tmp_path / "fleet", css_exchange / "E19", 11, ())
    exsetup = root / fleet.server_name(4) / "ExSetup.xml"
    text = exsetup.read_bytes().decode("utf-16")
    for old, new in (("1544.25", "1544.9"), ("1544.025", "1544.009"), (">25<", ">9<")):
        assert old in text
        text = text.replace(old, new)
    exsetup.write_bytes(text.encode("utf-16"))
    report = _audit(root)
    rows = _rows(render_html(report))

    builds = [item for item in rows if item.startswith("Build of")]
    assert builds == [
        "Build of EX004",
        "Build of 10 Client Access servers: EX001, EX002, EX003, EX005, EX006, EX007 and 4 more",
    ]
    assert rows["Build of EX004"][1] == "FINDING"
    assert rows[builds[1]][1:3] == [
        "OK",
        "ExSetup 15.2.1544.25 (10 servers): each at or above the April 2025 hotfix of its build "
        "line",
    ]
    evidence = rows[builds[1]][3]
    assert evidence.count("ExSetup.xml") == 8 and evidence.endswith(
        "and 2 more (listed under Inputs)"
    )
    assert report.decisions is not None and report.decisions.trust is not None
    (grouped,) = [c for c in report.decisions.trust.checks if c.item == builds[1]]
    assert len(grouped.evidence) == 10  # findings.json keeps every file


def test_the_verdict_says_when_the_cloud_side_was_not_assessed(tmp_path: Path) -> None:
    # The bundled example, its trust whole, without and then with ScubaGear's cloud export.
    root = tmp_path / "org"
    shutil.copytree(examples_dir(), root)
    enable_dedicated_app(root)
    request = AuditRequest(paths=(root,), as_of=AS_OF)
    without = run_audit(request).scope
    assert not without.cloud_evidence
    assert without.describe().endswith(
        "servers and the on-premises hybrid trust; its cloud side not assessed: no cloud"
        " evidence given"
    )
    scuba = TRUST_ORGS / "scuba-clean" / "ProviderSettingsExport.json"
    shutil.copy(scuba, root / "ProviderSettingsExport.json")
    with_cloud = run_audit(request).scope
    assert with_cloud.cloud_evidence
    assert with_cloud.describe().endswith("servers and hybrid trust")
