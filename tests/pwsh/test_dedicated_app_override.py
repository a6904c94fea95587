"""The dedicated-app override remediation and rollback scripts, run in real PowerShell against
the Exchange stand-ins: -WhatIf, a confirmed run, a second run, drift, a failed read-back, and
the rollback, for both the created override and the one set from Enabled=false.

Every story runs on its own stand-in (its own temporary folder), so the stories run
concurrently; each test then checks one thing the operator relies on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import harness
import pytest
import scenarios

from auditor.model import DEDICATED_APP_OVERRIDE_NAME

pytestmark = pytest.mark.pwsh

NAME = DEDICATED_APP_OVERRIDE_NAME
CHANGING = {"New-SettingOverride", "Set-SettingOverride", "Remove-SettingOverride"}


@pytest.fixture(autouse=True, scope="module")
def _report_powershell_time(pytestconfig: pytest.Config) -> None:
    harness.register_time_report(pytestconfig)


Story = harness.ScriptStory


def _pair(root: Path, label: str, audited: tuple[str, ...] | None) -> tuple[Path, Path]:
    return scenarios.write_pair(root / "scripts" / label, scenarios.override_change_set(audited))


@pytest.fixture(scope="module")
def stories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Story]:
    harness.require_pwsh()
    root = tmp_path_factory.mktemp("dedicated-app-override")
    create, create_back = _pair(root, "create", None)
    update, update_back = _pair(root, "update", ("Enabled=false",))

    def whatif() -> Story:
        story = Story(root / "whatif", scenarios.override_state())
        return story.play(
            story.step("remediation", create, WhatIf=True),
            story.step("update", update, WhatIf=True),
        )

    def create_lifecycle() -> Story:
        story = Story(root / "create", scenarios.override_state())
        return story.play(
            story.step("remediation", create, Confirm=False),
            story.step("remediation-again", create, Confirm=False),
            story.step("rollback-whatif", create_back, WhatIf=True),
            story.step("rollback", create_back, Confirm=False),
            story.step("rollback-again", create_back, Confirm=False),
        )

    def update_lifecycle() -> Story:
        story = Story(root / "update", scenarios.override_state(["Enabled=false"]))
        return story.play(
            story.step("remediation", update, Confirm=False),
            story.step("remediation-again", update, Confirm=False),
            story.step("rollback", update_back, Confirm=False),
        )

    def drift() -> Story:
        # The export had no override; someone created one (disabled) since.
        story = Story(root / "drift", scenarios.override_state(["Enabled=false"]))
        story.play(story.step("create", create, Confirm=False))
        # The export said Enabled=false; the live one now carries another entry.
        state = scenarios.override_state(["Enabled=false", "Extra=1"])
        story.standin.write_state(state)
        return story.play(story.step("update", update, Confirm=False))

    def rollback_drift() -> Story:
        story = Story(root / "rollback-drift", scenarios.override_state())
        story.play(story.step("remediation", create, Confirm=False))
        state = story.standin.read_state()
        for override in state["setting_overrides"]:
            if override["Name"] == NAME:
                override["Parameters"] = ["Enabled=false"]  # changed after the remediation
        story.standin.write_state(state)
        return story.play(story.step("rollback", create_back, Confirm=False))

    def readback_fails() -> Story:
        story = Story(root / "readback", scenarios.override_state(mangle_override_calls=[1]))
        return story.play(story.step("remediation", create, Confirm=False))

    def no_refresh() -> Story:
        state = scenarios.override_state()
        state["fail_commands"] = ["Get-ExchangeDiagnosticInfo"]
        story = Story(root / "no-refresh", state)
        return story.play(story.step("remediation", create, Confirm=False))

    def resume() -> Story:
        # The first run writes its state record, then New-SettingOverride fails; the second
        # run recognises its own record and finishes the change.
        story = Story(
            root / "resume", scenarios.override_state(fail_commands=["New-SettingOverride"])
        )
        story.play(story.step("failed", create, Confirm=False))
        state = story.standin.read_state()
        state["fail_commands"] = []
        story.standin.write_state(state)
        return story.play(story.step("resumed", create, Confirm=False))

    makers: dict[str, Callable[[], Story]] = {
        "resume": resume,
        "whatif": whatif,
        "create": create_lifecycle,
        "update": update_lifecycle,
        "drift": drift,
        "rollback-drift": rollback_drift,
        "readback": readback_fails,
        "no-refresh": no_refresh,
    }
    return harness.run_stories(makers)


def _changes(run: harness.Run) -> list[dict[str, Any]]:
    return [c for c in run.calls if c["command"] in CHANGING and c["outcome"] != "whatif"]


def _dedicated(run: harness.Run) -> list[dict[str, Any]]:
    overrides = run.state.get("setting_overrides") or []
    return [o for o in overrides if o["SectionName"] == "ExchangeOnpremAsThirdPartyAppId"]


def _lines(run: harness.Run, tag: str) -> list[str]:
    return [line for line in run.stdout.splitlines() if line.startswith(tag)]


def test_whatif_writes_nothing(stories: dict[str, Story]) -> None:
    story = stories["whatif"]
    for label in ("remediation", "update"):
        run = story.runs[label]
        assert _changes(run) == [], run.describe()
        assert list(story.standin.backup_dir.iterdir()) == []
    create = story.runs["remediation"]
    assert create.exit_code == 0, create.describe()
    whatif_lines = _lines(create, "What if:")
    assert any("Create the organisation-wide override" in line for line in whatif_lines)
    assert _lines(create, "AUDITOR-CHANGED") == []
    # The set script was made for an existing override: on this org it is drift, not a guess.
    assert story.runs["update"].exit_code == 1
    assert "AUDITOR-DRIFT" in story.runs["update"].stderr


def test_create_makes_the_documented_override_org_wide_and_reads_it_back(
    stories: dict[str, Story],
) -> None:
    run = stories["create"].runs["remediation"]
    assert run.exit_code == 0, run.describe()
    (call,) = _changes(run)
    assert call["command"] == "New-SettingOverride"
    assert call["parameters"] == {
        "Component": "Global",
        "Confirm": False,
        "ErrorAction": "Stop",
        "Name": NAME,
        "Parameters": ["Enabled=true"],
        "Reason": scenarios.OVERRIDE_REASON,
        "Section": "ExchangeOnpremAsThirdPartyAppId",
    }
    refresh = [c for c in run.calls if c["command"] == "Get-ExchangeDiagnosticInfo"]
    assert [c["parameters"] for c in refresh] == [
        {
            "Argument": "Refresh",
            "Component": "VariantConfiguration",
            "ErrorAction": "Stop",
            "Process": "Microsoft.Exchange.Directory.TopologyService",
        }
    ]
    commands = [c["command"] for c in run.calls]
    # The read-back follows the refresh, and AUDITOR-CHANGED follows the read-back.
    assert commands.index("Get-ExchangeDiagnosticInfo") < len(commands) - 1
    assert commands[-1] == "Get-SettingOverride"
    assert [o["Parameters"] for o in _dedicated(run)] == [["Enabled=true"]]
    assert len(_lines(run, "AUDITOR-CHANGED")) == 1
    assert any(o["Name"] == "Contoso Mailbox Tweak" for o in run.state["setting_overrides"])


def test_second_run_changes_nothing(stories: dict[str, Story]) -> None:
    for name in ("create", "update"):
        run = stories[name].runs["remediation-again"]
        assert run.exit_code == 0, run.describe()
        assert _changes(run) == []
        assert _lines(run, "AUDITOR-ALREADY-COMPLIANT"), run.describe()


def test_rollback_removes_the_created_override(stories: dict[str, Story]) -> None:
    story = stories["create"]
    whatif = story.runs["rollback-whatif"]
    assert whatif.exit_code == 0 and _changes(whatif) == [], whatif.describe()
    run = story.runs["rollback"]
    assert run.exit_code == 0, run.describe()
    assert [(c["command"], c["parameters"]["Identity"]) for c in _changes(run)] == [
        ("Remove-SettingOverride", NAME)
    ]
    assert _dedicated(run) == []
    assert _lines(run, "AUDITOR-WARNING"), "the rollback must say it restores a broken state"
    assert len(_lines(run, "AUDITOR-RESTORED")) == 1
    again = story.runs["rollback-again"]
    assert again.exit_code == 0 and _changes(again) == []
    assert _lines(again, "AUDITOR-ALREADY-ROLLED-BACK")


def test_set_and_its_rollback_restore_the_audited_parameters(stories: dict[str, Story]) -> None:
    story = stories["update"]
    run = story.runs["remediation"]
    assert run.exit_code == 0, run.describe()
    (call,) = _changes(run)
    assert call["command"] == "Set-SettingOverride"
    assert call["parameters"]["Identity"] == NAME
    assert call["parameters"]["Parameters"] == ["Enabled=true"]
    assert "Server" not in call["parameters"]
    assert [o["Parameters"] for o in _dedicated(run)] == [["Enabled=true"]]
    back = story.runs["rollback"]
    assert back.exit_code == 0, back.describe()
    assert [o["Parameters"] for o in _dedicated(back)] == [["Enabled=false"]]


def test_drift_stops_with_one_line_and_writes_nothing(stories: dict[str, Story]) -> None:
    story = stories["drift"]
    for label in ("create", "update"):
        run = story.runs[label]
        assert run.exit_code == 1, run.describe()
        assert _changes(run) == []
        assert run.stderr.count("AUDITOR-DRIFT") == 1, run.describe()
        assert "Nothing was changed" in run.stderr
    assert list(p.name for p in story.standin.backup_dir.glob("*.state.xml")) == []


def test_rollback_drift_writes_nothing(stories: dict[str, Story]) -> None:
    run = stories["rollback-drift"].runs["rollback"]
    assert run.exit_code == 1, run.describe()
    assert _changes(run) == []
    assert "AUDITOR-DRIFT" in run.stderr
    assert [o["Parameters"] for o in _dedicated(run)] == [["Enabled=false"]]


def test_no_changed_line_when_the_read_back_differs(stories: dict[str, Story]) -> None:
    run = stories["readback"].runs["remediation"]
    assert run.exit_code == 1, run.describe()
    assert _lines(run, "AUDITOR-CHANGED") == []
    assert "AUDITOR-VERIFY-FAILED" in run.stderr
    assert "Took the change back in this run and verified" in run.stderr
    assert _dedicated(run) == []


def test_a_failed_refresh_is_reported_and_the_change_verified(stories: dict[str, Story]) -> None:
    run = stories["no-refresh"].runs["remediation"]
    assert run.exit_code == 0, run.describe()
    assert _lines(run, "AUDITOR-REFRESH-FAILED")
    assert len(_lines(run, "AUDITOR-CHANGED")) == 1


def test_a_failed_run_is_resumed_from_its_own_record(stories: dict[str, Story]) -> None:
    story = stories["resume"]
    failed = story.runs["failed"]
    assert failed.exit_code == 1, failed.describe()
    assert _lines(failed, "AUDITOR-CHANGED") == []
    assert _dedicated(failed) == []
    resumed = story.runs["resumed"]
    assert resumed.exit_code == 0, resumed.describe()
    assert len(_lines(resumed, "AUDITOR-RESUMED")) == 1
    assert len(_lines(resumed, "AUDITOR-CHANGED")) == 1
    assert [o["Parameters"] for o in _dedicated(resumed)] == [["Enabled=true"]]
