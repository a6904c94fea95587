"""The dedicated-app override change as a user meets it: `auditor audit --scope hybrid-trust`
on the hybrid organisation of the real CSS-Exchange samples (trust_cases/README.md), with the
override missing (HT001) or disabled (HT003). A script is planned only when the exports prove
every precondition; each missing one leaves the finding without a script and says why."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from rule_case_loader import build_organisation
from typer.testing import CliRunner

from auditor.attest import validate_plan
from auditor.cli import app
from auditor.resources import document_schema

runner = CliRunner()
# The certificate and cloud rules judge what this change does not touch (the real sample's
# auth certificate expired before the audit date); the build rule stays on: it is a precondition.
POLICY = "name: org\nversion: 1\nextends: default\nrule_overrides:\n" + "".join(
    f"  {rule_id}:\n    enabled: false\n"
    for rule_id in ("HT111", "HT112", "HT113", "HT114", "HT121", "HT122")
)
SECTION = '<S N="SectionName">ExchangeOnpremAsThirdPartyAppId</S>'
MISSING = [[SECTION, '<S N="SectionName">SomethingElse</S>']]
DISABLED = [["<S>Enabled=true</S>", "<S>Enabled=false</S>"]]
# The real sample's ExSetup is 15.2.986.5 (below the floor); Exchange 2019 CU15 with the April
# 2025 HU is 15.2.1748.24.
SUPPORTED_BUILD = [
    ['<I32 N="FileBuildPart">986</I32>', '<I32 N="FileBuildPart">1748</I32>'],
    ['<I32 N="FilePrivatePart">5</I32>', '<I32 N="FilePrivatePart">24</I32>'],
    ['<S N="FileVersion">15.02.0986.005</S>', '<S N="FileVersion">15.02.1748.024</S>'],
    [
        '<Version N="FileVersionRaw">15.2.986.5</Version>',
        '<Version N="FileVersionRaw">15.2.1748.24</Version>',
    ],
]
SCRIPTS = ("remediation/dedicated-app-override.ps1", "rollback/dedicated-app-override.ps1")


def audit_plan(
    tmp_path: Path, css_exchange: Path, edits: dict[str, list[list[str]]], policy: str = POLICY
) -> tuple[dict[str, Any], Path]:
    root = build_organisation({"edits": edits}, tmp_path, css_exchange)
    (tmp_path / "org.yaml").write_text(policy, encoding="utf-8")
    out = tmp_path / "out"
    arguments = ["audit", str(root), "--as-of", "2026-11-26", "--out", str(out)]
    arguments += ["--scope", "hybrid-trust", "--policy", str(tmp_path / "org.yaml")]
    result = runner.invoke(app, arguments)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    validate_plan(plan)
    return plan, out


def _skipped(plan: dict[str, Any]) -> dict[str, str]:
    return {item["subject"]: item["reason"] for item in plan["skipped"]}


def _plan_validates(out: Path) -> None:
    validate_plan(json.loads((out / "plan.json").read_text(encoding="utf-8")))


def test_missing_override_with_every_precondition_gets_the_create_script(
    tmp_path: Path, css_exchange: Path
) -> None:
    edits = {"SettingOverride.xml": MISSING, "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD}
    plan, out = audit_plan(tmp_path, css_exchange, edits)

    (change_set,) = plan["change_sets"]
    assert change_set["kind"] == "dedicated-app-override"
    (change,) = change_set["setting_overrides"]
    assert change["subject"] == "hybrid-trust:dedicated-app"
    assert (change["name"], change["component"], change["section"]) == (
        "EnableExchangeHybrid3PAppFeature",
        "Global",
        "ExchangeOnpremAsThirdPartyAppId",
    )
    assert change["creates"] is True and change["audited_parameters"] is None
    assert change["target_parameters"] == ["Enabled=true"]
    assert plan["skipped"] == []
    _plan_validates(out)
    remediation = (out / SCRIPTS[0]).read_text(encoding="ascii")
    assert "New-SettingOverride -Name $AuditorOverride.Name" in remediation
    assert "SettingOverride -Server" not in remediation
    calls = re.findall(r"(?:New|Set)-SettingOverride [^\r\n]*", remediation)
    assert (
        "New-SettingOverride -Name $AuditorOverride.Name -Component $AuditorOverride.Component"
        " -Section $AuditorOverride.Section -Parameters $AuditorOverride.Target -Reason"
        " $AuditorOverride.Reason -Confirm:$false -ErrorAction Stop | Out-Null"
    ) in calls
    assert [call for call in calls if "-Server" in call] == []  # organisation-wide, always
    assert "Remove-SettingOverride" in (out / SCRIPTS[1]).read_text(encoding="ascii")


def test_disabled_override_gets_the_set_script_with_the_audited_parameters(
    tmp_path: Path, css_exchange: Path
) -> None:
    edits = {"SettingOverride.xml": DISABLED, "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD}
    plan, out = audit_plan(tmp_path, css_exchange, edits)

    (change_set,) = plan["change_sets"]
    (change,) = change_set["setting_overrides"]
    assert change["subject"] == "setting-override:EnableExchangeHybrid3PAppFeature"
    assert change["creates"] is False
    assert change["audited_parameters"] == ["Enabled=false"]
    _plan_validates(out)
    rollback = (out / SCRIPTS[1]).read_text(encoding="ascii")
    assert "Audited = [string[]] @('Enabled=false')" in rollback


def _skipped_only(plan: dict[str, Any], out: Path, subject: str) -> str:
    assert plan["change_sets"] == []
    assert not (out / SCRIPTS[0]).exists()
    reasons = _skipped(plan)
    assert list(reasons) == [subject]
    return reasons[subject]


def test_a_server_below_the_build_floor_gives_no_script_and_says_so(
    tmp_path: Path, css_exchange: Path
) -> None:
    plan, out = audit_plan(tmp_path, css_exchange, {"SettingOverride.xml": MISSING})

    reason = _skipped_only(plan, out, "hybrid-trust:dedicated-app")
    assert "build floor" in reason and "HT101" in reason


def test_the_build_rule_switched_off_is_no_proof_of_the_builds(
    tmp_path: Path, css_exchange: Path
) -> None:
    edits = {"SettingOverride.xml": MISSING, "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD}
    policy = POLICY + "  HT101:\n    enabled: false\n"
    plan, out = audit_plan(tmp_path, css_exchange, edits, policy)

    reason = _skipped_only(plan, out, "hybrid-trust:dedicated-app")
    assert "HT101 switched off" in reason


def test_no_valid_evosts_authserver_gives_no_script_and_says_so(
    tmp_path: Path, css_exchange: Path
) -> None:
    first_party = [
        [
            '<S N="ApplicationIdentifier">3c9d5e7f-1a2b-4c6d-8e0f-a1b2c3d4e5f6</S>',
            '<S N="ApplicationIdentifier">00000002-0000-0ff1-ce00-000000000000</S>',
        ]
    ]
    edits = {
        "SettingOverride.xml": MISSING,
        "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD,
        "AuthServer.xml": first_party,
    }
    plan, out = audit_plan(tmp_path, css_exchange, edits)

    reason = _skipped_only(plan, out, "hybrid-trust:dedicated-app")
    assert "valid EvoSTS" in reason and "-ConfigureAuthServer" in reason


def test_unknown_hybrid_scope_gives_no_script_and_says_so(
    tmp_path: Path, css_exchange: Path
) -> None:
    spec = {
        "edits": {"SettingOverride.xml": DISABLED, "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD},
        "drop": ["HybridConfiguration.xml", "IntraOrganizationConnector.xml", "AuthServer.xml"],
    }
    root = build_organisation(spec, tmp_path, css_exchange)
    (tmp_path / "org.yaml").write_text(POLICY, encoding="utf-8")
    out = tmp_path / "out"
    arguments = ["audit", str(root), "--as-of", "2026-11-26", "--out", str(out)]
    result = runner.invoke(
        app, [*arguments, "--scope", "hybrid-trust", "--policy", str(tmp_path / "org.yaml")]
    )
    assert result.exit_code == 2, result.output
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))

    reason = _skipped_only(plan, out, "setting-override:EnableExchangeHybrid3PAppFeature")
    assert "do not show the organisation as hybrid" in reason


def test_the_runbook_names_the_step_its_lines_and_the_back_out(
    tmp_path: Path, css_exchange: Path
) -> None:
    edits = {"SettingOverride.xml": MISSING, "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD}
    _, out = audit_plan(tmp_path, css_exchange, edits)

    runbook = (out / "RUNBOOK.md").read_text(encoding="utf-8")
    assert ".\\remediation\\dedicated-app-override.ps1" in runbook
    assert ".\\rollback\\dedicated-app-override.ps1" in runbook
    for line in ("AUDITOR-CHANGED: setting override", "AUDITOR-RESTORED:", "AUDITOR-WARNING:"):
        assert line in runbook, line
    assert "cannot work" in runbook and "admin consent" in runbook


# --- the override as a plan item: every output that lists changes lists it ----------------------

SCOPE = "partner-applications,web-config,hybrid-trust"
# SOLO-E19A's API web.config with the profiles Exchange ships, so the audit is complete and the
# override is the only change.
SHIPPED_API = (
    '<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n<appSettings>\n'
    '<add key="OAuthHttpModule.Profiles" '
    'value="S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2" />\n'
    "</appSettings>\n</configuration>\n"
)


def _complete_audit(
    tmp_path: Path, css_exchange: Path, edits: dict[str, list[list[str]]]
) -> tuple[int, Path]:
    root = build_organisation({"edits": edits}, tmp_path, css_exchange)
    web_config = root / "SOLO-E19A" / "FrontEnd" / "HttpProxy" / "Rest" / "web.config"
    web_config.parent.mkdir(parents=True)
    web_config.write_text(SHIPPED_API, encoding="utf-8")
    (tmp_path / "org.yaml").write_text(POLICY, encoding="utf-8")
    out = tmp_path / "out"
    arguments = ["audit", str(root), "--as-of", "2026-11-26", "--out", str(out)]
    arguments += ["--scope", SCOPE, "--policy", str(tmp_path / "org.yaml")]
    result = runner.invoke(app, arguments)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, out


@pytest.mark.parametrize(
    ("rule_id", "edits", "subject", "before", "shown"),
    [
        (
            "HT001",
            MISSING,
            "hybrid-trust:dedicated-app",
            None,
            "Parameters (none: created) -> Enabled=true",
        ),
        (
            "HT003",
            DISABLED,
            "setting-override:EnableExchangeHybrid3PAppFeature",
            ["Enabled=false"],
            "Parameters Enabled=false -> Enabled=true",
        ),
    ],
)
def test_the_override_resolves_its_finding_in_every_output_and_the_verdict_after(
    tmp_path: Path,
    css_exchange: Path,
    rule_id: str,
    edits: list[list[str]],
    subject: str,
    before: list[str] | None,
    shown: str,
) -> None:
    code, out = _complete_audit(
        tmp_path,
        css_exchange,
        {"SettingOverride.xml": edits, "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD},
    )
    assert code == 1  # the finding fails the audit today

    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    Draft202012Validator(document_schema("findings")).validate(document)
    (finding,) = document["findings"]
    assert finding["rule_id"] == rule_id
    assert finding["resolution"] == {"kind": "script", "scripts": [SCRIPTS[0]], "text": SCRIPTS[0]}
    assert finding["remediation"] == SCRIPTS[0]
    change = {
        "target": subject,
        "kind": "dedicated-app-override",
        "server": None,
        "remediation": SCRIPTS[0],
        "rollback": SCRIPTS[1],
        "name": "EnableExchangeHybrid3PAppFeature",
        "component": "Global",
        "section": "ExchangeOnpremAsThirdPartyAppId",
        "creates": before is None,
        "before": before,
        "after": ["Enabled=true"],
    }
    assert document["changes"] == [change]
    assert finding["plans"] == [change]

    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "No change is proposed." not in summary
    row = next(line for line in summary.splitlines() if line.startswith(f"| {rule_id} |"))
    assert row.endswith(f"| {finding['resolution']['text']} |")
    assert (
        "| setting override EnableExchangeHybrid3PAppFeature | organisation (Global / "
        f"ExchangeOnpremAsThirdPartyAppId) | {shown} | - | {SCRIPTS[0]}; {SCRIPTS[1]} |"
    ) in summary

    report = (out / "report.html").read_text(encoding="utf-8")
    fix = re.search(r'<tr id="finding-1">.*?<td data-label="Fix">(.*?)</td></tr>', report, re.S)
    assert fix is not None and f"<code>{finding['resolution']['text']}</code>" in fix.group(1)
    assert "The proposed change fixes 1 of 1 finding on the organisation." in report
    assert "Expected after the change: PASS." in report
    assert "Setting override EnableExchangeHybrid3PAppFeature" in report
    before_cell = (
        "none (the override is created)"
        if before is None
        else ('<code class="removed">Enabled=false</code>')
    )
    assert f'Parameters: {before_cell} → <code class="enabled">Enabled=true</code>' in report
    (safety,) = lxml.html.fromstring(report).xpath("//dt[.='Safety']/following-sibling::dd[1]")
    assert "its own server" not in safety.text_content()
    assert "; dedicated-app-override.ps1 runs once for the organisation." in (safety.text_content())


def test_a_finding_the_override_leaves_keeps_the_verdict_after_non_compliant(
    tmp_path: Path, css_exchange: Path
) -> None:
    # HT009 (a changed AuthConfig ServiceName, high) has no script; the override fixes HT001 only.
    service_name = [
        [
            '<S N="ServiceName">00000002-0000-0ff1-ce00-000000000000</S>',
            '<S N="ServiceName">00000003-0000-0000-c000-000000000000</S>',
        ]
    ]
    edits = {
        "SettingOverride.xml": MISSING,
        "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD,
        "AuthConfig.xml": service_name,
    }
    code, out = _complete_audit(tmp_path, css_exchange, edits)
    assert code == 1

    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    resolution = {f["rule_id"]: f["resolution"]["text"] for f in document["findings"]}
    assert resolution == {"HT001": SCRIPTS[0], "HT009": "remains: no change is planned for it"}
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "The proposed change fixes 1 of 2 findings on the organisation." in report
    assert "Expected after the change: NON-COMPLIANT (1 high remain)." in report


# --- a scoped override (HT004): the same script pair clears its scope -----------------------------

SERVER_LIST = (
    '<Obj N="Server" RefId="90"><TN RefId="90"><T>Microsoft.Exchange.Data.MultiValuedProperty`1'
    "[[System.String]]</T><T>System.Object</T></TN><LST>{items}</LST></Obj>"
)


def _scoped(servers: list[str] | None = None, **versions: str) -> list[list[str]]:
    """SettingOverride.xml edits: the sample's override scoped to `servers` and versions."""
    edits = []
    if servers is not None:
        items = "".join(f"<S>{name}</S>" for name in servers)
        edits.append(['<Nil N="Server" />', SERVER_LIST.format(items=items)])
    for label, text in versions.items():
        edits.append([f'<Nil N="{label}" />', f'<S N="{label}">{text}</S>'])
    return edits


def _second_server(root: Path) -> None:
    """Adds SOLO-E19B, a copy of SOLO-E19A (its Get-ExchangeServer object, ExSetup and
    certificates)."""
    path = root / "ExchangeServer.xml"
    text = path.read_bytes().decode("utf-8-sig")
    start, end = text.index("  <Obj RefId="), text.rindex("</Objs>")
    copy = re.sub(
        r'RefId="(\d+)"', lambda m: f'RefId="{int(m.group(1)) + 500}"', text[start:end]
    ).replace("SOLO-E19A", "SOLO-E19B")
    path.write_bytes(b"\xef\xbb\xbf" + (text[:end] + copy + text[end:]).encode("utf-8"))
    exsetup = root / "SOLO-E19B" / "ExSetup.xml"
    exsetup.parent.mkdir()
    source = (root / "SOLO-E19A" / "ExSetup.xml").read_bytes()
    exsetup.write_bytes(source.replace(b"SOLO-E19A", b"SOLO-E19B"))
    certificates = root / "SOLO-E19A" / "ExchangeCertificate.xml"
    (exsetup.parent / certificates.name).write_bytes(
        certificates.read_bytes().replace(b"solo-e19a", b"solo-e19b")
    )


def _audit_two(
    tmp_path: Path, css_exchange: Path, override: list[list[str]]
) -> tuple[dict[str, Any], Path, dict[str, Any]]:
    edits = {"SettingOverride.xml": override, "SOLO-E19A/ExSetup.xml": SUPPORTED_BUILD}
    root = build_organisation({"edits": edits}, tmp_path, css_exchange)
    _second_server(root)
    (tmp_path / "org.yaml").write_text(POLICY, encoding="utf-8")
    out = tmp_path / "out"
    arguments = ["audit", str(root), "--as-of", "2026-11-26", "--out", str(out)]
    arguments += ["--scope", "hybrid-trust", "--policy", str(tmp_path / "org.yaml")]
    result = runner.invoke(app, arguments)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return plan, out, findings


def test_an_override_scoped_to_one_of_two_servers_gets_the_script_that_clears_it(
    tmp_path: Path, css_exchange: Path
) -> None:
    plan, out, findings = _audit_two(tmp_path, css_exchange, _scoped(["solo-e19a"]))

    (finding,) = findings["findings"]
    assert finding["rule_id"] == "HT004" and "SOLO-E19B (not in Server" in finding["message"]
    assert finding["resolution"] == {"kind": "script", "scripts": [SCRIPTS[0]], "text": SCRIPTS[0]}
    (change_set,) = plan["change_sets"]
    (change,) = change_set["setting_overrides"]
    assert change["creates"] is False
    assert change["fixes"] == [finding["fingerprint"]]
    assert change["audited_parameters"] == change["target_parameters"] == ["Enabled=true"]
    assert (change["audited_server"], change["target_server"]) == (["solo-e19a"], None)
    assert change["audited_min_version"] is change["target_min_version"] is None
    assert plan["skipped"] == []
    _plan_validates(out)
    (planned,) = findings["changes"]
    assert planned["scope"] == [{"property": "Server", "before": "solo-e19a", "after": None}]
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "| Server solo-e19a -> (all servers) |" in summary
    assert "Parameters Enabled=true -> Enabled=true" not in summary
    report = (out / "report.html").read_text(encoding="utf-8")
    assert 'Server: <code class="removed">solo-e19a</code> → (all servers)' in report
    remediation = (out / SCRIPTS[0]).read_text(encoding="ascii")
    assert "AuditedScope = [pscustomobject]@{ Server = [string[]] @('solo-e19a');" in remediation
    assert "TargetScope = [pscustomobject]@{ Server = [string[]] @(); " in remediation
    assert "SetsParameters = $false" in remediation
    rollback = (out / SCRIPTS[1]).read_text(encoding="ascii")
    assert "AuditedScope = [pscustomobject]@{ Server = [string[]] @('solo-e19a');" in rollback
    runbook = (out / "RUNBOOK.md").read_text(encoding="utf-8")
    assert "clears its Server solo-e19a (every server)" in runbook


def test_an_override_whose_max_version_is_below_a_build_gets_the_script_with_the_parameters(
    tmp_path: Path, css_exchange: Path
) -> None:
    # Disabled as well (HT003): one Set-SettingOverride call sets both.
    override = [*DISABLED, *_scoped(MaxVersion="15.2.1544.0")]
    plan, out, findings = _audit_two(tmp_path, css_exchange, override)

    rules = sorted(f["rule_id"] for f in findings["findings"])
    assert rules == ["HT003", "HT004"]
    assert {f["resolution"]["text"] for f in findings["findings"]} == {SCRIPTS[0]}
    (change,) = plan["change_sets"][0]["setting_overrides"]
    assert change["audited_parameters"] == ["Enabled=false"]
    assert (change["audited_max_version"], change["target_max_version"]) == ("15.2.1544.0", None)
    assert change["audited_server"] is None
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert (
        "| Parameters Enabled=false -> Enabled=true; MaxVersion 15.2.1544.0 -> (none) |" in summary
    )
    remediation = (out / SCRIPTS[0]).read_text(encoding="ascii")
    assert "MaxVersion = '15.2.1544.0' }" in remediation
    assert "SetsParameters = $true" in remediation


def test_a_truncated_server_list_gives_no_script_and_says_why(
    tmp_path: Path, css_exchange: Path
) -> None:
    # What `-Depth` truncation leaves: the Server list as an object without its items.
    truncated = [
        [
            '<Nil N="Server" />',
            '<Obj N="Server" RefId="90"><TN RefId="90"><T>Microsoft.Exchange.Data.'
            "MultiValuedProperty`1[[System.String]]</T><T>System.Object</T></TN>"
            "<ToString>solo-e19a ...</ToString></Obj>",
        ]
    ]
    plan, out, findings = _audit_two(tmp_path, css_exchange, truncated)

    reason = _skipped_only(plan, out, "setting-override:EnableExchangeHybrid3PAppFeature")
    assert "Server list is incomplete (truncated)" in reason
    resolutions = {f["rule_id"]: f["resolution"]["text"] for f in findings["findings"]}
    assert "Server list is incomplete" in resolutions.get("HT004", ""), resolutions


def test_a_server_name_the_rollback_cannot_write_back_gives_no_script(
    tmp_path: Path, css_exchange: Path
) -> None:
    plan, out, _ = _audit_two(tmp_path, css_exchange, _scoped(["solo-e19a_x000A_x"]))

    reason = _skipped_only(plan, out, "setting-override:EnableExchangeHybrid3PAppFeature")
    assert "Server list holds characters the script does not write back" in reason


def test_a_status_exchange_must_accept_keeps_its_reason_while_the_scope_is_cleared(
    tmp_path: Path, css_exchange: Path
) -> None:
    # Enabled=true but not Accepted (HT003, for Exchange to change) and scoped (HT004): the
    # script clears the scope only; HT003 is not counted as fixed by it.
    pending = [["<ToString>Accepted</ToString>", "<ToString>Pending</ToString>"]]
    plan, out, findings = _audit_two(tmp_path, css_exchange, [*pending, *_scoped(["EX01"])])

    by_rule = {f["rule_id"]: f for f in findings["findings"]}
    assert sorted(by_rule) == ["HT003", "HT004"]
    (change,) = plan["change_sets"][0]["setting_overrides"]
    assert change["fixes"] == [by_rule["HT004"]["fingerprint"]]
    assert by_rule["HT004"]["resolution"]["text"] == SCRIPTS[0]
    assert "its Status is for Exchange to accept" in by_rule["HT003"]["resolution"]["text"]
    (skipped,) = plan["skipped"]
    assert skipped["fixes"] == [by_rule["HT003"]["fingerprint"]]
    assert "SetsParameters = $false" in (out / SCRIPTS[0]).read_text(encoding="ascii")
