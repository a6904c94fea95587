"""The hybrid trust's runbook-only steps: Microsoft's commands, never a generated script.

Each step appears exactly when its finding does (or, for the cloud export, when a cloud rule is
not assessed for want of cloud evidence), names this audit's servers, builds and certificates,
quotes the command with its source, and says its back-out or why there is none (the key
reset: re-adding the key recreates CVE-2025-53786). Every report is audited for real with the
three classes chosen (`partner-applications,web-config,hybrid-trust`), on the fixture
organisations of `tests/rules/trust_orgs` or the hybrid organisation of the HT rule cases
(`build_organisation`: the real CSS-Exchange E19 samples, whose server runs an old build with
an expired auth certificate).
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

import pytest
from html_page import Page, sections
from jsonschema import Draft202012Validator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rules"))
from rule_case_loader import build_organisation
from test_override_plan import MISSING, SUPPORTED_BUILD

from auditor.audit import AuditRequest, run_audit
from auditor.model import EvidenceClass, ManualKind, Report
from auditor.render.html import render_html
from auditor.render.json_ import findings_document
from auditor.render.runbook import markdown_text, render_runbook, runbook_sections
from auditor.render.story_trust import manual_story
from auditor.resources import document_schema

AS_OF = datetime.date(2026, 12, 7)
TRUST_ORGS = Path(__file__).resolve().parent.parent / "rules" / "trust_orgs"
ALL_CLASSES = (
    EvidenceClass.PARTNER_APPLICATIONS,
    EvidenceClass.WEB_CONFIG,
    EvidenceClass.HYBRID_TRUST,
)
MANUAL = "Manual steps: Microsoft's commands, run by hand (no generated script)"
RESET = r".\ConfigureExchangeHybridApplication.ps1 -ResetFirstPartyServicePrincipalKeyCredentials"
LAB_CURRENT = "E1BDF9AE58C93C75E76C9DD882138FB8FF0FA786"  # the auth-certificate lab's current
EVOSTS_APP = '<S N="ApplicationIdentifier">3c9d5e7f-1a2b-4c6d-8e0f-a1b2c3d4e5f6</S>'
FIRST_PARTY_APP = '<S N="ApplicationIdentifier">00000002-0000-0ff1-ce00-000000000000</S>'
NO_OVERRIDE = [
    '<S N="SectionName">ExchangeOnpremAsThirdPartyAppId</S>',
    '<S N="SectionName">HttpRequestFiltering</S>',
]


def _audit(root: Path, *, policy: Path | None = None, scope=ALL_CLASSES) -> Report:  # type: ignore[no-untyped-def]
    policies = (policy,) if policy is not None else ()
    return run_audit(AuditRequest(paths=(root,), as_of=AS_OF, scope=scope, policy_paths=policies))


def _kinds(report: Report) -> list[str]:
    return [step.kind.value for step in report.manual_steps]


def _manual_lines(report: Report) -> list[str]:
    return dict(runbook_sections(report, value=markdown_text))[MANUAL][1:]


@pytest.fixture
def e19(tmp_path: Path, css_exchange: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The E19 hybrid organisation with the given edits, audited."""
    monkeypatch.chdir(tmp_path)
    count = iter(range(100))

    def make(edits: dict[str, list[list[str]]], policy: str | None = None) -> Report:
        folder = Path(f"case{next(count)}")
        root = build_organisation({"edits": edits}, folder, css_exchange)
        path = None
        if policy is not None:
            path = folder / "org.yaml"
            path.write_text(policy, encoding="utf-8")
        return _audit(root, policy=path)

    return make


# --- each step exactly when its finding does --------------------------------------------------


@pytest.mark.parametrize(
    ("organisation", "kinds", "rules"),
    [
        ("builds-below", ["build-upgrade", "cloud-export"], {"HT101"}),
        ("builds-clean", ["cloud-export"], set()),
        ("certs-clean", ["cloud-export"], set()),
        ("certs-no-current", ["auth-certificate", "cloud-export"], {"HT111"}),
        ("certs-current-absent", ["auth-certificate", "cloud-export"], {"HT113"}),
        ("certs-next-absent", ["auth-certificate", "cloud-export"], {"HT114"}),
        ("cloud-clean", [], set()),
        ("cloud-first-party-keys", ["key-reset"], {"HT121"}),
        ("cloud-app-lacks-current", ["certificate-upload"], {"HT122"}),
        # ScubaGear holds no thumbprint: HT122 still needs a Graph export.
        ("scuba-first-party-keys", ["cloud-export", "key-reset"], {"HT121"}),
        ("scuba-clean", ["cloud-export"], set()),
    ],
)
def test_each_step_appears_exactly_when_its_finding_does(
    organisation: str, kinds: list[str], rules: set[str]
) -> None:
    report = _audit(TRUST_ORGS / organisation)

    assert _kinds(report) == kinds
    assert [step.label for step in report.manual_steps] == [f"M{i + 1}" for i in range(len(kinds))]
    trust_findings = {f.fingerprint for f in report.findings if f.rule_id.startswith("HT")}
    answered = {fp for step in report.manual_steps for fp in step.fixes}
    assert answered == trust_findings
    assert {f.rule_id for f in report.findings if f.fingerprint in answered} == rules
    # No step is a generated script: the package holds none for the hybrid trust.
    assert not report.scripts


def test_no_step_when_the_audit_did_not_choose_the_hybrid_trust(e19) -> None:  # type: ignore[no-untyped-def]
    report = e19({})
    assert _kinds(report) == ["build-upgrade", "auth-certificate", "cloud-export"]

    narrowed = _audit(Path("case0/org"), scope=(EvidenceClass.PARTNER_APPLICATIONS,))
    assert narrowed.manual_steps == ()
    assert MANUAL not in dict(runbook_sections(narrowed))
    assert "MANUAL" not in render_html(narrowed)


# --- what each step says ------------------------------------------------------------------------


def test_the_build_upgrade_names_each_server_its_build_and_its_floor() -> None:
    report = _audit(TRUST_ORGS / "builds-below")
    (line, _) = _manual_lines(report)

    assert line.startswith("M1. Update the Exchange build of each server named (HT101; ")
    assert "EX02: ExSetup 15.1.2507.44, below the floor 15.1.2507.55 (Exchange 2016 CU23" in line
    assert "EX01" not in line  # at or above its floor: not named
    assert "Run:" not in line  # no command of auditor's, no script
    assert "Back-out: none in this package" in line
    step = report.manual_steps[0]
    assert (step.commands, step.rollback) == ((), False)


def test_the_key_reset_is_last_has_no_rollback_and_says_why() -> None:
    report = _audit(TRUST_ORGS / "cloud-first-party-keys")
    (line,) = _manual_lines(report)

    assert f"Run: `{RESET}`." in line
    assert f'Or: `{RESET} -CertificateInformation "{LAB_CURRENT}"`.' in line
    assert "only once the on-premises trust is verified working with the dedicated app" in line
    assert "Source: ConfigureExchangeHybridApplication.ps1 of microsoft/CSS-Exchange (" in line
    back_out = line[line.index("Back-out: ") :]
    assert back_out.startswith("Back-out: none, on purpose: adding the key back")
    assert "recreates CVE-2025-53786" in back_out
    # The proof is a new cloud export: the Microsoft script reads nothing back.
    assert "reads nothing back: take the first-party service principal's cloud export" in line
    step = report.manual_steps[0]
    assert (step.rollback, step.rollback_commands, step.thumbprints) == (False, (), (LAB_CURRENT,))


def test_the_certificate_upload_is_additive() -> None:
    report = _audit(TRUST_ORGS / "cloud-app-lacks-current")
    (line,) = _manual_lines(report)

    assert "Run: `.\\ConfigureExchangeHybridApplication.ps1 -UpdateCertificate`." in line
    assert f"Adds {LAB_CURRENT} (and the next auth certificate" in line
    assert "Back-out: none needed: the upload only adds the certificate" in line


@pytest.mark.parametrize(
    ("organisation", "back_out"),
    [
        # The current certificate is not set: nothing valid to go back to.
        ("certs-no-current", "Back-out: none: the current auth certificate"),
        # The next one is missing on a server: the current one can be made current again.
        ("certs-next-absent", f"Back-out: `Set-AuthConfig -CertificateThumbprint {LAB_CURRENT}`"),
    ],
)
def test_the_auth_certificate_renewal(organisation: str, back_out: str) -> None:
    report = _audit(TRUST_ORGS / organisation)
    line = _manual_lines(report)[0]

    assert line.startswith("M1. Renew or deploy the Exchange auth certificate (")
    assert (
        "Run: `.\\MonitorExchangeAuthCertificate.ps1 -ValidateAndRenewAuthCertificate $true "
        "-IgnoreHybridConfig $true`; then `.\\ConfigureExchangeHybridApplication.ps1 "
        "-UpdateCertificate`." in line
    )
    assert "`Set-AuthConfig -PublishCertificate`" in line  # the native alternative
    assert back_out in line


def test_the_cloud_export_quotes_the_collection_scripts_commands(e19) -> None:  # type: ignore[no-untyped-def]
    from auditor.render.ps1_collect import render_collect_script

    report = e19({})
    step = next(s for s in manual_story(report, str) if s.kind is ManualKind.CLOUD_EXPORT)
    help_text = render_collect_script("0.1.0")

    # The organisation's Guid (Get-OrganizationConfig) fills the dedicated app's name.
    guid = "76fd9fb1-54f2-4fc8-8b04-97ca4824a55b"
    assert f"displayName eq ''ExchangeServerApp-{guid}''" in step.commands[2]
    for command in (*step.commands, *step.alternatives):
        generic = command.replace(guid, "<Guid>")
        first = generic.split(" | ")[0]
        assert first in help_text, first


def test_the_dedicated_app_is_created_where_no_valid_evosts_exists(e19) -> None:  # type: ignore[no-untyped-def]
    report = e19(
        {"SettingOverride.xml": [NO_OVERRIDE], "AuthServer.xml": [[EVOSTS_APP, FIRST_PARTY_APP]]}
    )
    step = next(s for s in report.manual_steps if s.kind is ManualKind.DEDICATED_APP)

    assert step.rules == ("HT001",)
    assert step.commands == (
        r".\ConfigureExchangeHybridApplication.ps1 -FullyConfigureExchangeHybridApplication",
    )
    line = next(line for line in _manual_lines(report) if "Create the dedicated" in line)
    assert "tenant-wide admin consent" in line
    assert "-ConfigureAuthServer -EnableExchangeHybridApplicationOverride -CustomAppId" in line


def test_a_wrong_evosts_gets_the_app_step_only_without_the_policys_application_id(e19) -> None:  # type: ignore[no-untyped-def]
    edits = {"AuthServer.xml": [[EVOSTS_APP, FIRST_PARTY_APP]]}
    step = next(s for s in e19(edits).manual_steps if s.kind is ManualKind.DEDICATED_APP)
    assert step.rules == ("HT007",)
    assert step.commands == (
        r".\ConfigureExchangeHybridApplication.ps1 -CreateApplication -UpdateCertificate "
        "-ConfigureAuthServer",
    )

    named = "name: org\nversion: 1\nextends: default\nhybrid_trust:\n"
    named += "  expected_application_id: 3c9d5e7f-1a2b-4c6d-8e0f-a1b2c3d4e5f6\n"
    report = e19(edits, named)
    assert any(f.rule_id == "HT007" for f in report.findings)
    assert ManualKind.DEDICATED_APP not in {s.kind for s in report.manual_steps}


def test_steps_run_before_and_after_the_generated_scripts(e19) -> None:  # type: ignore[no-untyped-def]
    report = e19({"SettingOverride.xml": MISSING, "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD})
    assert [cs.slug for cs in report.change_sets] == ["dedicated-app-override"]
    assert _kinds(report) == ["auth-certificate", "cloud-export"]

    sections_ = runbook_sections(report, value=markdown_text)
    titles = [title for title, _ in sections_]
    assert titles[:2] == ["Which script runs where, in this order", MANUAL]
    certificate, export = dict(sections_)[MANUAL][1:]
    assert "When: before step 1 (the generated scripts)." in certificate
    assert "When: after the last generated script; it changes nothing" in export
    plan = sections(render_html(report))["summary"]
    assert "dedicated-app-override.ps1" in plan  # the scripts' back-out line
    assert "M1 (manual): none: the current auth certificate" in plan


# --- the plan table and findings.json -------------------------------------------------------


def test_the_plan_table_shows_each_manual_step_beside_the_scripts(e19) -> None:  # type: ignore[no-untyped-def]
    report = e19({})
    html = render_html(report)
    header, *rows = Page(sections(html)["summary"]).table(
        "What changes, where, and the scripts that do it"
    )

    assert header == ["Target", "Where", "Before → after", "Restart", "Scripts"]
    scripts = [row[4] for row in rows]
    assert scripts == [
        "MANUAL step M1: no generated script, Microsoft's command in the runbook; answers HT101",
        "MANUAL step M2: no generated script, Microsoft's command in the runbook; answers HT111",
    ]  # M3, the cloud export, only reads: it is in the runbook, not in the proposed change
    assert "M3" in render_runbook(report)
    assert rows[0][0] == "SOLO-E19A"
    assert "ExSetup 15.2.986.5, below the floor 15.2.1544.25" in rows[0][2]
    not_planned = Page(sections(html)["summary"]).table(
        "Not planned: what stays open after this change, and why"
    )
    why = {row[0]: row[1] for row in not_planned[1:]}
    assert why["HT101 server:SOLO-E19A"] == (
        "manual step M1 of the runbook (Microsoft's command, no generated script)"
    )
    approval = sections(html)["approval"]
    assert "nothing to approve" not in approval
    assert (
        'Submitted for approval: the manual steps M1, M2 of the <a href="#runbook">runbook</a>'
        in approval
    )


def test_findings_json_carries_the_checklist_and_the_steps() -> None:
    report = _audit(TRUST_ORGS / "cloud-first-party-keys")
    document = json.loads(json.dumps(findings_document(report)))
    Draft202012Validator(document_schema("findings")).validate(document)

    checks = {check["item"]: check for check in document["hybrid_trust"]["checks"]}
    clean_up = checks["Cloud clean-up: first-party service principal keys"]
    (finding,) = [f for f in document["findings"] if f["rule_id"] == "HT121"]
    assert clean_up["state"] == "finding"
    assert clean_up["findings"] == [finding["fingerprint"]]
    assert clean_up["evidence"] == ["cloud-first-party-keys/graph.json"]
    app = checks["Cloud: dedicated app holds the current auth certificate"]
    assert (app["state"], app["findings"]) == ("ok", [])
    assert LAB_CURRENT in app["text"]  # an OK line names what was compared
    (step,) = document["manual_steps"]
    assert (step["label"], step["kind"], step["rollback"]) == ("M1", "key-reset", False)
    assert step["fixes"] == [finding["fingerprint"]]


def test_findings_json_says_why_an_item_is_not_assessed_and_nothing_without_the_class(e19) -> None:  # type: ignore[no-untyped-def]
    document = findings_document(e19({}))
    checks = {check["item"]: check for check in document["hybrid_trust"]["checks"]}
    cloud = checks["Cloud clean-up: first-party service principal keys"]
    assert (cloud["state"], cloud["text"]) == ("not assessed", "no cloud evidence given")

    narrowed = _audit(Path("case0/org"), scope=(EvidenceClass.PARTNER_APPLICATIONS,))
    plain = findings_document(narrowed)
    assert "hybrid_trust" not in plain and plain["manual_steps"] == []
    Draft202012Validator(document_schema("findings")).validate(json.loads(json.dumps(plain)))


def test_the_schema_refuses_a_finding_line_without_its_findings(e19) -> None:  # type: ignore[no-untyped-def]
    document = json.loads(json.dumps(findings_document(e19({}))))
    validator = Draft202012Validator(document_schema("findings"))
    line = next(c for c in document["hybrid_trust"]["checks"] if c["state"] == "finding")
    line["findings"] = []
    assert not validator.is_valid(document)
    line["state"] = "passed"
    assert not validator.is_valid(document)


# --- hostile values and snapshots -----------------------------------------------------------

HOSTILE = "SOLO-<b>E19A</b>`*_[x](http://evil.example)|\u202e"


def test_a_hostile_server_name_stays_text(e19) -> None:  # type: ignore[no-untyped-def]
    xml = HOSTILE.replace("<", "&lt;")
    report = e19({"SOLO-E19A/ExSetup.xml": [["SOLO-E19A.solo.com", xml]]})
    (step,) = [s for s in report.manual_steps if s.kind is ManualKind.BUILD_UPGRADE]
    assert HOSTILE in {server.server for server in step.servers}

    runbook = render_runbook(report)
    line = next(line for line in runbook.splitlines() if line.startswith("- M1. "))
    assert "SOLO-\\<b\\>E19A\\</b\\> \\*\\_\\[x\\](http\\://evil.example)\\|" in line
    assert "<b>" not in runbook and "](http://" not in runbook
    html = render_html(report)
    summary = sections(html)["summary"]
    assert "SOLO-&lt;b&gt;E19A&lt;/b&gt;" in summary
    assert "<b>E19A" not in html and "\u202e" not in html


@pytest.mark.parametrize(
    "organisation", ["builds-below", "certs-next-absent", "cloud-first-party-keys"]
)
def test_the_manual_section_snapshot(organisation: str, snapshot) -> None:  # type: ignore[no-untyped-def]
    report = _audit(TRUST_ORGS / organisation)
    assert _manual_lines(report) == snapshot(name=organisation)


def test_summary_md_lists_the_manual_steps_in_the_proposed_change() -> None:
    from auditor.render.markdown import render_markdown

    text = render_markdown(_audit(TRUST_ORGS / "cloud-first-party-keys"))
    block = text[text.index("## Proposed change") : text.index("- change id:")]
    (row,) = [line for line in block.splitlines() if "MANUAL" in line]
    assert row.startswith(
        "| the Office 365 Exchange Online service principal "
        "(00000002-0000-0ff1-ce00-000000000000) | Entra ID (cloud) | Reset the key credentials"
    )
    assert row.endswith("| none | MANUAL step M1: no generated script (RUNBOOK.md) |")
    assert "No change is proposed." not in block
