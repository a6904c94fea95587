"""Determinism: the change package depends on the inputs, the policy, `--as-of` and the version.

Not on the run, not on `PYTHONHASHSEED`, not on the order the inputs were named on the command
line, not on the order the file system lists them. Byte for byte, every file of the package.
A different `--as-of` or tool version changes only the text that states it (and the hashes of
the files that contain it), and what depends on the date: an expired waiver.
"""

from __future__ import annotations

import datetime
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_files import csv_embedded, format_list, xxe_file

import auditor.audit
from auditor.audit import AuditRequest, run_audit
from auditor.package import package_files
from auditor.resources import examples_dir

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2026-11-26"
HEX64 = re.compile(rb"[0-9a-f]{64}")


def _sources() -> dict[str, bytes]:
    """Every input file by relative path: the example, three export formats, one attack."""
    files = {
        path.relative_to(examples_dir()).as_posix(): path.read_bytes()
        for path in examples_dir().rglob("*")
        if path.is_file()
    }
    files["extra/pa-formatlist.txt"] = format_list(
        "Payroll", "11111111-2222-3333-4444-555555555555"
    ).encode("utf-16")
    files["extra/pa.json"] = (
        b'[{"Name":"Reports","ApplicationIdentifier":"22222222-3333-4444-5555-666666666666",'
        b'"ActAsPermissions":["Mail.Read"],"AppOnlyPermissions":["Mail.Read"]}]'
    )
    files["extra/pa.csv"] = csv_embedded().replace(
        b"00000003-0000-0000-c000-000000000000", b"33333333-4444-5555-6666-777777777777"
    )
    files["extra/xxe.config"] = xxe_file(Path("/etc/hostname"))
    return files


def _materialise(root: Path, reverse: bool) -> Path:
    """Write the inputs under `root/in`, creating folders and files in sorted or reverse order."""
    names = sorted(_sources().items(), reverse=reverse)
    for name, data in names:
        path = root / "in" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _audit_all(runs: list[tuple[Path, list[str], str]]) -> list[dict[str, bytes]]:
    """Run one `auditor audit` subprocess per (cwd, inputs, seed), concurrently; each package."""
    started: list[tuple[subprocess.Popen[str], Path]] = []
    for number, (cwd, inputs, seed) in enumerate(runs):
        out = cwd / f"out-{number}"
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "auditor", "audit", *inputs, "--out", out.name]
        command += ["--as-of", AS_OF, "--change-id", "CHG-42", "--allow-incomplete"]
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=env,
        )
        started.append((process, out))
    packages = []
    for process, out in started:
        stdout, stderr = process.communicate(timeout=120)
        assert "Traceback" not in stderr, stderr
        assert process.returncode in (0, 1), stdout + stderr
        packages.append(
            {
                path.relative_to(out).as_posix(): path.read_bytes()
                for path in sorted(out.rglob("*"))
                if path.is_file()
            }
        )
    return packages


def _differing(first: dict[str, bytes], second: dict[str, bytes]) -> list[str]:
    return sorted(
        name for name in first.keys() | second.keys() if first.get(name) != second.get(name)
    )


def test_package_is_the_same_for_any_seed_argument_order_and_disk_order(tmp_path: Path) -> None:
    sorted_disk = _materialise(tmp_path / "sorted", reverse=False)
    reversed_disk = _materialise(tmp_path / "reversed", reverse=True)
    inputs = ["in/EX01", "in/EX02", "in/extra"]

    base, other_seed, other_order, other_disk = _audit_all(
        [
            (sorted_disk, inputs, "0"),
            (sorted_disk, inputs, "12345"),
            (sorted_disk, list(reversed(inputs)), "0"),
            (reversed_disk, ["in/extra", "in/EX02", "in/EX01"], "12345"),
        ]
    )

    assert any(name.startswith("remediation/") for name in base)
    assert b'"extra/xxe.config"' in base["findings.json"]  # the attack is part of the run
    assert _differing(base, other_seed) == []
    assert _differing(base, other_order) == []
    assert _differing(base, other_disk) == []


def _package(as_of: datetime.date, policy: Path | None = None) -> dict[str, bytes]:
    report = run_audit(
        AuditRequest(
            paths=(examples_dir(),),
            policy_paths=(policy,) if policy else (),
            as_of=as_of,
            change_id="CHG-42",
            allow_incomplete=True,
        )
    )
    return package_files(report)


def _normalised(files: dict[str, bytes], replace: bytes, by: bytes) -> dict[str, bytes]:
    """Each file with `replace` written as `by` and every SHA-256 masked."""
    return {name: HEX64.sub(b"<sha256>", data.replace(replace, by)) for name, data in files.items()}


def test_as_of_changes_only_the_date_it_states() -> None:
    first = _package(datetime.date(2026, 11, 26))
    second = _package(datetime.date(2027, 3, 1))

    changed = _differing(first, second)
    assert "findings.json" in changed and "report.html" in changed
    assert _normalised(second, b"2027-03-01", b"2026-11-26") == _normalised(
        first, b"2026-11-26", b"2026-11-26"
    )


def test_as_of_decides_whether_a_waiver_still_suppresses(tmp_path: Path) -> None:
    policy = tmp_path / "org.yaml"
    policy.write_text(
        "name: org\nversion: 1\nextends: default\nwaivers:\n"
        "  - rule: WC002\n"
        '    subject: "web-config:EX02:Default Web Site/API"\n'
        "    reason: Trailing token left by a CU.\n    ticket: CHG-1\n"
        "    owner: messaging@contoso.example\n    approver: board@contoso.example\n"
        "    expires: 2026-12-31\n",
        encoding="utf-8",
    )
    import json

    before = json.loads(_package(datetime.date(2026, 11, 26), policy)["findings.json"])
    after = json.loads(_package(datetime.date(2027, 1, 1), policy)["findings.json"])

    def state(document: dict[str, object]) -> set[tuple[str, bool]]:
        findings = document["findings"]
        assert isinstance(findings, list)
        return {
            (f["rule_id"], f["suppressed"]) for f in findings if f["rule_id"] in ("WC002", "WV001")
        }

    assert state(before) == {("WC002", True)}
    assert state(after) == {("WC002", False), ("WV001", False)}


def test_tool_version_changes_only_the_version_it_states(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    as_of = datetime.date(2026, 11, 26)
    current = auditor.audit.__version__
    first = _package(as_of)
    monkeypatch.setattr(auditor.audit, "__version__", "99.98.97")
    second = _package(as_of)

    assert _differing(first, second)
    assert _normalised(second, b"99.98.97", current.encode()) == _normalised(
        first, b"\x00", b"\x00"
    )
