"""The EvoSTS AuthServer remediation and rollback scripts, run in real PowerShell against the
Exchange stand-ins (Get-AuthServer, Set-AuthServer): -WhatIf, a confirmed run, a second run,
drift, a failed read-back, a resumed run, and the rollback, for an ApplicationIdentifier that
was a first-party id (restorable) and one that was empty (the rollback's manual step). The
duplicate's name carries quotes and a subexpression; another story pushes a name with a
newline through the quoting alone.

Every story runs on its own stand-in (its own temporary folder), so the stories run
concurrently; each test then checks one thing the operator relies on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import pytest
import scenarios

pytestmark = pytest.mark.pwsh

FIRST_PARTY = "00000002-0000-0ff1-ce00-000000000000"
OTHER_APP = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
EVOSTS = scenarios.EVOSTS_NAME
DUPLICATE = scenarios.DUPLICATE_NAME
HOSTILE_NAME = "EvoSts 'x'\r\n$(Stop-Computer) \u2019;"
OTHER_PACKAGE = "b" * 64
Story = harness.ScriptStory


@pytest.fixture(autouse=True, scope="module")
def _report_powershell_time(pytestconfig: pytest.Config) -> None:
    harness.register_time_report(pytestconfig)


def _servers(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {server["Name"]: server for server in state["auth_servers"]}


def _set_calls(run: harness.Run) -> list[dict[str, Any]]:
    return [c for c in run.calls if c["command"] == "Set-AuthServer" and c["outcome"] != "whatif"]


def _lines(run: harness.Run, tag: str) -> list[str]:
    return [line for line in run.stdout.splitlines() if line.startswith(tag)]


def _edit(story: Story, name: str, **values: Any) -> None:
    state = story.standin.read_state()
    for server in state["auth_servers"]:
        if server["Name"] == name:
            server.update(values)
    story.standin.write_state(state)


@pytest.fixture(scope="module")
def stories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Story]:
    harness.require_pwsh()
    root = tmp_path_factory.mktemp("evosts-auth-servers")
    scripts = root / "scripts"
    empty, empty_back = scenarios.write_pair(scripts / "empty", scenarios.auth_server_change_set())
    wrong, wrong_back = scenarios.write_pair(
        scripts / "first-party", scenarios.auth_server_change_set(FIRST_PARTY)
    )
    hostile_set = scenarios.auth_server_change_set(FIRST_PARTY, duplicate=False)
    (hostile_change,) = hostile_set.auth_servers
    hostile_change = dataclasses.replace(hostile_change, name=HOSTILE_NAME)
    hostile_set = dataclasses.replace(hostile_set, auth_servers=(hostile_change,))
    hostile_texts = scenarios.render(hostile_set, allow_lists=False)
    hostile = scenarios.write_script(scripts / "hostile", "remediation.ps1", hostile_texts[0])
    hostile_back = scenarios.write_script(scripts / "hostile", "rollback.ps1", hostile_texts[1])

    def whatif() -> Story:
        story = Story(root / "whatif", scenarios.auth_server_state(FIRST_PARTY))
        return story.play(story.step("remediation", wrong, WhatIf=True))

    def lifecycle() -> Story:
        story = Story(root / "lifecycle", scenarios.auth_server_state(FIRST_PARTY))
        story.play(
            story.step("remediation", wrong, Confirm=False),
            story.step("remediation-again", wrong, Confirm=False),
        )
        # Exchange may hand the GUID back in upper case: still the target.
        _edit(story, EVOSTS, ApplicationIdentifier=scenarios.DEDICATED_APP.upper())
        return story.play(
            story.step("remediation-upper", wrong, Confirm=False),
            story.step("rollback-whatif", wrong_back, WhatIf=True),
            story.step("rollback", wrong_back, Confirm=False),
            story.step("rollback-again", wrong_back, Confirm=False),
        )

    def empty_lifecycle() -> Story:
        story = Story(root / "empty", scenarios.auth_server_state(None))
        return story.play(
            story.step("remediation", empty, Confirm=False),
            story.step("rollback", empty_back, Confirm=False),
        )

    def drift() -> Story:
        story = Story(root / "drift", scenarios.auth_server_state(OTHER_APP))
        story.play(story.step("value", wrong, Confirm=False))
        story.standin.write_state(scenarios.auth_server_state(FIRST_PARTY))
        _edit(story, DUPLICATE, Realm="11111111-2222-3333-4444-555555555555")
        story.play(story.step("realm", wrong, Confirm=False))
        story.standin.write_state(scenarios.auth_server_state(FIRST_PARTY))
        _edit(story, scenarios.KEPT_NAME, Enabled=False)  # the EvoSTS the change keeps
        return story.play(story.step("kept", wrong, Confirm=False))

    def rollback_drift() -> Story:
        story = Story(root / "rollback-drift", scenarios.auth_server_state(FIRST_PARTY))
        story.play(story.step("remediation", wrong, Confirm=False))
        _edit(story, EVOSTS, ApplicationIdentifier=OTHER_APP)  # changed after the remediation
        return story.play(story.step("rollback", wrong_back, Confirm=False))

    def readback() -> Story:
        # The 2nd Set-AuthServer call (the duplicate) stores the wrong value.
        state = scenarios.auth_server_state(FIRST_PARTY, mangle_authserver_calls=[2])
        story = Story(root / "readback", state)
        return story.play(story.step("remediation", wrong, Confirm=False))

    def readback_empty() -> Story:
        state = scenarios.auth_server_state("", mangle_authserver_calls=[1])
        story = Story(root / "readback-empty", state)
        return story.play(story.step("remediation", empty, Confirm=False))

    def resume() -> Story:
        state = scenarios.auth_server_state(FIRST_PARTY, fail_commands=["Set-AuthServer"])
        story = Story(root / "resume", state)
        story.play(story.step("failed", wrong, Confirm=False))
        state = story.standin.read_state()
        state["fail_commands"] = []
        story.standin.write_state(state)
        return story.play(story.step("resumed", wrong, Confirm=False))

    other_text = scenarios.render(
        scenarios.auth_server_change_set(FIRST_PARTY),
        dataclasses.replace(scenarios.HEADER, package_id=OTHER_PACKAGE),
    )[0]
    other = scenarios.write_script(scripts / "other-package", "remediation.ps1", other_text)

    def other_package() -> Story:
        # Package B fails after writing its first record; package A, run with the same
        # folder, refuses B's record and changes nothing.
        state = scenarios.auth_server_state(FIRST_PARTY, fail_commands=["Set-AuthServer"])
        story = Story(root / "other-package", state)
        story.play(story.step("other", other, Confirm=False))
        state = story.standin.read_state()
        state["fail_commands"] = []
        story.standin.write_state(state)
        return story.play(story.step("ours", wrong, Confirm=False))

    def hostile_names() -> Story:
        state = scenarios.auth_server_state(FIRST_PARTY)
        state["auth_servers"][0]["Name"] = HOSTILE_NAME
        story = Story(root / "hostile", state)
        return story.play(
            story.step("remediation", hostile, Confirm=False),
            story.step("rollback", hostile_back, Confirm=False),
        )

    makers: dict[str, Callable[[], Story]] = {
        "whatif": whatif,
        "lifecycle": lifecycle,
        "empty": empty_lifecycle,
        "drift": drift,
        "rollback-drift": rollback_drift,
        "readback": readback,
        "readback-empty": readback_empty,
        "resume": resume,
        "hostile": hostile_names,
        "other-package": other_package,
    }
    return harness.run_stories(makers)


def test_whatif_writes_nothing(stories: dict[str, Story]) -> None:
    story = stories["whatif"]
    run = story.runs["remediation"]
    assert run.exit_code == 0, run.describe()
    assert _set_calls(run) == []
    assert list(story.standin.backup_dir.iterdir()) == []
    what_if = _lines(run, "What if:")
    assert any("-ApplicationIdentifier from" in line for line in what_if), run.describe()
    assert any("-Enabled from 'True' to 'False'" in line for line in what_if), run.describe()
    assert _lines(run, "AUDITOR-CHANGED") == []


def test_apply_sets_the_documented_parameters_and_reads_them_back(
    stories: dict[str, Story],
) -> None:
    run = stories["lifecycle"].runs["remediation"]
    assert run.exit_code == 0, run.describe()
    assert [c["parameters"] for c in _set_calls(run)] == [
        {
            "ApplicationIdentifier": scenarios.DEDICATED_APP,
            "Confirm": False,
            "ErrorAction": "Stop",
            "Identity": EVOSTS,
        },
        {"Confirm": False, "Enabled": False, "ErrorAction": "Stop", "Identity": DUPLICATE},
    ]
    commands = [c["command"] for c in run.calls]
    assert commands[-1] == "Get-AuthServer"  # the read-back comes after the last change
    servers = _servers(run.state)
    assert servers[EVOSTS]["ApplicationIdentifier"] == scenarios.DEDICATED_APP
    assert servers[DUPLICATE]["Enabled"] is False
    assert servers["ACS - " + scenarios.TENANT]["Enabled"] is True
    assert servers[scenarios.KEPT_NAME]["Enabled"] is True
    assert len(_lines(run, "AUDITOR-CHANGED")) == 2
    assert _lines(run, "AUDITOR-DONE")


def test_a_second_run_changes_nothing_even_with_the_guid_in_upper_case(
    stories: dict[str, Story],
) -> None:
    for label in ("remediation-again", "remediation-upper"):
        run = stories["lifecycle"].runs[label]
        assert run.exit_code == 0, run.describe()
        assert _set_calls(run) == []
        assert len(_lines(run, "AUDITOR-ALREADY-COMPLIANT")) == 3, run.describe()


def test_rollback_restores_the_audited_values(stories: dict[str, Story]) -> None:
    story = stories["lifecycle"]
    whatif = story.runs["rollback-whatif"]
    assert whatif.exit_code == 0 and _set_calls(whatif) == [], whatif.describe()
    run = story.runs["rollback"]
    assert run.exit_code == 0, run.describe()
    assert [(c["parameters"]["Identity"], c["parameters"]) for c in _set_calls(run)] == [
        (
            DUPLICATE,
            {"Confirm": False, "Enabled": True, "ErrorAction": "Stop", "Identity": DUPLICATE},
        ),
        (
            EVOSTS,
            {
                "ApplicationIdentifier": FIRST_PARTY,
                "Confirm": False,
                "ErrorAction": "Stop",
                "Identity": EVOSTS,
            },
        ),
    ]
    servers = _servers(run.state)
    assert servers[EVOSTS]["ApplicationIdentifier"] == FIRST_PARTY
    assert servers[DUPLICATE]["Enabled"] is True
    assert len(_lines(run, "AUDITOR-RESTORED")) == 2
    again = story.runs["rollback-again"]
    assert again.exit_code == 0 and _set_calls(again) == [], again.describe()
    assert len(_lines(again, "AUDITOR-ALREADY-ROLLED-BACK")) == 2


def test_an_empty_app_id_is_not_cleared_by_the_rollback_but_named_as_a_manual_step(
    stories: dict[str, Story],
) -> None:
    story = stories["empty"]
    assert story.runs["remediation"].exit_code == 0, story.runs["remediation"].describe()
    run = story.runs["rollback"]
    assert run.exit_code == 0, run.describe()
    assert [c["parameters"]["Identity"] for c in _set_calls(run)] == [DUPLICATE]
    (manual,) = _lines(run, "AUDITOR-MANUAL")
    assert "exports/AuthServer.xml:2" in manual and "documents no way to clear it" in manual
    assert _servers(run.state)[EVOSTS]["ApplicationIdentifier"] == scenarios.DEDICATED_APP
    assert "1 left for the manual step" in run.stdout


def test_drift_stops_with_nothing_written(stories: dict[str, Story]) -> None:
    story = stories["drift"]
    drifts = (
        ("value", "live '" + OTHER_APP),
        ("realm", "live Realm"),
        ("kept", "the EvoSTS this change keeps"),
    )
    for label, word in drifts:
        run = story.runs[label]
        assert run.exit_code == 1, run.describe()
        assert _set_calls(run) == []
        assert "AUDITOR-DRIFT" in run.stderr and word in run.stderr, run.describe()
        assert "Nothing was changed" in run.stderr
    assert list(story.standin.backup_dir.glob("*.state.xml")) == []


def test_rollback_drift_writes_nothing(stories: dict[str, Story]) -> None:
    run = stories["rollback-drift"].runs["rollback"]
    assert run.exit_code == 1, run.describe()
    assert _set_calls(run) == []
    assert "AUDITOR-DRIFT" in run.stderr and "Nothing was changed" in run.stderr
    assert _servers(run.state)[DUPLICATE]["Enabled"] is False


def test_a_failed_read_back_is_taken_back_in_the_same_run(stories: dict[str, Story]) -> None:
    run = stories["readback"].runs["remediation"]
    assert run.exit_code == 1, run.describe()
    assert len(_lines(run, "AUDITOR-CHANGED")) == 1  # the EvoSTS; not the duplicate
    assert "AUDITOR-PARTIAL" in run.stderr and "AUDITOR-VERIFY-FAILED" in run.stderr
    assert "Took the change back in this run and verified" in run.stderr
    assert _servers(run.state)[DUPLICATE]["Enabled"] is True


def test_a_failed_read_back_of_an_empty_app_id_says_it_cannot_be_taken_back(
    stories: dict[str, Story],
) -> None:
    run = stories["readback-empty"].runs["remediation"]
    assert run.exit_code == 1, run.describe()
    assert _lines(run, "AUDITOR-CHANGED") == []
    assert "AUDITOR-VERIFY-FAILED" in run.stderr and "NOT TAKEN BACK" in run.stderr
    assert [c["parameters"]["Identity"] for c in _set_calls(run)] == [EVOSTS]


def test_a_failed_run_is_resumed_from_its_own_record(stories: dict[str, Story]) -> None:
    story = stories["resume"]
    failed = story.runs["failed"]
    assert failed.exit_code == 1, failed.describe()
    assert _lines(failed, "AUDITOR-CHANGED") == []
    assert _servers(failed.state)[EVOSTS]["ApplicationIdentifier"] == FIRST_PARTY
    resumed = story.runs["resumed"]
    assert resumed.exit_code == 0, resumed.describe()
    assert len(_lines(resumed, "AUDITOR-RESUMED")) == 1
    assert len(_lines(resumed, "AUDITOR-CHANGED")) == 2
    assert _servers(resumed.state)[EVOSTS]["ApplicationIdentifier"] == scenarios.DEDICATED_APP


def test_a_record_of_another_package_stops_the_script(stories: dict[str, Story]) -> None:
    story = stories["other-package"]
    assert story.runs["other"].exit_code == 1
    run = story.runs["ours"]
    assert run.exit_code == 1, run.describe()
    assert "AUDITOR-OTHER-PACKAGE" in run.stderr and OTHER_PACKAGE in run.stderr
    assert _set_calls(run) == []
    assert _servers(run.state)[EVOSTS]["ApplicationIdentifier"] == FIRST_PARTY


def test_hostile_names_reach_set_authserver_exactly(stories: dict[str, Story]) -> None:
    story = stories["hostile"]
    run = story.runs["remediation"]
    assert run.exit_code == 0, run.describe()
    assert [c["parameters"]["Identity"] for c in _set_calls(run)] == [HOSTILE_NAME]
    assert _servers(run.state)[HOSTILE_NAME]["ApplicationIdentifier"] == scenarios.DEDICATED_APP
    back = story.runs["rollback"]
    assert back.exit_code == 0, back.describe()
    assert _servers(back.state)[HOSTILE_NAME]["ApplicationIdentifier"] == FIRST_PARTY


def test_a_build_without_the_parameter_stops_before_anything(
    tmp_path: Path, stories: dict[str, Story]
) -> None:
    script = scenarios.write_pair(tmp_path / "scripts", scenarios.auth_server_change_set())[0]
    standin = harness.StandIn(tmp_path / "old-build", scenarios.auth_server_state(""))
    older = "function Set-AuthServer { param([string] $Identity, [bool] $Enabled) }"
    run = standin.run(
        script, "-Confirm:$false", f"-BackupDirectory '{standin.backup_dir}'", prelude=older
    )
    assert run.exit_code == 1, run.describe()
    assert "AUDITOR-NO-PARAMETER" in run.stderr and "April 2025" in run.stderr
    assert _set_calls(run) == []
