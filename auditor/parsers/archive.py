"""Zip archives as inputs: read in memory (never extracted to disk), refused when hostile.

Admins send collections back as `.zip`. A zip is told by its content (`is_zip`: a local file
header `PK\\x03\\x04` or the end record of an empty archive `PK\\x05\\x06` first), whatever its
name, and read with `zipfile` from the bytes already read (so the archive itself is bounded
by the per-input limit). `open_archive` checks the whole central directory before any member
is read; an archive that breaks one of these rules is refused as a whole, with one problem
naming the first member that breaks it (nothing of it is read):

- at most `MAX_MEMBERS` entries (the count in the end record is checked before the central
  directory is parsed);
- the uncompressed sizes together at most `MAX_TOTAL_BYTES`; a member over `MIN_RATIO_BYTES`
  uncompressed may be at most `MAX_RATIO` times its compressed size (a zip bomb);
- a member name is a relative `/`-separated path: no `..` or `.` segment, no empty segment, no
  leading `/`, no drive letter, no backslash, no control character, no two members of one
  name (each could be extracted over another file, or shadow it);
- no encrypted member, no symbolic link, no compression method `zipfile` cannot read.

A member larger than the per-input limit is a TOO_LARGE problem of its own (as a file is) and
the rest is read. A member whose content is itself a zip archive is refused by the reader
(`auditor.parsers.read_inventory`): archives are not read inside archives. Member reads are
bounded by the declared sizes, which `zipfile` enforces (it stops at the declared size and
checks the CRC), so a lying header cannot make auditor inflate more than was allowed.
"""

from __future__ import annotations

import io
import re
import stat
import struct
import zipfile
from dataclasses import dataclass

from auditor.model import Problem, ProblemCode, Severity

__all__ = [
    "MAX_MEMBERS",
    "MAX_RATIO",
    "MAX_TOTAL_BYTES",
    "MIN_RATIO_BYTES",
    "Archive",
    "is_zip",
    "open_archive",
]

MAX_MEMBERS = 10_000
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
MAX_RATIO = 100
MIN_RATIO_BYTES = 1024 * 1024

_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")
_END_RECORD = b"PK\x05\x06"
_END_RECORD_SIZE = 22
_MAX_COMMENT = 0xFFFF
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_LOCATOR_SIZE = 20
_ZIP64_RECORD = b"PK\x06\x06"
_ZIP64_RECORD_SIZE = 56
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_READABLE_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_ENCRYPTED = 0x1


def is_zip(data: bytes) -> bool:
    """True when `data` is a zip archive by its first bytes (an empty archive included)."""
    return data.startswith(_SIGNATURES)


@dataclass(frozen=True, slots=True)
class Archive:
    """A zip archive whose central directory passed every check; members read on demand."""

    display: str
    members: tuple[str, ...]  # file members, folders left out
    zip_file: zipfile.ZipFile
    member_names: frozenset[str]

    def size(self, name: str) -> int:
        """The declared uncompressed size of member `name`."""
        return self.zip_file.getinfo(name).file_size

    def read(self, name: str) -> bytes | Problem:
        """The bytes of member `name`, or why they could not be read (a corrupt member)."""
        try:
            return self.zip_file.read(name)
        except Exception as error:  # BadZipFile (CRC), zlib, bz2 and lzma raise their own errors
            return _problem(
                ProblemCode.MALFORMED,
                f"{self.display}!/{name}",
                f"the archive member cannot be read ({type(error).__name__}: {error}); it was "
                "not audited",
            )

    def close(self) -> None:
        self.zip_file.close()


def open_archive(display: str, data: bytes) -> Archive | Problem:
    """The archive in `data` (shown as `display`), or the one problem that refuses it."""
    counted = _declared_count(data)
    if counted is not None and counted > MAX_MEMBERS:
        return _refused(display, f"it holds {counted} entries, over the limit of {MAX_MEMBERS}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as error:  # BadZipFile, struct.error, a name that is not UTF-8, ...
        return _problem(
            ProblemCode.MALFORMED,
            display,
            f"not a readable zip archive ({error}); nothing in it was read",
        )
    infos = archive.infolist()
    reason = _hostile(infos)
    if reason is not None:
        archive.close()
        return _refused(display, reason)
    members = tuple(info.filename for info in infos if not info.is_dir())
    return Archive(
        display=display, members=members, zip_file=archive, member_names=frozenset(members)
    )


def _declared_count(data: bytes) -> int | None:
    """The entry count the end record (or the zip64 end record it points to) declares, read
    before `zipfile` parses the central directory; None when no end record is found."""
    start = max(0, len(data) - _END_RECORD_SIZE - _MAX_COMMENT)
    at = data.rfind(_END_RECORD, start)
    if at < 0 or len(data) - at < _END_RECORD_SIZE:
        return None
    (count,) = struct.unpack_from("<H", data, at + 10)
    locator = at - _ZIP64_LOCATOR_SIZE
    if count != 0xFFFF or locator < 0 or data[locator : locator + 4] != _ZIP64_LOCATOR:
        return int(count)
    (offset,) = struct.unpack_from("<Q", data, locator + 8)
    if offset + _ZIP64_RECORD_SIZE > len(data) or data[offset : offset + 4] != _ZIP64_RECORD:
        return None
    (count64,) = struct.unpack_from("<Q", data, offset + 32)
    return int(count64)


def _hostile(infos: list[zipfile.ZipInfo]) -> str | None:
    """Why the central directory is refused (the first member that breaks a rule), or None."""
    if len(infos) > MAX_MEMBERS:
        return f"it holds {len(infos)} entries, over the limit of {MAX_MEMBERS}"
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        shown = _CONTROL.sub("?", name)
        bad_name = _bad_name(name)
        if bad_name is not None:
            return f"the member {shown!r} {bad_name}"
        if name.rstrip("/") in seen:
            return f"two members are named {shown!r}"
        seen.add(name.rstrip("/"))
        if info.is_dir():
            continue
        if info.flag_bits & _ENCRYPTED:
            return f"the member {shown!r} is encrypted; auditor reads no encrypted content"
        if _is_link(info):
            return f"the member {shown!r} is a symbolic link"
        if info.compress_type not in _READABLE_METHODS:
            return f"the member {shown!r} uses compression method {info.compress_type}"
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            return f"its members hold more than {MAX_TOTAL_BYTES} bytes uncompressed (at {shown!r})"
        if info.file_size > MIN_RATIO_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            return (
                f"the member {shown!r} inflates {info.compress_size} bytes to "
                f"{info.file_size}, over {MAX_RATIO} to 1 (a zip bomb)"
            )
    return None


def _bad_name(name: str) -> str | None:
    """Why a member name is not a plain relative path, or None."""
    if not name:
        return "has no name"
    if "\\" in name:
        return "holds a backslash (a path separator on Windows)"
    if _CONTROL.search(name):
        return "holds a control character"
    if name.startswith("/") or _DRIVE.match(name):
        return "is an absolute path"
    parts = name.rstrip("/").split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "holds an empty, `.` or `..` path segment (it could escape the archive's folder)"
    return None


def _is_link(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return mode != 0 and stat.S_ISLNK(mode)


def _refused(display: str, reason: str) -> Problem:
    return _problem(
        ProblemCode.HOSTILE,
        display,
        f"the zip archive is refused: {reason}; nothing in it was read. Extract it with care, "
        "or collect again (auditor collect) and send the folder as it was written",
    )


def _problem(code: ProblemCode, path: str, message: str) -> Problem:
    return Problem(code=code, message=message, path=path, severity=Severity.HIGH)
