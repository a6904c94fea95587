"""An org-wide trust export given more than once (`auditor collect` writes one per server):
copies that agree are one export; copies that disagree leave that export not assessed, with a
located EV001 naming both files, and the audit incomplete (exit 2), as for partner
applications. Also: a trust export given as Format-List is audited like its CLIXML.
Every audit here chooses its scope (`--scope hybrid-trust`), so it means the same whatever
the default scope.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from test_scope import audit, clean_example

TRUST = Path(__file__).parent / "parsers" / "data" / "trust"


def _findings(out: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return document


def _scope_states(document: dict[str, Any]) -> dict[str, str]:
    return {
        item["path"].rsplit("/", 1)[-1]: item["state"]
        for item in document["scope"]["evidence"]
        if item["class"] == "hybrid-trust" and item.get("server") is None
    }


def test_disagreeing_copies_are_not_assessed_and_named_in_ev001(tmp_path: Path) -> None:
    evidence = clean_example(tmp_path)
    for server in ("EX01", "EX02"):
        shutil.copy(TRUST / "auth-servers.xml", evidence / server / "AuthServer.xml")
    changed = evidence / "EX02" / "AuthServer.xml"
    changed.write_bytes(
        changed.read_bytes().replace(b'<B N="Enabled">false</B>', b'<B N="Enabled">true</B>')
    )

    code, output = audit(str(evidence), "--scope", "hybrid-trust", "--out", str(tmp_path / "o"))

    assert code == 2, output
    document = _findings(tmp_path / "o")
    (finding,) = [
        f
        for f in document["findings"]
        if f["subject"] == "hybrid-trust:organisation:Get-AuthServer"
    ]
    assert finding["rule_id"] == "EV001"
    assert finding["location"]["path"].endswith("EX02/AuthServer.xml")
    assert "EX01/AuthServer.xml" in finding["message"]
    assert "EX02/AuthServer.xml" in finding["message"]
    assert _scope_states(document)["AuthServer.xml"] == "not read"
    # No rule judged either copy's AuthServers.
    assert not any(
        f["rule_id"].startswith("HT") and "AuthServer.xml" in (f["location"]["path"] or "")
        for f in document["findings"]
    )


def test_agreeing_copies_are_read_once(tmp_path: Path) -> None:
    evidence = clean_example(tmp_path)
    for server in ("EX01", "EX02"):
        shutil.copy(TRUST / "auth-servers.xml", evidence / server / "AuthServer.xml")

    audit(str(evidence), "--scope", "hybrid-trust", "--out", str(tmp_path / "o"))

    document = _findings(tmp_path / "o")
    assert _scope_states(document)["AuthServer.xml"] == "read"
    assert not any(f["subject"].endswith(":Get-AuthServer") for f in document["findings"])


@pytest.mark.corpus
def test_trust_exports_in_text_formats_are_audited_as_their_clixml(
    tmp_path: Path, css_exchange: Path
) -> None:
    clixml = {
        "AuthServer": TRUST / "auth-servers.xml",
        "SettingOverride": css_exchange / "E19/Exchange/GetSettingOverride2.xml",
        "AuthConfig": css_exchange / "AuthCertificate/GetAuthConfig.xml",
    }
    text = {  # the same objects as Format-List, PowerShell 7 JSON and 5.1 JSON
        "AuthServer": TRUST / "formats/auth-servers.fl.txt",
        "SettingOverride": TRUST / "formats/setting-override.json",
        "AuthConfig": TRUST / "formats/auth-config.ps51.json",
    }
    results = {}
    for name, files in (("clixml", clixml), ("text", text)):
        evidence = clean_example(tmp_path / name)
        for export, path in files.items():  # named by neither format nor export
            shutil.copy(path, evidence / "EX01" / f"{export}.export")
        hybrid = css_exchange / "E19/Exchange/GetHybridConfiguration.xml"
        shutil.copy(hybrid, evidence / "EX01" / "HybridConfiguration.xml")
        out = tmp_path / f"out-{name}"
        code, _ = audit(str(evidence), "--scope", "hybrid-trust", "--out", str(out))
        document = _findings(out)
        results[name] = (
            code,
            [_scope_states(document)[f"{export}.export"] for export in files],
            sorted((f["rule_id"], f["subject"], f["message"]) for f in document["findings"]),
        )

    assert results["text"] == results["clixml"]
    assert results["clixml"][1] == ["read", "read", "read"]
    rules = {rule_id for rule_id, _, _ in results["clixml"][2]}
    assert rules - {"EV001", "HT101"}, rules  # the trust rules judged these exports
