"""The change package on disk: what files it holds, atomic writing, the manifest, verification,
and what changed since an earlier package's `findings.json` (`audit --baseline`).

A package is written into a fresh temporary folder beside `--out`, the manifest last, and only
then renamed into place, so an interrupted run never leaves a package that looks complete.
`MANIFEST.sha256` is in `sha256sum` format (`<hex>  <relative/path>`), checkable with
`sha256sum -c` or PowerShell's `Get-FileHash`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from auditor.model import BaselineComparison, Finding, FixedFinding, Organisation, Report

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
    # A lone surrogate (from a hostile export) cannot be UTF-8: written as `\udXXX` text.
    files = {
        name: render(report).encode("utf-8", "backslashreplace")
        for name, render in text_renderers.items()
    }
    for script in report.scripts:
        files[script.name] = script.content.encode("ascii")
    return files


def manifest_text(files: dict[str, bytes]) -> str:
    """The `sha256sum`-format manifest over `files`, sorted by path."""
    lines = [f"{hashlib.sha256(data).hexdigest()}  {name}" for name, data in sorted(files.items())]
    return "\n".join(lines) + "\n"


def _is_empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def is_package(folder: Path) -> bool:
    """True when `folder` is an earlier auditor package: its manifest lists every file in it."""
    try:
        manifest = (folder / MANIFEST_NAME).read_bytes().decode("ascii")
        listed: set[str] = set()
        for line in manifest.splitlines():
            match = _MANIFEST_LINE.fullmatch(line)
            if match is None:
                return False
            listed.add(match.group(2))
        present = {
            path.relative_to(folder).as_posix()
            for path in folder.rglob("*")
            if path.is_symlink() or not path.is_dir()
        }
    except (OSError, UnicodeDecodeError):
        return False
    present.discard(MANIFEST_NAME)
    return present <= listed


def check_out_dir(out_dir: Path, *, force: bool, inputs: Sequence[Path] = ()) -> None:
    """Refuse, before anything is written, an `--out` that would lose or mix a user's files.

    Refused: `-` (a package is a folder, not a stream), an existing file, a folder that equals
    or contains an input, and a non-empty folder unless `force` is given and the folder is an
    earlier auditor package (`is_package`): `--force` never deletes anything else. A folder
    inside an input folder (`reports/` in a repository audited as `.`) is allowed: discovery
    never reads a package (its `MANIFEST.sha256`) nor the folder being written.
    """
    if str(out_dir) == "-":
        raise PackageError(
            "--out -: a change package is a folder of files and cannot go to stdout; "
            "use --format json, sarif or markdown to print a document instead"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise PackageError(f"{out_dir}: exists and is not a folder; --out must be a folder")
    target = os.path.realpath(out_dir)
    for given in inputs:
        source = os.path.realpath(given)
        if _within(source, target):
            raise PackageError(
                f"{out_dir}: the package folder would equal or contain the input "
                f"{given}; choose an --out outside the inputs"
            )
    if not out_dir.is_dir() or _is_empty_dir(out_dir):
        return
    if not force:
        raise PackageError(
            f"{out_dir}: folder is not empty; choose another --out, or pass --force to "
            "replace an earlier auditor package"
        )
    if not is_package(out_dir):
        raise PackageError(
            f"{out_dir}: not an earlier auditor package (its {MANIFEST_NAME} does not list "
            "every file in it); --force replaces only a package, nothing else: choose another --out"
        )


def _within(path: str, folder: str) -> bool:
    """True when `path` is `folder` or lies below it (both real, absolute paths)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def write_package(report: Report, out_dir: Path, *, force: bool = False) -> dict[str, bytes]:
    """Write the package for `report` to `out_dir` atomically; returns what was written.

    Refuses what `check_out_dir` refuses; a forced run replaces an earlier package only once the
    new package is complete.
    """
    check_out_dir(out_dir, force=force)
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


def _sync_dir(folder: Path) -> None:
    """Flush `folder`'s entries (a rename inside it) to disk, where a folder can be opened.

    Without it a power loss after the rename can bring back the folder as it was before. On
    Windows a folder cannot be opened with `os.open` (no `O_DIRECTORY`), and NTFS journals
    renames itself: nothing to do there.
    """
    directory_flag = getattr(os, "O_DIRECTORY", None)
    if directory_flag is None:
        return
    descriptor = os.open(folder, os.O_RDONLY | directory_flag)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _replace_dir(staging: Path, out_dir: Path) -> None:
    """Rename the complete `staging` folder to `out_dir`, then sync their parent folder.

    Every folder of the staging tree is synced first (each file already is, by `_write_file`),
    so what the rename publishes is on disk; the parent is synced after it, so the rename is.
    """
    for folder in sorted((p for p in staging.rglob("*") if p.is_dir()), reverse=True):
        _sync_dir(folder)
    _sync_dir(staging)
    os.chmod(staging, 0o755)
    _rename_into_place(staging, out_dir)
    _sync_dir(out_dir.resolve().parent)


def _rename_into_place(staging: Path, out_dir: Path) -> None:
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
    """The outcome of `auditor verify`: files checked, every difference, the signed scripts.

    `signed` names each script whose content (everything before an appended Authenticode
    signature block) matches the manifest: the signature itself is not checked here.
    """

    checked: int
    differences: tuple[str, ...]
    signed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.differences


# What `Set-AuthenticodeSignature` appends to a script: a CRLF, the begin line, the signature as
# base64 comment lines, the end line (CRLF lines throughout; the last CRLF is optional).
SIGNATURE_BEGIN = b"\r\n# SIG # Begin signature block\r\n"
_SIGNATURE_BLOCK = re.compile(
    rb"\r\n# SIG # Begin signature block\r\n(?:# [A-Za-z0-9+/=]+\r\n)+"
    rb"# SIG # End signature block(?:\r\n)?"
)


def signed_content(data: bytes) -> bytes | None:
    """The script text before its Authenticode signature block; None when `data` has no block.

    The block must be the last thing in the file and hold only signature lines: a block with
    anything after it, or a begin line without a well-formed block, is not a signature.
    """
    begin = data.rfind(SIGNATURE_BEGIN)
    if begin < 0 or _SIGNATURE_BLOCK.fullmatch(data, begin) is None:
        return None
    return data[:begin]


def verify_package(package_dir: Path) -> VerifyResult:
    """Recompute every hash of a package and compare with its manifest, both ways.

    At least as strict as `sha256sum -c`: every manifest line must be `<sha256>  <path>`, a
    path may be listed once, every listed file must exist under exactly that name (not a
    differently cased one) and every file or folder present must be listed (a folder: hold a
    listed file). A listed `.ps1` that `Set-AuthenticodeSignature` signed matches when the text
    before its signature block does (`signed_content`).
    """
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
    listed = _manifest_entries(manifest, differences)
    present = {
        path.relative_to(package_dir).as_posix()
        for path in package_dir.rglob("*")
        if path.is_file() or path.is_symlink()
    }
    present.discard(MANIFEST_NAME)
    folders = {
        path.relative_to(package_dir).as_posix()
        for path in package_dir.rglob("*")
        if path.is_dir() and not path.is_symlink()
    }
    signed: list[str] = []
    by_folded: dict[str, list[str]] = {}
    for name in present:
        by_folded.setdefault(name.casefold(), []).append(name)
    for name in sorted(listed):
        if name not in present:
            others = sorted(by_folded.get(name.casefold(), []))
            differences.append(
                f"{name}: listed in the manifest but missing"
                + (f" (present as {', '.join(others)}: the case differs)" if others else "")
            )
            continue
        outcome = _check_file(package_dir / name, listed[name])
        if outcome == "signed":
            signed.append(name)
        elif outcome:
            differences.append(f"{name}: {outcome}")
    for name in sorted(present - listed.keys()):
        differences.append(f"{name}: present but not listed in the manifest")
    holding = {
        "/".join(name.split("/")[:depth])
        for name in listed
        for depth in range(1, name.count("/") + 1)
    }
    for folder in sorted(folders - holding):
        differences.append(f"{folder}/: a folder that holds no listed file")
    return VerifyResult(checked=len(listed), differences=tuple(differences), signed=tuple(signed))


def _manifest_entries(manifest: str, differences: list[str]) -> dict[str, str]:
    """The manifest's `path -> sha256`; every malformed, repeated or case-twin line a difference."""
    listed: dict[str, str] = {}
    first_line: dict[str, int] = {}
    folded: dict[str, str] = {}
    for number, line in enumerate(manifest.split("\n"), start=1):
        if line == "" and number == manifest.count("\n") + 1:
            break  # the text after the final newline
        match = _MANIFEST_LINE.fullmatch(line)
        if match is None or ".." in match.group(2).split("/") or match.group(2) == MANIFEST_NAME:
            differences.append(f"{MANIFEST_NAME}:{number}: not a '<sha256>  <path>' line")
            continue
        digest, name = match.groups()
        if name in listed:
            differences.append(
                f"{MANIFEST_NAME}:{number}: {name} is listed again (first at line "
                f"{first_line[name]}); each file is listed once"
            )
            continue
        twin = folded.get(name.casefold())
        if twin is not None:
            differences.append(
                f"{MANIFEST_NAME}:{number}: {name} differs only in case from {twin} (line "
                f"{first_line[twin]}); on Windows they are one file"
            )
            continue
        listed[name] = digest
        first_line[name] = number
        folded[name.casefold()] = name
    if manifest and not manifest.endswith("\n"):
        differences.append(f"{MANIFEST_NAME}: the last line has no line ending")
    return listed


def _check_file(path: Path, expected: str) -> str:
    """ "" when `path` matches `expected`, "signed" when its signed content does, else why not."""
    if path.is_symlink():
        return "is a symbolic link"
    try:
        data = path.read_bytes()
    except OSError as error:
        return f"cannot be read: {error.strerror or error}"
    actual = hashlib.sha256(data).hexdigest()
    if actual == expected:
        return ""
    content = signed_content(data) if path.suffix.lower() == ".ps1" else None
    if content is not None and hashlib.sha256(content).hexdigest() == expected:
        return "signed"
    if content is not None:
        return (
            f"signed, but the text before the signature block has sha256 "
            f"{hashlib.sha256(content).hexdigest()}, manifest says {expected}"
        )
    return f"sha256 {actual}, manifest says {expected}"


# --- an earlier package's findings.json as a baseline -------------------------------------------
#
# A fingerprint does not depend on paths or line numbers (see `Finding`) but covers what the
# finding is about (a PA finding's permission set, a WC finding's token), so the same problem
# found again in a re-export is `unchanged` and a wider grant is `new`; a finding whose
# fingerprint the baseline lacks is `new`; a baseline finding no longer found is `fixed`.
# Suppressed findings count too: a waiver does not make a finding new or fixed. A baseline
# from another organisation (no directory, server or application in common, `Organisation`)
# is refused.


class BaselineError(Exception):
    """The baseline is not a readable `findings.json`; the message names the file and why."""


@dataclasses.dataclass(frozen=True, slots=True)
class BaselineFinding:
    """What the baseline says of a finding: enough to name a fixed one."""

    fingerprint: str
    rule_id: str
    severity: str
    subject: str


@dataclasses.dataclass(frozen=True, slots=True)
class Baseline:
    """An earlier `findings.json`: its findings and the organisation it was audited in."""

    path: Path
    findings: tuple[BaselineFinding, ...]
    organisation: Organisation

    def check_organisation(self, current: Organisation) -> None:
        """Raise BaselineError when the baseline comes from another organisation."""
        why = current.differs_from(self.organisation)
        if why is not None:
            raise BaselineError(
                f"{self.path}: the baseline was written for another organisation: {why}; "
                "compare only audits of one organisation"
            )


def load_baseline(path: Path) -> Baseline:
    """An earlier `findings.json` with its organisation; raises BaselineError when it is not one.

    A findings.json without an `organisation` (written before fingerprints covered what a
    finding is about) is refused: its fingerprints would make every finding new.
    """
    findings = read_baseline(path)
    document = json.loads(path.read_bytes().decode("utf-8"))
    found = document.get("organisation")
    keys = ("directories", "servers", "partner_applications")
    if not isinstance(found, dict) or not all(
        isinstance(found.get(key), list) and all(isinstance(v, str) for v in found[key])
        for key in keys
    ):
        raise BaselineError(
            f"{path}: the baseline names no organisation (it was written by an earlier auditor, "
            "whose fingerprints do not cover the permissions a finding names); audit the "
            "baseline's exports again to make a new one"
        )
    organisation = Organisation(**{key: tuple(found[key]) for key in keys})
    return Baseline(path=path, findings=findings, organisation=organisation)


def read_baseline(path: Path) -> tuple[BaselineFinding, ...]:
    """The findings of an earlier `findings.json`; raises BaselineError when it is not one."""
    try:
        document = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: the baseline does not exist") from None
    except OSError as error:
        raise BaselineError(f"{path}: cannot be read: {error.strerror}") from None
    except (UnicodeDecodeError, ValueError) as error:
        raise BaselineError(f"{path}: not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("schema_version") != 1:
        raise BaselineError(f"{path}: not an auditor findings.json (schema_version 1)")
    findings = document.get("findings")
    if not isinstance(findings, list):
        raise BaselineError(f"{path}: not an auditor findings.json (no findings list)")
    return tuple(_baseline_finding(path, number, item) for number, item in enumerate(findings))


def _baseline_finding(path: Path, number: int, item: Any) -> BaselineFinding:
    fields = ("fingerprint", "rule_id", "severity", "subject")
    if not isinstance(item, dict) or not all(isinstance(item.get(key), str) for key in fields):
        raise BaselineError(
            f"{path}: finding {number + 1} lacks a fingerprint, rule_id, severity or subject"
        )
    return BaselineFinding(
        fingerprint=item["fingerprint"],
        rule_id=item["rule_id"],
        severity=item["severity"],
        subject=item["subject"],
    )


def compare(
    findings: Sequence[Finding], baseline: Sequence[BaselineFinding], file: str
) -> BaselineComparison:
    """Mark each finding against the baseline (file name `file`) by fingerprint."""
    known = {item.fingerprint for item in baseline}
    current = {finding.fingerprint for finding in findings}
    return BaselineComparison(
        file=file,
        new=frozenset(finding.fingerprint for finding in findings) - known,
        fixed=tuple(
            FixedFinding(item.fingerprint, item.rule_id, item.severity, item.subject)
            for item in baseline
            if item.fingerprint not in current
        ),
    )
