"""The dedicated-app override remediation and rollback scripts, run in real PowerShell against
the Exchange stand-ins: -WhatIf, a confirmed run, a second run, drift, a failed read-back, and
the rollback, for the created override, the one set from Enabled=false, and the scoped one
(HT004) whose Server list and versions the script clears and the rollback writes back.

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
        **_scope_makers(root),
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


# --- the scoped override (HT004): Server and versions cleared, and written back -----------------

AUDITED_SERVERS = ("EX01", "ex02")
HOSTILE_SERVERS = ("O'Brien", "$(Stop-Computer)", "x`y; Remove-Item C:\\")


def _scope_makers(root: Path) -> dict[str, Callable[[], Story]]:
    """The stories of a scoped override; the live Server list differs from the audited one in
    case and order only (a set, ignoring case, is the same Server list)."""
    only, only_back = scenarios.write_pair(
        root / "scripts" / "scope",
        scenarios.override_change_set(("Enabled=true",), servers=AUDITED_SERVERS),
    )
    both, both_back = scenarios.write_pair(
        root / "scripts" / "scope-both",
        scenarios.override_change_set(
            ("Enabled=false",), servers=("EX01",), max_version="15.2.1544.0"
        ),
    )
    hostile, hostile_back = scenarios.write_pair(
        root / "scripts" / "scope-hostile",
        scenarios.override_change_set(("Enabled=true",), servers=HOSTILE_SERVERS),
    )
    live = {"Server": ["ex01", "EX02"]}

    def lifecycle() -> Story:
        story = Story(root / "scope", scenarios.override_state(["Enabled=true"], live))
        return story.play(
            story.step("whatif", only, WhatIf=True),
            story.step("remediation", only, Confirm=False),
            story.step("remediation-again", only, Confirm=False),
            story.step("rollback", only_back, Confirm=False),
        )

    def combined() -> Story:
        scope = {"Server": ["EX01"], "MaxVersion": "15.2.1544.0"}
        story = Story(root / "scope-both", scenarios.override_state(["Enabled=false"], scope))
        return story.play(
            story.step("remediation", both, Confirm=False),
            story.step("rollback", both_back, Confirm=False),
        )

    def drift() -> Story:
        # The audit showed EX01 and ex02; someone scoped the override to EX01 and EX03 since.
        scope = {"Server": ["EX01", "EX03"]}
        story = Story(root / "scope-drift", scenarios.override_state(["Enabled=true"], scope))
        return story.play(story.step("remediation", only, Confirm=False))

    def readback() -> Story:
        state = scenarios.override_state(["Enabled=true"], live, mangle_override_calls=[1])
        story = Story(root / "scope-readback", state)
        return story.play(story.step("remediation", only, Confirm=False))

    def rollback_drift() -> Story:
        story = Story(
            root / "scope-rollback-drift", scenarios.override_state(["Enabled=true"], live)
        )
        story.play(story.step("remediation", only, Confirm=False))
        state = story.standin.read_state()
        for override in state["setting_overrides"]:
            if override["Name"] == NAME:
                override["Server"] = ["EX09"]  # scoped again after the remediation
        story.standin.write_state(state)
        return story.play(story.step("rollback", only_back, Confirm=False))

    def hostile_names() -> Story:
        scope = {"Server": list(HOSTILE_SERVERS)}
        story = Story(root / "scope-hostile", scenarios.override_state(["Enabled=true"], scope))
        return story.play(
            story.step("remediation", hostile, Confirm=False),
            story.step("rollback", hostile_back, Confirm=False),
        )

    return {
        "scope": lifecycle,
        "scope-both": combined,
        "scope-drift": drift,
        "scope-readback": readback,
        "scope-rollback-drift": rollback_drift,
        "scope-hostile": hostile_names,
    }


def _scope_of(run: harness.Run) -> list[tuple[Any, Any, Any, Any]]:
    return [
        (o["Parameters"], o.get("Server"), o.get("MinVersion"), o.get("MaxVersion"))
        for o in _dedicated(run)
    ]


def test_a_scoped_override_whatif_writes_nothing(stories: dict[str, Story]) -> None:
    run = stories["scope"].runs["whatif"]
    assert run.exit_code == 0, run.describe()
    assert _changes(run) == []
    assert any("Server 'EX01, ex02'" in line for line in _lines(run, "What if:")), run.describe()
    assert _lines(run, "AUDITOR-CHANGED") == []


def test_a_scoped_override_is_cleared_in_one_call_and_read_back(
    stories: dict[str, Story],
) -> None:
    run = stories["scope"].runs["remediation"]
    assert run.exit_code == 0, run.describe()
    (call,) = _changes(run)
    # Parameters already Enabled=true: only the scope is written, -Server $null as documented.
    assert call["command"] == "Set-SettingOverride"
    assert call["parameters"] == {
        "Confirm": False,
        "ErrorAction": "Stop",
        "Identity": NAME,
        "Server": None,
    }
    assert _scope_of(run) == [(["Enabled=true"], None, None, None)]
    commands = [c["command"] for c in run.calls]
    assert commands.index("Get-ExchangeDiagnosticInfo") < len(commands) - 1
    assert commands[-1] == "Get-SettingOverride"
    (changed,) = _lines(run, "AUDITOR-CHANGED")
    assert "Server (all servers), no MinVersion, no MaxVersion" in changed
    again = stories["scope"].runs["remediation-again"]
    assert again.exit_code == 0 and _changes(again) == [], again.describe()
    assert _lines(again, "AUDITOR-ALREADY-COMPLIANT")


def test_the_rollback_restores_the_audited_server_list(stories: dict[str, Story]) -> None:
    run = stories["scope"].runs["rollback"]
    assert run.exit_code == 0, run.describe()
    (call,) = _changes(run)
    assert call["parameters"]["Server"] == list(AUDITED_SERVERS)
    assert "Parameters" not in call["parameters"]
    assert _scope_of(run) == [(["Enabled=true"], list(AUDITED_SERVERS), None, None)]
    assert len(_lines(run, "AUDITOR-RESTORED")) == 1


def test_parameters_and_scope_change_in_one_call_and_roll_back_exactly(
    stories: dict[str, Story],
) -> None:
    story = stories["scope-both"]
    run = story.runs["remediation"]
    assert run.exit_code == 0, run.describe()
    (call,) = _changes(run)
    assert call["parameters"] == {
        "Confirm": False,
        "ErrorAction": "Stop",
        "Identity": NAME,
        "MaxVersion": None,
        "Parameters": ["Enabled=true"],
        "Server": None,
    }
    assert _scope_of(run) == [(["Enabled=true"], None, None, None)]
    back = story.runs["rollback"]
    assert back.exit_code == 0, back.describe()
    (undo,) = _changes(back)
    assert undo["parameters"]["MaxVersion"] == "15.2.1544.0"
    assert "MinVersion" not in undo["parameters"]
    assert _scope_of(back) == [(["Enabled=false"], ["EX01"], None, "15.2.1544.0")]


def test_a_server_list_changed_since_the_audit_is_drift(stories: dict[str, Story]) -> None:
    run = stories["scope-drift"].runs["remediation"]
    assert run.exit_code == 1, run.describe()
    assert _changes(run) == []
    assert run.stderr.count("AUDITOR-DRIFT") == 1, run.describe()
    assert "Server 'EX01, EX03'" in run.stderr and "Server 'EX01, ex02'" in run.stderr
    assert _scope_of(run) == [(["Enabled=true"], ["EX01", "EX03"], None, None)]


def test_a_failed_read_back_puts_the_scope_back(stories: dict[str, Story]) -> None:
    run = stories["scope-readback"].runs["remediation"]
    assert run.exit_code == 1, run.describe()
    assert _lines(run, "AUDITOR-CHANGED") == []
    assert "AUDITOR-VERIFY-FAILED" in run.stderr
    assert "Took the change back in this run and verified" in run.stderr, run.describe()
    ((_, server, _, _),) = _scope_of(run)
    assert server == list(AUDITED_SERVERS)


def test_the_rollback_stops_when_the_server_list_changed_since(stories: dict[str, Story]) -> None:
    run = stories["scope-rollback-drift"].runs["rollback"]
    assert run.exit_code == 1, run.describe()
    assert _changes(run) == []
    assert "AUDITOR-DRIFT" in run.stderr
    assert _scope_of(run) == [(["Enabled=true"], ["EX09"], None, None)]


def test_hostile_server_names_are_written_back_exactly(stories: dict[str, Story]) -> None:
    story = stories["scope-hostile"]
    run = story.runs["remediation"]
    assert run.exit_code == 0, run.describe()
    assert _scope_of(run) == [(["Enabled=true"], None, None, None)]
    back = story.runs["rollback"]
    assert back.exit_code == 0, back.describe()
    (call,) = _changes(back)
    assert call["parameters"]["Server"] == list(HOSTILE_SERVERS)
    assert _scope_of(back) == [(["Enabled=true"], list(HOSTILE_SERVERS), None, None)]
