"""Issue 22: one change, one package. Packages made by `auditor audit` from the bundled example
exports (the same evidence, the same day) with two policies, run in real PowerShell against the
stand-ins:

* package A (default policy) fails after its backup; package B (the least-privilege example
  policy, which approves app-only Mail.Read for Microsoft Graph and enables V1S2SAppOnly on
  EX02) refuses A's records with one line naming A's package id, makes its own change in its
  own folder and backs it out with its own rollback;
* B's enabling web.config script, run before the partner change, refuses and writes nothing;
  after the partner change it goes through;
* a web.config rollback after an unrelated edit of the file restores the one setting and keeps
  the edit; after an edit of the setting itself it stops with the manual step;
* the smaller items: -WhatIfLog, the application pool check, an FQDN-named server.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import harness
import pytest
import scenarios

from auditor.audit import AuditRequest, run_audit
from auditor.model import Report
from auditor.render.json_ import render_plan

pytestmark = pytest.mark.pwsh

# After the example waiver of EX02 expired (2026-06-30): its enablement is planned.
AS_OF = datetime.date(2026, 7, 1)
LEAST_PRIVILEGE = harness.PROJECT_ROOT / "policies" / "examples" / "approve-graph-mail-read.yaml"
REST = "FrontEnd\\HttpProxy\\Rest\\web.config"


@pytest.fixture(autouse=True, scope="module")
def _report_powershell_time(pytestconfig: pytest.Config) -> None:
    harness.register_time_report(pytestconfig)


@functools.cache
def package(policy: str) -> Report:
    """The audit of the example exports on AS_OF, with the default change id."""
    policies = (LEAST_PRIVILEGE,) if policy == "least-privilege" else ()
    return run_audit(AuditRequest(paths=(scenarios.EXAMPLES,), policy_paths=policies, as_of=AS_OF))


def _script(report: Report, name: str, folder: Path, label: str) -> Path:
    (script,) = [script for script in report.scripts if script.name == name]
    return scenarios.write_script(folder, f"{label}-{name.replace('/', '-')}", script.content)


def _rest_files(server: str) -> dict[str, bytes]:
    root = scenarios.EXAMPLES / server
    return {
        "\\".join(path.relative_to(root).parts): path.read_bytes()
        for path in sorted(root.rglob("web.config"))
    }


def test_each_package_has_its_own_id_and_change_id() -> None:
    a, b = package("default"), package("least-privilege")
    for report in (a, b):
        plan = render_plan(report).encode("utf-8")
        assert report.package_id == hashlib.sha256(plan).hexdigest()
        assert re.fullmatch(r"AUDIT-20260701-[0-9a-f]{8}", report.change_id)
        for script in report.scripts:
            assert f"$AuditorPackageId = '{report.package_id}'" in script.content, script.name
    assert a.package_id != b.package_id
    assert a.change_id != b.change_id


# --- two packages, one backup folder ------------------------------------------------------------


@pytest.fixture(scope="module")
def two_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, harness.Run]:
    harness.require_pwsh()
    root = tmp_path_factory.mktemp("two-packages")
    a, b = package("default"), package("least-privilege")
    state = scenarios.state_from_inventory(a.inventory)
    state["fail_set_calls"] = [1]  # A's first Set-PartnerApplication fails, after its backup
    standin = harness.StandIn(root / "server", state)
    shared = str(standin.backup_dir)
    own = str(root / "b-own-backups")
    scripts = root / "scripts"
    a_fix = _script(a, "remediation/partner-applications.ps1", scripts, "a")
    b_fix = _script(b, "remediation/partner-applications.ps1", scripts, "b")
    b_back = _script(b, "rollback/partner-applications.ps1", scripts, "b")
    return standin.run_steps(
        [
            harness.Step("a", a_fix, {"BackupDirectory": shared, "Confirm": False}),
            harness.Step("b-shared", b_fix, {"BackupDirectory": shared, "Confirm": False}),
            harness.Step(
                "b-rollback-shared",
                b_back,
                {"BackupDirectory": shared, "Confirm": False, "ConfirmRegrant": True},
            ),
            harness.Step("b", b_fix, {"BackupDirectory": own, "Confirm": False}),
            harness.Step(
                "b-rollback",
                b_back,
                {"BackupDirectory": own, "Confirm": False, "ConfirmRegrant": True},
            ),
        ]
    )


def _graph(state: dict[str, Any]) -> Any:
    (graph,) = [
        app for app in state["applications"] if app["ApplicationIdentifier"] == harness.GRAPH_APP_ID
    ]
    return graph["AppOnlyPermissions"]


def test_package_a_fails_after_writing_its_backup(two_packages: dict[str, harness.Run]) -> None:
    run = two_packages["a"]
    assert run.exit_code == 1, run.describe()
    assert (
        json.loads(run.state_after)["applications"] == json.loads(run.state_before)["applications"]
    )
    records = [name for name in run.backups_after if name.endswith(".state.xml")]
    assert records, run.describe()
    assert package("default").package_id in run.backups_after[records[0]].decode("utf-8")


@pytest.mark.parametrize("label", ["b-shared", "b-rollback-shared"])
def test_package_b_refuses_package_a_records_naming_a(
    two_packages: dict[str, harness.Run], label: str
) -> None:
    run = two_packages[label]
    assert run.exit_code == 1, run.describe()
    assert run.changing_calls() == [], run.describe()
    assert run.state_after == run.state_before
    # The refusal is one line (the error message; the host transcript echoes it).
    refusal = [line for line in run.stderr.splitlines() if "AUDITOR-" in line]
    assert len(refusal) == 1 and "AUDITOR-OTHER-PACKAGE" in refusal[0], run.describe()
    assert refusal[0].count("AUDITOR-") == 1
    assert package("default").package_id in refusal[0]
    assert package("least-privilege").package_id in refusal[0]
    assert "AUDITOR-RESUMED" not in run.output


def test_package_b_makes_and_backs_out_its_own_change(two_packages: dict[str, harness.Run]) -> None:
    run = two_packages["b"]
    assert run.exit_code == 0, run.describe()
    assert _graph(json.loads(run.state_after)) == "Mail.Read" or _graph(
        json.loads(run.state_after)
    ) == ["Mail.Read"]
    host = re.search(
        r"Back-out: on (\S+), .*-ConfirmRegrant -BackupDirectory '([^']+)'", run.output
    )
    assert host is not None, run.describe()
    assert host.group(1) == "EX01" and host.group(2).endswith("b-own-backups")
    back = two_packages["b-rollback"]
    assert back.exit_code == 0, back.describe()
    assert "AUDITOR-RESTORED" in back.output
    assert (
        json.loads(back.state_after)["applications"] == json.loads(run.state_before)["applications"]
    )


# --- an enablement waits for the partner change ---------------------------------------------------


@pytest.fixture(scope="module")
def enablement(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    harness.require_pwsh()
    root = tmp_path_factory.mktemp("enablement")
    b = package("least-privilege")
    (enabling,) = [cs for cs in b.change_sets if cs.enables]
    assert enabling.server == "EX02" and enabling.enables == ("V1S2SAppOnly",)
    standin = harness.StandIn(root / "server", scenarios.state_from_inventory(b.inventory), "EX02")
    files = _rest_files("EX02")
    scenarios.lay_out(standin, files)
    scripts = root / "scripts"
    web = _script(b, "remediation/web-config-ex02.ps1", scripts, "b")
    partner = _script(b, "remediation/partner-applications.ps1", scripts, "b")
    early = root / "early-backups"
    runs = standin.run_steps(
        [
            harness.Step("too-early", web, {"BackupDirectory": str(early), "Confirm": False}),
            harness.Step("partner", partner, {"Confirm": False}),
            harness.Step("after-partner", web, {"Confirm": False}),
        ],
        watch=[standin.install_file(REST)],
    )
    return {"runs": runs, "early": early, "rest": str(standin.install_file(REST))}


def test_enabling_script_before_the_partner_change_refuses_and_writes_nothing(
    enablement: dict[str, Any],
) -> None:
    run: harness.Run = enablement["runs"]["too-early"]
    rest = enablement["rest"]
    assert run.exit_code == 1, run.describe()
    lines = [line for line in run.stderr.splitlines() if "AUDITOR-" in line]
    assert len(lines) == 1 and "AUDITOR-ENABLE-BEFORE-PARTNER" in lines[0], run.describe()
    assert lines[0].count("AUDITOR-") == 1
    # Refused in the pre-flight: not even the AUDITOR-INFO lines of a started run.
    assert "AUDITOR-INFO" not in run.stdout
    assert "V1S2SAppOnly" in lines[0] and "Microsoft Graph" in lines[0]
    assert run.files_after[rest] == run.files_before[rest]
    assert not enablement["early"].exists()
    assert run.changing_calls() == []
    assert {call["command"] for call in run.calls} == {"Get-PartnerApplication"}


def test_enabling_script_goes_through_after_the_partner_change(enablement: dict[str, Any]) -> None:
    runs = enablement["runs"]
    assert runs["partner"].exit_code == 0, runs["partner"].describe()
    run = runs["after-partner"]
    assert run.exit_code == 0, run.describe()
    assert "AUDITOR-CHANGED" in run.output
    rest = enablement["rest"]
    assert scenarios.profiles_value(run.files_after[rest] or b"").endswith("|V1S2SAppOnly")


def test_removal_only_scripts_do_not_read_partner_applications() -> None:
    a = package("default")
    for script in a.scripts:
        if "web-config" in script.name:
            assert "Get-PartnerApplication -ErrorAction" not in script.content, script.name
            assert "$AuditorEnables" not in script.content, script.name


# --- web.config rollback restores the setting, not the file --------------------------------------

UNRELATED = b'    <add key="OAuthHttpModule.V1AppRoles" value="*" />\r\n'
EDITED = b'    <add key="OAuthHttpModule.V1AppRoles" value="Mail.Read" />\r\n'


def _edit(data: bytes, old: bytes, new: bytes) -> bytes:
    old = old.replace(b"\r\n", b"\n") if b"\r\n" not in data else old
    new = new.replace(b"\r\n", b"\n") if b"\r\n" not in data else new
    assert data.count(old) == 1
    return data.replace(old, new)


@pytest.fixture(scope="module")
def setting_rollback(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    harness.require_pwsh()
    root = tmp_path_factory.mktemp("setting-rollback")
    a = package("default")
    files = _rest_files("EX01")
    original = files[REST]
    stories: dict[str, Any] = {"original": original}
    scripts = root / "scripts"
    fix = _script(a, "remediation/web-config-ex01.ps1", scripts, "a")
    back = _script(a, "rollback/web-config-ex01.ps1", scripts, "a")
    (change,) = [c for cs in a.change_sets if cs.server == "EX01" for c in cs.web_configs]
    start, end = scenarios.profiles_value_span(original)
    written = original[:start] + change.target_value.encode() + original[end:]
    stories["written"] = written
    stories["change"] = change
    for name, after_fix in (
        ("unrelated", _edit(written, UNRELATED, EDITED)),
        (
            "setting",
            written[:start]
            + b"S2SAppActAs|V1S2SAppOnly"
            + written[start + len(change.target_value) :],
        ),
    ):
        standin = harness.StandIn(root / name, scenarios.state_from_inventory(a.inventory))
        scenarios.lay_out(standin, files)
        path = standin.install_file(REST)
        stories[name] = standin.run_steps(
            [
                harness.Step("fix", fix, {"Confirm": False}),
                harness.Step(
                    "rollback", back, {"Confirm": False}, before=(("write", path, after_fix),)
                ),
            ],
            watch=[path],
        )
        stories[name + "-path"] = str(path)
    return stories


def test_rollback_after_an_unrelated_edit_restores_the_setting_and_keeps_the_edit(
    setting_rollback: dict[str, Any],
) -> None:
    runs = setting_rollback["unrelated"]
    path = setting_rollback["unrelated-path"]
    assert runs["fix"].exit_code == 0, runs["fix"].describe()
    assert runs["fix"].files_after[path] == setting_rollback["written"]
    run = runs["rollback"]
    assert run.exit_code == 0, run.describe()
    assert "AUDITOR-RESTORED" in run.output
    expected = _edit(setting_rollback["original"], UNRELATED, EDITED)
    assert run.files_after[path] == expected
    assert run.state["app_pools"][harness.REST_APP_POOL]["recycles"] == 2


def test_rollback_after_an_edit_of_the_setting_stops_with_the_manual_step(
    setting_rollback: dict[str, Any],
) -> None:
    run = setting_rollback["setting"]["rollback"]
    path = setting_rollback["setting-path"]
    change = setting_rollback["change"]
    assert run.exit_code == 1, run.describe()
    assert run.files_after[path] == run.files_before[path]
    assert run.changing_calls() == []
    (line,) = [line for line in run.stderr.splitlines() if "AUDITOR-DRIFT" in line]
    original = setting_rollback["original"]
    number = original[: scenarios.profiles_value_span(original)[0]].count(b"\n") + 1
    assert f"web.config line {number}:" in line
    assert "'S2SAppActAs|V1S2SAppOnly'" in line
    assert f"'{change.audited_value}'" in line
    assert harness.REST_APP_POOL in line


# --- the smaller items ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_items(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    harness.require_pwsh()
    root = tmp_path_factory.mktemp("small-items")
    a = package("default")
    (ex01,) = [cs for cs in a.change_sets if cs.server == "EX01"]
    scripts = root / "scripts"
    header = dataclasses.replace(scenarios.HEADER, package_id=a.package_id)
    fqdn_fix, _ = scenarios.render(dataclasses.replace(ex01, server="EX01.contoso.com"), header)
    fqdn = scenarios.write_script(scripts, "fqdn.ps1", fqdn_fix)
    fix = _script(a, "remediation/web-config-ex01.ps1", scripts, "a")
    state = scenarios.state_from_inventory(a.inventory)
    standin = harness.StandIn(root / "server", state)
    scenarios.lay_out(standin, _rest_files("EX01"))
    no_pool = dict(state)
    no_pool["app_pools"] = {
        name: pool for name, pool in state["app_pools"].items() if name != harness.REST_APP_POOL
    }
    nopool_standin = harness.StandIn(root / "no-pool", no_pool)
    scenarios.lay_out(nopool_standin, _rest_files("EX01"))
    log = root / "whatif-record.log"
    return {
        "log": log,
        "runs": standin.run_steps(
            [
                harness.Step("whatif-log", fix, {"WhatIf": True, "WhatIfLog": str(log)}),
                harness.Step("whatif", fix, {"WhatIf": True}),
                harness.Step("fqdn", fqdn, {"WhatIf": True}),
            ]
        ),
        "no-pool": nopool_standin.run_steps(
            [harness.Step("fix", fix, {"Confirm": False})],
            watch=[nopool_standin.install_file(REST)],
        )["fix"],
        "backups": standin.backup_dir,
    }


def test_whatif_log_is_written_only_when_asked(small_items: dict[str, Any]) -> None:
    runs = small_items["runs"]
    assert runs["whatif-log"].exit_code == 0, runs["whatif-log"].describe()
    record = small_items["log"].read_text(encoding="utf-8", errors="replace")
    assert "What if:" in record and "OAuthHttpModule.Profiles" in record
    assert package("default").package_id in record
    assert runs["whatif"].exit_code == 0
    assert "-WhatIfLog FILE" in runs["whatif"].output
    assert list(small_items["backups"].iterdir()) == []


def test_fqdn_named_server_matches_its_computer_name(small_items: dict[str, Any]) -> None:
    run = small_items["runs"]["fqdn"]
    assert run.exit_code == 0, run.describe()
    assert "AUDITOR-WRONG-SERVER" not in run.output


def test_missing_app_pool_is_found_before_the_file_is_written(small_items: dict[str, Any]) -> None:
    run = small_items["no-pool"]
    assert run.exit_code == 1, run.describe()
    assert "AUDITOR-NO-APP-POOL" in run.output and harness.REST_APP_POOL in run.output
    assert run.files_after == run.files_before
    assert run.changing_calls() == []
    assert not [name for name in run.backups_after if name.endswith(".bak")]


def test_partner_scripts_need_elevation_before_anything() -> None:
    for script in package("default").scripts:
        lines = script.content.split("\r\n")
        assert "#Requires -RunAsAdministrator" in lines[:3], script.name
