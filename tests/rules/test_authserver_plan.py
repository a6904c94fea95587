"""The EvoSTS AuthServer change as a user meets it: `auditor audit --scope hybrid-trust` on the
hybrid organisation of the real CSS-Exchange samples (trust_cases/README.md), with the EvoSTS
naming a wrong or no app (HT007) or a second enabled EvoSTS for the tenant (HT008). A script is
planned only when the exports (and the policy) prove every precondition; each missing one
leaves the finding without a script and says why. Also the override's preconditions the
AuthServer work added (an enabled Exchange Online partner app, an enabled connector)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from test_override_plan import MISSING, POLICY, SUPPORTED_BUILD, audit_plan

TENANT = "6b1e4d2a-7c3f-4e59-9a1d-2f8e5c7b9a10"
APP = "3c9d5e7f-1a2b-4c6d-8e0f-a1b2c3d4e5f6"  # the sample EvoSTS's dedicated app
EVOSTS = f"EvoSts - {TENANT}"
IDS_POLICY = POLICY + f"hybrid_trust:\n  tenant_id: {TENANT}\n  expected_application_id: {APP}\n"
SCRIPTS = ("remediation/evosts-auth-servers.ps1", "rollback/evosts-auth-servers.ps1")
APP_ELEMENT = f'<S N="ApplicationIdentifier">{APP}</S>'
FIRST_PARTY = [
    [APP_ELEMENT, '<S N="ApplicationIdentifier">00000002-0000-0ff1-ce00-000000000000</S>']
]
EMPTY_APP = [[APP_ELEMENT, '<S N="ApplicationIdentifier"></S>']]


def _duplicate(name: str, application_id: str) -> list[list[str]]:
    """An AuthServer.xml edit that adds a second enabled EvoSTS of the tenant."""
    obj = f"""  <Obj RefId="9">
    <TNRef RefId="0" />
    <ToString>{name}</ToString>
    <Props>
      <S N="ApplicationIdentifier">{application_id}</S>
      <S N="AuthMetadataUrl">https://login.windows.net/{TENANT}/federationmetadata/2007-06/federationmetadata.xml</S>
      <Obj N="Type" RefId="R9">
        <TNRef RefId="1" />
        <ToString>AzureAD</ToString>
        <I32>1</I32>
      </Obj>
      <S N="Realm">{TENANT}</S>
      <B N="Enabled">true</B>
      <S N="Name">{name}</S>
    </Props>
  </Obj>
</Objs>"""
    return [["</Objs>", obj]]


def _only_change_set(plan: dict[str, Any]) -> dict[str, Any]:
    (change_set,) = plan["change_sets"]
    assert change_set["kind"] == "evosts-auth-servers"
    assert change_set["server"] is None
    return change_set


def _skipped(plan: dict[str, Any], out: Path, subject: str) -> str:
    assert plan["change_sets"] == []
    assert not (out / SCRIPTS[0]).exists()
    reasons = {item["subject"]: item["reason"] for item in plan["skipped"]}
    assert list(reasons) == [subject]
    return reasons[subject]


def test_a_first_party_app_id_is_set_to_the_policys_dedicated_app(
    tmp_path: Path, css_exchange: Path
) -> None:
    edits = {"AuthServer.xml": FIRST_PARTY, "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD}
    plan, out = audit_plan(tmp_path, css_exchange, edits, IDS_POLICY)

    (change,) = _only_change_set(plan)["auth_servers"]
    assert change["name"] == EVOSTS and change["subject"] == "hybrid-trust:evosts"
    assert change["property"] == "ApplicationIdentifier"
    assert change["audited_value"] == "00000002-0000-0ff1-ce00-000000000000"
    assert change["target_value"] == APP and change["realm"] == TENANT
    assert change["restorable"] is True
    assert change["source"].endswith("AuthServer.xml:2")
    assert plan["skipped"] == []
    remediation = (out / SCRIPTS[0]).read_text(encoding="ascii")
    rollback = (out / SCRIPTS[1]).read_text(encoding="ascii")
    assert f"Name = '{EVOSTS}'" in remediation and f"Target = '{APP}'" in remediation
    assert "Set-AuthServer -Identity $Server.Name -ApplicationIdentifier $Value" in remediation
    assert "Remove-AuthServer" not in remediation + rollback
    assert "Audited = '00000002-0000-0ff1-ce00-000000000000'" in rollback
    assert "Restorable = $true" in rollback
    runbook = (out / "RUNBOOK.md").read_text(encoding="utf-8")
    assert ".\\remediation\\evosts-auth-servers.ps1" in runbook
    assert (
        "AUDITOR-CHANGED: AuthServer" in runbook and "AUDITOR-RESTORED: the AuthServer" in runbook
    )
    assert "AUDITOR-MANUAL" not in runbook
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))["findings"]
    assert [f["remediation"] for f in findings if f["rule_id"] == "HT007"] == [SCRIPTS[0]]
    report = (out / "report.html").read_text(encoding="utf-8")
    assert f"AuthServer {EVOSTS} (Realm {TENANT}) ApplicationIdentifier" in report
    assert f'<th scope="row">AuthServer {EVOSTS}<br>' in report  # the proposed change row
    assert "back-out: a manual step" not in report


def test_an_empty_app_id_is_set_and_its_rollback_is_a_located_manual_step(
    tmp_path: Path, css_exchange: Path
) -> None:
    edits = {"AuthServer.xml": EMPTY_APP, "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD}
    plan, out = audit_plan(tmp_path, css_exchange, edits, IDS_POLICY)

    (change,) = _only_change_set(plan)["auth_servers"]
    assert change["audited_value"] == "" and change["restorable"] is False
    rollback = (out / SCRIPTS[1]).read_text(encoding="ascii")
    assert "Restorable = $false" in rollback and "AUDITOR-MANUAL" in rollback
    runbook = (out / "RUNBOOK.md").read_text(encoding="utf-8")
    manual = [line for line in runbook.splitlines() if "Manual step (AUDITOR-MANUAL)" in line]
    assert manual, runbook
    assert "org/AuthServer.xml" in manual[0] and "documents no way to clear it" in manual[0]
    assert "AUDITOR-RESTORED" not in runbook
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "back-out: a manual step" in report


def test_without_the_policys_app_id_no_script_guesses_one(
    tmp_path: Path, css_exchange: Path
) -> None:
    edits = {"AuthServer.xml": FIRST_PARTY, "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD}
    plan, out = audit_plan(tmp_path, css_exchange, edits, POLICY)

    reason = _skipped(plan, out, "hybrid-trust:evosts")
    assert "expected_application_id" in reason and "tenant_id" in reason


def test_a_server_below_the_build_floor_gives_no_app_id_script(
    tmp_path: Path, css_exchange: Path
) -> None:
    plan, out = audit_plan(tmp_path, css_exchange, {"AuthServer.xml": FIRST_PARTY}, IDS_POLICY)

    reason = _skipped(plan, out, "hybrid-trust:evosts")
    assert "build floor" in reason and "April 2025" in reason


def test_no_enabled_evosts_of_the_tenant_gives_no_app_id_script(
    tmp_path: Path, css_exchange: Path
) -> None:
    other = "11111111-2222-3333-4444-555555555555"
    policy = IDS_POLICY.replace(f"tenant_id: {TENANT}", f"tenant_id: {other}")
    edits = {"AuthServer.xml": FIRST_PARTY, "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD}
    plan, out = audit_plan(tmp_path, css_exchange, edits, policy)

    reason = _skipped(plan, out, "hybrid-trust:evosts")
    assert f"tenant_id {other} as Realm" in reason


def test_the_duplicate_without_the_dedicated_app_is_disabled(
    tmp_path: Path, css_exchange: Path
) -> None:
    duplicate = "EvoSts - old 'HCW' $(run)"
    edits = {"AuthServer.xml": _duplicate(duplicate, "00000002-0000-0ff1-ce00-000000000000")}
    plan, out = audit_plan(tmp_path, css_exchange, edits, POLICY)

    (change,) = _only_change_set(plan)["auth_servers"]
    assert change["name"] == duplicate and change["subject"] == f"auth-server:{duplicate}"
    assert (change["property"], change["audited_value"], change["target_value"]) == (
        "Enabled",
        "True",
        "False",
    )
    assert change["restorable"] is True and len(change["fixes"]) == 1
    assert (change["kept_name"], change["kept_application_identifier"]) == (EVOSTS, APP)
    remediation = (out / SCRIPTS[0]).read_text(encoding="ascii")
    assert "Name = 'EvoSts - old ''HCW'' $(run)'" in remediation
    assert "-Enabled ($Value -ceq 'True')" in remediation
    runbook = (out / "RUNBOOK.md").read_text(encoding="utf-8")
    assert "Disables the duplicate EvoSTS AuthServer" in runbook
    assert "back to True" in runbook


def test_two_valid_evosts_of_one_realm_leave_the_choice_to_the_operator(
    tmp_path: Path, css_exchange: Path
) -> None:
    duplicate = "EvoSts - second"
    edits = {"AuthServer.xml": _duplicate(duplicate, "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a")}
    plan, out = audit_plan(tmp_path, css_exchange, edits, POLICY)

    reason = _skipped(plan, out, f"auth-server:{duplicate}")
    assert "which EvoSTS" in reason and "2 of the 2" in reason


def test_the_override_needs_an_enabled_exchange_online_partner_application(
    tmp_path: Path, css_exchange: Path
) -> None:
    exo = '<S N="ApplicationIdentifier">00000002-0000-0ff1-ce00-000000000000</S>'
    edits = {
        "SettingOverride.xml": MISSING,
        "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD,
        "PartnerApplication.xml": [[exo, exo.replace("000000000000<", "0000000000ff<")]],
    }
    plan, _ = audit_plan(tmp_path, css_exchange, edits, POLICY)

    reasons = {item["subject"]: item["reason"] for item in plan["skipped"]}
    assert plan["change_sets"] == []
    assert "Exchange Online partner application" in reasons["hybrid-trust:dedicated-app"]


def test_the_override_needs_an_enabled_intra_organization_connector(
    tmp_path: Path, css_exchange: Path
) -> None:
    edits = {
        "SettingOverride.xml": MISSING,
        "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD,
        "IntraOrganizationConnector.xml": [['<B N="Enabled">true</B>', '<B N="Enabled">false</B>']],
    }
    plan, _ = audit_plan(tmp_path, css_exchange, edits, POLICY)

    reasons = {item["subject"]: item["reason"] for item in plan["skipped"]}
    assert plan["change_sets"] == []
    assert "IntraOrganizationConnector" in reasons["hybrid-trust:dedicated-app"]
