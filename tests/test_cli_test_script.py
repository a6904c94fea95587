"""`scripts/test.sh`: what it does on a machine with PowerShell, without dotnet, without NuGet.

The fast tests run the script itself against stand-ins for what it starts: a `.venv/bin/python`
that records its arguments (so pip and pytest are seen, not run), a `dotnet` that fails as an
unreachable NuGet does, a `.tools/pwsh/pwsh` that prints its version, and a PATH holding only
them and the tools the script uses. They check each branch: PowerShell found, skipped with one
visible reason, a failure when `AUDITOR_REQUIRE_ALL=1` (as in `.ci/run`), set-up only, and
pytest's exit status passed on.

One slow end-to-end test (`slow`) runs the real thing on an air-gapped copy: the project is
copied to a fresh folder (no `.venv`, no `.tools`), pip installs from the wheelhouse, and NuGet
is made unreachable through the user's NuGet configuration (the only package source is a
closed local port); the script must skip the PowerShell tests with one visible reason and pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, SHARED, skip_or_fail

UNREACHABLE_NUGET = """\
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="unreachable" value="https://127.0.0.1:9/v3/index.json" />
  </packageSources>
</configuration>
"""


def _wheelhouse() -> str:
    """The project's wheelhouse (`../shared/wheels`, as .ci/run uses), else PIP_FIND_LINKS."""
    wheels = SHARED / "wheels"
    if wheels.is_dir():
        return str(wheels)
    given = os.environ.get("PIP_FIND_LINKS", "")
    if not given:
        skip_or_fail(f"no wheelhouse to install from offline ({wheels}, PIP_FIND_LINKS unset)")
    return given


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's files (tracked and new, not ignored) in a folder of their own."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=False,
    )
    if listed.returncode != 0:
        skip_or_fail("the project is not a git checkout; cannot list its files")
    target = tmp_path_factory.mktemp("air-gapped") / "project"
    for name in listed.stdout.decode().split("\0"):
        source = PROJECT_ROOT / name
        if name and source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def _environment(home: Path, **extra: str) -> dict[str, str]:
    (home / ".nuget" / "NuGet").mkdir(parents=True, exist_ok=True)
    (home / ".nuget" / "NuGet" / "NuGet.Config").write_text(UNREACHABLE_NUGET)
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"AUDITOR_REQUIRE_ALL", "AUDITOR_SETUP_ONLY", "VIRTUAL_ENV"}
    }
    environment.update(
        HOME=str(home),
        DOTNET_CLI_HOME=str(home),
        NUGET_PACKAGES=str(home / "nuget-packages"),
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=_wheelhouse(),
        **extra,
    )
    return environment


@pytest.mark.slow
def test_test_script_skips_powershell_with_one_reason_and_passes(
    project_copy: Path, tmp_path: Path
) -> None:
    completed = subprocess.run(
        ["bash", "scripts/test.sh", "tests/test_cli_commands.py", "-k", "test_version", "-q"],
        cwd=project_copy,
        env=_environment(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    (reason,) = [line for line in output.splitlines() if "PowerShell tests skipped" in line]
    if shutil.which("dotnet"):
        assert reason.startswith(
            "PowerShell tests skipped: PowerShell 7.6.9 could not be installed from NuGet"
        )
    else:
        assert reason == "PowerShell tests skipped: dotnet is not installed"
    assert not (project_copy / ".tools" / "pwsh" / "pwsh").exists()
    assert "1 passed" in completed.stdout


# --- the script's branches, with stand-ins for what it starts ---------------------------------

FAKE_PYTHON = """#!/bin/bash
printf '%s\\n' "$*" >> '{log}'
if [ "$2" = pytest ]; then exit "${{PYTEST_EXIT:-0}}"; fi
"""
FAKE_PWSH = "#!/bin/bash\necho 7.6.9\n"
NUGET_UNREACHABLE = (
    "#!/bin/bash\necho\n"
    "echo 'error NU1301: Unable to load the service index for source "
    "https://127.0.0.1:9/v3/index.json.'\n"
    "exit 1\n"
)


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    calls: list[str]  # the argument lists `.venv/bin/python` was started with, in order


def _executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def _run_script(
    root: Path, *args: str, dotnet: str | None = None, pwsh: bool = False, **env: str
) -> Run:
    """`bash scripts/test.sh ARGS` in a folder holding only the script and the stand-ins."""
    project, tools = root / "project", root / "bin"
    (project / "scripts").mkdir(parents=True)
    shutil.copy2(PROJECT_ROOT / "scripts" / "test.sh", project / "scripts" / "test.sh")
    log = root / "python-calls.log"
    _executable(project / ".venv" / "bin" / "python", FAKE_PYTHON.format(log=log))
    if pwsh:
        _executable(project / ".tools" / "pwsh" / "pwsh", FAKE_PWSH)
    tools.mkdir()
    for tool in ("dirname", "grep"):
        found = shutil.which(tool)
        assert found is not None, f"{tool} is needed to run scripts/test.sh"
        (tools / tool).symlink_to(found)
    if dotnet is not None:
        _executable(tools / "dotnet", dotnet)
    completed = subprocess.run(
        [shutil.which("bash") or "/bin/bash", "scripts/test.sh", *args],
        cwd=project,
        env={"PATH": str(tools), "HOME": str(root), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return Run(completed.returncode, completed.stdout, completed.stderr, calls)


PIP_INSTALL = "-m pip install --quiet --disable-pip-version-check -e .[test]"


def test_with_powershell_it_installs_then_runs_every_test_with_the_arguments(
    tmp_path: Path,
) -> None:
    run = _run_script(tmp_path, "tests/parsers", "-x", pwsh=True)

    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["PowerShell: 7.6.9"]
    assert run.calls == [PIP_INSTALL, "-m pytest --all tests/parsers -x"]


@pytest.mark.parametrize(
    ("dotnet", "reason"),
    [
        pytest.param(None, "dotnet is not installed", id="no-dotnet"),
        pytest.param(
            NUGET_UNREACHABLE,
            "PowerShell 7.6.9 could not be installed from NuGet (offline?): error NU1301: "
            "Unable to load the service index for source https://127.0.0.1:9/v3/index.json.",
            id="nuget-unreachable",
        ),
    ],
)
def test_without_powershell_it_says_why_in_one_line_and_still_runs_the_tests(
    tmp_path: Path, dotnet: str | None, reason: str
) -> None:
    run = _run_script(tmp_path, dotnet=dotnet)

    assert run.returncode == 0, run.stderr
    (skipped,) = [line for line in run.stdout.splitlines() if "PowerShell tests skipped" in line]
    assert skipped == f"PowerShell tests skipped: {reason}"
    assert run.calls == [PIP_INSTALL, "-m pytest --all"]


def test_without_powershell_it_fails_when_everything_is_required(tmp_path: Path) -> None:
    run = _run_script(tmp_path, AUDITOR_REQUIRE_ALL="1")

    assert run.returncode == 1
    assert run.stderr == (
        "error: PowerShell is required (AUDITOR_REQUIRE_ALL=1) and missing: "
        "dotnet is not installed\n"
    )
    assert run.calls == [PIP_INSTALL]


def test_set_up_only_installs_and_runs_no_test(tmp_path: Path) -> None:
    run = _run_script(tmp_path, pwsh=True, AUDITOR_SETUP_ONLY="1")

    assert run.returncode == 0, run.stderr
    assert run.calls == [PIP_INSTALL]


def test_a_failing_test_run_fails_the_script(tmp_path: Path) -> None:
    run = _run_script(tmp_path, pwsh=True, PYTEST_EXIT="1")

    assert run.returncode == 1
    assert run.calls[-1] == "-m pytest --all"
