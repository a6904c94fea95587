"""appSettings read from another file (`<appSettings file=...>`, `configSource=`): findings are
located in that file, and no script edits a web.config whose Profiles value lives elsewhere.

The inputs are the web.config parser's cases (tests/parsers/data/webconfig/cases), copied
without their expected-output files and audited the way a user would.
"""

from __future__ import annotations

import datetime
import hashlib
import shutil
from pathlib import Path

import pytest

from auditor.audit import AuditRequest, run_audit
from auditor.model import Report

CASES = Path(__file__).resolve().parents[1] / "parsers" / "data" / "webconfig" / "cases"
REST = Path("EX01/FrontEnd/HttpProxy/Rest")
DEFAULT_PROFILES = "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2"


def _audit(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Report:
    monkeypatch.chdir(folder.parent)
    return run_audit(
        AuditRequest(paths=(Path(folder.name),), as_of=datetime.date(2026, 11, 26), change_id="C")
    )


def _copy_case(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(CASES / name, target, ignore=shutil.ignore_patterns("*.json"))
    return target


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("case", "holder", "line"),
    [
        ("appsettings-file-merged", "oauth.config", 3),
        ("configsource-replaced", "appSettings.config", 4),
    ],
)
def test_a_profiles_value_from_another_file_is_located_there_and_gets_no_script(
    case: str, holder: str, line: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _copy_case(case, tmp_path)
    report = _audit(folder, monkeypatch)
    held_in = f"{case}/{REST}/{holder}"
    (wc001,) = [f for f in report.findings if f.rule_id == "WC001"]
    assert (wc001.location.path, wc001.location.line) == (held_in, line)
    assert report.change_sets == ()
    (skipped,) = report.skipped
    assert skipped.subject == "web-config:EX01:Default Web Site/API"
    assert wc001.fingerprint in skipped.fixes
    assert f"read from {held_in}" in skipped.reason
    assert "the script edits only web.config" in skipped.reason


def test_a_duplicate_key_in_the_merged_file_is_reported_at_its_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _copy_case("appsettings-file-merged", tmp_path)
    report = _audit(folder, monkeypatch)
    (wc003,) = [f for f in report.findings if f.rule_id == "WC003"]
    web_config = f"appsettings-file-merged/{REST}/web.config"
    oauth = f"appsettings-file-merged/{REST}/oauth.config"
    assert (wc003.location.path, wc003.location.line) == (oauth, 3)
    assert [(item.path, item.line, item.sha256) for item in wc003.evidence] == [
        (web_config, 5, _sha256(folder / REST / "web.config")),
        (oauth, 3, _sha256(folder / REST / "oauth.config")),
    ]
    assert "(web.config line 5, oauth.config line 3)" in wc003.message


def test_a_merged_file_without_the_profiles_key_leaves_the_web_config_edit_planned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rest = tmp_path / "fleet" / REST
    rest.mkdir(parents=True)
    (rest / "web.config").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n'
        '  <appSettings file="other.config">\n'
        '    <add key="HttpProxy.ProtocolType" value="Rest" />\n'
        f'    <add key="OAuthHttpModule.Profiles" value="{DEFAULT_PROFILES}|V1S2SAppOnly" />\n'
        "  </appSettings>\n</configuration>\n",
        encoding="utf-8",
    )
    (rest / "other.config").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<appSettings>\n'
        '  <add key="SomethingElse" value="1" />\n</appSettings>\n',
        encoding="utf-8",
    )
    report = _audit(tmp_path / "fleet", monkeypatch)
    assert report.skipped == ()
    (change_set,) = report.change_sets
    (change,) = change_set.web_configs
    assert change.removes == ("V1S2SAppOnly",)
    assert change.target_value == DEFAULT_PROFILES


def test_a_fleet_finding_points_at_the_file_that_holds_the_deviating_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = tmp_path / "fleet"
    shutil.copytree(
        CASES / "appsettings-file-merged" / "EX01",
        fleet / "EX02",
        ignore=shutil.ignore_patterns("*.json"),
    )
    rest = fleet / REST
    rest.mkdir(parents=True)
    (rest / "web.config").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <appSettings>\n'
        '    <add key="HttpProxy.ProtocolType" value="Rest" />\n'
        f'    <add key="OAuthHttpModule.Profiles" value="{DEFAULT_PROFILES}" />\n'
        "  </appSettings>\n</configuration>\n",
        encoding="utf-8",
    )
    report = _audit(fleet, monkeypatch)
    (fl001,) = [f for f in report.findings if f.rule_id == "FL001"]
    assert (fl001.location.path, fl001.location.line) == (
        f"fleet/EX02/{REST.relative_to('EX01')}/oauth.config",
        3,
    )
    assert [skipped.subject for skipped in report.skipped] == [
        "web-config:EX02:Default Web Site/API",
        "fleet:Default Web Site/API",
    ]
