"""The parse stage: every input read into one `Inventory` (`read_inventory`).

The stages, one module each:

1. `discover`: the files the arguments stand for, what is skipped (and listed), display paths
   relative to the common root of the inputs.
2. Reading (here): the size is checked before reading (over `max_bytes` is TOO_LARGE and the
   file is not read); the bytes are hashed (SHA-256); `auditor.layout.identify` gives server and
   vdir from the folder layout; `--server` names the server of inputs whose layout names none.
3. `sniff`: the format, by content, never by name.
4. Dispatch (here, `_parse`): one parser per format, an explicit `match`; the XML parsers are
   imported only when needed. A parser (or anything else) that fails unexpectedly on one file
   yields a MALFORMED problem naming the file and the internal error instead of stopping the run.
5. `fold`: one deterministic `Inventory`; copies of one application merged, disagreements and an
   audit that read nothing reported as problems.

Nothing here raises for bad input; `ServerOptionError` is the one refusal of an argument.
"""

from __future__ import annotations

import gc
import hashlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import assert_never

from auditor.model import (
    InputFormat,
    Inventory,
    ParseResult,
    Problem,
    ProblemCode,
    Severity,
)
from auditor.parsers.base import RawInput
from auditor.parsers.discover import FoundFile, discover, os_reason
from auditor.parsers.fold import fold
from auditor.parsers.sniff import sniff, unknown_reason

__all__ = ["DEFAULT_MAX_BYTES", "ServerOptionError", "read_inventory", "sniff"]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class ServerOptionError(ValueError):
    """`--server` was given for inputs whose folder layout already names several servers."""


def read_inventory(
    paths: Sequence[Path],
    *,
    server: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    csv_list_separator: str | None = ";",
) -> Inventory:
    """Read every file under `paths` into one deterministic `Inventory`.

    Never raises for bad input; raises `ServerOptionError` when `server` is given for a tree
    whose layout names two or more servers (the option cannot say which files it means).
    """
    from auditor.layout import Placement, identify

    found = discover(paths)
    placements: list[Placement] = [
        identify(item.path, server_folder=item.server_folder) for item in found.files
    ]
    if server is not None:
        named = sorted({placement.server for placement in placements if placement.server})
        if len(named) >= 2:
            shown = ", ".join(named[:5]) + (", ..." if len(named) > 5 else "")
            raise ServerOptionError(
                f"--server {server} cannot apply: the folder layout already names "
                f"{len(named)} servers ({shown}); --server is only for inputs whose layout "
                "names no server: audit them without it"
            )
    results: list[ParseResult | Problem] = []
    skipped = list(found.skipped)
    # The loop allocates many small objects that all stay alive (the inventory): the cyclic
    # garbage collector would walk them again and again for nothing (a fifth of the parse
    # time on a fleet), so it is paused for the loop and restored after.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for item, placement in zip(found.files, placements, strict=True):
            result = _read_safely(
                item,
                placement.server or server,
                placement.vdir,
                max_bytes=max_bytes,
                separator=csv_list_separator,
            )
            if result is None:
                skipped.append(item.display)
            else:
                results.append(result)
    finally:
        if collecting:
            gc.enable()
    return fold(results, found.problems, skipped=skipped, looked_at=found.looked_at)


def _read_safely(
    item: FoundFile,
    server: str | None,
    vdir: str | None,
    *,
    max_bytes: int,
    separator: str | None,
) -> ParseResult | Problem | None:
    """`_read`, with any unexpected error turned into a problem naming the file."""
    try:
        return _read(item, server, vdir, max_bytes=max_bytes, separator=separator)
    except Exception as error:  # a bug must not stop the other inputs
        return _problem(
            ProblemCode.MALFORMED,
            item.display,
            f"auditor failed while reading this file (internal error "
            f"{type(error).__name__}: {error}); please report it",
        )


def _read(
    item: FoundFile,
    server: str | None,
    vdir: str | None,
    *,
    max_bytes: int,
    separator: str | None,
) -> ParseResult | Problem | None:
    """One file as a parse result or a problem; None for a dot-file that is not an export."""
    display = item.display
    data = _read_bytes(item, max_bytes)
    if isinstance(data, Problem):
        return data
    if len(data) > max_bytes:
        return _too_large(display, len(data), max_bytes)
    input_format = sniff(data)
    if input_format is None and item.read_if_export:
        return None
    raw = RawInput(
        path=display,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        server=server,
        vdir=vdir,
        location=item.path,
    )
    if input_format is None:
        return ParseResult(
            source=raw.source(None),
            problems=(raw.problem(ProblemCode.UNKNOWN_FORMAT, unknown_reason(data)),),
        )
    try:
        return _parse(input_format, raw, separator)
    except Exception as error:  # a parser bug must not stop the other inputs
        return ParseResult(
            source=raw.source(input_format),
            problems=(
                raw.problem(
                    ProblemCode.MALFORMED,
                    f"auditor failed while reading this {input_format.value} file "
                    f"(internal error {type(error).__name__}: {error}); please report it",
                ),
            ),
        )


# A FIFO must not block the open (it is refused by its type once open); Windows needs binary.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_CHUNK = 1024 * 1024


def _read_bytes(item: FoundFile, max_bytes: int) -> bytes | Problem:
    """The bytes of a regular file, at most `max_bytes + 1` of them (so that a file that grew
    over the limit since its size was read is seen to be), or why it was not read.

    One open, one `fstat` of the open file and reads sized by it: the least the operating
    system can be asked, for each of the thousands of files of a fleet.
    """
    try:
        descriptor = os.open(item.path, _OPEN_FLAGS)
        try:
            status = os.fstat(descriptor)
            if not stat.S_ISREG(status.st_mode):
                return _problem(ProblemCode.UNREADABLE, item.display, "not a regular file")
            if status.st_size > max_bytes:
                return _too_large(item.display, status.st_size, max_bytes)
            chunks: list[bytes] = []
            total = 0
            wanted = status.st_size + 1
            # Until the end of the file: a read may come back short before it (a signal, some
            # network and FUSE file systems), and a file read in part must not pass for whole.
            while total <= max_bytes:
                chunk = os.read(descriptor, min(wanted, max_bytes + 1 - total))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                wanted = _CHUNK
        finally:
            os.close(descriptor)
    except (OSError, ValueError) as error:
        return _problem(ProblemCode.UNREADABLE, item.display, os_reason(error))
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _parse(input_format: InputFormat, raw: RawInput, separator: str | None) -> ParseResult:
    """The parser registry: one parser per format."""
    match input_format:
        case InputFormat.FORMAT_LIST:
            from auditor.parsers import formatlist

            return formatlist.parse(raw)
        case InputFormat.JSON:
            from auditor.parsers import json_

            return json_.parse(raw)
        case InputFormat.CSV:
            from auditor.parsers import csv_

            return csv_.parse(raw, list_separator=separator)
        case InputFormat.CLIXML:
            from auditor.parsers import clixml

            return clixml.parse(raw)
        case InputFormat.WEB_CONFIG:
            from auditor.parsers import webconfig

            return webconfig.parse(raw)
        case _:
            assert_never(input_format)


def _too_large(display: str, size: int, max_bytes: int) -> Problem:
    return _problem(
        ProblemCode.TOO_LARGE,
        display,
        f"the file is {size} bytes, over the limit of {max_bytes} bytes; it was not read",
    )


def _problem(code: ProblemCode, path: str, message: str) -> Problem:
    return Problem(code=code, message=message, path=path, severity=Severity.HIGH)
