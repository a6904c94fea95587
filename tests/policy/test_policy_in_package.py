"""The package names a policy file without the analyst's machine path: `default` for the shipped
one, the file name and its SHA-256 for any other, however the file was given (`--policy` with an
absolute path, or `$AUDITOR_POLICY`)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor import cli
from auditor.resources import examples_dir

POLICY = """\
version: 1
name: org
extends: default
waivers:
  - rule: PA005
    subject: partner-application:*
    reason: vendor apps under review
    ticket: RISK-2
    owner: ops
    approver: ciso
    expires: 2026-01-10
  - rule: WC001
    subject: web-config:EX02:*
    reason: pilot
    ticket: RISK-3
    owner: ops
    approver: ciso
    expires: 2026-02-30
"""


@pytest.fixture(autouse=True)
def fresh_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)


@pytest.mark.parametrize("given_by", ["--policy", "AUDITOR_POLICY"])
def test_a_package_built_with_an_absolute_policy_path_holds_no_machine_path(
    given_by: str, tmp_path: Path
) -> None:
    policy = tmp_path / "policies" / "org.yaml"
    policy.parent.mkdir()
    policy.write_text(POLICY, encoding="utf-8")
    shutil.copytree(examples_dir(), tmp_path / "work" / "in")
    options = ["--policy", str(policy)] if given_by == "--policy" else []
    env = {"COLUMNS": "80", cli.POLICY_ENV: str(policy) if given_by != "--policy" else None}

    result = CliRunner().invoke(
        cli.app,
        ["audit", "in", "--out", "pkg", "--as-of", "2026-11-26", *options],
        prog_name="auditor",
        env=env,
    )

    assert result.exit_code == 1, result.output
    package = tmp_path / "work" / "pkg"
    files = sorted(path for path in package.rglob("*") if path.is_file())
    assert len(files) > 6
    for path in files:
        data = path.read_bytes()
        for text in (str(tmp_path), str(policy.parent)):
            assert text.encode() not in data, path.name
            assert text.encode("utf-16-le") not in data, path.name
    findings = json.loads((package / "findings.json").read_text(encoding="utf-8"))
    assert findings["policy"]["sources"] == ["default", "org.yaml"]
    assert findings["policy"]["files"][1] == {
        "name": "org.yaml",
        "sha256": hashlib.sha256(POLICY.encode()).hexdigest(),
    }
    wv001 = [f["location"] for f in findings["findings"] if f["rule_id"] == "WV001"]
    assert wv001 == [{"path": "org.yaml", "line": 5}, {"path": "org.yaml", "line": 12}]


def test_policy_validate_still_shows_the_path_as_given(tmp_path: Path) -> None:
    policy = tmp_path / "work" / "sub" / "org.yaml"
    policy.parent.mkdir()
    policy.write_text(POLICY[: POLICY.index("  - rule: WC001")], encoding="utf-8")

    result = CliRunner().invoke(
        cli.app,
        ["policy", "validate", "sub/org.yaml", "--as-of", "2026-11-26"],
        prog_name="auditor",
        env={"COLUMNS": "80", cli.POLICY_ENV: None},
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("error: sub/org.yaml:5: waiver of PA005"), result.stderr
