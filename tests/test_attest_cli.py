"""`auditor attest` as an operator reads it: checks in words (no Python reprs), every error one
`error: file[:line]: message` line on stderr, exit 1 for a difference and 2 when nothing could be
attested."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
from conftest import run_cli as invoke

from auditor.resources import examples_dir

AS_OF = "2026-11-26"
# A list, a quoted string or None as Python prints them.
PYTHON_REPR = re.compile(r"\[\s*'|\[\]|'[^' ]*'|\bNone\b")
ERROR_LINE = re.compile(r"error: [^\s:][^:]*(:\d+)?: \S")


pytestmark = pytest.mark.usefixtures("fresh_cli")


@pytest.fixture
def package(tmp_path: Path) -> Path:
    shutil.copytree(examples_dir(), tmp_path / "before")
    assert invoke("audit", "before", "--out", "p", "--as-of", AS_OF).exit_code == 1
    return tmp_path / "p"


def _rewrite(package: Path, name: str, data: bytes) -> None:
    """Replace one file of the package and its manifest line, as a forger would."""
    (package / name).write_bytes(data)
    manifest = package / "MANIFEST.sha256"
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    digest = hashlib.sha256(data).hexdigest()
    manifest.write_text(
        "".join(
            f"{digest}  {name}\n" if line.rstrip("\r\n").endswith(f"  {name}") else line
            for line in lines
        ),
        encoding="utf-8",
    )


def test_a_change_that_did_not_land_is_told_in_words(package: Path) -> None:
    result = invoke("attest", "--before", "before", "--after", "before", "--package", "p")

    assert result.exit_code == 1
    assert not PYTHON_REPR.search(result.stdout), result.stdout
    text = " ".join(result.stdout.split())  # undo the wrapping at 80 columns
    assert (
        "FAIL 00000003-0000-0000-c000-000000000000: after, AppOnlyPermissions equal the "
        "approved list: none (also holds Mail.Read, Mail.Write, Mail.Send," in text
    )
    assert "before, AppOnlyPermissions equal the audited list (29 names)" in text
    assert re.search(
        r"FAIL EX01 Default Web Site/API: after, OAuthHttpModule\.Profiles equals the target "
        r'"[^"]+" \(found "[^"]+V1S2SAppOnly"\)',
        text,
    )
    assert "attest: 8 of 39 checks failed" in text  # the override did not land either
    assert result.stderr == ""


def test_exports_that_cannot_be_read_are_error_lines_and_exit_2(
    package: Path, tmp_path: Path
) -> None:
    (tmp_path / "after").mkdir()
    (tmp_path / "after" / "x.xml").write_text("garbage\n")

    result = invoke("attest", "--before", "before", "--after", "after", "--package", "p")

    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines and all(ERROR_LINE.match(line) for line in lines), lines
    assert (
        lines[-1]
        == "error: after: 2 problem(s) reading these exports (above); nothing was attested"
    )
    assert any(line.startswith("error: after/x.xml: not an export auditor reads") for line in lines)
    assert not PYTHON_REPR.search(result.stderr)


def test_a_plan_that_is_not_json_is_named_with_its_line(package: Path) -> None:
    _rewrite(package, "plan.json", b'{\n  "schema_version": 1,\n  oops\n}\n')

    result = invoke("attest", "--before", "before", "--after", "before", "--package", "p")

    assert result.exit_code == 2
    assert result.stderr == (
        "error: p/plan.json:3: not JSON: Expecting property name enclosed in double quotes "
        "(column 3)\n"
    )


def test_a_plan_outside_the_schema_is_named_in_words(package: Path) -> None:
    text = (package / "plan.json").read_text(encoding="utf-8")
    _rewrite(
        package, "plan.json", text.replace('"schema_version": 1', '"schema_version": null').encode()
    )

    result = invoke("attest", "--before", "before", "--after", "before", "--package", "p")

    assert result.exit_code == 2
    assert result.stderr == (
        "error: p/plan.json: not a valid auditor plan: at schema_version: expected one of 1\n"
    )


def test_a_tampered_package_is_one_error_line(package: Path) -> None:
    (package / "summary.md").write_text("tampered\n")

    result = invoke("attest", "--before", "before", "--after", "before", "--package", "p")

    assert result.exit_code == 1
    assert result.stderr == (
        "error: p/MANIFEST.sha256: the package does not match its manifest; nothing was attested\n"
    )
    assert result.stdout.startswith("DIFFERS  summary.md: sha256")
