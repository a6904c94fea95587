"""Trustworthy verdicts through the command line: never PASS on evidence that was not read, never
lose a user's file, never a traceback (issue 11, the discovery, fold and package cases).

Each test runs `auditor audit` as a user would and asserts the exit code, the problem or finding,
and its file and line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import audit_cli
from typer.testing import CliRunner, Result

from auditor import cli
from auditor.parsers import read_inventory
from auditor.resources import examples_dir

AS_OF = "2026-11-26"
GRAPH = "00000003-0000-0000-c000-000000000000"
runner = CliRunner()
EXPORT = examples_dir() / "EX01" / "PartnerApplication.xml"


def audit(*args: str) -> Result:
    return audit_cli(*args, as_of=AS_OF)


def findings_json(package: Path) -> dict[str, object]:
    document = json.loads((package / "findings.json").read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


pytestmark = pytest.mark.usefixtures("fresh_cli")


# --- an audit that read nothing -----------------------------------------------------------------


def test_an_empty_folder_is_incomplete_not_pass(tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()

    result = audit("exports", "--out", "p")

    assert result.exit_code == 2
    assert "INCOMPLETE" in result.stdout
    assert result.stderr == (
        "error: exports: no partner-application export and no web.config was read from "
        "exports: no file was read, 0 skipped as never an export; nothing was audited, so the "
        "audit is incomplete: give the exports `auditor collect` writes\n"
    )
    document = findings_json(tmp_path / "p")
    assert document["complete"] is False and document["verdict"] == "incomplete"


def test_a_folder_of_documentation_only_is_incomplete_and_lists_what_it_skipped(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("README.md", "LICENSE", "NOTICE.txt", ".DS_Store", "Thumbs.db"):
        (folder / name).write_bytes(b"x\n")

    result = audit("exports", "--out", "p")

    assert result.exit_code == 2
    assert "5 skipped as never an export" in result.stderr
    assert findings_json(tmp_path / "p")["skipped_inputs"] == [
        "exports/.DS_Store",
        "exports/LICENSE",
        "exports/NOTICE.txt",
        "exports/README.md",
        "exports/Thumbs.db",
    ]


@pytest.mark.parametrize(
    "name",
    [
        "notice-PartnerApplication.xml",
        "readme-export.xml",
        ".PartnerApplication.xml",
        # Documentation names: read because the content is an export (issue 20).
        "something.md",
        "README",
        "LICENSE.txt",
        "notes.MD",
    ],
)
def test_an_export_with_a_name_the_walker_used_to_skip_is_read(name: str, tmp_path: Path) -> None:
    (tmp_path / "exports").mkdir()
    shutil.copy(EXPORT, tmp_path / "exports" / name)

    result = audit("exports", "--out", "p", "--scope", "partner-applications")

    assert result.exit_code == 1
    pa001 = next(f for f in findings_json(tmp_path / "p")["findings"] if f["rule_id"] == "PA001")  # type: ignore[union-attr]
    assert pa001["location"] == {"path": f"exports/{name}", "line": 107}


# --- one object, many exports ------------------------------------------------------------------


def test_the_same_application_in_every_server_export_is_one_record(tmp_path: Path) -> None:
    for server in ("EX01", "EX02", "EX03"):
        (tmp_path / "exports" / server).mkdir(parents=True)
        shutil.copy(EXPORT, tmp_path / "exports" / server / "PartnerApplication.xml")

    result = audit("exports", "--out", "p", "--scope", "partner-applications")

    assert result.exit_code == 1
    findings = findings_json(tmp_path / "p")["findings"]
    assert isinstance(findings, list)
    assert [f["rule_id"] for f in findings].count("PA001") == 1
    inventory = read_inventory([tmp_path / "exports"])
    graph = next(a for a in inventory.partner_applications if a.application_identifier == GRAPH)
    assert graph.source.path == "exports/EX01/PartnerApplication.xml"
    assert [source.path for source in graph.also_in] == [
        "exports/EX02/PartnerApplication.xml",
        "exports/EX03/PartnerApplication.xml",
    ]
    assert len(inventory.partner_applications) == 5


def test_two_exports_that_disagree_are_one_located_problem(tmp_path: Path) -> None:
    (tmp_path / "exports" / "EX01").mkdir(parents=True)
    (tmp_path / "exports" / "EX02").mkdir(parents=True)
    shutil.copy(EXPORT, tmp_path / "exports" / "EX01" / "PartnerApplication.xml")
    text = EXPORT.read_bytes().decode("utf-16")
    changed = text.replace("<S>Mail.Send</S>", "<S>Mail.Sent</S>", 1)
    assert changed != text
    (tmp_path / "exports" / "EX02" / "PartnerApplication.xml").write_bytes(changed.encode("utf-16"))

    result = audit("exports", "--out", "p")

    assert result.exit_code == 2
    (conflict,) = [line for line in result.stderr.splitlines() if "disagree" in line]
    assert conflict.startswith(
        f"error: exports/EX02/PartnerApplication.xml:85: two exports disagree on partner "
        f"application {GRAPH}: AppOnlyPermissions is {{Mail.Read, Mail.Write, Mail.Send, "
    )
    assert "in exports/EX01/PartnerApplication.xml:85 but {Mail.Read, Mail.Write, Mail.Sent," in (
        conflict
    )


def test_server_option_is_refused_on_a_multi_server_tree(tmp_path: Path) -> None:
    result = audit(str(examples_dir()), "--server", "EX09", "--out", "p")

    assert result.exit_code == 2
    assert result.stderr == (
        "error: --server EX09 cannot apply: the folder layout already names 2 servers "
        "(EX01, EX02); --server is only for inputs whose layout names no server: audit them "
        "without it\n"
    )
    assert not (tmp_path / "p").exists()


def test_server_option_names_the_server_of_a_loose_web_config(tmp_path: Path) -> None:
    rest = examples_dir() / "EX01" / "FrontEnd" / "HttpProxy" / "Rest" / "web.config"
    shutil.copy(rest, tmp_path / "DefaultWebSite-Rest_web.config")

    result = audit(
        "DefaultWebSite-Rest_web.config", "--server", "EX09", "--out", "p", "--scope", "web-config"
    )

    assert result.exit_code == 1
    subjects = {f["subject"] for f in findings_json(tmp_path / "p")["findings"]}  # type: ignore[union-attr]
    assert "web-config:EX09:Default Web Site/API" in subjects


@pytest.mark.parametrize("server", ["EX09'; Stop-Computer", "..", "-EX09", "EX\n09", ""])
def test_server_option_must_be_a_server_name(server: str, tmp_path: Path) -> None:
    rest = examples_dir() / "EX01" / "FrontEnd" / "HttpProxy" / "Rest" / "web.config"
    shutil.copy(rest, tmp_path / "DefaultWebSite-Rest_web.config")

    result = audit("DefaultWebSite-Rest_web.config", "--server", server, "--out", "p")

    assert result.exit_code == 2
    assert result.stderr.startswith("error: --server ")
    assert "not a server name; expected a server (host) name such as EX01" in result.stderr
    assert not (tmp_path / "p").exists()


# --- never a traceback ------------------------------------------------------------------------


def test_lone_surrogates_and_file_names_that_are_not_utf8(tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    document = [
        {
            "Name": "Graph\ud800",
            "ApplicationIdentifier": GRAPH,
            "Enabled": True,
            "ActAsPermissions": ["Mail.Send", "X\udc80"],
            "AppOnlyPermissions": ["Mail.Send", "X\udc80"],
            "LinkedAccount": None,
        }
    ]
    name = os.fsencode(folder) + b"/caf\xe9-PartnerApplication.json"
    with open(name, "w", encoding="ascii") as handle:
        json.dump(document, handle)

    result = audit("exports", "--out", "p", "--scope", "partner-applications")

    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.output
    paths = {f["location"]["path"] for f in findings_json(tmp_path / "p")["findings"]}  # type: ignore[union-attr, index]
    assert paths == {"exports/caf\\xe9-PartnerApplication.json"}
    assert runner.invoke(cli.app, ["verify", "p"]).exit_code == 0


# --- never a lost file --------------------------------------------------------------------------


def _copy_example(tmp_path: Path, *, notes: bool = False) -> Path:
    target = tmp_path / "exports"
    shutil.copytree(examples_dir(), target)
    if notes:
        (target / "notes.txt").write_text("my notes\n")
    return target


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.parametrize("out", ["exports", "."], ids=["equal", "above"])
def test_an_out_that_overlaps_an_input_is_refused_before_anything_is_written(
    out: str, tmp_path: Path
) -> None:
    exports = _copy_example(tmp_path, notes=True)
    before = _tree(tmp_path)

    result = audit("exports", "--out", out, "--force")

    assert result.exit_code == 2
    assert "the package folder would equal or contain the input exports" in result.stderr
    assert _tree(tmp_path) == before
    assert (exports / "notes.txt").read_text() == "my notes\n"


@pytest.mark.parametrize("out", ["exports/pkg", "exports/EX01/pkg"], ids=["inside", "deep"])
def test_a_package_inside_an_input_is_never_read_back(out: str, tmp_path: Path) -> None:
    """`reports/` inside a repository audited as `.`: the package is written, and neither this
    run nor the next reads it (a note says why)."""
    _copy_example(tmp_path)
    first = audit("exports", "--out", out, "--change-id", "C-1")
    assert first.exit_code == 1, first.output
    assert (tmp_path / out / "MANIFEST.sha256").is_file()

    again = audit("exports", "--out", "other", "--change-id", "C-1")

    assert again.exit_code == 1, again.output
    assert f"note: not read: {out}/: an auditor change package" in again.stderr
    document = findings_json(tmp_path / "other")
    assert document["inputs"] == findings_json(tmp_path / out)["inputs"]
    # what earlier runs left in the tree is not in the package: it stays reproducible
    assert document["excluded_inputs"] == document["skipped_inputs"] == []


def test_force_replaces_only_an_earlier_package(tmp_path: Path) -> None:
    _copy_example(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me\n")

    refused = audit("exports", "--out", "mine", "--force")
    assert refused.exit_code == 2
    assert "mine: not an earlier auditor package" in refused.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me\n"

    assert audit("exports", "--out", "pkg").exit_code == 1
    assert audit("exports", "--out", "pkg").exit_code == 2  # not empty, no --force
    assert audit("exports", "--out", "pkg", "--force").exit_code == 1
    (tmp_path / "pkg" / "extra.txt").write_text("added by hand\n")
    again = audit("exports", "--out", "pkg", "--force")
    assert again.exit_code == 2
    assert (tmp_path / "pkg" / "extra.txt").is_file()


# --- the package does not depend on how inputs were named ---------------------------------------


def test_relative_absolute_and_other_working_folder_give_the_same_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _copy_example(tmp_path)
    (tmp_path / "elsewhere").mkdir()

    assert audit("exports", "--out", "relative", "--change-id", "C-1").exit_code == 1
    absolute = str(tmp_path / "exports")
    assert audit(absolute, "--out", "absolute", "--change-id", "C-1").exit_code == 1
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert audit("../exports", "--out", "../other", "--change-id", "C-1").exit_code == 1
    monkeypatch.chdir(tmp_path)

    relative = _tree(tmp_path / "relative")
    assert _tree(tmp_path / "absolute") == relative
    assert _tree(tmp_path / "other") == relative
    for name, data in relative.items():
        assert str(tmp_path).encode() not in data, name
        assert b"/elsewhere" not in data, name
    assert b'"path": "exports/EX01/PartnerApplication.xml"' in relative["findings.json"]


# --- bounded work -------------------------------------------------------------------------------


def test_the_layout_check_lists_each_folder_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = tmp_path / "EX01"
    (server / "FrontEnd").mkdir(parents=True)
    for number in range(300):
        (server / f"export-{number:03}.txt").write_text("Name : x\nId   : y\n")
    listed: list[Path] = []
    real_iterdir = Path.iterdir

    def counting_iterdir(self: Path):  # type: ignore[no-untyped-def]
        listed.append(self)
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", counting_iterdir)

    inventory = read_inventory([server])

    assert len(inventory.inputs) == 300
    assert listed == []  # the walk already listed the folder; no file lists it again


def test_parse_before_and_after_in_a_fresh_process(tmp_path: Path) -> None:
    """The console script itself: an empty folder is exit 2 with one error line."""
    (tmp_path / "empty").mkdir()
    completed = subprocess.run(
        [sys.executable, "-m", "auditor", "parse", "empty"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )

    assert completed.returncode == 2
    assert completed.stderr.startswith("error: empty: no partner-application export")
    assert len(completed.stderr.splitlines()) == 1
