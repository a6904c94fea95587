"""The plan promises only edits the script makes: a web.config whose effective
`OAuthHttpModule.Profiles` the script would not edit in place is a `Skipped` with the step to
take by hand (file, line, what to write), in the report, findings.json and plan.json.

Each case is a web.config written beside the others of a server folder and audited the way a
user audits (`run_audit`); the rule it exercises is `auditor.appsettings.edit_refusal`.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from auditor.appsettings import fold_key, resembles_key, same_key
from auditor.audit import AuditRequest, run_audit
from auditor.model import Report
from auditor.render.json_ import render_findings, render_plan

REST = Path("EX01/FrontEnd/HttpProxy/Rest")
SUBJECT = "web-config:EX01:Default Web Site/API"
DEFAULT_PROFILES = "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2"
TOKEN = f"{DEFAULT_PROFILES}|V1S2SAppOnly"
HEAD = '<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <appSettings>\n'
PROTOCOL = '    <add key="HttpProxy.ProtocolType" value="Rest" />\n'
TAIL = "  </appSettings>\n</configuration>\n"


def _audit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: bytes) -> Report:
    folder = tmp_path / "fleet" / REST
    folder.mkdir(parents=True)
    (folder / "web.config").write_bytes(data)
    monkeypatch.chdir(tmp_path)
    return run_audit(
        AuditRequest(paths=(Path("fleet"),), as_of=datetime.date(2026, 11, 26), change_id="C")
    )


def _config(*adds: str) -> bytes:
    return (HEAD + PROTOCOL + "".join(f"    {add}\n" for add in adds) + TAIL).encode()


def _skipped_reason(report: Report) -> str:
    assert report.change_sets == ()
    (skipped,) = [item for item in report.skipped if item.subject == SUBJECT]
    findings = json.loads(render_findings(report))
    assert {"subject": SUBJECT, "reason": skipped.reason, "fixes": list(skipped.fixes)} in (
        findings["skipped"]
    )
    plan = json.loads(render_plan(report))
    assert plan["change_sets"] == []
    assert skipped.reason in [item["reason"] for item in plan["skipped"]]
    return skipped.reason


@pytest.mark.parametrize(
    ("adds", "why", "step"),
    [
        pytest.param(
            (f'<add key="oauthhttpmodule.profiles" value="{TOKEN}" />',),
            "the key is written 'oauthhttpmodule.profiles' at line 5",
            "at line 5, write the key as OAuthHttpModule.Profiles and set its value to",
            id="lower-case-key-alone",
        ),
        pytest.param(
            (
                f'<add key="OAuthHttpModule.Profiles" value="{TOKEN}" />',
                f'<add key="oauthhttpmodule.profiles" value="{TOKEN}" />',
            ),
            "2 add elements can set OAuthHttpModule.Profiles (lines 5, 6)",
            "delete the add element(s) at line(s) 5, write the key at line 6 as "
            "OAuthHttpModule.Profiles and set its value to",
            id="case-variant-later-add",
        ),
        pytest.param(
            (
                f'<add key="OAuthHttpModule.Profiles" value="{DEFAULT_PROFILES}" />',
                '<remove key="OAUTHHTTPMODULE.PROFILES" />',
                f'<add key="oauthhttpmodule.profiles" value="{TOKEN}" />',
            ),
            "2 add elements can set OAuthHttpModule.Profiles (lines 5, 7)",
            "delete the add element(s) at line(s) 5, write the key at line 7",
            id="case-variant-remove-then-add",
        ),
    ],
)
def test_an_add_the_script_would_not_edit_is_skipped_with_the_manual_step(
    adds: tuple[str, ...], why: str, step: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _audit(tmp_path, monkeypatch, _config(*adds))
    # The token is effective (.NET reads the last add, whatever its case) and reported.
    assert any(f.subject == SUBJECT for f in report.findings)
    reason = _skipped_reason(report)
    assert why in reason
    assert f"By hand: in fleet/{REST}/web.config, {step}" in reason
    assert f"'{DEFAULT_PROFILES}', then recycle MSExchangeRestFrontEndAppPool" in reason


def test_a_windows_1252_web_config_is_skipped_with_the_manual_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _config(
        '<add key="Standort" value="Z\u00fcrich" />',
        f'<add key="OAuthHttpModule.Profiles" value="{TOKEN}" />',
    ).decode()
    data = text.replace("utf-8", "windows-1252", 1).encode("cp1252")
    assert b"Z\xfcrich" in data  # not UTF-8
    report = _audit(tmp_path, monkeypatch, data)
    assert report.inventory.web_configs[0].oauth_profiles is not None
    reason = _skipped_reason(report)
    assert "the file is encoded in windows-1252" in reason
    assert (
        "in an editor that keeps the windows-1252 encoding, at line 6, set the value to" in reason
    )


def test_a_utf8_file_declared_as_another_encoding_is_not_taken_for_utf8(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _config(
        '<add key="Standort" value="Z\u00fcrich" />',
        f'<add key="OAuthHttpModule.Profiles" value="{TOKEN}" />',
    ).decode()
    data = b"\xef\xbb\xbf" + text.replace("utf-8", "iso-8859-1", 1).encode("utf-8")
    reason = _skipped_reason(_audit(tmp_path, monkeypatch, data))
    assert "the file is encoded in iso-8859-1" in reason


@pytest.mark.parametrize(
    "adds",
    [
        pytest.param((f'<add key="OAuthHttpModule.Profiles" value="{TOKEN}" />',), id="plain"),
        pytest.param(
            (
                '<remove key="oauthhttpmodule.profiles" />',
                f'<add key="OAuthHttpModule.Profiles" value="{TOKEN}" />',
            ),
            id="case-variant-remove-before-the-one-add",
        ),
        pytest.param(
            (
                '<add key="Other" value="1" />',
                "<clear />",
                f'<add key="OAuthHttpModule.Profiles" value="{TOKEN}" />',
            ),
            id="clear-before-the-one-add",
        ),
    ],
)
def test_one_add_written_as_exchange_writes_it_is_planned(
    adds: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = _audit(tmp_path, monkeypatch, _config(*adds))
    assert [item.subject for item in report.skipped] == []
    (change_set,) = report.change_sets
    (change,) = change_set.web_configs
    assert (change.audited_value, change.target_value) == (TOKEN, DEFAULT_PROFILES)


def test_keys_compare_as_ordinal_ignore_case() -> None:
    assert same_key("oauthhttpmodule.profiles", "OAuthHttpModule.Profiles")
    assert fold_key("stra\u00dfe") == "STRA\u00dfE"  # no full case mapping: .NET keeps the sharp s
    assert not same_key("strasse", "stra\u00dfe")
    # A full-width letter is another key for .NET, but NFKC makes it the same: a possible
    # second add, so the script never edits next to it.
    wide = "OAuthHttpModule.Profile\uff53"  # FULLWIDTH LATIN SMALL LETTER S
    assert not same_key(wide, "OAuthHttpModule.Profiles")
    assert resembles_key(wide, "OAuthHttpModule.Profiles")
