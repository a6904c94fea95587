"""Compiled templates kept between runs (`auditor.render.template_cache`): the package is the
same with the cache off, cold and warm, and a cache that cannot be made is no cache."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "auditor" / "examples"
SCOPE = "partner-applications,web-config"  # the example holds no trust exports


def _audit(out: Path, tmp: Path, *, cache: bool = True) -> dict[str, bytes]:
    """A whole audit of the bundled example in a fresh process, `tmp` its temporary folder;
    the files of its package."""
    env = {**os.environ, "TMPDIR": str(tmp), "AUDITOR_TEMPLATE_CACHE": "1" if cache else "0"}
    command = [sys.executable, "-m", "auditor", "audit", str(EXAMPLES), "--out", str(out)]
    command += ["--as-of", "2026-11-26", "--scope", SCOPE]
    completed = subprocess.run(command, env=env, capture_output=True, check=False)
    assert completed.returncode == 1, completed.stderr.decode()  # the example's findings
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file()
    }


def _entries(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("_jinja2-cache-*/auditor-*.cache"))


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="the per-user cache folder is POSIX's")
def test_the_package_is_the_same_with_the_cache_off_cold_and_warm(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    off = _audit(tmp_path / "off", tmp, cache=False)
    assert _entries(tmp) == []  # off writes nothing

    cold = _audit(tmp_path / "cold", tmp)
    written = _entries(tmp)
    assert written  # the compiled templates were kept
    folder = written[0].parent
    assert folder.stat().st_mode & 0o777 == 0o700
    warm = _audit(tmp_path / "warm", tmp)

    assert off.keys() == cold.keys() == warm.keys()
    for name in off:
        assert off[name] == cold[name] == warm[name], name


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="the per-user cache folder is POSIX's")
def test_a_cache_folder_that_is_not_safe_or_holds_garbage_is_no_cache(tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    expected = _audit(tmp_path / "plain", tmp, cache=False)

    # A file where the folder should be: jinja2 refuses it, the templates are compiled.
    taken = tmp / f"_jinja2-cache-{os.getuid()}"
    taken.write_text("not a folder")
    assert _audit(tmp_path / "refused", tmp) == expected

    # Entries that are not compiled templates are compiled again and replaced.
    taken.unlink()
    _audit(tmp_path / "cold", tmp)
    for entry in _entries(tmp):
        entry.write_bytes(b"garbage")
    again = _audit(tmp_path / "garbage", tmp)
    assert again == expected
    assert all(entry.read_bytes() != b"garbage" for entry in _entries(tmp))


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="the per-user cache folder is POSIX's")
def test_an_environment_with_other_options_does_not_read_anothers_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    import jinja2

    from auditor.render import template_cache

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv(template_cache.ENVIRONMENT_SWITCH, raising=False)
    template_cache.bytecode_cache.cache_clear()  # made again under this temporary folder
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "t.j2").write_text("{% if true %}\nyes\n{% endif %}\n", encoding="utf-8")

    def render(trim: bool) -> str:
        environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates),
            trim_blocks=trim,
            bytecode_cache=template_cache.bytecode_cache(),
        )
        return environment.get_template("t.j2").render()

    try:
        assert render(trim=True) == "yes\n"
        assert len(_entries(tmp_path)) == 1
        assert render(trim=False) == "\nyes\n"  # compiled anew, not the trimmed code
        assert len(_entries(tmp_path)) == 2
        assert render(trim=True) == "yes\n"
    finally:
        template_cache.bytecode_cache.cache_clear()
