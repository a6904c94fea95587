"""The inner loop (tests/conftest.py): a plain `pytest` leaves out the tests that start
PowerShell, Chromium or a whole installation, and any test that starts one is marked so."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import PROJECT_ROOT, marker_for_command

VENV_SITE = "/p/.venv/lib/python3.11/site-packages"


@pytest.mark.parametrize(
    ("command", "marker"),
    [
        pytest.param(["/p/.tools/pwsh/pwsh", "-NoProfile", "-File", "x.ps1"], "pwsh", id="pwsh"),
        pytest.param(["dotnet", "/store/pwsh.dll", "-Command", "1"], "pwsh", id="pwsh-dll"),
        pytest.param(["C:\\Windows\\powershell.exe", "-File", "x.ps1"], "pwsh", id="windows"),
        pytest.param(["/usr/bin/chromium", "--headless"], "browser", id="chromium"),
        pytest.param(
            [
                f"{VENV_SITE}/playwright/driver/node",
                f"{VENV_SITE}/playwright/driver/package/cli.js",
            ],
            "browser",
            id="playwright-driver",
        ),
        pytest.param([sys.executable, "-m", "pip", "install", "."], None, id="python"),
        pytest.param(["bash", "scripts/test.sh"], None, id="bash"),
        pytest.param(["git", "log", "--", "pwsh-notes.txt"], None, id="a-name-that-mentions-pwsh"),
    ],
)
def test_a_started_process_needs_the_marker_of_what_it_is(
    command: list[str], marker: str | None
) -> None:
    assert marker_for_command(command) == marker


def _collected(*args: str) -> list[str]:
    """The test ids `pytest --collect-only ARGS` (no paths: the testpaths) lists; exit 0."""
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", "-p", "no:syrupy"]
    listed = subprocess.run(
        [*command, *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    return [line for line in listed.stdout.splitlines() if "::" in line]


def test_a_plain_pytest_leaves_out_the_marked_tests() -> None:
    ids = _collected()

    assert "tests/test_inner_loop.py::test_a_plain_pytest_leaves_out_the_marked_tests" in ids
    assert "tests/test_cli_test_script.py::test_a_failing_test_run_fails_the_script" in ids
    left_out = ("tests/pwsh/", "tests/browser/", "tests/test_install", "tests/ps1/test_ps1_pwsh")
    assert not [i for i in ids if i.startswith(left_out)]
    assert not [i for i in ids if "test_test_script_skips_powershell" in i]


def test_a_selection_of_only_marked_tests_runs_them_instead_of_nothing() -> None:
    """`pytest -k NAME` naming only slow tests runs them: never "no tests ran" (exit 5)."""
    assert _collected("-k", "test_test_script_skips_powershell") == [
        "tests/test_cli_test_script.py::test_test_script_skips_powershell_with_one_reason_and_passes"
    ]
