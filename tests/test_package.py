"""The package writer under faults: nothing half-written ever looks like a package.

Covers an unwritable output folder, a full disk (simulated ENOSPC on the Nth file), an
interrupted run (KeyboardInterrupt mid-write), and that inputs are never modified.
"""

from __future__ import annotations

import datetime
import errno
import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

import auditor.package as package_module
from auditor.audit import AuditRequest, run_audit
from auditor.model import Report
from auditor.package import MANIFEST_NAME, PackageError, verify_package, write_package
from auditor.resources import examples_dir


@pytest.fixture(scope="module")
def report() -> Report:
    return run_audit(
        AuditRequest(paths=(examples_dir(),), as_of=datetime.date(2026, 11, 26), change_id="C-1")
    )


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_written_package_verifies(report: Report, tmp_path: Path) -> None:
    written = write_package(report, tmp_path / "out")
    assert set(written) == set(_tree(tmp_path / "out"))
    result = verify_package(tmp_path / "out")
    assert result.ok and result.checked == len(written) - 1
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no staging folder left behind


def test_unwritable_parent_is_a_clear_error(report: Report, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root ignores permission bits; simulate the refusal the kernel would give a user
        locked = tmp_path / "locked"
        locked.mkdir()
        original = package_module.tempfile.mkdtemp

        def refuse(*args: Any, **kwargs: Any) -> str:
            raise PermissionError(errno.EACCES, "Permission denied", str(locked))

        package_module.tempfile.mkdtemp = refuse  # type: ignore[assignment]
        try:
            with pytest.raises(PackageError, match="cannot create the package folder"):
                write_package(report, locked / "out")
        finally:
            package_module.tempfile.mkdtemp = original
        assert not (locked / "out").exists()
        return
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(PackageError):
        write_package(report, locked / "out")
    assert not (locked / "out").exists()


def test_disk_full_leaves_no_package(
    report: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    real_write = package_module._write_file

    def full_disk(path: Path, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(package_module, "_write_file", full_disk)
    with pytest.raises(PackageError, match="No space left"):
        write_package(report, tmp_path / "out")
    assert os.listdir(tmp_path) == []


def test_disk_full_during_force_keeps_the_old_package(
    report: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    write_package(report, out)
    before = _tree(out)
    real_write = package_module._write_file

    def full_disk(path: Path, data: bytes) -> None:
        if path.name == MANIFEST_NAME:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(package_module, "_write_file", full_disk)
    with pytest.raises(PackageError):
        write_package(report, out, force=True)
    assert _tree(out) == before
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_interrupted_run_leaves_nothing_that_looks_complete(
    report: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = package_module._write_file

    def interrupted(path: Path, data: bytes) -> None:
        if path.name == "report.html":
            raise KeyboardInterrupt
        real_write(path, data)

    monkeypatch.setattr(package_module, "_write_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_package(report, tmp_path / "out")
    assert os.listdir(tmp_path) == []


def test_killed_process_leaves_only_a_staging_folder(report: Report, tmp_path: Path) -> None:
    """A SIGKILL cannot run cleanup: what remains is a hidden .partial folder, no manifest."""
    import signal
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        f"""
        import datetime, os, signal
        from pathlib import Path
        import auditor.package as p
        from auditor.audit import AuditRequest, run_audit
        from auditor.resources import examples_dir
        report = run_audit(AuditRequest(paths=(examples_dir(),),
                           as_of=datetime.date(2026, 11, 26), change_id="C-1"))
        real = p._write_file
        def die(path, data):
            if path.name == "report.html":
                os.kill(os.getpid(), signal.SIGKILL)
            real(path, data)
        p._write_file = die
        p.write_package(report, Path({str(tmp_path / "out")!r}))
        """
    )
    completed = subprocess.run([sys.executable, "-c", code], check=False)
    assert completed.returncode == -signal.SIGKILL
    assert not (tmp_path / "out").exists()
    leftovers = os.listdir(tmp_path)
    assert all(name.startswith(".out.partial-") for name in leftovers)
    for name in leftovers:
        assert not (tmp_path / name / MANIFEST_NAME).exists()


def test_inputs_are_never_modified(tmp_path: Path) -> None:
    def digest_tree(folder: Path) -> dict[str, str]:
        return {
            p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*")
            if p.is_file()
        }

    before = digest_tree(examples_dir())
    report = run_audit(
        AuditRequest(paths=(examples_dir(),), as_of=datetime.date(2026, 11, 26), change_id="C-2")
    )
    write_package(report, tmp_path / "out")
    assert digest_tree(examples_dir()) == before


def test_manifest_with_traversal_is_rejected(report: Report, tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_package(report, out)
    manifest = out / MANIFEST_NAME
    manifest.write_text(manifest.read_text() + f"{'0' * 64}  ../outside.ps1\n", encoding="ascii")
    result = verify_package(out)
    assert not result.ok
    assert any("not a '<sha256>  <path>' line" in d for d in result.differences)


def test_only_a_folder_whose_manifest_lists_every_file_is_a_package(
    report: Report, tmp_path: Path
) -> None:
    from auditor.package import is_package

    out = tmp_path / "out"
    write_package(report, out)
    assert is_package(out)
    (out / "remediation" / "partner-applications.ps1").unlink()  # fewer files: still a package
    assert is_package(out)
    (out / "notes.txt").symlink_to(tmp_path)  # anything unlisted, a link included: not one
    assert not is_package(out)
    (out / "notes.txt").unlink()
    (out / MANIFEST_NAME).write_text("not a manifest\n")
    assert not is_package(out)
    assert not is_package(tmp_path / "missing")


def test_force_never_replaces_a_folder_that_is_not_a_package(
    report: Report, tmp_path: Path
) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "exports.xml").write_text("the user's file\n")

    with pytest.raises(PackageError, match="not an earlier auditor package"):
        write_package(report, mine, force=True)

    assert _tree(mine) == {"exports.xml": b"the user's file\n"}


def test_the_rename_is_synced_to_disk(
    report: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After the final rename the parent folder is fsynced, so a power loss keeps the package."""
    events: list[tuple[str, str]] = []
    real_fsync, real_rename = os.fsync, os.rename
    opened: dict[int, str] = {}
    real_open = os.open

    def recording_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        descriptor = real_open(path, flags, *args, **kwargs)
        opened[descriptor] = os.fspath(path)
        return descriptor

    def recording_fsync(descriptor: int) -> None:
        events.append(("fsync", opened.get(descriptor, "file")))
        real_fsync(descriptor)

    def recording_rename(source: Any, target: Any) -> None:
        events.append(("rename", os.fspath(target)))
        real_rename(source, target)

    monkeypatch.setattr(package_module.os, "open", recording_open)
    monkeypatch.setattr(package_module.os, "fsync", recording_fsync)
    monkeypatch.setattr(package_module.os, "rename", recording_rename)
    out = tmp_path / "out"
    for force in (False, True):  # a fresh folder, then replacing the earlier package
        events.clear()
        write_package(report, out, force=force)
        final = max(i for i, event in enumerate(events) if event == ("rename", str(out)))
        assert ("fsync", str(tmp_path.resolve())) in events[final + 1 :]
        assert verify_package(out).ok


def test_a_folder_is_not_synced_where_folders_cannot_be_opened(
    report: Report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no O_DIRECTORY: the package is written all the same."""
    monkeypatch.delattr(package_module.os, "O_DIRECTORY", raising=False)
    write_package(report, tmp_path / "out")
    assert verify_package(tmp_path / "out").ok


@pytest.mark.parametrize(
    ("mine", "theirs", "why"),
    [
        (("a.lab",), ("a.lab",), None),
        (("a.lab",), ("b.lab",), "no Active Directory domain in common"),
        ((), ("b.lab",), None),  # one side without domains: the servers decide
    ],
)
def test_the_strongest_shared_identity_decides_the_organisation(
    mine: tuple[str, ...], theirs: tuple[str, ...], why: str | None
) -> None:
    from auditor.model import Organisation

    current = Organisation(directories=mine, servers=("ex01",), partner_applications=("x",))
    baseline = Organisation(directories=theirs, servers=("ex01",), partner_applications=("y",))
    found = current.differs_from(baseline)
    assert found is None if why is None else (found is not None and found.startswith(why))
    other_servers = Organisation(servers=("ex09",), partner_applications=("x",))
    assert (Organisation(servers=("ex01",)).differs_from(other_servers) or "").startswith(
        "no server in common"
    )
