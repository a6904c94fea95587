"""The built wheel carries the policies and templates, and the installed tool runs without the
source tree (DESIGN.md section 3: hatch force-include)."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_wheel_runs_the_audit_without_the_source_tree(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheels"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheel_dir),
            ".",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheel_dir.glob("auditor-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "auditor/_data/policies/default.yaml" in names
    assert "auditor/_data/templates/ps1/partner-applications.remediation.ps1.j2" in names
    assert "auditor/_data/templates/html/report.html.j2" in names
    assert "auditor/examples/EX01/PartnerApplication.xml" in names

    # Install into a fresh environment that reuses this one's dependencies, then run from a
    # folder far from the checkout.
    env_dir = tmp_path / "env"
    venv.create(env_dir, system_site_packages=False, with_pip=False)
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    deps = [p for p in sys.path if p.endswith("site-packages")]
    (site / "deps.pth").write_text("\n".join(deps) + "\n", encoding="utf-8")
    python = env_dir / "bin" / "python"
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    ran = subprocess.run(
        [str(python), "-I", "-m", "auditor", "audit", "--out", "pkg", "--as-of", "2026-11-26"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "FAIL" in ran.stdout
    located = subprocess.run(
        [str(python), "-I", "-c", "import auditor; print(auditor.__file__)"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    assert str(PROJECT_ROOT / "auditor") not in located.stdout
    assert (workdir / "pkg" / "remediation" / "partner-applications.ps1").is_file()
