"""The change package on disk: what files it holds, atomic writing, the manifest, verification.

A package is written into a fresh temporary folder beside `--out`, the manifest last, and only
then renamed into place, so an interrupted run never leaves a package that looks complete.
`MANIFEST.sha256` is in `sha256sum` format (`<hex>  <relative/path>`), checkable with
`sha256sum -c` or PowerShell's `Get-FileHash`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from auditor.model import Report

MANIFEST_NAME = "MANIFEST.sha256"
_MANIFEST_LINE = re.compile(r"^([0-9a-f]{64})  ([A-Za-z0-9._/-]+)$")


class PackageError(Exception):
    """The package cannot be written or read; the message names the folder and the reason."""


def package_files(report: Report) -> dict[str, bytes]:
    """Every file of the package except the manifest, by package-relative path, as bytes."""
    from auditor.render.html import render_html
    from auditor.render.json_ import render_findings, render_plan
    from auditor.render.junit import render_junit
    from auditor.render.markdown import render_markdown
    from auditor.render.runbook import render_runbook
    from auditor.render.sarif import render_sarif

    text_renderers: dict[str, Callable[[Report], str]] = {
        "findings.json": render_findings,
        "plan.json": render_plan,
        "findings.sarif": render_sarif,
        "junit.xml": render_junit,
        "summary.md": render_markdown,
        "report.html": render_html,
        "RUNBOOK.md": render_runbook,
    }
    files = {name: render(report).encode("utf-8") for name, render in text_renderers.items()}
    for script in report.scripts:
        files[script.name] = script.content.encode("ascii")
    return files


def manifest_text(files: dict[str, bytes]) -> str:
    """The `sha256sum`-format manifest over `files`, sorted by path."""
    lines = [f"{hashlib.sha256(data).hexdigest()}  {name}" for name, data in sorted(files.items())]
    return "\n".join(lines) + "\n"


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def write_package(report: Report, out_dir: Path, *, force: bool = False) -> dict[str, bytes]:
    """Write the package for `report` to `out_dir` atomically; returns what was written.

    Refuses a non-empty `out_dir` unless `force`; a forced run replaces it only once the new
    package is complete.
    """
    if out_dir.exists() and not out_dir.is_dir():
        raise PackageError(f"{out_dir}: exists and is not a folder")
    if out_dir.is_dir() and not _is_empty_dir(out_dir) and not force:
        raise PackageError(
            f"{out_dir}: folder is not empty; choose another --out or pass --force to replace it"
        )
    files = package_files(report)
    files_with_manifest = dict(files)
    files_with_manifest[MANIFEST_NAME] = manifest_text(files).encode("ascii")
    parent = out_dir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=parent))
    except OSError as error:
        raise PackageError(f"{out_dir}: cannot create the package folder: {error}") from None
    try:
        # The manifest is written last: a staging folder without it is never a package.
        for name in sorted(files):
            _write_file(staging / name, files[name])
        _write_file(staging / MANIFEST_NAME, files_with_manifest[MANIFEST_NAME])
        _replace_dir(staging, out_dir)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise PackageError(f"{out_dir}: writing the package failed: {error}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return files_with_manifest


def _write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _replace_dir(staging: Path, out_dir: Path) -> None:
    os.chmod(staging, 0o755)
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    if _is_empty_dir(out_dir):
        out_dir.rmdir()
        os.rename(staging, out_dir)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.resolve().parent))
    retired.rmdir()
    os.rename(out_dir, retired)
    try:
        os.rename(staging, out_dir)
    except OSError:
        os.rename(retired, out_dir)
        raise
    shutil.rmtree(retired, ignore_errors=True)


@dataclasses.dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of `auditor verify`: files checked and every difference found."""

    checked: int
    differences: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.differences


def verify_package(package_dir: Path) -> VerifyResult:
    """Recompute every hash of a package and compare with its manifest, both ways."""
    manifest_path = package_dir / MANIFEST_NAME
    if not package_dir.is_dir():
        raise PackageError(f"{package_dir}: not a folder")
    try:
        manifest = manifest_path.read_bytes().decode("ascii")
    except FileNotFoundError:
        raise PackageError(f"{manifest_path}: missing; this is not a complete package") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PackageError(f"{manifest_path}: cannot be read: {error}") from None
    differences: list[str] = []
    listed: dict[str, str] = {}
    for number, line in enumerate(manifest.splitlines(), start=1):
        match = _MANIFEST_LINE.fullmatch(line)
        if match is None or ".." in match.group(2).split("/"):
            differences.append(f"{MANIFEST_NAME}:{number}: not a '<sha256>  <path>' line")
            continue
        listed[match.group(2)] = match.group(1)
    present = {
        path.relative_to(package_dir).as_posix()
        for path in package_dir.rglob("*")
        if path.is_file() or path.is_symlink()
    }
    present.discard(MANIFEST_NAME)
    for name in sorted(listed):
        target = package_dir / name
        if name not in present:
            differences.append(f"{name}: listed in the manifest but missing")
            continue
        if target.is_symlink():
            differences.append(f"{name}: is a symbolic link")
            continue
        actual = hashlib.sha256(target.read_bytes()).hexdigest()
        if actual != listed[name]:
            differences.append(f"{name}: sha256 {actual}, manifest says {listed[name]}")
    for name in sorted(present - listed.keys()):
        differences.append(f"{name}: present but not listed in the manifest")
    return VerifyResult(checked=len(listed), differences=tuple(differences))
