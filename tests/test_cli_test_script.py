"""`scripts/test.sh` on an air-gapped machine: no NuGet, so no PowerShell, and still a pass.

The project is copied to a fresh folder (no `.venv`, no `.tools`), pip installs from the
wheelhouse, and NuGet is made unreachable through the user's NuGet configuration (the only
package source is a closed local port). The script must skip the PowerShell tests with one
visible reason and pass, and fail when `AUDITOR_REQUIRE_ALL=1`, as in `.ci/run`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
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


def test_test_script_fails_without_powershell_when_everything_is_required(
    project_copy: Path, tmp_path: Path
) -> None:
    completed = subprocess.run(
        ["bash", "scripts/test.sh"],
        cwd=project_copy,
        env=_environment(tmp_path / "home", AUDITOR_REQUIRE_ALL="1", AUDITOR_SETUP_ONLY="1"),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    assert completed.returncode == 1
    assert "error: PowerShell is required (AUDITOR_REQUIRE_ALL=1) and missing: " in (
        completed.stderr
    )
