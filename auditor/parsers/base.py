"""What every parser receives: one input file, already read into memory and hashed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from auditor.model import InputFormat, Problem, ProblemCode, SourceFile


@dataclass(frozen=True, slots=True)
class RawInput:
    """One input file. `path` is the path as the user gave or discovery found it (display form).

    `server` and `vdir` come from the folder layout or `--server`; a parser may refine `server`
    from the content (CLIXML `PSComputerName` / `OriginatingServer`). `location` is where the
    file is on disk when that differs from `path` (or is unknown from it); the web.config parser
    reads the files an `<appSettings file=...>` / `configSource=...` names from its folder.
    `beside` reads them instead for an input that is not on disk (a zip archive member): it
    takes a `/`-separated path relative to the input's folder and a size limit, and returns
    the bytes or the reason they were not read (a sentence).
    """

    path: str
    data: bytes
    sha256: str
    server: str | None = None
    vdir: str | None = None
    location: Path | None = None
    beside: Callable[[str, int], bytes | str] | None = None

    def source(self, input_format: InputFormat | None) -> SourceFile:
        return SourceFile(path=self.path, sha256=self.sha256, format=input_format)

    def problem(self, code: ProblemCode, message: str, line: int | None = None) -> Problem:
        return Problem(code=code, message=message, path=self.path, line=line)
