"""The partner-application remediation and rollback scripts, run in real PowerShell against the
Exchange stand-ins: -WhatIf, a confirmed run, a second run, drift, a missing parameter, rollback.

Every story runs on its own stand-in (its own temporary folder), so the stories run
concurrently; each test then checks one thing the operator relies on.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import harness
import pytest
import scenarios

pytestmark = pytest.mark.pwsh


@pytest.fixture(autouse=True, scope="module")
def _report_powershell_time(pytestconfig: pytest.Config) -> None:
    harness.register_time_report(pytestconfig)


GRAPH = harness.GRAPH_APP_ID
HR = scenarios.HR_APP_ID
EXO = harness.EXCHANGE_ONLINE_APP_ID
CONFIRM = "-Confirm:$false"


def _apps(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {app["ApplicationIdentifier"]: app for app in state["applications"]}


class Story(harness.ScriptStory):
    """The partner-application scripts' runs, with the state and backups of each."""

    @property
    def before(self) -> dict[str, bytes]:
        return {label: run.state_before for label, run in self.runs.items()}

    @property
    def after(self) -> dict[str, bytes]:
        return {label: run.state_after for label, run in self.runs.items()}

    @property
    def backups_after(self) -> dict[str, list[str]]:
        return {label: sorted(run.backups_after) for label, run in self.runs.items()}


@pytest.fixture(scope="module")
def stories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Story]:
    harness.require_pwsh()
    root = tmp_path_factory.mktemp("partner-applications")
    remediation_text, rollback_text = scenarios.render(scenarios.PARTNER_CHANGE_SET)
    remediation = scenarios.write_script(root / "scripts", "remediation.ps1", remediation_text)
    rollback = scenarios.write_script(root / "scripts", "rollback.ps1", rollback_text)

    def whatif() -> Story:
        story = Story(root / "whatif", scenarios.partner_state())
        return story.play(story.step("remediation", remediation, WhatIf=True))

    def lifecycle() -> Story:
        story = Story(root / "lifecycle", scenarios.partner_state())
        return story.play(
            story.step("remediation", remediation, Confirm=False),
            story.step("remediation-again", remediation, Confirm=False),
            story.step("rollback-whatif", rollback, WhatIf=True),
            story.step("rollback-unconfirmed", rollback, Confirm=False),
            story.step("rollback", rollback, Confirm=False, ConfirmRegrant=True),
            story.step("rollback-again", rollback, Confirm=False, ConfirmRegrant=True),
        )

    def drift() -> Story:
        # Someone added a permission to Graph after the export; HR is as audited.
        drifted = [*scenarios.GRAPH_PERMISSIONS, "Mail.Send.Shared"]
        story = Story(root / "drift", scenarios.partner_state(**{GRAPH: drifted}))
        return story.play(story.step("remediation", remediation, Confirm=False))

    def missing_application() -> Story:
        state = scenarios.partner_state()
        state["applications"] = [
            a for a in state["applications"] if a["ApplicationIdentifier"] != HR
        ]
        story = Story(root / "missing-application", state)
        return story.play(story.step("remediation", remediation, Confirm=False))

    def no_parameter() -> Story:
        state = scenarios.partner_state()
        state["omit_app_only_parameter"] = True
        story = Story(root / "no-parameter", state)
        return story.play(
            story.step("remediation", remediation, Confirm=False),
            story.step("rollback", rollback, Confirm=False, ConfirmRegrant=True),
        )

    def rollback_drift() -> Story:
        story = Story(root / "rollback-drift", scenarios.partner_state())
        story.play(story.step("remediation", remediation, Confirm=False))
        first = story.runs
        state = story.standin.read_state()
        _apps(state)[GRAPH]["AppOnlyPermissions"] = ["Mail.Read"]  # changed after remediation
        story.standin.write_state(state)
        story.play(story.step("rollback", rollback, Confirm=False, ConfirmRegrant=True))
        story.runs = {**first, **story.runs}
        return story

    def readback_fails() -> Story:
        # The first Set-PartnerApplication stores something else than it was given.
        state = scenarios.partner_state()
        state["mangle_set_calls"] = [1]
        story = Story(root / "readback-fails", state)
        return story.play(story.step("remediation", remediation, Confirm=False))

    def set_fails_between_applications() -> Story:
        # Graph changes, the Set for HR fails; the re-run continues with HR.
        state = scenarios.partner_state()
        state["fail_set_calls"] = [2]
        story = Story(root / "set-fails", state)
        return story.play(
            story.step("remediation", remediation, Confirm=False),
            story.step("resume", remediation, Confirm=False),
            story.step("rollback", rollback, Confirm=False, ConfirmRegrant=True),
        )

    def remediation_after(folder: str, prelude: str) -> Story:
        """The remediation into a new backup folder, after `prelude` ran in its session."""
        story = Story(root / folder, scenarios.partner_state())
        fresh = story.standin.root / "new-backup"
        story.runs["remediation"] = story.standin.run(
            remediation,
            "-BackupDirectory",
            harness.ps_quote(str(fresh)),
            "-Confirm:$false",
            prelude=prelude,
        )
        return story

    def constrained_language() -> Story:
        prelude = "$ExecutionContext.SessionState.LanguageMode = 'ConstrainedLanguage'"
        return remediation_after("constrained", prelude)

    def no_exchange_shell() -> Story:
        # Outside the Exchange Management Shell: no Exchange cmdlets at all.
        return remediation_after("no-ems", "Remove-Module -Name ExchangeStandIn")

    makers: dict[str, Callable[[], Story]] = {
        "no-ems": no_exchange_shell,
        "whatif": whatif,
        "lifecycle": lifecycle,
        "drift": drift,
        "missing-application": missing_application,
        "no-parameter": no_parameter,
        "rollback-drift": rollback_drift,
        "readback-fails": readback_fails,
        "set-fails": set_fails_between_applications,
        "constrained": constrained_language,
    }
    return harness.run_stories(makers)


def _set_calls(run: harness.Run) -> list[dict[str, Any]]:
    return [call for call in run.calls if call["command"] == "Set-PartnerApplication"]


# --- -WhatIf ------------------------------------------------------------------------------------


def test_whatif_changes_nothing_and_names_every_change(stories: dict[str, Story]) -> None:
    story = stories["whatif"]
    run = story.runs["remediation"]
    assert run.exit_code == 0, run.describe()
    assert story.after["remediation"] == story.before["remediation"]
    assert [c for c in _set_calls(run) if c["outcome"] != "whatif"] == [], run.describe()
    assert story.backups_after["remediation"] == []
    # -WhatIf writes nothing on the server: not even a transcript.
    assert list(story.standin.backup_dir.iterdir()) == []
    for name, app_id in (("Microsoft Graph", GRAPH), ("Contoso HR Sync", HR)):
        lines = [line for line in run.stdout.splitlines() if line.startswith("What if:")]
        assert any(name in line and app_id in line for line in lines), run.describe()
    assert "Exchange Online" not in run.output


# --- confirmed run, second run ------------------------------------------------------------------


def test_confirmed_run_applies_exactly_the_approved_change(stories: dict[str, Story]) -> None:
    story = stories["lifecycle"]
    run = story.runs["remediation"]
    assert run.exit_code == 0, run.describe()
    before = _apps(json.loads(story.before["remediation"]))
    after = _apps(run.state)
    assert after[GRAPH]["AppOnlyPermissions"] in (None, [])
    assert after[HR]["AppOnlyPermissions"] == list(scenarios.HR_TARGET)
    # Nothing else changed: other properties, the untouched application, app pools.
    expected = copy.deepcopy(before)
    expected[GRAPH]["AppOnlyPermissions"] = after[GRAPH]["AppOnlyPermissions"]
    expected[HR]["AppOnlyPermissions"] = list(scenarios.HR_TARGET)
    assert after == expected
    assert run.state["app_pools"] == json.loads(story.before["remediation"])["app_pools"]


def test_confirmed_run_calls_set_once_per_application_by_identifier(
    stories: dict[str, Story],
) -> None:
    run = stories["lifecycle"].runs["remediation"]
    assert [c["command"] for c in run.changing_calls()] == ["Set-PartnerApplication"] * 2
    by_identity = {c["parameters"]["Identity"]: c for c in _set_calls(run)}
    assert set(by_identity) == {GRAPH, HR}
    for app_id, target in ((GRAPH, None), (HR, list(scenarios.HR_TARGET))):
        call = by_identity[app_id]
        assert call["outcome"] == "applied"
        assert call["parameters"] == {
            "AppOnlyPermissions": target,
            "Confirm": False,
            "ErrorAction": "Stop",
            "Identity": app_id,
        }
    # Every Exchange read is by ApplicationIdentifier, with -ErrorAction Stop; never "all apps".
    for call in run.calls:
        assert call["parameters"].get("ErrorAction") == "Stop", call
        assert call["parameters"].get("Identity") in {GRAPH, HR}, call


def test_confirmed_run_backs_up_each_application_before_the_change(
    stories: dict[str, Story],
) -> None:
    story = stories["lifecycle"]
    assert story.backups_after["remediation"] == [
        "partner-applications-01.object.xml",
        "partner-applications-01.state.xml",
        "partner-applications-02.object.xml",
        "partner-applications-02.state.xml",
    ]
    # Export-Clixml writes UTF-16 in Windows PowerShell 5.1 and UTF-8 in PowerShell 7.
    data = (story.standin.backup_dir / "partner-applications-01.object.xml").read_bytes()
    object_backup = data.decode("utf-16" if data.startswith(b"\xff\xfe") else "utf-8-sig")
    # The Export-Clixml of the live object before the change holds the 29 audited permissions.
    assert "Privilege.SkipClientAccessRules" in object_backup
    assert GRAPH in object_backup


def test_second_run_changes_nothing_and_says_already_compliant(
    stories: dict[str, Story],
) -> None:
    story = stories["lifecycle"]
    run = story.runs["remediation-again"]
    assert run.exit_code == 0, run.describe()
    assert run.changing_calls() == []
    assert json.loads(story.before["remediation-again"]) == run.state
    compliant = [line for line in run.stdout.splitlines() if "AUDITOR-ALREADY-COMPLIANT" in line]
    assert any(GRAPH in line for line in compliant), run.describe()
    assert any(HR in line for line in compliant), run.describe()


# --- drift --------------------------------------------------------------------------------------


def test_drift_stops_before_any_change_and_names_the_difference(
    stories: dict[str, Story],
) -> None:
    story = stories["drift"]
    run = story.runs["remediation"]
    assert run.exit_code != 0, run.describe()
    assert story.after["remediation"] == story.before["remediation"]
    assert _set_calls(run) == [], run.describe()  # not even for the application that did not drift
    assert "AUDITOR-DRIFT" in run.output
    assert GRAPH in run.output and "Mail.Send.Shared" in run.output
    assert story.backups_after["remediation"] == []


def test_missing_application_stops_before_any_change(stories: dict[str, Story]) -> None:
    story = stories["missing-application"]
    run = story.runs["remediation"]
    assert run.exit_code != 0, run.describe()
    assert story.after["remediation"] == story.before["remediation"]
    assert _set_calls(run) == []
    assert "AUDITOR-NOT-FOUND" in run.output and HR in run.output


def test_rollback_stops_when_the_live_state_is_not_what_the_remediation_set(
    stories: dict[str, Story],
) -> None:
    story = stories["rollback-drift"]
    assert story.runs["remediation"].exit_code == 0, story.runs["remediation"].describe()
    run = story.runs["rollback"]
    assert run.exit_code != 0, run.describe()
    assert story.after["rollback"] == story.before["rollback"]
    assert _set_calls(run) == [], run.describe()
    assert "AUDITOR-DRIFT" in run.output and GRAPH in run.output


# --- missing AppOnlyPermissions parameter ---------------------------------------------------------


@pytest.mark.parametrize("label", ["remediation", "rollback"])
def test_missing_app_only_parameter_stops_with_the_explanation(
    stories: dict[str, Story], label: str
) -> None:
    story = stories["no-parameter"]
    run = story.runs[label]
    assert run.exit_code != 0, run.describe()
    assert story.after[label] == story.before[label]
    assert _set_calls(run) == [] and run.changing_calls() == []
    assert "AUDITOR-NO-PARAMETER" in run.output
    assert "AppOnlyPermissions" in run.output and "Exchange Server 2013" in run.output
    if label == "remediation":
        assert story.backups_after[label] == []


# --- rollback ---------------------------------------------------------------------------------


def test_rollback_whatif_changes_nothing(stories: dict[str, Story]) -> None:
    story = stories["lifecycle"]
    run = story.runs["rollback-whatif"]
    assert run.exit_code == 0, run.describe()
    assert story.after["rollback-whatif"] == story.before["rollback-whatif"]
    assert [c for c in _set_calls(run) if c["outcome"] != "whatif"] == []
    lines = [line for line in run.stdout.splitlines() if line.startswith("What if:")]
    assert any(GRAPH in line for line in lines) and any(HR in line for line in lines)


def test_rollback_restores_the_audited_lists_exactly(stories: dict[str, Story]) -> None:
    story = stories["lifecycle"]
    run = story.runs["rollback"]
    assert run.exit_code == 0, run.describe()
    original = json.loads(story.before["remediation"])
    assert run.state == original  # the whole state, not only the two lists
    by_identity = {c["parameters"]["Identity"]: c for c in _set_calls(run)}
    assert set(by_identity) == {GRAPH, HR}
    assert by_identity[GRAPH]["parameters"]["AppOnlyPermissions"] == list(
        scenarios.GRAPH_PERMISSIONS
    )
    assert by_identity[HR]["parameters"]["AppOnlyPermissions"] == list(scenarios.HR_AUDITED)
    assert [c["command"] for c in run.changing_calls()] == ["Set-PartnerApplication"] * 2


def test_rollback_again_changes_nothing(stories: dict[str, Story]) -> None:
    story = stories["lifecycle"]
    run = story.runs["rollback-again"]
    assert run.exit_code == 0, run.describe()
    assert run.changing_calls() == []
    assert json.loads(story.before["rollback-again"]) == run.state
    assert "AUDITOR-ALREADY-ROLLED-BACK" in run.output


# --- issue 13: same-run restore, resume, the regrant switch, ConstrainedLanguage ----------------


def test_failed_read_back_is_restored_in_the_same_run(stories: dict[str, Story]) -> None:
    story = stories["readback-fails"]
    run = story.runs["remediation"]
    assert run.exit_code != 0, run.describe()
    assert "AUDITOR-VERIFY-FAILED" in run.stderr and "Mangled.Extra" in run.stderr
    assert "in this run and verified" in run.stderr
    sets = _set_calls(run)
    assert [c["parameters"]["AppOnlyPermissions"] for c in sets] == [
        None,
        list(scenarios.GRAPH_PERMISSIONS),
    ]
    # Every application is as audited again (only the stand-in's call counter moved).
    after = _apps(run.state)
    before = _apps(json.loads(story.before["remediation"]))
    assert after == before


def test_failure_between_two_applications_ends_partial_and_resumes(
    stories: dict[str, Story],
) -> None:
    story = stories["set-fails"]
    run = story.runs["remediation"]
    assert run.exit_code != 0, run.describe()
    assert run.stderr.startswith("TERMINATING-ERROR: AUDITOR-PARTIAL:")
    changed = run.stderr.split("Changed:")[1].split("Not changed:")[0]
    not_changed = run.stderr.split("Not changed:")[1].split("Next:")[0]
    assert GRAPH in changed and HR not in changed
    assert HR in not_changed and GRAPH not in not_changed
    assert "run this script again" in run.stderr
    assert _apps(run.state)[GRAPH]["AppOnlyPermissions"] in (None, [])
    assert _apps(run.state)[HR]["AppOnlyPermissions"] == list(scenarios.HR_AUDITED)

    resumed = story.runs["resume"]
    assert resumed.exit_code == 0, resumed.describe()
    assert "AUDITOR-BACKUP-EXISTS" not in resumed.output
    assert "AUDITOR-RESUMED" in resumed.stdout
    assert [c["parameters"]["Identity"] for c in _set_calls(resumed)] == [HR]
    assert _apps(resumed.state)[HR]["AppOnlyPermissions"] == list(scenarios.HR_TARGET)
    rollback = story.runs["rollback"]
    assert rollback.exit_code == 0, rollback.describe()
    assert _apps(rollback.state)[GRAPH]["AppOnlyPermissions"] == list(scenarios.GRAPH_PERMISSIONS)


def test_rollback_prints_the_regrant_and_needs_confirm_regrant(stories: dict[str, Story]) -> None:
    story = stories["lifecycle"]
    run = story.runs["rollback-unconfirmed"]
    assert run.exit_code != 0, run.describe()
    assert "AUDITOR-REGRANT-NOT-CONFIRMED" in run.stderr and "-ConfirmRegrant" in run.stderr
    assert story.after["rollback-unconfirmed"] == story.before["rollback-unconfirmed"]
    assert _set_calls(run) == []
    regrants = [line for line in run.stdout.splitlines() if line.startswith("AUDITOR-REGRANT:")]
    graph_line = next(line for line in regrants if GRAPH in line)
    assert "Mail.Send" in graph_line and "Privilege.SkipClientAccessRules" in graph_line
    assert "organisation-wide" in graph_line
    hr_line = next(line for line in regrants if HR in line)
    assert "Mail.Read" in hr_line and "User.Read.All" in hr_line
    # The confirmed rollback (-ConfirmRegrant) then restores.
    assert story.runs["rollback"].exit_code == 0


def test_constrained_language_stops_before_anything(stories: dict[str, Story]) -> None:
    story = stories["constrained"]
    run = story.runs["remediation"]
    assert run.exit_code != 0, run.describe()
    assert "TERMINATING-ERROR: AUDITOR-LANGUAGE-MODE" in run.output
    assert "ConstrainedLanguage" in run.output
    assert run.calls == ()
    assert not (story.standin.root / "new-backup").exists()


def test_outside_the_exchange_shell_stops_before_anything(stories: dict[str, Story]) -> None:
    story = stories["no-ems"]
    run = story.runs["remediation"]
    assert run.exit_code != 0, run.describe()
    assert "AUDITOR-NOT-EMS" in run.stderr and "Exchange Management Shell" in run.stderr
    assert run.calls == ()
    assert not (story.standin.root / "new-backup").exists()
