"""Reading one file: its bytes (size-checked), hash, format, parser, as a value (`Reader`).

`Reader` is one reading run over files in the order given: the parse results (or problems),
the hash of every file read, what was skipped, the companions of `auditor collect` found in
archives. `auditor.parsers.read_inventory` runs one over every file, or one per chunk of the
files in worker processes (`auditor.parsers.parallel`) and adds their states up in order
(`ReaderState`, `Reader.absorb`): the same lists and dicts in the same order either way.

A zip archive is read whole by one `Reader` (its members read as the files of a walked folder),
so a worker never needs another's archive. Nothing here raises for bad input: an internal
error on one file is a MALFORMED problem naming it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from typing import assert_never

from auditor.layout import Placement, identify
from auditor.model import (
    Excluded,
    InputFormat,
    ParseResult,
    Problem,
    ProblemCode,
    Severity,
)
from auditor.parsers.archive import Archive, is_zip, open_archive
from auditor.parsers.base import RawInput
from auditor.parsers.collected import CompanionFile
from auditor.parsers.discover import Companion, FoundFile, list_members, os_reason
from auditor.parsers.ignore import auditor_output
from auditor.parsers.sniff import sniff, unknown_reason

__all__ = ["Reader", "ReaderState", "internal_error", "read_bytes"]


@dataclass(slots=True)
class ReaderState:
    """What a `Reader` gathered, in reading order (see `Reader`)."""

    results: list[ParseResult | Problem]
    skipped: list[str]
    inputs: dict[str, str]
    others: dict[str, str | None]
    companions: list[CompanionFile]
    member_placements: list[Placement]
    excluded: list[Excluded]


class Reader:
    """One reading run: the results so far, every file's hash by display path, the companions.

    `inputs` holds the SHA-256 of every file read as an input, `others` that of every file
    that was present but is no input (skipped after reading, or None when it was not read);
    `auditor.parsers.collected` checks both against the hash lists.
    """

    def __init__(self, *, server: str | None, max_bytes: int, separator: str | None) -> None:
        self.server = server
        self.max_bytes = max_bytes
        self.separator = separator
        self.results: list[ParseResult | Problem] = []
        self.skipped: list[str] = []
        self.inputs: dict[str, str] = {}
        self.others: dict[str, str | None] = {}
        self.companions: list[CompanionFile] = []
        self.member_placements: list[Placement] = []
        self.excluded: list[Excluded] = []

    def state(self) -> ReaderState:
        """What this reader gathered (the lists themselves, not copies)."""
        return ReaderState(
            self.results,
            self.skipped,
            self.inputs,
            self.others,
            self.companions,
            self.member_placements,
            self.excluded,
        )

    def absorb(self, state: ReaderState) -> None:
        """Add what another reader gathered after what this one has, as if this one had read
        its files next (a display path is read once, so no dict key is overwritten)."""
        self.results.extend(state.results)
        self.skipped.extend(state.skipped)
        self.inputs.update(state.inputs)
        self.others.update(state.others)
        self.companions.extend(state.companions)
        self.member_placements.extend(state.member_placements)
        self.excluded.extend(state.excluded)

    def read_file(self, item: FoundFile, placement: Placement) -> None:
        """A file on disk: an input, or a zip archive whose members are inputs."""
        data = read_bytes(item, self.max_bytes)
        if isinstance(data, Problem):
            self.not_read(item.display, data)
        elif len(data) > self.max_bytes:
            self.not_read(item.display, _too_large(item.display, len(data), self.max_bytes))
        elif item.server_folder is not None and (output := auditor_output(data)) is not None:
            self.others[item.display] = hashlib.sha256(data).hexdigest()
            self.excluded.append(Excluded(item.display, f"{output}: never an input", True))
        elif is_zip(data):
            try:
                self.read_archive(item.display, data)
            except Exception as error:  # a bug must not stop the other inputs
                self.not_read(item.display, internal_error(item.display, error))
        else:
            self.read_data(item, placement, data)

    def read_companion(self, item: FoundFile, data: bytes | Problem) -> None:
        if isinstance(data, Problem):
            self.results.append(data)
        elif len(data) > self.max_bytes:
            self.results.append(_too_large(item.display, len(data), self.max_bytes))
        else:
            self.companions.append(
                CompanionFile(item.display, data, item.companion is Companion.TRANSCRIPT)
            )

    def not_read(self, display: str, problem: Problem) -> None:
        self.others[display] = None
        self.results.append(problem)

    def read_archive(self, display: str, data: bytes) -> None:
        """The members of a zip archive, each read as the files of a walked folder are."""
        archive = open_archive(display, data)
        if isinstance(archive, Problem):
            self.results.append(archive)
            return
        try:
            listing = list_members(display, archive.members)
            self.skipped.extend(listing.skipped)
            for item in (*listing.files, *listing.companions):
                name = item.path.as_posix()
                size = archive.size(name)
                if size > self.max_bytes:
                    member: bytes | Problem = _too_large(item.display, size, self.max_bytes)
                else:
                    member = archive.read(name)
                if item.companion is not None:
                    self.read_companion(item, member)
                elif isinstance(member, Problem):
                    self.not_read(item.display, member)
                elif is_zip(member):
                    self.not_read(item.display, _nested(item.display))
                else:
                    placement = identify(item.path, server_folder=item.server_folder)
                    self.member_placements.append(placement)
                    beside = _Beside(archive, item.path.parent.as_posix(), self.max_bytes)
                    self.read_data(item, placement, member, beside=beside)
        finally:
            archive.close()

    def read_data(
        self, item: FoundFile, placement: Placement, data: bytes, *, beside: _Beside | None = None
    ) -> None:
        """One file's bytes as a parse result or a problem; any internal error as a problem.

        `beside` reads the files next to an archive member (None: the file is on disk)."""
        try:
            result = self.parse(item, placement, data, beside=beside)
        except Exception as error:  # a bug must not stop the other inputs
            result = internal_error(item.display, error)
        if result is not None:
            self.results.append(result)

    def parse(
        self, item: FoundFile, placement: Placement, data: bytes, *, beside: _Beside | None
    ) -> ParseResult | Problem | None:
        """None for a file read only if an export (`FoundFile.read_if_export`) that is not."""
        display = item.display
        sha256 = hashlib.sha256(data).hexdigest()
        input_format = sniff(data)
        if input_format is None and item.read_if_export:
            self.skipped.append(display)
            self.others[display] = sha256
            return None
        self.inputs[display] = sha256
        raw = RawInput(
            path=display,
            data=data,
            sha256=sha256,
            server=placement.server or self.server,
            vdir=placement.vdir,
            location=None if beside is not None else item.path,
            beside=beside,
        )
        if input_format is None:
            return ParseResult(
                source=raw.source(None),
                problems=(raw.problem(ProblemCode.UNKNOWN_FORMAT, unknown_reason(data)),),
            )
        try:
            return _parse(input_format, raw, self.separator)
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


class _Beside:
    """Reads the members next to one archive member, for `RawInput.beside`."""

    def __init__(self, archive: Archive, folder: str, max_bytes: int) -> None:
        self.archive = archive
        self.folder = "" if folder == "." else folder + "/"
        self.max_bytes = max_bytes

    def __call__(self, relative: str, limit: int) -> bytes | str:
        name = self.folder + relative
        if name not in self.archive.member_names:
            return "it was not supplied beside the web.config in the archive"
        size = self.archive.size(name)
        if size > min(limit, self.max_bytes):
            return f"it is larger than {min(limit, self.max_bytes)} bytes"
        data = self.archive.read(name)
        return data.message if isinstance(data, Problem) else data


# A FIFO must not block the open (it is refused by its type once open); Windows needs binary.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
_CHUNK = 1024 * 1024


def read_bytes(item: FoundFile, max_bytes: int) -> bytes | Problem:
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


def internal_error(display: str, error: Exception) -> Problem:
    return _problem(
        ProblemCode.MALFORMED,
        display,
        f"auditor failed while reading this file (internal error "
        f"{type(error).__name__}: {error}); please report it",
    )


def _nested(display: str) -> Problem:
    return _problem(
        ProblemCode.HOSTILE,
        display,
        "a zip archive inside a zip archive is not read (nested archives can hide a zip bomb); "
        "extract it and give its content on its own",
    )


def _problem(code: ProblemCode, path: str, message: str) -> Problem:
    return Problem(code=code, message=message, path=path, severity=Severity.HIGH)
