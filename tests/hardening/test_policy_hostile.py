"""Policy files are untrusted data too: hostile YAML is refused with one clear, located error.

tests/policy already pins the loader's messages for an alias bomb, `!!python/object`, Latin-1,
UTF-16, an oversize file, 200-deep flow nesting and two documents (library level, snapshots).
This file adds what those do not cover: the command line (`auditor policy validate FILE` exits 2
with `error: FILE:LINE...`, never a traceback), characters YAML itself refuses (NUL,
control characters), escapes that produce lone surrogates, deep block nesting, 100,000-deep flow
nesting, merge keys, other tags, and bounded work (calls counted) for the largest policy the
loader accepts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from conftest import count_calls

from auditor.policy import MAX_NESTING, MAX_POLICY_BYTES, PolicyError, load_policy

ROOT = Path(__file__).resolve().parents[2]
HEAD = "name: org\nversion: 1\nextends: default\n"


def _deep_block(levels: int) -> str:
    return (
        HEAD
        + "vdirs:\n"
        + "".join("  " * i + f"k{i}:\n" for i in range(1, levels))
        + "  " * levels
        + "x: 1\n"
    )


# (file name, content, line the error must name or None, phrase of the message)
CASES: list[tuple[str, bytes, int | None, str]] = [
    ("nul.yaml", b"name: a\x00b\nversion: 1\n", 1, "character"),
    ("control.yaml", HEAD.encode() + b"waivers: []\n# \x1b[31m red\n", 5, "character"),
    ("surrogate.yaml", b'name: "\\ud800"\nversion: 1\nextends: default\n', 1, "surrogate"),
    ("surrogate-key.yaml", HEAD.encode() + b'"\\udc00": 1\n', 4, ""),
    ("deep-block.yaml", _deep_block(MAX_NESTING + 20).encode(), None, "nested"),
    (
        "deep-flow.yaml",
        HEAD.encode() + b"waivers: " + b"[" * 100_000 + b"]" * 100_000,
        None,
        "nested",
    ),
    ("merge-key.yaml", HEAD.encode() + b"x: &a {b: 1}\ny:\n  <<: *a\n", 4, "anchors"),
    ("binary-tag.yaml", b"name: !!binary aGVsbG8=\nversion: 1\n", 1, "tag"),
    ("set-tag.yaml", HEAD.encode() + b"forbidden_app_only: !!set {a, b}\n", 4, "tag"),
    ("local-tag.yaml", b"name: !foo x\nversion: 1\n", 1, "tag"),
    (
        "python-apply.yaml",
        b'name: !!python/object/apply:os.system ["echo PWNED > pwned"]\nversion: 1\n',
        1,
        "tag",
    ),
    ("timestamp-tag.yaml", HEAD.encode() + b"waivers: !!timestamp 2026-01-01\n", 4, "tag"),
    ("bom-then-utf16.yaml", b"\xef\xbb\xbf" + "name: x\n".encode("utf-16-le"), 1, ""),
]


def _params(names: list[str] | None = None) -> list[object]:
    return [pytest.param(*case, id=case[0]) for case in CASES if names is None or case[0] in names]


CALLS_PER_POLICY = 1_000_000


def _refused(path: Path) -> None:
    with pytest.raises(PolicyError):
        load_policy([path], strict_waivers=True)


@pytest.mark.parametrize(("name", "content", "line", "phrase"), _params())
def test_hostile_policy_is_refused_with_a_located_error(
    name: str,
    content: bytes,
    line: int | None,
    phrase: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    Path(name).write_bytes(content)

    with pytest.raises(PolicyError) as caught:
        load_policy([Path(name)], strict_waivers=True)

    error = caught.value
    # Bounded work, counted rather than timed (benchmarks/hostile.py times the cases): the
    # worst case (100,000-deep flow nesting) is refused in under 100,000 calls.
    assert count_calls(lambda: _refused(Path(name))) < CALLS_PER_POLICY
    assert error.path == name
    if line is not None:
        assert error.line == line, str(error)
    assert phrase in str(error)
    assert "\n" not in str(error)
    assert not Path("pwned").exists()


@pytest.mark.parametrize(
    ("name", "content", "line", "phrase"),
    _params(["nul.yaml", "surrogate.yaml", "python-apply.yaml", "deep-flow.yaml"]),
)
def test_policy_validate_exits_2_naming_the_file_and_line(
    name: str, content: bytes, line: int | None, phrase: str, tmp_path: Path
) -> None:
    (tmp_path / name).write_bytes(content)

    completed = subprocess.run(
        [sys.executable, "-m", "auditor", "policy", "validate", name],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )

    assert "Traceback" not in completed.stderr, completed.stderr[-2000:]
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert completed.stderr.startswith(f"error: {name}")
    if line is not None:
        assert completed.stderr.startswith(f"error: {name}:{line}:")
    assert not (tmp_path / "pwned").exists()


def _refusal_work(path: Path, keys: int) -> int:
    """Calls made to refuse a policy of `keys` unknown keys (work counted, not timed)."""
    path.write_text(HEAD + "".join(f"k{i}: {i}\n" for i in range(keys)), encoding="utf-8")

    def refuse() -> None:
        with pytest.raises(PolicyError, match=rf"{path.name}:4:1: k0: unknown key 'k0'"):
            load_policy([path])

    return count_calls(refuse)


def test_the_largest_accepted_policy_loads_in_bounded_time(tmp_path: Path) -> None:
    """Just under the size limit, 40,000 unknown keys: refused at the first one, in linear work.

    Counted, not timed (benchmarks/hostile.py times it): 10x the keys, at most ~10x the calls.
    """
    assert len(HEAD + "".join(f"k{i}: {i}\n" for i in range(40_000))) < MAX_POLICY_BYTES
    load_policy()  # the shipped default and the schema validator, loaded once before counting
    large = _refusal_work(tmp_path / "wide.yaml", 40_000)
    small = _refusal_work(tmp_path / "narrow.yaml", 4_000)

    assert large < 11 * small, f"10x the keys made {large / small:.1f}x the calls"


def test_a_device_as_policy_is_cut_at_the_size_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero")
    asked: list[int] = []
    real_open = Path.open

    class Counted:
        def __init__(self, stream: BinaryIO) -> None:
            self.stream = stream

        def __enter__(self) -> Counted:
            return self

        def __exit__(self, *exc: object) -> None:
            self.stream.close()

        def read(self, size: int = -1) -> bytes:
            asked.append(size)
            return self.stream.read(size)

    def counted_open(self: Path, *args: Any, **kwargs: Any) -> Any:
        stream = real_open(self, *args, **kwargs)
        return Counted(stream) if self == Path("/dev/zero") else stream

    monkeypatch.setattr(Path, "open", counted_open)
    with pytest.raises(PolicyError, match="larger than"):
        load_policy([Path("/dev/zero")])

    assert asked == [MAX_POLICY_BYTES + 1]  # one read, cut at the limit


def test_extends_cannot_leak_another_files_content(tmp_path: Path) -> None:
    """`extends` may name any readable file; the error must not echo its content."""
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-SENTINEL-4711\n", encoding="utf-8")
    policy = tmp_path / "org.yaml"
    policy.write_text("name: org\nversion: 1\nextends: secret.txt\n", encoding="utf-8")

    with pytest.raises(PolicyError) as caught:
        load_policy([policy])

    assert "TOP-SECRET" not in str(caught.value)
