"""End to end: the change package `auditor audit` makes from the bundled example exports, run in
real PowerShell against stand-ins holding exactly what was exported; and the collection script,
whose output auditor must read back.
"""

from __future__ import annotations

import hashlib
import json
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import harness
import pytest
import scenarios

from auditor.model import ChangeKind, ChangeSet, Report
from auditor.parsers import read_inventory

pytestmark = pytest.mark.pwsh


@pytest.fixture(autouse=True, scope="module")
def _report_powershell_time(pytestconfig: pytest.Config) -> None:
    harness.register_time_report(pytestconfig)


@dataclass
class Story:
    standin: harness.StandIn
    relative_paths: list[str]
    runs: dict[str, harness.Run] = field(default_factory=dict)
    files_before: dict[str, dict[str, bytes]] = field(default_factory=dict)
    files_after: dict[str, dict[str, bytes]] = field(default_factory=dict)
    state_before: dict[str, dict[str, Any]] = field(default_factory=dict)

    def play(self, *steps: tuple[str, Path, dict[str, str | bool]]) -> Story:
        """Run every step in one pwsh process, recording files and state around each."""
        paths = {rel: self.standin.install_file(rel) for rel in self.relative_paths}
        runs = self.standin.run_steps(
            [
                harness.Step(
                    label, script, {"BackupDirectory": str(self.standin.backup_dir), **switches}
                )
                for label, script, switches in steps
            ],
            watch=list(paths.values()),
        )
        for label, run in runs.items():
            self.runs[label] = run
            self.files_before[label] = {
                rel: run.files_before[str(path)] or b"" for rel, path in paths.items()
            }
            self.files_after[label] = {
                rel: run.files_after[str(path)] or b"" for rel, path in paths.items()
            }
            self.state_before[label] = json.loads(run.state_before)
        return self


def _script_paths(report: Report, change_set: ChangeSet, folder: Path) -> tuple[Path, Path]:
    by_name = {script.name: script for script in report.scripts}
    remediation_name = f"remediation/{change_set.slug}.ps1"
    remediation = by_name[remediation_name]
    rollback = by_name[str(remediation.pair)]
    return (
        scenarios.write_script(folder, f"{change_set.slug}-remediation.ps1", remediation.content),
        scenarios.write_script(folder, f"{change_set.slug}-rollback.ps1", rollback.content),
    )


def _example_files(server: str) -> dict[str, bytes]:
    root = scenarios.EXAMPLES / server
    return {
        "\\".join(path.relative_to(root).parts): path.read_bytes()
        for path in sorted(root.rglob("web.config"))
    }


@pytest.fixture(scope="module")
def stories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Story]:
    harness.require_pwsh()
    root = tmp_path_factory.mktemp("examples")
    report = scenarios.example_report()
    state = scenarios.state_from_inventory(report.inventory)
    # As the Exchange Management Shell returns them: deserialized objects, lists as ArrayList.
    state["deserialized"] = True
    # The setting overrides as exported, and the diagnostic endpoint of the server it runs on.
    state["setting_overrides"] = [
        {
            "Name": override.name,
            "ComponentName": override.component,
            "SectionName": override.section,
            "Parameters": list(override.parameters.values) if override.parameters else None,
            "Status": override.status,
        }
        for override in report.inventory.trust.setting_overrides
    ]
    state["variant_overrides"] = {"EX01": "<Diagnostics/>"}
    jobs = {}
    for change_set in report.change_sets:
        remediation, rollback = _script_paths(report, change_set, root / "scripts")
        if change_set.server is None:  # org-wide: the partner applications, the override
            files: dict[str, bytes] = {}
        else:
            assert change_set.server is not None
            files = _example_files(change_set.server)

        def story(
            slug: str = change_set.slug,
            files: dict[str, bytes] = files,
            remediation: Path = remediation,
            rollback: Path = rollback,
            server: str = change_set.server or "EX01",
            regrant: dict[str, bool] = (
                {"ConfirmRegrant": True}
                if change_set.kind is ChangeKind.PARTNER_APPLICATIONS
                else {}
            ),
        ) -> Story:
            standin = harness.StandIn(root / slug, state, computer_name=server)
            scenarios.lay_out(standin, files)
            return Story(standin=standin, relative_paths=sorted(files)).play(
                ("whatif", remediation, {"WhatIf": True}),
                ("remediation", remediation, {"Confirm": False}),
                ("remediation-again", remediation, {"Confirm": False}),
                ("rollback", rollback, {"Confirm": False, **regrant}),
            )

        jobs[change_set.slug] = story
    return harness.run_stories(jobs)


def test_the_example_audit_plans_every_kind_of_change_but_the_evosts() -> None:
    # The partner applications, each server's web.config and, as the example's hybrid trust
    # lacks the dedicated-app override (HT001), that override; its EvoSTS AuthServer is valid,
    # so no AuthServer change.
    kinds = {change_set.kind for change_set in scenarios.example_report().change_sets}
    assert kinds == set(ChangeKind) - {ChangeKind.EVOSTS_AUTH_SERVERS}


def test_example_dedicated_app_override_lands_and_rolls_back(stories: dict[str, Story]) -> None:
    story = stories["dedicated-app-override"]
    whatif = story.runs["whatif"]
    assert whatif.exit_code == 0, whatif.describe()
    assert whatif.state == story.state_before["whatif"]

    run = story.runs["remediation"]
    assert run.exit_code == 0, run.describe()
    dedicated = [
        o
        for o in run.state["setting_overrides"]
        if o["SectionName"] == "ExchangeOnpremAsThirdPartyAppId"
    ]
    assert [(o["ComponentName"], o["Parameters"]) for o in dedicated] == [
        ("Global", ["Enabled=true"])
    ]
    others = [o for o in run.state["setting_overrides"] if o not in dedicated]
    assert others == story.state_before["remediation"]["setting_overrides"]  # untouched
    assert "AUDITOR-CHANGED: " in run.output

    again = story.runs["remediation-again"]
    assert again.exit_code == 0 and again.changing_calls() == [], again.describe()

    rollback = story.runs["rollback"]
    assert rollback.exit_code == 0, rollback.describe()
    assert (
        rollback.state["setting_overrides"]
        == story.state_before["remediation"]["setting_overrides"]
    )


def test_example_partner_application_change_lands_and_rolls_back(
    stories: dict[str, Story],
) -> None:
    story = stories["partner-applications"]
    change_set = next(
        cs
        for cs in scenarios.example_report().change_sets
        if cs.kind is ChangeKind.PARTNER_APPLICATIONS
    )
    whatif = story.runs["whatif"]
    assert whatif.exit_code == 0 and whatif.state == story.state_before["whatif"], whatif.describe()

    run = story.runs["remediation"]
    assert run.exit_code == 0, run.describe()
    expected = json.loads(json.dumps(story.state_before["remediation"]))
    for change in change_set.partner_applications:
        for app in expected["applications"]:
            if app["ApplicationIdentifier"] == change.application_identifier:
                app["AppOnlyPermissions"] = list(change.target_app_only) or None
    assert run.state == expected
    assert len(run.changing_calls()) == len(change_set.partner_applications)

    again = story.runs["remediation-again"]
    assert again.exit_code == 0 and again.changing_calls() == [], again.describe()
    assert "AUDITOR-ALREADY-COMPLIANT" in again.output

    rollback = story.runs["rollback"]
    assert rollback.exit_code == 0, rollback.describe()
    assert rollback.state == story.state_before["remediation"]


@pytest.mark.parametrize("server", ["EX01", "EX02"])
def test_example_web_config_change_lands_and_rolls_back(
    stories: dict[str, Story], server: str
) -> None:
    slug = f"web-config-{server.lower()}"
    story = stories[slug]
    change_set = next(cs for cs in scenarios.example_report().change_sets if cs.slug == slug)
    whatif = story.runs["whatif"]
    assert whatif.exit_code == 0, whatif.describe()
    assert story.files_after["whatif"] == story.files_before["whatif"]

    run = story.runs["remediation"]
    assert run.exit_code == 0, run.describe()
    for change in change_set.web_configs:
        before = story.files_before["remediation"][change.relative_path]
        after = story.files_after["remediation"][change.relative_path]
        assert hashlib.sha256(before).hexdigest() == change.audited_sha256
        start, end = scenarios.profiles_value_span(before)
        assert after == before[:start] + change.target_value.encode() + before[end:]
    untouched = set(story.relative_paths) - {c.relative_path for c in change_set.web_configs}
    for path in untouched:
        assert story.files_after["remediation"][path] == story.files_before["remediation"][path]
    assert run.state["app_pools"][harness.REST_APP_POOL]["recycles"] == 1

    again = story.runs["remediation-again"]
    assert again.exit_code == 0 and again.changing_calls() == [], again.describe()
    assert story.files_after["remediation-again"] == story.files_before["remediation-again"]

    rollback = story.runs["rollback"]
    assert rollback.exit_code == 0, rollback.describe()
    assert story.files_after["rollback"] == story.files_before["remediation"]


# --- the collection script ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    harness.require_pwsh()
    root = tmp_path_factory.mktemp("collect")
    report = scenarios.example_report()
    state = scenarios.state_from_inventory(report.inventory)
    standin = harness.StandIn(root / "server", state)
    # The collection script names the server after the machine; the stand-in must know it.
    # .NET's Environment.MachineName on Linux/macOS: the host name up to the first dot.
    machine = socket.gethostname().split(".")[0]
    state["servers"][0]["Name"] = machine
    standin.write_state(state)
    files = _example_files("EX01")
    files["ClientAccess\\exchWeb\\EWS\\web.config"] = files["FrontEnd\\HttpProxy\\EWS\\web.config"]
    scenarios.lay_out(standin, files)
    script = scenarios.write_script(root / "scripts", "collect.ps1", scenarios.render_collect())
    state_before = standin.state_bytes()
    out = root / "out"
    run = standin.run(script, "-OutDir", harness.ps_quote(str(out)))
    return {
        "run": run,
        "machine": machine,
        "out": out,
        "files": files,
        "state_before": state_before,
        "state_after": standin.state_bytes(),
        "installed_after": scenarios.read_installed(standin, sorted(files)),
        "report": report,
    }


def test_collection_is_read_only(collected: dict[str, Any]) -> None:
    run: harness.Run = collected["run"]
    assert run.exit_code == 0, run.describe()
    assert run.changing_calls() == []
    assert collected["state_after"] == collected["state_before"]
    assert collected["installed_after"] == collected["files"]
    for call in run.calls:
        assert call["parameters"].get("ErrorAction") == "Stop", call


def test_collection_copies_every_web_config_byte_for_byte_with_hashes(
    collected: dict[str, Any],
) -> None:
    server_dir: Path = collected["out"] / collected["machine"]
    # The hash list (sha256sum format); its file name is the collection script's to choose.
    (sums_file,) = [p for p in server_dir.iterdir() if "sha256" in p.name.lower()]
    sums = {}
    for line in sums_file.read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        sums[name] = digest
    for relative_path, content in collected["files"].items():
        copy = server_dir.joinpath(*relative_path.split("\\"))
        assert copy.read_bytes() == content, relative_path
        assert sums["/".join(relative_path.split("\\"))] == hashlib.sha256(content).hexdigest()
    for name, digest in sums.items():
        assert hashlib.sha256((server_dir / name).read_bytes()).hexdigest() == digest


def test_auditor_reads_back_what_the_collection_script_wrote(collected: dict[str, Any]) -> None:
    inventory = read_inventory([collected["out"]])
    exported = {
        app.application_identifier: app
        for app in collected["report"].inventory.partner_applications
    }
    read = {app.application_identifier: app for app in inventory.partner_applications}
    assert set(read) == set(exported)
    for app_id, app in read.items():
        assert app.name == exported[app_id].name
        assert app.app_only_permissions.values == exported[app_id].app_only_permissions.values
        assert app.app_only_permissions.complete
        assert app.act_as_permissions.values == exported[app_id].act_as_permissions.values
    servers = {config.server for config in inventory.web_configs}
    assert servers == {collected["machine"]}
    assert {config.vdir for config in inventory.web_configs} >= {
        "Default Web Site/API",
        "Default Web Site/EWS",
    }


# --- the runbook's expected output is what the scripts print -------------------------------------


def test_each_step_prints_the_output_the_runbook_expects(stories: dict[str, Story]) -> None:
    """RUNBOOK.md lists, per step, the AUDITOR-* lines a successful run prints: the example's
    scripts print exactly those lines (the install path aside), remediation and rollback."""
    import re

    from auditor.render.story import change_story, code_text

    story_of = change_story(scenarios.example_report(), code_text)
    for kind, steps in (("remediation", story_of.steps), ("rollback", story_of.back_out)):
        for step in steps:
            slug = step.script.removeprefix(f"{kind}/").removesuffix(".ps1")
            printed = [line.strip() for line in stories[slug].runs[kind].output.splitlines()]
            for expected in step.expect:
                # The stand-in's install folder is a Linux path: either separator.
                pattern = (
                    re.escape(expected)
                    .replace(re.escape("<Exchange install path>"), r".+")
                    .replace(re.escape("<this server>"), r".+")
                    .replace(re.escape("<backup folder>"), r".+")
                    .replace(re.escape("\\"), r"[\\/]")
                )
                assert any(re.fullmatch(pattern, line) for line in printed), (
                    slug,
                    kind,
                    expected,
                    [line for line in printed if line.startswith("AUDITOR-")],
                )
