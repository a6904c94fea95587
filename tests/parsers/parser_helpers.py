"""Test helpers for the parser tests: build a `RawInput` the way discovery does."""

from __future__ import annotations

import hashlib
from pathlib import Path

from auditor.parsers.base import RawInput

DATA = Path(__file__).resolve().parent / "data"


def raw_input(
    path: Path, *, server: str | None = None, vdir: str | None = None, data: bytes | None = None
) -> RawInput:
    """A RawInput for `path` (its bytes read unless `data` is given)."""
    content = path.read_bytes() if data is None else data
    return RawInput(
        path=str(path),
        data=content,
        sha256=hashlib.sha256(content).hexdigest(),
        server=server,
        vdir=vdir,
    )
