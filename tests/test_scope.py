"""A verdict names its scope: what a complete audit needs, and never PASS on what was not assessed.

Each case is one of the ways an audit used to end in a quiet PASS, rebuilt from the project's own
fixtures (the bundled example, made clean) and run through the command line as a user runs it.
Every output of the package must carry the same scope as the terminal.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from auditor.cli import app
from auditor.resources import examples_dir

sys.path.insert(0, str(Path(__file__).resolve().parent / "render"))
from html_scenarios import enable_dedicated_app

AS_OF = "2026-11-26"
runner = CliRunner()

_SERVER_OBJECT = """  <Obj RefId="{ref}">
    <TN RefId="{ref}">
      <T>Microsoft.Exchange.Data.Directory.Management.ExchangeServer</T>
      <T>System.Object</T>
    </TN>
    <ToString>{name}</ToString>
    <Props>
      <S N="Name">{name}</S>
      <S N="Fqdn">{name}.fabrikam.lab</S>
      <B N="IsClientAccessServer">{client_access}</B>
      <B N="IsEdgeServer">{edge}</B>
    </Props>
  </Obj>
"""


def exchange_server_export(*servers: tuple[str, bool, bool]) -> str:
    """A `Get-ExchangeServer | Export-Clixml` of the named servers (name, client access, edge)."""
    objects = "".join(
        _SERVER_OBJECT.format(
            ref=index, name=name, client_access=str(cas).lower(), edge=str(edge).lower()
        )
        for index, (name, cas, edge) in enumerate(servers)
    )
    return (
        '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\n'
        f"{objects}</Objs>\n"
    )


TRUST_FILES = (
    "AuthServer.xml",
    "AuthConfig.xml",
    "SettingOverride.xml",
    "HybridConfiguration.xml",
    "IntraOrganizationConnector.xml",
    "OrganizationRelationship.xml",
    "OrganizationConfig.xml",
    "ExSetup.xml",
    "ExchangeCertificate.xml",
    "VariantConfigurationOverrides.xml",
)


def without_trust_exports(evidence: Path) -> Path:
    """The evidence without any hybrid-trust export (an organisation collected before them)."""
    for name in TRUST_FILES:
        for path in evidence.glob(f"*/{name}"):
            path.unlink()
    return evidence


def clean_example(root: Path) -> Path:
    """The bundled example with the recipe undone and the dedicated hybrid app enabled: no
    finding anywhere."""
    evidence = root / "evidence"
    shutil.copytree(examples_dir(), evidence)
    enable_dedicated_app(evidence)
    for rest in evidence.glob("*/FrontEnd/HttpProxy/Rest/web.config"):
        text = rest.read_bytes().replace(b"|V1S2SAppOnly", b"").replace(b"| V1S2SAppOnly", b"")
        rest.write_bytes(text)
    export = evidence / "EX01" / "PartnerApplication.xml"
    data = export.read_bytes()
    encoding = "utf-16" if data.startswith(b"\xff\xfe") else "utf-8-sig"
    tree = etree.fromstring(data.decode(encoding).encode("utf-8"))
    for prop in tree.iter("{*}Obj"):
        if prop.get("N") == "AppOnlyPermissions":
            parent = prop.getparent()
            assert parent is not None
            nil = etree.Element("{http://schemas.microsoft.com/powershell/2004/04}Nil")
            nil.set("N", "AppOnlyPermissions")
            parent.replace(prop, nil)
    export.write_bytes(etree.tostring(tree, xml_declaration=False, encoding="utf-8"))
    return evidence


def audit(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "--as-of", AS_OF, "--change-id", "CHG-1", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def package_texts(out: Path) -> dict[str, str]:
    names = ("summary.md", "findings.json", "findings.sarif", "junit.xml", "report.html")
    return {name: (out / name).read_text(encoding="utf-8") for name in names}


@pytest.fixture
def evidence(tmp_path: Path) -> Path:
    return clean_example(tmp_path)


def test_the_clean_example_passes_with_its_whole_scope(evidence: Path, tmp_path: Path) -> None:
    code, output = audit(str(evidence), "--out", str(tmp_path / "out"))

    assert code == 0, output
    line = (
        "PASS for partner applications and web.config of 2 of 2 servers and the on-premises"
        " hybrid trust; its cloud side not assessed: no cloud evidence given"
    )
    assert line in output.replace("\n    ", " ")
    document = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    scope = document["scope"]
    assert scope["servers_known"] == ["EX01", "EX02"] == scope["servers_assessed"]
    assert scope["classes_read"] == ["partner-applications", "web-config", "hybrid-trust"]
    assert scope["classes_missing"] == []
    assert [(e["server"], e["vdir"], e["state"]) for e in scope["evidence"]][:3] == [
        (None, None, "read"),
        ("EX01", "Default Web Site/API", "read"),
        ("EX02", "Default Web Site/API", "read"),
    ]
    trust = [e for e in scope["evidence"] if e["class"] == "hybrid-trust"]
    assert len(trust) == 10 and all(e["state"] == "read" for e in trust)
    assert document["verdict_line"] == line
    # the cloud rules had no cloud evidence: not assessed, and said so, never a gap or a pass
    not_applied = {item["rule_id"]: item["reason"] for item in document["rules_not_applied"]}
    assert not_applied == {"HT121": "no cloud evidence given", "HT122": "no cloud evidence given"}
    assert "not applied: HT121, HT122: no cloud evidence given" in output
    assert not [f for f in document["findings"] if f["rule_id"].startswith("EV")]


def test_a_missing_partner_export_is_incomplete_not_pass(evidence: Path) -> None:
    (evidence / "EX01" / "PartnerApplication.xml").unlink()

    code, output = audit(str(evidence), "--no-package")

    assert code == 2, output
    assert "INCOMPLETE for web.config of 2 of 2 servers" in output.replace("\n    ", " ")
    assert "error: " in output and "missing: no Get-PartnerApplication export" in output
    assert "PASS" not in output


def test_narrowing_the_scope_on_purpose_says_so_in_every_output(
    evidence: Path, tmp_path: Path
) -> None:
    (evidence / "EX01" / "PartnerApplication.xml").unlink()
    out = tmp_path / "out"

    code, output = audit(str(evidence), "--scope", "web-config", "--out", str(out))

    assert code == 0, output
    line = (
        "PASS for web.config of 2 of 2 servers; partner applications and hybrid trust not "
        "assessed (--scope web-config)"
    )
    assert line in output.replace("\n    ", " ")
    texts = package_texts(out)
    assert line in texts["summary.md"]
    assert json.loads(texts["findings.json"])["verdict_line"] == line
    sarif = json.loads(texts["findings.sarif"])
    assert sarif["runs"][0]["properties"]["verdictLine"] == line
    junit = etree.fromstring(texts["junit.xml"].encode("utf-8"))
    assert junit.find(".//property[@name='verdict']").get("value") == line  # type: ignore[union-attr]
    assert "partner applications and hybrid trust (--scope web-config)" in texts["report.html"]
    assert line in texts["report.html"]
    # the PA rules are not applied, and say why
    rules = json.loads(texts["findings.json"])["rules_not_applied"]
    assert {item["rule_id"] for item in rules} >= {"PA001", "PA002", "PA003", "PA004", "PA005"}


def test_a_server_of_the_export_without_files_is_named(evidence: Path) -> None:
    shutil.rmtree(evidence / "EX02")
    (evidence / "EX01" / "ExchangeServer.xml").write_text(
        exchange_server_export(("EX01", True, False), ("EX02", True, False)), encoding="utf-8"
    )

    code, output = audit(str(evidence), "--no-package")

    assert code == 2, output
    flat = output.replace("\n    ", " ")
    assert "INCOMPLETE for partner applications and web.config of 1 of 2 servers" in flat
    assert "error: " in output
    assert "EX02/FrontEnd/HttpProxy/Rest/web.config: missing: the Default Web Site/API" in flat


def test_edge_servers_are_not_expected_to_hold_client_vdirs(evidence: Path) -> None:
    (evidence / "EX01" / "ExchangeServer.xml").write_text(
        exchange_server_export(
            ("EX01", True, False), ("EX02", True, False), ("EDGE1", False, True)
        ),
        encoding="utf-8",
    )

    code, output = audit(str(evidence), "--no-package")

    assert code == 0, output
    flat = output.replace("\n    ", " ")
    assert "web.config of 2 of 2 servers" in flat
    assert "EDGE1 excluded (Edge Transport server" in flat


def test_a_folder_server_the_export_does_not_list_is_a_problem(evidence: Path) -> None:
    (evidence / "EX01" / "ExchangeServer.xml").write_text(
        exchange_server_export(("EX01", True, False)), encoding="utf-8"
    )

    code, output = audit(str(evidence), "--no-package")

    assert code == 2, output
    assert "server EX02 (named by the folder layout) is not among the servers" in (
        output.replace("\n    ", " ")
    )


def test_a_missing_rest_web_config_is_not_read_in_the_grid(evidence: Path, tmp_path: Path) -> None:
    rest = evidence / "EX02" / "FrontEnd" / "HttpProxy" / "Rest" / "web.config"
    rest.unlink()
    # a deviation on EX01 puts EX02 in the grid's columns too
    ex01 = evidence / "EX01" / "FrontEnd" / "HttpProxy" / "Rest" / "web.config"
    ex01.write_bytes(ex01.read_bytes().replace(b"|CallbackV2", b"|CallbackV2|V1S2SAppOnly"))
    out = tmp_path / "out"

    code, output = audit(str(evidence), "--out", str(out))

    assert code == 2, output
    html = (out / "report.html").read_text(encoding="utf-8")
    grid = etree.HTML(html).find(".//table[@class='grid']")
    assert grid is not None
    rows = {
        row.findtext("th"): ["".join(cell.itertext()).strip() for cell in row.findall("td")]
        for row in grid.iter("tr")
        if row.find("td") is not None
    }
    assert rows["EX02"] == ["not read"]
    assert "default" not in rows["EX02"]
    assert "Not assessed (1):" in html


def _rest(evidence: Path, server: str) -> Path:
    return evidence / server / "FrontEnd" / "HttpProxy" / "Rest" / "web.config"


def _without_profiles(path: Path, extra: bytes = b"") -> None:
    lines = path.read_bytes().split(b"\n")
    kept = [line for line in lines if b"OAuthHttpModule.Profiles" not in line]
    if extra:
        index = next(i for i, line in enumerate(kept) if b"<appSettings>" in line)
        kept.insert(index + 1, extra)
    path.write_bytes(b"\n".join(kept))


def _site_root(evidence: Path, server: str, profiles: str | None) -> None:
    folder = evidence / server / "inetpub" / "wwwroot"
    folder.mkdir(parents=True)
    setting = f'    <add key="OAuthHttpModule.Profiles" value="{profiles}" />\n' if profiles else ""
    (folder / "web.config").write_text(
        f'<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <appSettings>\n'
        f"{setting}  </appSettings>\n</configuration>\n",
        encoding="utf-8",
    )


def test_an_inherited_setting_without_its_parent_is_not_assessed(evidence: Path) -> None:
    _without_profiles(_rest(evidence, "EX02"))

    code, output = audit(str(evidence), "--no-package")

    assert code == 2, output
    flat = output.replace("\n    ", " ")
    assert "web.config of 1 of 2 servers" in flat
    assert "EX02 Default Web Site/API web.config (inherited)" in flat
    assert "not assessed: it does not set OAuthHttpModule.Profiles" in flat


def test_an_inherited_setting_is_judged_from_the_given_parent(
    evidence: Path, tmp_path: Path
) -> None:
    _without_profiles(_rest(evidence, "EX02"))
    _site_root(evidence, "EX02", "S2SAppActAs|S2SAppOnly|V1AppActAs|V1S2SAppOnly")
    out = tmp_path / "out"

    code, output = audit(str(evidence), "--out", str(out))

    assert code == 1, output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    subject = "web-config:EX02:Default Web Site/API"
    (wc001,) = [
        f for f in document["findings"] if f["rule_id"] == "WC001" and f["subject"] == subject
    ]
    assert wc001["location"]["path"] == "evidence/EX02/inetpub/wwwroot/web.config"
    assert wc001["remediation"] is None
    (skipped,) = [item for item in document["skipped"] if item["subject"] == subject]
    assert "inherited from evidence/EX02/inetpub/wwwroot/web.config" in skipped["reason"]
    assert not [c for c in document["changes"] if c.get("subject") == subject]


def test_a_parent_without_the_setting_is_still_not_assessed(evidence: Path) -> None:
    _without_profiles(_rest(evidence, "EX02"))
    _site_root(evidence, "EX02", None)

    code, output = audit(str(evidence), "--no-package")

    assert code == 2, output
    assert "root web.config or machine.config" in output.replace("\n    ", " ")


def test_a_file_that_clears_inheritance_is_assessed(evidence: Path) -> None:
    _without_profiles(_rest(evidence, "EX02"), b"    <clear />")

    code, output = audit(str(evidence), "--no-package")

    assert code == 0, output
    assert "web.config of 2 of 2 servers" in output.replace("\n    ", " ")


def test_policy_scope_narrows_and_names_the_policy(evidence: Path, tmp_path: Path) -> None:
    (evidence / "EX01" / "PartnerApplication.xml").unlink()
    policy = tmp_path / "webonly.yaml"
    policy.write_text(
        "name: webonly\nversion: 1\nextends: default\nscope:\n  assess: [web-config]\n",
        encoding="utf-8",
    )

    code, output = audit(str(evidence), "--policy", str(policy), "--no-package")

    assert code == 0, output
    assert "partner applications and hybrid trust not assessed (policy webonly.yaml)" in (
        output.replace("\n    ", " ")
    )


def test_policy_scope_vdirs_must_be_known(evidence: Path, tmp_path: Path) -> None:
    policy = tmp_path / "bad.yaml"
    policy.write_text(
        "name: bad\nversion: 1\nextends: default\nscope:\n  web_config_vdirs: [Default/Nope]\n",
        encoding="utf-8",
    )

    code, output = audit(str(evidence), "--policy", str(policy), "--no-package")

    assert code == 2
    assert "bad.yaml:5" in output and "not an Exchange vdir auditor knows" in output


def test_an_unknown_scope_value_is_refused(evidence: Path) -> None:
    code, output = audit(str(evidence), "--scope", "everything", "--no-package")

    assert code == 2
    assert "--scope 'everything' is not an evidence class" in output


def test_a_weakening_policy_is_named_beside_the_verdict_in_every_output(
    evidence: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "contoso.yaml"
    policy.write_text(
        "name: contoso\nversion: 1\nextends: default\napplications:\n"
        "  - application_identifier: 00000003-0000-0000-c000-000000000000\n"
        "    name: Microsoft Graph\n    approved_app_only: [Mail.Send]\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"

    code, output = audit(str(evidence), "--policy", str(policy), "--out", str(out))

    assert code == 0, output
    text = "policy contoso.yaml approves Mail.Send for Microsoft Graph"
    lines = output.replace("\n    ", " ").splitlines()
    assert lines[0].startswith("auditor 0.1.0: PASS for ")
    assert any(line.startswith(f"WEAKENS the shipped default: {text}") for line in lines[:4])
    texts = package_texts(out)
    assert f"**weakens the shipped default**: {text}" in texts["summary.md"]
    weakenings = json.loads(texts["findings.json"])["policy"]["weakenings"]
    assert [w["text"] for w in weakenings if w["text"].startswith(text)]
    sarif = json.loads(texts["findings.sarif"])
    assert any(t.startswith(text) for t in sarif["runs"][0]["properties"]["policy"]["weakenings"])
    assert f'name="policy.weakens" value="{text}' in texts["junit.xml"]
    html = texts["report.html"]
    verdict = html[
        html.index('<div class="verdict') : html.index("</div>", html.index('<div class="verdict'))
    ]
    assert f"<strong>Weakens the shipped default:</strong> {text}" in verdict


# --- the hybrid trust: assessed by default ----------------------------------------------------

_EXSETUP = """<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">
  <Obj RefId="0"><TN RefId="0"><T>System.Diagnostics.FileVersionInfo</T></TN>
    <Props><I32 N="FileMajorPart">15</I32><I32 N="FileMinorPart">2</I32>
      <I32 N="FileBuildPart">1748</I32><I32 N="FilePrivatePart">24</I32>
      <S N="InternalName">ExSetup.exe</S></Props></Obj>
</Objs>
"""
_TRUST_DATA = Path(__file__).parent / "parsers" / "data" / "trust"


def _with_some_trust_exports(evidence: Path) -> Path:
    """Of the trust exports, only an AuthServer export and EX01's ExSetup version."""
    without_trust_exports(evidence)
    shutil.copy(_TRUST_DATA / "auth-servers.xml", evidence / "EX01" / "AuthServer.xml")
    (evidence / "EX01" / "ExSetup.xml").write_text(_EXSETUP, encoding="utf-8")
    return evidence


def test_hybrid_trust_evidence_is_the_org_exports_and_each_servers_build_and_certificates(
    evidence: Path,
) -> None:
    from auditor.parsers import read_inventory
    from auditor.scope import hybrid_trust_evidence

    inventory = read_inventory([_with_some_trust_exports(evidence)])

    items = hybrid_trust_evidence(inventory)
    shown = [(item.server, item.state.value, Path(item.path).name) for item in items]
    assert shown == [
        (None, "read", "AuthServer.xml"),
        (None, "missing", "AuthConfig.xml"),
        (None, "missing", "SettingOverride.xml"),
        (None, "missing", "HybridConfiguration.xml"),
        (None, "missing", "IntraOrganizationConnector.xml"),
        (None, "missing", "OrganizationConfig.xml"),
        ("EX01", "read", "ExSetup.xml"),
        ("EX01", "missing", "ExchangeCertificate.xml"),
        ("EX02", "missing", "ExSetup.xml"),
        ("EX02", "missing", "ExchangeCertificate.xml"),
    ]
    assert items[0].note == "3 record(s) from 1 export(s)"
    assert items[8].path.endswith("EX02/ExSetup.xml")  # where the collection layout puts it
    assert items[8].what == "EX02 ExSetup.xml"
    # an org-wide export is expected where the collection writes it: in a server folder
    assert items[1].path.endswith("evidence/EX01/AuthConfig.xml")
    assert items[1].what == "the AuthConfig.xml export"
    assert all(item.evidence_class.value == "hybrid-trust" for item in items)


def test_an_audit_without_any_trust_export_says_so_in_one_clause(
    evidence: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    code, output = audit(str(without_trust_exports(evidence)), "--out", str(out))

    assert code == 2, output
    flat = output.replace("\n    ", " ")
    line = (
        "INCOMPLETE for partner applications and web.config of 2 of 2 servers; hybrid trust "
        "not assessed: no hybrid-trust export was given (AuthServer.xml, AuthConfig.xml, "
        "SettingOverride.xml, HybridConfiguration.xml, IntraOrganizationConnector.xml, "
        "OrganizationConfig.xml, and each server's ExSetup.xml and ExchangeCertificate.xml); "
        "`auditor collect` writes them, or leave it out on purpose with --scope "
        "partner-applications,web-config"
    )
    assert line in flat
    assert "PASS" not in output
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert document["verdict_line"] == line
    # each missing export is one located gap naming it, and how to get it
    gaps = sorted(f["location"]["path"] for f in document["findings"] if f["rule_id"] == "EV001")
    assert gaps == sorted(
        [
            f"evidence/EX01/{name}"
            for name in TRUST_FILES[:7]
            if name != "OrganizationRelationship.xml"
        ]
        + [f"evidence/{server}/{name}" for server in ("EX01", "EX02") for name in TRUST_FILES[7:9]]
    )
    assert "evidence/EX02/ExchangeCertificate.xml: missing: EX02 ExchangeCertificate.xml " in (
        output
    )
    assert "`auditor collect` writes it, or narrow the audit on purpose with --scope " in output
    # the cloud rules are not assessed for want of cloud evidence: no gap of their own
    assert not any("cloud" in f["message"] for f in document["findings"])


def test_leaving_the_hybrid_trust_out_on_purpose_is_named(evidence: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    scope = "partner-applications,web-config"
    code, output = audit(str(without_trust_exports(evidence)), "--scope", scope, "--out", str(out))

    assert code == 0, output
    line = (
        "PASS for partner applications and web.config of 2 of 2 servers; hybrid trust not "
        f"assessed (--scope {scope})"
    )
    assert line in output.replace("\n    ", " ")
    texts = package_texts(out)
    assert json.loads(texts["findings.json"])["verdict_line"] == line
    assert line in texts["summary.md"]
    rules = json.loads(texts["findings.json"])["rules_not_applied"]
    assert {item["rule_id"] for item in rules} >= {"HT001", "HT101", "HT111", "HT121"}


def test_a_policy_for_an_organisation_without_hybrid_leaves_the_trust_out(
    evidence: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "onprem.yaml"
    policy.write_text(
        "name: onprem\nversion: 1\nextends: default\nscope:\n"
        "  assess: [partner-applications, web-config]\n",
        encoding="utf-8",
    )

    code, output = audit(
        str(without_trust_exports(evidence)), "--policy", str(policy), "--no-package"
    )

    assert code == 0, output
    assert "hybrid trust not assessed (policy onprem.yaml)" in output.replace("\n    ", " ")


@pytest.mark.parametrize("export", ["HybridConfiguration.xml", "AuthServer.xml"])
def test_hybrid_in_scope_is_unknown_without_its_evidence(evidence: Path, export: str) -> None:
    (evidence / "EX01" / export).unlink()

    code, output = audit(str(evidence), "--no-package")

    assert code == 2, output
    flat = output.replace("\n    ", " ")
    assert f"not assessed: the {export} export (missing)" in flat
    assert f"evidence/EX01/{export}: missing: the {export} export was not given" in flat
    assert "PASS" not in output


def test_choosing_the_hybrid_trust_expects_its_exports(evidence: Path, tmp_path: Path) -> None:
    code, output = audit(
        str(_with_some_trust_exports(evidence)),
        "--scope",
        "hybrid-trust",
        "--out",
        str(tmp_path / "o"),
    )

    assert code == 2, output  # incomplete: the trust exports not given are not assessed
    document = json.loads((tmp_path / "o" / "findings.json").read_text(encoding="utf-8"))
    scope = document["scope"]
    assert scope["classes"] == ["hybrid-trust"]
    assert scope["narrowed"] == ["partner-applications", "web-config"]
    gaps = {
        (f["subject"], f["location"]["path"].rsplit("/", 1)[-1])
        for f in document["findings"]
        if f["rule_id"] == "EV001"
    }
    assert ("hybrid-trust:organisation:AuthConfig.xml", "AuthConfig.xml") in gaps
    assert ("hybrid-trust:EX02:ExSetup.xml", "ExSetup.xml") in gaps
    assert not any(subject.endswith(":AuthServer.xml") for subject, _ in gaps)  # it was read
    # only the hybrid trust was chosen: no narrower scope to suggest
    assert "--scope" not in next(
        f["message"] for f in document["findings"] if f["rule_id"] == "EV001"
    )
