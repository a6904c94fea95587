"""The web.config remediation and rollback scripts, run in real PowerShell on real files.

Material: every front-end web.config of the CSS-Exchange HealthChecker data (E16 and E19) that
has an `OAuthHttpModule.Profiles` key, and this folder's own fixtures (CRLF without BOM, single
quotes, comments that mention the key). The test injects `|V1S2SAppOnly` into the Profiles value
of a copy (bytes, nothing else touched) and audits that; the remediation must give back the
original file, byte for byte.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import conftest
import harness
import pytest
import scenarios

from auditor.model import ChangeKind, ChangeSet, WebConfigChange

pytestmark = pytest.mark.pwsh


@pytest.fixture(autouse=True, scope="module")
def _report_powershell_time(pytestconfig: pytest.Config) -> None:
    harness.register_time_report(pytestconfig)


CONFIRM = "-Confirm:$false"
BOM = b"\xef\xbb\xbf"
CSS_SETS = ("E16", "E19")
SETS = (*CSS_SETS, "fixtures")


def _cases(set_name: str) -> list[scenarios.WebConfigCase]:
    if set_name == "fixtures":
        return scenarios.fixture_cases()
    return scenarios.css_exchange_cases(set_name)


def _css_available() -> bool:
    return (conftest.CSS_EXCHANGE / "E16" / "IIS").is_dir() and (
        conftest.CSS_EXCHANGE / "E19" / "IIS"
    ).is_dir()


@dataclass
class Story:
    """One stand-in server, its files and the runs made on it, with snapshots around each run."""

    standin: harness.StandIn
    cases: Sequence[scenarios.WebConfigCase]
    runs: dict[str, harness.Run] = field(default_factory=dict)
    files_before: dict[str, dict[str, bytes]] = field(default_factory=dict)
    files_after: dict[str, dict[str, bytes]] = field(default_factory=dict)
    state_before: dict[str, bytes] = field(default_factory=dict)
    state_after: dict[str, bytes] = field(default_factory=dict)
    backups_after: dict[str, dict[str, bytes]] = field(default_factory=dict)

    def files(self) -> dict[str, bytes]:
        return scenarios.read_installed(self.standin, [case.relative_path for case in self.cases])

    def run(self, label: str, script: Path, *arguments: str) -> harness.Run:
        self.files_before[label] = self.files()
        self.state_before[label] = self.standin.state_bytes()
        backup = ("-BackupDirectory", harness.ps_quote(str(self.standin.backup_dir)))
        result = self.standin.run(script, *backup, *arguments)
        self.runs[label] = result
        self.files_after[label] = self.files()
        self.state_after[label] = self.standin.state_bytes()
        self.backups_after[label] = {
            path.name: path.read_bytes()
            for path in sorted(self.standin.backup_dir.iterdir())
            if not path.name.endswith(".log")
        }
        return result

    def recycles(self, label: str) -> dict[str, int]:
        before = json.loads(self.state_before[label])["app_pools"]
        after = json.loads(self.state_after[label])["app_pools"]
        return {
            name: after[name]["recycles"] - before[name]["recycles"]
            for name in after
            if after[name]["recycles"] != before[name]["recycles"]
        }


def _new_story(
    root: Path, cases: Sequence[scenarios.WebConfigCase], files: dict[str, bytes] | None = None
) -> Story:
    standin = harness.StandIn(root)
    scenarios.lay_out(standin, files or {case.relative_path: case.audited for case in cases})
    return Story(standin=standin, cases=cases)


def _scripts(root: Path, name: str, cases: Sequence[scenarios.WebConfigCase]) -> tuple[Path, Path]:
    change_set = scenarios.web_config_change_set(f"EX-{name}", cases)
    remediation_text, rollback_text = scenarios.render(change_set)
    folder = root / "scripts" / name
    return (
        scenarios.write_script(folder, "remediation.ps1", remediation_text),
        scenarios.write_script(folder, "rollback.ps1", rollback_text),
    )


@pytest.fixture(scope="module")
def stories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Story]:
    harness.require_pwsh()
    root = tmp_path_factory.mktemp("web-config")
    sets = [name for name in SETS if name == "fixtures" or _css_available()]
    makers: dict[str, Callable[[], Story]] = {}

    for set_name in sets:
        cases = _cases(set_name)
        remediation, rollback = _scripts(root, set_name, cases)

        def lifecycle(
            set_name: str = set_name,
            cases: list[scenarios.WebConfigCase] = cases,
            remediation: Path = remediation,
            rollback: Path = rollback,
        ) -> Story:
            story = _new_story(root / f"{set_name}-lifecycle", cases)
            story.run("whatif", remediation, "-WhatIf")
            story.run("remediation", remediation, CONFIRM)
            story.run("remediation-again", remediation, CONFIRM)
            if set_name == "fixtures":  # one rollback -WhatIf per template is enough
                story.run("rollback-whatif", rollback, "-WhatIf")
            story.run("rollback", rollback, CONFIRM)
            story.run("rollback-again", rollback, CONFIRM)
            return story

        makers[f"{set_name}-lifecycle"] = lifecycle

    drift_set = "E19" if "E19" in sets else "fixtures"
    drift_cases = _cases(drift_set)
    drift_remediation, drift_rollback = _scripts(root, f"{drift_set}-drift", drift_cases)
    first, last = drift_cases[0], drift_cases[-1]

    def byte_drift() -> Story:
        # One byte outside the value differs from the audited file (an edit after the export).
        files = {case.relative_path: case.audited for case in drift_cases}
        files[last.relative_path] = last.audited.replace(b"<appSettings>", b"<appSettings >", 1)
        story = _new_story(root / "byte-drift", drift_cases, files)
        story.run("remediation", drift_remediation, CONFIRM)
        return story

    def value_drift() -> Story:
        files = {case.relative_path: case.audited for case in drift_cases}
        files[first.relative_path] = scenarios.inject_profile(first.audited, "V1AppActAs")
        story = _new_story(root / "value-drift", drift_cases, files)
        story.run("remediation", drift_remediation, CONFIRM)
        return story

    def duplicate_key() -> Story:
        # Two effective Profiles elements: the script must refuse to guess which one to edit.
        case = first
        start, end = scenarios.profiles_value_span(case.audited)
        line_start = case.audited.rfind(b"<add", 0, start)
        line_end = case.audited.index(b">", end) + 1
        element = case.audited[line_start:line_end]
        doubled = case.audited[:line_end] + element + case.audited[line_end:]
        duplicate_case = scenarios.WebConfigCase(
            label=case.label + "-duplicate",
            vdir=case.vdir,
            relative_path=case.relative_path,
            app_pool=case.app_pool,
            original=case.original,
            audited=doubled,
        )
        # Audited as a parser reads it: the value of the last add element wins.
        change = WebConfigChange(
            vdir=case.vdir,
            relative_path=case.relative_path,
            app_pool=case.app_pool,
            audited_sha256=hashlib.sha256(doubled).hexdigest(),
            audited_value=scenarios.profiles_value(case.audited),
            target_value=scenarios.profiles_value(case.original),
            fixes=("e" * 64,),
        )
        change_set = ChangeSet(
            kind=ChangeKind.WEB_CONFIG_PROFILES,
            slug="web-config-ex-duplicate",
            server="EX-duplicate",
            web_configs=(change,),
        )
        remediation_text, _ = scenarios.render(change_set)
        script = scenarios.write_script(
            root / "scripts" / "duplicate", "remediation.ps1", remediation_text
        )
        story = _new_story(root / "duplicate-key", [duplicate_case], {case.relative_path: doubled})
        story.run("remediation", script, CONFIRM)
        return story

    def rollback_drift() -> Story:
        story = _new_story(root / "rollback-drift", drift_cases)
        story.run("remediation", drift_remediation, CONFIRM)
        # An administrator edits the file after the remediation.
        path = story.standin.install_file(first.relative_path)
        path.write_bytes(path.read_bytes().replace(b"</appSettings>", b"</appSettings >", 1))
        story.run("rollback", drift_rollback, CONFIRM)
        return story

    makers.update(
        {
            "byte-drift": byte_drift,
            "value-drift": value_drift,
            "duplicate-key": duplicate_key,
            "rollback-drift": rollback_drift,
        }
    )
    return harness.run_stories(makers)


def _lifecycle(stories: dict[str, Story], set_name: str) -> Story:
    if set_name in CSS_SETS and not _css_available():
        conftest.skip_or_fail(f"reference corpus not found at {conftest.CSS_EXCHANGE}")
    return stories[f"{set_name}-lifecycle"]


def _changed_pools(cases: Sequence[scenarios.WebConfigCase]) -> dict[str, int]:
    return {case.app_pool: 1 for case in cases if case.app_pool is not None}


# --- -WhatIf ------------------------------------------------------------------------------------


@pytest.mark.parametrize("set_name", SETS)
def test_whatif_changes_nothing_and_names_every_file(
    stories: dict[str, Story], set_name: str
) -> None:
    story = _lifecycle(stories, set_name)
    run = story.runs["whatif"]
    assert run.exit_code == 0, run.describe()
    assert story.files_after["whatif"] == story.files_before["whatif"]
    assert story.state_after["whatif"] == story.state_before["whatif"]
    assert story.backups_after["whatif"] == {}
    assert run.changing_calls() == []
    whatif_lines = [line for line in run.stdout.splitlines() if line.startswith("What if:")]
    for case in story.cases:
        folder = case.relative_path.split("\\")[-2]
        assert any(f"/{folder}/web.config" in line for line in whatif_lines), (
            case.label,
            run.describe(),
        )


# --- confirmed run ------------------------------------------------------------------------------


@pytest.mark.parametrize("set_name", SETS)
def test_confirmed_run_changes_only_the_profiles_value(
    stories: dict[str, Story], set_name: str
) -> None:
    story = _lifecycle(stories, set_name)
    run = story.runs["remediation"]
    assert run.exit_code == 0, run.describe()
    for case in story.cases:
        audited = story.files_before["remediation"][case.relative_path]
        edited = story.files_after["remediation"][case.relative_path]
        start, end = scenarios.profiles_value_span(audited)
        tail = len(audited) - end
        assert edited[:start] == audited[:start], case.label
        assert edited[len(edited) - tail :] == audited[end:], case.label
        assert edited[start : len(edited) - tail].decode("utf-8") == case.change().target_value
        assert edited.startswith(BOM) == audited.startswith(BOM), case.label
        # Appending |V1S2SAppOnly and removing it again gives back the shipped file exactly.
        assert edited == case.original, case.label


@pytest.mark.parametrize("set_name", SETS)
def test_confirmed_run_backs_up_the_original_bytes(
    stories: dict[str, Story], set_name: str
) -> None:
    story = _lifecycle(stories, set_name)
    backups = story.backups_after["remediation"]
    slug = scenarios.web_config_change_set(f"EX-{set_name}", story.cases).slug
    for index, case in enumerate(story.cases, start=1):
        assert backups[f"{slug}-{index:02d}.web.config.bak"] == case.audited, case.label
        assert f"{slug}-{index:02d}.state.xml" in backups


@pytest.mark.parametrize("set_name", SETS)
def test_confirmed_run_recycles_only_the_pools_of_changed_files(
    stories: dict[str, Story], set_name: str
) -> None:
    story = _lifecycle(stories, set_name)
    run = story.runs["remediation"]
    assert story.recycles("remediation") == _changed_pools(story.cases)
    recycle_calls = [c for c in run.changing_calls() if c["command"] == "Restart-WebAppPool"]
    assert all(c["parameters"].get("ErrorAction") == "Stop" for c in recycle_calls)
    assert [c["command"] for c in run.changing_calls()] == ["Restart-WebAppPool"] * len(
        _changed_pools(story.cases)
    )
    for case in story.cases:
        if case.app_pool is None:
            assert any(
                "AUDITOR-RECYCLE-MANUAL" in line and case.vdir in line
                for line in run.stdout.splitlines()
            ), (case.label, run.describe())


@pytest.mark.parametrize("set_name", SETS)
def test_second_run_changes_nothing_and_recycles_nothing(
    stories: dict[str, Story], set_name: str
) -> None:
    story = _lifecycle(stories, set_name)
    run = story.runs["remediation-again"]
    assert run.exit_code == 0, run.describe()
    assert story.files_after["remediation-again"] == story.files_before["remediation-again"]
    assert story.recycles("remediation-again") == {}
    assert run.changing_calls() == []
    compliant = [line for line in run.stdout.splitlines() if "AUDITOR-ALREADY-COMPLIANT" in line]
    for case in story.cases:
        folder = case.relative_path.split("\\")[-2]
        assert any(f"/{folder}/web.config" in line for line in compliant), case.label


# --- rollback ---------------------------------------------------------------------------------


def test_rollback_whatif_changes_nothing(stories: dict[str, Story]) -> None:
    story = _lifecycle(stories, "fixtures")
    run = story.runs["rollback-whatif"]
    assert run.exit_code == 0, run.describe()
    assert story.files_after["rollback-whatif"] == story.files_before["rollback-whatif"]
    assert story.state_after["rollback-whatif"] == story.state_before["rollback-whatif"]


@pytest.mark.parametrize("set_name", SETS)
def test_rollback_restores_the_original_bytes_exactly(
    stories: dict[str, Story], set_name: str
) -> None:
    story = _lifecycle(stories, set_name)
    run = story.runs["rollback"]
    assert run.exit_code == 0, run.describe()
    for case in story.cases:
        assert story.files_after["rollback"][case.relative_path] == case.audited, case.label
    assert story.recycles("rollback") == _changed_pools(story.cases)


@pytest.mark.parametrize("set_name", SETS)
def test_rollback_again_changes_nothing(stories: dict[str, Story], set_name: str) -> None:
    story = _lifecycle(stories, set_name)
    run = story.runs["rollback-again"]
    assert run.exit_code == 0, run.describe()
    assert story.files_after["rollback-again"] == story.files_before["rollback-again"]
    assert story.recycles("rollback-again") == {}
    assert "AUDITOR-ALREADY-ROLLED-BACK" in run.output


# --- drift and refusals -------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["byte-drift", "value-drift", "rollback-drift"])
def test_drift_stops_before_any_change_and_names_the_file(
    stories: dict[str, Story], label: str
) -> None:
    story = stories[label]
    step = "rollback" if label == "rollback-drift" else "remediation"
    run = story.runs[step]
    assert run.exit_code != 0, run.describe()
    assert story.files_after[step] == story.files_before[step]
    assert story.recycles(step) == {}
    assert "AUDITOR-DRIFT" in run.output, run.describe()
    drifted = story.cases[-1] if label == "byte-drift" else story.cases[0]
    folder = drifted.relative_path.split("\\")[-2]
    assert f"/{folder}/web.config" in run.output, run.describe()
    if label == "value-drift":
        assert "V1AppActAs" in run.output.split("AUDITOR-DRIFT", 1)[1]
    if step == "remediation":
        assert story.backups_after[step] == {}
    else:
        assert story.backups_after[step] == story.backups_after["remediation"]


def test_duplicate_profiles_key_is_refused_without_a_change(stories: dict[str, Story]) -> None:
    story = stories["duplicate-key"]
    run = story.runs["remediation"]
    assert run.exit_code != 0, run.describe()
    assert story.files_after["remediation"] == story.files_before["remediation"]
    assert story.recycles("remediation") == {}
    assert story.backups_after["remediation"] == {}
    assert "AUDITOR-EDIT-REFUSED" in run.output, run.describe()


def test_own_fixtures_keep_the_byte_shapes_they_exist_for() -> None:
    # A checkout that converted line endings or added a BOM would quietly weaken the tests above.
    crlf = (scenarios.FIXTURES / "rest-crlf-no-bom.config").read_bytes()
    assert not crlf.startswith(BOM)
    assert crlf.count(b"\r\n") == crlf.count(b"\n") > 10
    single = (scenarios.FIXTURES / "ews-single-quoted.config").read_bytes()
    assert single.startswith(BOM) and b"\r" not in single
    assert b"value='S2SAppActAs" in single
