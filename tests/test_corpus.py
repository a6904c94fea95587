"""The real Exchange files of the reference corpus, read through auditor's parsers.

Facts a human can check by opening the files in `../shared/reference/css-exchange`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REST_PROFILES

sys.path.insert(0, str(Path(__file__).resolve().parent / "rules"))
from rule_case_loader import build_organisation
from typer.testing import CliRunner

from auditor.cli import app
from auditor.layout import identify
from auditor.model import Inventory, ParseResult
from auditor.parsers import clixml, read_inventory, webconfig
from auditor.parsers.base import RawInput

pytestmark = pytest.mark.corpus

GRAPH = "00000003-0000-0000-c000-000000000000"


def _raw(path: Path) -> RawInput:
    data = path.read_bytes()
    placement = identify(path)
    return RawInput(
        path=str(path),
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        server=placement.server,
        vdir=placement.vdir,
    )


def _web_configs(corpus: Path) -> list[Path]:
    return sorted(path for path in corpus.rglob("*") if path.name.lower().endswith("web.config"))


def test_partner_applications(css_exchange: Path) -> None:
    result = clixml.parse(_raw(css_exchange / "E19" / "GetPartnerApplication.xml"))

    assert result.problems == ()
    assert [app.name for app in result.partner_applications] == [
        "Exchange Online",
        "Microsoft Graph",
        "TeamsScheduler",
        "CloudVoicemail",
        "SfBLegacy",
    ]
    (graph,) = (app for app in result.partner_applications if app.application_identifier == GRAPH)
    act_as = graph.act_as_permissions
    assert act_as.complete and len(act_as.values) == 29
    assert (act_as.values[0], act_as.values[-1]) == ("Mail.Read", "Tasks.ReadWrite")
    assert "Privilege.SkipClientAccessRules" in act_as.values
    assert graph.app_only_permissions.values == () and graph.app_only_permissions.complete
    assert graph.app_only_permissions.evidence.raw == '<Nil N="AppOnlyPermissions" />'
    assert graph.linked_account is None
    # The E19 folder holds an IIS folder, so it is a server folder and names the server;
    # without it, PSComputerName would (see the next test).
    assert graph.server == "E19"


def test_partner_application_server_from_the_export(css_exchange: Path) -> None:
    path = css_exchange / "E19" / "GetPartnerApplication.xml"
    data = path.read_bytes()
    raw = RawInput(path=str(path), data=data, sha256=hashlib.sha256(data).hexdigest())

    servers = {app.server for app in clixml.parse(raw).partner_applications}
    assert servers == {"ex-02.contoso.lab"}  # PSComputerName, not OriginatingServer (a DC)


def test_exchange_server_export_is_not_a_problem(css_exchange: Path) -> None:
    raw = _raw(css_exchange / "E19" / "GetExchangeServer.xml")
    result = clixml.parse(raw)

    assert result.problems == () and result.partner_applications == ()
    (server,) = result.exchange_servers
    assert (server.name, server.fqdn) == ("SOLO-E19A", "Solo-E19A.Solo.com")
    assert (server.client_access, server.edge) == (True, False)


def test_every_web_config_parses_with_server_and_vdir(css_exchange: Path) -> None:
    paths = _web_configs(css_exchange)
    assert len(paths) == 47  # E16: 23, E19: 24 (E19 also has ClientAccess_ecp_web.config)

    vdirs: dict[str, set[str]] = {}
    for path in paths:
        result: ParseResult = webconfig.parse(_raw(path))
        assert result.problems == (), path
        (config,) = result.web_configs
        assert config.server in ("E16", "E19"), path
        assert config.vdir != "unknown", path
        vdirs.setdefault(config.server, set()).add(config.vdir)
    assert len(vdirs["E16"]) == 23
    assert len(vdirs["E19"]) == 23  # ClientAccess_ecp and ExchangeBackEnd-ECP: the same vdir


@pytest.mark.parametrize("server", ["E16", "E19"])
def test_rest_front_end_profiles(css_exchange: Path, server: str) -> None:
    path = css_exchange / server / "IIS" / "DefaultWebSite-Rest_web.config"
    (config,) = webconfig.parse(_raw(path)).web_configs

    assert (config.server, config.vdir) == (server, "Default Web Site/API")
    profiles = config.oauth_profiles
    assert profiles is not None
    assert profiles.tokens == REST_PROFILES
    assert profiles.line == 11
    assert profiles.raw == "|".join(REST_PROFILES)
    assert profiles.evidence.raw == (
        f'<add key="OAuthHttpModule.Profiles" value="{"|".join(REST_PROFILES)}" />'
    )


def test_set_app_config_value_comment_does_not_count(css_exchange: Path) -> None:
    # E16's EAS front end has a comment naming the old value `V1AppActAs|V1S2SActAs`.
    path = css_exchange / "E16" / "IIS" / "DefaultWebSite-EAS_web.config"
    (config,) = webconfig.parse(_raw(path)).web_configs

    assert config.oauth_profiles is not None
    assert config.oauth_profiles.tokens == ("V1AppActAs",)
    assert config.oauth_profiles.line == 10


def test_read_inventory_reads_the_whole_corpus(css_exchange: Path) -> None:
    # The web.configs and the partner-application export; the `Exchange/` folders hold the
    # hybrid-trust exports (Get-SettingOverride, Get-AuthConfig, ...), not read yet.
    inventory: Inventory = read_inventory(
        [
            css_exchange / "E16" / "IIS",
            css_exchange / "E19" / "IIS",
            css_exchange / "E19" / "GetPartnerApplication.xml",
        ]
    )

    assert inventory.problems == ()
    assert len(inventory.partner_applications) == 5
    assert len(inventory.web_configs) == 47
    assert all(config.server in ("E16", "E19") for config in inventory.web_configs)
    rest = [c for c in inventory.web_configs if c.vdir == "Default Web Site/API"]
    assert [(c.server, c.oauth_profiles.tokens if c.oauth_profiles else None) for c in rest] == [
        ("E16", REST_PROFILES),
        ("E19", REST_PROFILES),
    ]


# --- the corpus audited as a complete organisation ---------------------------------------------


def _organisation(css_exchange: Path, root: Path) -> Path:
    """E19 laid out as `auditor collect` would: the server's folder named as its
    Get-ExchangeServer export names it (SOLO-E19A) holding its web.configs, the org-wide exports
    beside it, with the hybrid-trust exports of the clean hybrid organisation of the HT rule
    cases (tests/rules/trust_cases/README.md: the corpus's own where public, else synthetic)."""
    org = build_organisation({}, root, css_exchange)
    shutil.copytree(css_exchange / "E19" / "IIS", org / "SOLO-E19A" / "IIS")
    return org


def _audit_json(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        app, ["audit", *args, "--no-package", "--format", "json", "--as-of", "2026-12-01"]
    )
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.stdout)


def test_e19_audits_as_a_complete_organisation(css_exchange: Path, tmp_path: Path) -> None:
    org = _organisation(css_exchange, tmp_path)

    code, document = _audit_json(str(org))

    # complete: every class assessed; the lab's hybrid trust has real findings of its own (a
    # 2022 build below the April 2025 hotfix, an auth certificate expired long before the date)
    assert code == 1, document["problems"]
    assert document["problems"] == []
    assert sorted(f["rule_id"] for f in document["findings"]) == ["HT101", "HT111"]
    scope = document["scope"]
    assert scope["servers_known"] == ["SOLO-E19A"] == scope["servers_assessed"]
    assert scope["servers_from"] == ["the Get-ExchangeServer export"]
    assert scope["classes_read"] == ["partner-applications", "web-config", "hybrid-trust"]
    assert [(e["server"], e["vdir"], e["state"], e["path"]) for e in scope["evidence"]][:2] == [
        (None, None, "read", "org/PartnerApplication.xml"),
        (
            "SOLO-E19A",
            "Default Web Site/API",
            "read",
            "org/SOLO-E19A/IIS/DefaultWebSite-Rest_web.config",
        ),
    ]
    assert {e["state"] for e in scope["evidence"] if e["class"] == "hybrid-trust"} == {"read"}
    assert document["verdict_line"] == (
        "FAIL for partner applications and web.config of 1 of 1 server and the on-premises"
        " hybrid trust; its cloud side not assessed: no cloud evidence given"
    )


@pytest.mark.parametrize(
    "removed", ["SOLO-E19A/IIS/DefaultWebSite-Rest_web.config", "PartnerApplication.xml"]
)
def test_removing_a_judged_file_makes_the_audit_incomplete(
    css_exchange: Path, tmp_path: Path, removed: str
) -> None:
    org = _organisation(css_exchange, tmp_path)
    (org / removed).unlink()

    code, document = _audit_json(str(org))

    assert code == 2
    assert document["verdict"] == "incomplete"
    missing = [p for p in document["problems"] if p["message"].startswith("missing: ")]
    assert len(missing) == 1
    if removed.startswith("SOLO-E19A"):
        assert missing[0]["path"] == "org/SOLO-E19A/FrontEnd/HttpProxy/Rest/web.config"
        assert "web.config of server SOLO-E19A was not given" in missing[0]["message"]
    else:
        assert "no Get-PartnerApplication export was given" in missing[0]["message"]


def test_e16_audits_its_web_configs_with_the_scope_it_has(
    css_exchange: Path, tmp_path: Path
) -> None:
    shutil.copytree(css_exchange / "E16" / "IIS", tmp_path / "E16" / "IIS")

    code, document = _audit_json(str(tmp_path / "E16"), "--scope", "web-config")

    assert code == 0, document["problems"]
    assert document["scope"]["servers_from"] == ["the folder layout"]
    assert document["verdict_line"] == (
        "PASS for web.config of 1 of 1 server; partner applications and hybrid trust not "
        "assessed (--scope web-config)"
    )
