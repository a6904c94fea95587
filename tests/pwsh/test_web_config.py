"""The web.config remediation and rollback scripts, run in real PowerShell on real files.

Material: every front-end web.config of the CSS-Exchange HealthChecker data (E16 and E19) that
has an `OAuthHttpModule.Profiles` key, and this folder's own fixtures (CRLF without BOM, single
quotes, comments that mention the key). The test injects `|V1S2SAppOnly` into the Profiles value
of a copy (bytes, nothing else touched) and audits that; the remediation must give back the
original file, byte for byte.
"""

from __future__ import annotations

import dataclasses
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
    """One stand-in server, its files and the runs made on it (all in one pwsh process)."""

    standin: harness.StandIn
    cases: Sequence[scenarios.WebConfigCase]
    runs: dict[str, harness.Run] = field(default_factory=dict)

    def paths(self) -> dict[str, Path]:
        return {
            case.relative_path: self.standin.install_file(case.relative_path) for case in self.cases
        }

    def play(self, steps: Sequence[harness.Step]) -> Story:
        self.runs = self.standin.run_steps(steps, watch=list(self.paths().values()))
        return self

    def _files(self, label: str, which: str) -> dict[str, bytes]:
        run = self.runs[label]
        snapshot = run.files_before if which == "before" else run.files_after
        found = {rel: snapshot[str(path)] for rel, path in self.paths().items()}
        return {rel: data for rel, data in found.items() if data is not None}

    @property
    def files_before(self) -> _Files:
        return _Files(self, "before")

    @property
    def files_after(self) -> _Files:
        return _Files(self, "after")

    @property
    def state_before(self) -> dict[str, bytes]:
        return {label: run.state_before for label, run in self.runs.items()}

    @property
    def state_after(self) -> dict[str, bytes]:
        return {label: run.state_after for label, run in self.runs.items()}

    @property
    def backups_after(self) -> dict[str, dict[str, bytes]]:
        return {label: run.backups_after for label, run in self.runs.items()}

    def recycles(self, label: str) -> dict[str, int]:
        before = json.loads(self.runs[label].state_before)["app_pools"]
        after = json.loads(self.runs[label].state_after)["app_pools"]
        return {
            name: after[name]["recycles"] - before[name]["recycles"]
            for name in after
            if after[name]["recycles"] != before[name]["recycles"]
        }


@dataclass(frozen=True)
class _Files:
    story: Story
    which: str

    def __getitem__(self, label: str) -> dict[str, bytes]:
        return self.story._files(label, self.which)


def step(
    label: str, script: Path, story: Story, *, before: tuple = (), **switches: bool
) -> harness.Step:
    """A step with this story's backup folder; `switches` e.g. WhatIf=True, Confirm=False."""
    parameters: dict[str, str | bool] = {"BackupDirectory": str(story.standin.backup_dir)}
    parameters.update(switches)
    return harness.Step(label, script, parameters, before=before)


def _new_story(
    root: Path,
    cases: Sequence[scenarios.WebConfigCase],
    files: dict[str, bytes] | None = None,
    computer_name: str = "EX01",
) -> Story:
    standin = harness.StandIn(root, computer_name=computer_name)
    scenarios.lay_out(standin, files or {case.relative_path: case.audited for case in cases})
    return Story(standin=standin, cases=cases)


def _scripts(root: Path, name: str, cases: Sequence[scenarios.WebConfigCase]) -> tuple[Path, Path]:
    change_set = scenarios.web_config_change_set(f"EX-{name}", cases)
    return scenarios.write_pair(root / "scripts" / name, change_set)


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
            story = _new_story(
                root / f"{set_name}-lifecycle", cases, computer_name=f"EX-{set_name}"
            )
            steps = [
                step("whatif", remediation, story, WhatIf=True),
                step("remediation", remediation, story, Confirm=False),
                step("remediation-again", remediation, story, Confirm=False),
            ]
            if set_name == "fixtures":  # one rollback -WhatIf per template is enough
                steps.append(step("rollback-whatif", rollback, story, WhatIf=True))
            steps += [
                step("rollback", rollback, story, Confirm=False),
                step("rollback-again", rollback, story, Confirm=False),
            ]
            return story.play(steps)

        makers[f"{set_name}-lifecycle"] = lifecycle

    drift_set = "E19" if "E19" in sets else "fixtures"
    drift_cases = _cases(drift_set)
    drift_remediation, drift_rollback = _scripts(root, f"{drift_set}-drift", drift_cases)
    drift_server = f"EX-{drift_set}-drift"
    first = drift_cases[0]

    def value_drift() -> Story:
        files = {case.relative_path: case.audited for case in drift_cases}
        files[first.relative_path] = scenarios.inject_profile(first.audited, "V1AppActAs")
        story = _new_story(root / "value-drift", drift_cases, files, drift_server)
        return story.play([step("remediation", drift_remediation, story, Confirm=False)])

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
        story = _new_story(
            root / "duplicate-key", [duplicate_case], {case.relative_path: doubled}, "EX-duplicate"
        )
        return story.play([step("remediation", script, story, Confirm=False)])

    def rollback_drift() -> Story:
        story = _new_story(root / "rollback-drift", drift_cases, computer_name=drift_server)
        # An administrator edits the file after the remediation.
        path = story.standin.install_file(first.relative_path)
        edited = first.original.replace(b"</appSettings>", b"</appSettings >", 1)
        return story.play(
            [
                step("remediation", drift_remediation, story, Confirm=False),
                step(
                    "rollback",
                    drift_rollback,
                    story,
                    Confirm=False,
                    before=(("write", path, edited),),
                ),
            ]
        )

    makers.update(
        {
            "value-drift": value_drift,
            "duplicate-key": duplicate_key,
            "rollback-drift": rollback_drift,
        }
    )
    makers.update(
        issue_13_stories(root, drift_cases, drift_remediation, drift_rollback, drift_server)
    )
    return harness.run_stories(makers)


def issue_13_stories(
    root: Path,
    cases: Sequence[scenarios.WebConfigCase],
    remediation: Path,
    rollback: Path,
    server: str,
) -> dict[str, Callable[[], Story]]:
    """Wrong server, -WhatIf with a new backup folder, an unrelated edit, a failed write, a
    failed recycle, enablement, ConstrainedLanguage: each on its own stand-in."""
    last = cases[-1]

    def wrong_server() -> Story:
        story = _new_story(root / "wrong-server", cases, computer_name="EX99")
        fresh = story.standin.root / "new-backup"
        story.play(
            [
                harness.Step(
                    "wrong-server", remediation, {"BackupDirectory": str(fresh), "Confirm": False}
                ),
                harness.Step(
                    "whatif-fresh",
                    remediation,
                    {"BackupDirectory": str(fresh), "WhatIf": True},
                    env={"COMPUTERNAME": server.lower()},
                ),
            ]
        )
        return story

    def unrelated_edit() -> Story:
        # An edit elsewhere in the file (a CU, another setting): the Profiles value is as audited.
        files = {case.relative_path: case.audited for case in cases}
        files[last.relative_path] = last.audited.replace(b"<appSettings>", b"<appSettings >", 1)
        story = _new_story(root / "unrelated-edit", cases, files, server)
        return story.play(
            [
                step("remediation", remediation, story, Confirm=False),
                step("rollback", rollback, story, Confirm=False),
            ]
        )

    def write_fails() -> Story:
        # The temporary file of the last file cannot be written (a folder is in its way).
        story = _new_story(root / "write-fails", cases, computer_name=server)
        slug = scenarios.web_config_change_set(server, cases).slug
        blocker = Path(
            str(story.standin.install_file(last.relative_path)) + f".{slug}-{len(cases):02d}.tmp"
        )
        return story.play(
            [
                step(
                    "write-fails",
                    remediation,
                    story,
                    Confirm=False,
                    before=(("mkdir", blocker, None),),
                ),
                step(
                    "resume", remediation, story, Confirm=False, before=(("remove", blocker, None),)
                ),
                step("rollback", rollback, story, Confirm=False),
            ]
        )

    def recycle_fails() -> Story:
        story = _new_story(root / "recycle-fails", cases, computer_name=server)
        state = story.standin.read_state()
        state["fail_recycle_calls"] = [1]
        story.standin.write_state(state)
        return story.play(
            [
                step("recycle-fails", remediation, story, Confirm=False),
                step("resume", remediation, story, Confirm=False),
                step("again", remediation, story, Confirm=False),
            ]
        )

    def enablement() -> Story:
        # EX02's padded " V1S2SAppOnly" (Exchange drops it: app-only is off today). By default
        # the change removes it; only a policy approval makes it an ENABLES item.
        rest = next(case for case in scenarios.fixture_cases() if "rest" in case.label)
        padded = scenarios.inject_profile(rest.original, " V1S2SAppOnly")
        value = scenarios.profiles_value(rest.original)
        base = WebConfigChange(
            vdir=rest.vdir,
            relative_path=rest.relative_path,
            app_pool=rest.app_pool,
            audited_sha256=hashlib.sha256(padded).hexdigest(),
            audited_value=value + "| V1S2SAppOnly",
            target_value=value,
            fixes=("f" * 64,),
            removes=(" V1S2SAppOnly",),
        )
        approved = dataclasses.replace(
            base, target_value=value + "|V1S2SAppOnly", removes=(), enables=("V1S2SAppOnly",)
        )
        scripts = {}
        for label, change in (("default", base), ("approved", approved)):
            change_set = ChangeSet(
                kind=ChangeKind.WEB_CONFIG_PROFILES,
                slug=f"web-config-ex02-{label}",
                server="EX02",
                web_configs=(change,),
            )
            text, _ = scenarios.render(change_set)
            scripts[label] = scenarios.write_script(
                root / "scripts" / "enable", f"{label}.ps1", text
            )
        case = dataclasses.replace(rest, audited=padded)
        story = _new_story(root / "enablement", [case], {rest.relative_path: padded}, "EX02")
        return story.play(
            [
                step("approved-whatif", scripts["approved"], story, WhatIf=True),
                step("default-whatif", scripts["default"], story, WhatIf=True),
                step("default", scripts["default"], story, Confirm=False),
            ]
        )

    def constrained_language() -> Story:
        story = _new_story(root / "constrained", cases, computer_name=server)
        fresh = story.standin.root / "new-backup"
        story.runs["remediation"] = story.standin.run(
            remediation,
            "-BackupDirectory",
            harness.ps_quote(str(fresh)),
            "-Confirm:$false",
            prelude="$ExecutionContext.SessionState.LanguageMode = 'ConstrainedLanguage'",
        )
        return story

    return {
        "enablement": enablement,
        "constrained": constrained_language,
        "wrong-server": wrong_server,
        "unrelated-edit": unrelated_edit,
        "write-fails": write_fails,
        "recycle-fails": recycle_fails,
    }


@pytest.fixture(params=SETS)
def set_name(request: pytest.FixtureRequest) -> str:
    """Each set of web.configs: the CSS-Exchange sets and the project's fixtures."""
    name: str = request.param
    if name in CSS_SETS and not _css_available():
        conftest.skip_or_fail(f"reference corpus not found at {conftest.CSS_EXCHANGE}")
    return name


@pytest.fixture
def story(stories: dict[str, Story], set_name: str) -> Story:
    """The lifecycle story of one set: -WhatIf, the change, a second run, the rollback."""
    return stories[f"{set_name}-lifecycle"]


def _changed_pools(cases: Sequence[scenarios.WebConfigCase]) -> dict[str, int]:
    return {case.app_pool: 1 for case in cases if case.app_pool is not None}


# --- -WhatIf ------------------------------------------------------------------------------------


def test_whatif_changes_nothing_and_names_every_file(story: Story) -> None:
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


def test_confirmed_run_changes_only_the_profiles_value(story: Story) -> None:
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


def test_confirmed_run_backs_up_the_original_bytes(story: Story, set_name: str) -> None:
    backups = story.backups_after["remediation"]
    slug = scenarios.web_config_change_set(f"EX-{set_name}", story.cases).slug
    for index, case in enumerate(story.cases, start=1):
        assert backups[f"{slug}-{index:02d}.web.config.bak"] == case.audited, case.label
        assert f"{slug}-{index:02d}.state.xml" in backups


def test_confirmed_run_recycles_only_the_pools_of_changed_files(story: Story) -> None:
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


def test_second_run_changes_nothing_and_recycles_nothing(story: Story) -> None:
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
    story = stories["fixtures-lifecycle"]
    run = story.runs["rollback-whatif"]
    assert run.exit_code == 0, run.describe()
    assert story.files_after["rollback-whatif"] == story.files_before["rollback-whatif"]
    assert story.state_after["rollback-whatif"] == story.state_before["rollback-whatif"]


def test_rollback_restores_the_original_bytes_exactly(story: Story) -> None:
    run = story.runs["rollback"]
    assert run.exit_code == 0, run.describe()
    for case in story.cases:
        assert story.files_after["rollback"][case.relative_path] == case.audited, case.label
    assert story.recycles("rollback") == _changed_pools(story.cases)


def test_rollback_again_changes_nothing(story: Story) -> None:
    run = story.runs["rollback-again"]
    assert run.exit_code == 0, run.describe()
    assert story.files_after["rollback-again"] == story.files_before["rollback-again"]
    assert story.recycles("rollback-again") == {}
    assert "AUDITOR-ALREADY-ROLLED-BACK" in run.output


# --- drift and refusals -------------------------------------------------------------------------


def test_rollback_after_an_unrelated_edit_restores_only_the_setting(
    stories: dict[str, Story],
) -> None:
    # Issue 22: the file was edited after the remediation (`</appSettings >`) and still has the
    # value the remediation wrote: the rollback sets back that value and keeps the edit.
    story = stories["rollback-drift"]
    run = story.runs["rollback"]
    assert run.exit_code == 0, run.describe()
    drifted = story.cases[0]
    after = story.files_after["rollback"][drifted.relative_path]
    before = story.files_before["rollback"][drifted.relative_path]
    assert b"</appSettings >" in after
    assert scenarios.profiles_value(after) == drifted.change().audited_value
    start, end = scenarios.profiles_value_span(before)
    assert after == before[:start] + drifted.change().audited_value.encode() + before[end:]
    assert "AUDITOR-NOTE" in run.output and "every other edit stays" in run.output


@pytest.mark.parametrize("label", ["value-drift"])
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
    drifted = story.cases[0]
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


# --- issue 13: the right server, what was audited, partial failure ------------------------------


def _folder(case: scenarios.WebConfigCase) -> str:
    return "/" + case.relative_path.split("\\")[-2] + "/web.config"


def test_wrong_server_refuses_before_anything(stories: dict[str, Story]) -> None:
    story = stories["wrong-server"]
    run = story.runs["wrong-server"]
    assert run.exit_code != 0, run.describe()
    assert "AUDITOR-WRONG-SERVER" in run.stderr
    assert "EX-E19-drift" in run.stderr and "EX99" in run.stderr
    assert story.files_after["wrong-server"] == story.files_before["wrong-server"]
    assert run.calls == () and story.recycles("wrong-server") == {}
    # Nothing written: no backup folder (so no transcript, no backup) was created.
    assert not (story.standin.root / "new-backup").exists()


def test_whatif_writes_nothing_on_the_server(stories: dict[str, Story]) -> None:
    story = stories["wrong-server"]
    run = story.runs["whatif-fresh"]  # the computer name matches whatever its case
    assert run.exit_code == 0, run.describe()
    assert "What if:" in run.stdout
    assert not (story.standin.root / "new-backup").exists()
    assert story.files_after["whatif-fresh"] == story.files_before["whatif-fresh"]


def test_guard_is_the_audited_value_not_the_file_hash(stories: dict[str, Story]) -> None:
    story = stories["unrelated-edit"]
    run = story.runs["remediation"]
    assert run.exit_code == 0, run.describe()
    last = story.cases[-1]
    notes = [line for line in run.stdout.splitlines() if "AUDITOR-NOTE" in line]
    assert len(notes) == 1 and _folder(last) in notes[0], run.describe()
    # Only the value changed; the unrelated edit stays.
    edited = story.files_after["remediation"][last.relative_path]
    assert edited == last.original.replace(b"<appSettings>", b"<appSettings >", 1)
    for case in story.cases[:-1]:
        assert story.files_after["remediation"][case.relative_path] == case.original
    # The rollback restores the bytes as they were before the change, unrelated edit included.
    rollback = story.runs["rollback"]
    assert rollback.exit_code == 0, rollback.describe()
    assert story.files_after["rollback"] == story.files_before["remediation"]


def test_failed_write_keeps_the_original_bytes_and_ends_partial(stories: dict[str, Story]) -> None:
    story = stories["write-fails"]
    run = story.runs["write-fails"]
    last = story.cases[-1]
    assert run.exit_code != 0, run.describe()
    after = story.files_after["write-fails"]
    assert after[last.relative_path] == last.audited  # untouched, byte for byte
    for case in story.cases[:-1]:
        assert after[case.relative_path] == case.original
    assert run.stderr.startswith("TERMINATING-ERROR: AUDITOR-PARTIAL: AUDITOR-WRITE-FAILED")
    assert run.stderr.count("AUDITOR-PARTIAL") == 1
    partial = run.stderr
    assert "still has its original bytes" in partial
    assert _folder(story.cases[0]) in partial.split("Changed:")[1].split("Not changed:")[0]
    assert _folder(last) in partial.split("Not changed:")[1]
    assert "run this script again" in partial
    assert story.recycles("write-fails") == {}


def test_rerun_after_a_failed_write_resumes_and_recycles(stories: dict[str, Story]) -> None:
    story = stories["write-fails"]
    run = story.runs["resume"]
    assert run.exit_code == 0, run.describe()
    assert "AUDITOR-BACKUP-EXISTS" not in run.output
    for case in story.cases:
        assert story.files_after["resume"][case.relative_path] == case.original
    assert story.recycles("resume") == _changed_pools(story.cases)
    rollback = story.runs["rollback"]
    assert rollback.exit_code == 0, rollback.describe()
    for case in story.cases:
        assert story.files_after["rollback"][case.relative_path] == case.audited


def test_failed_recycle_is_retried_on_the_next_run(stories: dict[str, Story]) -> None:
    story = stories["recycle-fails"]
    failed = story.runs["recycle-fails"]
    assert failed.exit_code != 0, failed.describe()
    assert failed.stderr.startswith("TERMINATING-ERROR: AUDITOR-PARTIAL:")
    assert "Application pools not recycled:" in failed.stderr
    for case in story.cases:
        assert story.files_after["recycle-fails"][case.relative_path] == case.original
    resumed = story.runs["resume"]
    assert resumed.exit_code == 0, resumed.describe()
    assert "AUDITOR-RESUMED" in resumed.stdout and "not recycled yet" in resumed.stdout
    assert story.recycles("resume") == _changed_pools(story.cases)
    again = story.runs["again"]
    assert again.exit_code == 0 and story.recycles("again") == {}
    assert "AUDITOR-RESUMED" not in again.stdout


def test_enablement_is_shown_in_the_prompt_and_only_when_planned(stories: dict[str, Story]) -> None:
    story = stories["enablement"]
    approved = story.runs["approved-whatif"]
    assert approved.exit_code == 0, approved.describe()
    (line,) = [line for line in approved.stdout.splitlines() if line.startswith("What if:")][:1]
    assert "ENABLES V1S2SAppOnly" in line
    # The padded token is visible in the prompt: quoted, the space shown.
    assert "| V1S2SAppOnly'" in line
    default = story.runs["default-whatif"]
    whatif = [line for line in default.stdout.splitlines() if line.startswith("What if:")]
    assert whatif and not any("ENABLES" in line for line in whatif)
    assert any("REMOVES ' V1S2SAppOnly'" in line for line in whatif)
    run = story.runs["default"]
    assert run.exit_code == 0, run.describe()
    (case,) = story.cases
    assert story.files_after["default"][case.relative_path] == scenarios.fixture_cases()[0].original


def test_constrained_language_stops_the_web_config_script(stories: dict[str, Story]) -> None:
    story = stories["constrained"]
    run = story.runs["remediation"]
    assert run.exit_code != 0, run.describe()
    assert "TERMINATING-ERROR: AUDITOR-LANGUAGE-MODE" in run.output
    for case in story.cases:
        assert story.standin.install_file(case.relative_path).read_bytes() == case.audited
    assert not (story.standin.root / "new-backup").exists()
