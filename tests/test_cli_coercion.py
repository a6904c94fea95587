"""Command-line values are coerced as declared, through Typer's public API only.

A choice is case-sensitive and names its allowed values; `--jobs` takes a whole number of at
least 1 (`min=1`); a file name that is not UTF-8 reaches the command and is shown escaped.
Every refusal is one `error:` line naming the option and the help to read, exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_main

from auditor import cli
from auditor.resources import examples_dir

PARTNER_APPLICATIONS = str(examples_dir() / "EX01" / "PartnerApplication.xml")


@pytest.fixture(autouse=True)
def fresh_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv(cli.POLICY_ENV, raising=False)


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ("audit", "--fail-on", "nope", "--no-package"),
            "Invalid value for '--fail-on': Value error, 'nope' is not one of 'critical', "
            "'high', 'medium', 'low', 'info'. (see `auditor audit --help`)",
        ),
        (
            ("audit", "--fail-on", "HIGH", "--no-package"),
            "Invalid value for '--fail-on': Value error, 'HIGH' is not one of 'critical', "
            "'high', 'medium', 'low', 'info'. (see `auditor audit --help`)",
        ),
        (
            ("audit", "--format", "nope"),
            "Invalid value for '--format': Value error, 'nope' is not one of 'text', 'json', "
            "'sarif', 'markdown', 'junit', 'github', 'gitlab'. (see `auditor audit --help`)",
        ),
        (
            ("audit", "--jobs", "0", "--no-package"),
            "Invalid value for '--jobs' / '-j': Input should be greater than or equal to 1 "
            "(see `auditor audit --help`)",
        ),
        (
            ("parse", "--jobs", "x", PARTNER_APPLICATIONS),
            "Invalid value for '--jobs' / '-j': Input should be a valid integer, unable to "
            "parse string as an integer (see `auditor parse --help`)",
        ),
        (
            ("--color", "nope", "rules"),
            "Invalid value for '--color': Value error, 'nope' is not one of 'auto', 'always', "
            "'never'. (see `auditor --help`)",
        ),
        (
            ("rules", "--format", "JSON"),
            "Invalid value for '--format': Value error, 'JSON' is not one of 'text', 'json'. "
            "(see `auditor rules --help`)",
        ),
        (("parse", "\udcff"), "no such file or folder: \\udcff"),
        (("verify",), "Missing argument 'DIR'. (see `auditor verify --help`)"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else "",
)
def test_a_refused_value_is_one_error_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    error: str,
) -> None:
    assert run_main(monkeypatch, *args) == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"error: {error}"]
    assert captured.out == ""


def test_accepted_values_reach_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_main(monkeypatch, "rules", "--format", "json") == 0
    rules = json.loads(capsys.readouterr().out)
    assert "PA001" in {rule["id"] for rule in rules}

    # A whole number with leading zeros is that number; the inventory is read all the same.
    assert run_main(monkeypatch, "parse", "--jobs", "007", "--json", PARTNER_APPLICATIONS) == 0
    inventory = json.loads(capsys.readouterr().out)
    assert len(inventory["partner_applications"]) == 5
