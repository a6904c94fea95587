"""Reading every input into one `Inventory`: discovery, format sniffing, dispatch, the fold.

`read_inventory` is the whole parse stage:

1. Discovery. Each argument is a file or a folder. Folders are walked recursively in sorted
   order (names compared as strings). Skipped without a problem, because they are never exports:
   names starting with `.` (`.git`, `.DS_Store`, editor swap files) and the Windows shell files
   `Thumbs.db` and `desktop.ini`, and documentation that travels with export folders (`README*`,
   `LICENSE*`, `NOTICE*`, `*.md`; read and reported like any file when named on the command
   line). Everything else found is read or reported: a missing path or an
   unreadable folder or file is UNREADABLE, a device or pipe is UNREADABLE (never opened). A
   symbolic link met while walking a folder (to a file or a folder) is not followed and is
   reported UNREADABLE: a folder copied from a compromised server must not make auditor read
   files outside it. A symbolic link named on the command line is followed (the user's choice).
   A file reached twice (given directly and inside a given folder) is read once, under its
   shortest display path.
2. Reading. The size is checked before reading: over `max_bytes` is TOO_LARGE and the file is
   not read. The bytes are hashed (SHA-256); `auditor.layout.identify` gives server and vdir from
   the folder layout; `server` (`--server`) replaces the layout's server.
3. Sniffing by content, never by extension (`sniff`): XML whose root is `Objs` is CLIXML, whose
   root is `configuration` is a web.config (or `appSettings`: a file that a web.config's
   appSettings names with `file=`/`configSource=`); `{` or `[` first is JSON; an optional `#TYPE`
   line and a header naming `ApplicationIdentifier` or `Name` is CSV; `Label : value` lines are
   Format-List. NUL bytes in a file that is not UTF-16 mean binary: UNKNOWN_FORMAT, as is anything
   else unrecognised and an empty file.
4. Dispatch to one parser per format (`_parse`, an explicit `match`; the XML parsers are imported
   only when needed). A parser that fails unexpectedly yields a MALFORMED problem naming the
   internal error instead of stopping the run.
5. The fold: one `Inventory` whose order does not depend on the order of the arguments or of the
   file system: inputs by path; partner applications by (application identifier, server, path,
   line); web.configs by (server, vdir, path); problems by (path, line, code, message).
   `inputs` lists every file that was read (with its hash and the format it was read as, None
   when unknown); files that were not read (too large, unreadable) appear only as problems.

Nothing here raises for bad input.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import assert_never

from auditor.model import (
    InputFormat,
    Inventory,
    ParseResult,
    PartnerApplication,
    Problem,
    ProblemCode,
    Severity,
    SourceFile,
    WebConfig,
)
from auditor.parsers.base import RawInput
from auditor.parsers.text import detect_encoding, is_utf16, split_lines, strip_ansi

__all__ = ["DEFAULT_MAX_BYTES", "IGNORED_NAMES", "read_inventory", "sniff"]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini"})
DOCUMENTATION_PREFIXES = ("readme", "license", "licence", "notice")

_SNIFF_BYTES = 64 * 1024
_XML_PROLOG_ITEM = re.compile(
    r"\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>", re.DOTALL | re.IGNORECASE
)
_XML_START_TAG = re.compile(r"<(?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_FORMAT_LIST_LABEL = re.compile(r"[^\s:][^:]*?\s:(?: |$)")
_CSV_KEY_COLUMNS = frozenset({"applicationidentifier", "name"})
_LINK = (
    "a symbolic link met while walking a folder is not followed (it could point outside the "
    "folder); it was not read: give its target on the command line if it is an input"
)


def sniff(data: bytes) -> InputFormat | None:
    """The format of an input, judged by its content (never its name); None when unknown."""
    codec, bom = detect_encoding(data)
    head = data[bom : bom + _SNIFF_BYTES]
    if not is_utf16(codec) and b"\x00" in head:
        return None
    text = head.decode(codec, errors="replace").lstrip("\ufeff \t\r\n")
    if not text:
        return None
    if text.startswith("<"):
        return _xml_format(text)
    if text[0] in "{[":
        return InputFormat.JSON
    lines = split_lines(text)
    if _looks_like_csv(lines):
        return InputFormat.CSV
    if _looks_like_format_list(lines):
        return InputFormat.FORMAT_LIST
    return None


def _xml_format(text: str) -> InputFormat | None:
    pos = 0
    while (match := _XML_PROLOG_ITEM.match(text, pos)) is not None and match.end() > pos:
        pos = match.end()
    root = _XML_START_TAG.match(text, pos)
    if root is None:
        return None
    if root.group(1) == "Objs":
        return InputFormat.CLIXML
    if root.group(1) in ("configuration", "appSettings"):  # appSettings: a file= / configSource=
        return InputFormat.WEB_CONFIG
    return None


def _looks_like_csv(lines: list[str]) -> bool:
    if lines and lines[0].startswith("#TYPE"):
        lines = lines[1:]
    if not lines or not lines[0].strip():
        return False
    header = lines[0]
    for delimiter in (",", ";", "\t"):
        try:
            names = next(csv.reader([header], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        folded = {name.strip().casefold() for name in names}
        if len(names) >= 2 and folded & _CSV_KEY_COLUMNS:
            return True
    return False


def _looks_like_format_list(lines: list[str]) -> bool:
    labelled = 0
    for line in lines:
        line = strip_ansi(line)
        if not line.strip() or line[0] in " \t":
            continue
        if _FORMAT_LIST_LABEL.match(line) is None:
            return False
        labelled += 1
        if labelled == 2:
            return True
    return False


def read_inventory(
    paths: Sequence[Path],
    *,
    server: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    csv_list_separator: str | None = ";",
) -> Inventory:
    """Read every file under `paths` into one deterministic `Inventory`; never raises."""
    problems: list[Problem] = []
    found: dict[str, tuple[str, Path]] = {}
    real_folders: dict[Path, str] = {}
    for given in paths:
        for path in _discover(Path(given), problems):
            display = str(path)
            identity = _identity(path, real_folders)
            kept = found.get(identity)
            if kept is None or (len(display), display) < (len(kept[0]), kept[0]):
                found[identity] = (display, path)
    results = [
        _read(path, display, server=server, max_bytes=max_bytes, separator=csv_list_separator)
        for display, path in sorted(found.values())
    ]
    return _fold(results, problems)


def _identity(path: Path, real_folders: dict[Path, str]) -> str:
    """The real path of a file, the key that reads a file reached twice only once.

    A file that is not a symbolic link resolves through its folder, whose real path is
    computed once per folder (kept in `real_folders`) instead of once per file.
    """
    try:
        if path.is_symlink():
            return os.path.realpath(path)
        folder = real_folders.get(path.parent)
        if folder is None:
            folder = real_folders[path.parent] = os.path.realpath(path.parent)
        return os.path.join(folder, path.name)
    except (OSError, ValueError):
        return str(path)


def _discover(path: Path, problems: list[Problem]) -> list[Path]:
    """The files `path` stands for, in sorted order; problems for what cannot be walked."""
    try:
        status = path.stat()
    except FileNotFoundError:
        problems.append(_problem(ProblemCode.UNREADABLE, str(path), "the path does not exist"))
        return []
    except (OSError, ValueError) as error:
        problems.append(_problem(ProblemCode.UNREADABLE, str(path), _os_reason(error)))
        return []
    if stat.S_ISREG(status.st_mode):
        return [path]
    if not stat.S_ISDIR(status.st_mode):
        problems.append(_problem(ProblemCode.UNREADABLE, str(path), "not a regular file or folder"))
        return []
    files: list[Path] = []

    def unreadable(error: OSError) -> None:
        where = str(error.filename) if error.filename else str(path)
        problems.append(_problem(ProblemCode.UNREADABLE, where, _os_reason(error)))

    for root, folders, names in os.walk(path, onerror=unreadable):
        base = Path(root)
        kept: list[str] = []
        for name in sorted(folders):
            if _ignored(name):
                continue
            if (base / name).is_symlink():
                problems.append(_problem(ProblemCode.UNREADABLE, str(base / name), _LINK))
            else:
                kept.append(name)
        folders[:] = kept
        for name in sorted(names):
            if _ignored(name) or _documentation(name):
                continue
            if (base / name).is_symlink():
                problems.append(_problem(ProblemCode.UNREADABLE, str(base / name), _LINK))
            else:
                files.append(base / name)
    return files


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.casefold() in IGNORED_NAMES


def _documentation(name: str) -> bool:
    """README, LICENSE, NOTICE and Markdown files: never exports, skipped while walking."""
    folded = name.casefold()
    return folded.endswith(".md") or folded.startswith(DOCUMENTATION_PREFIXES)


def _read(
    path: Path, display: str, *, server: str | None, max_bytes: int, separator: str | None
) -> ParseResult | Problem:
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            return _problem(ProblemCode.UNREADABLE, display, "not a regular file")
        if status.st_size > max_bytes:
            return _too_large(display, status.st_size, max_bytes)
        with path.open("rb") as stream:
            # Sized by the stat (a huge read buffer per file is slow); a file that grew since
            # is read on, up to the limit, so the size check below still sees it.
            data = stream.read(status.st_size + 1)
            if len(data) > status.st_size:
                data += stream.read(max_bytes + 1 - len(data))
    except (OSError, ValueError) as error:
        return _problem(ProblemCode.UNREADABLE, display, _os_reason(error))
    if len(data) > max_bytes:
        return _too_large(display, len(data), max_bytes)

    from auditor.layout import identify

    placement = identify(path)
    raw = RawInput(
        path=display,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        server=server or placement.server,
        vdir=placement.vdir,
        location=path,
    )
    input_format = sniff(data)
    if input_format is None:
        return ParseResult(
            source=raw.source(None),
            problems=(raw.problem(ProblemCode.UNKNOWN_FORMAT, _unknown_reason(data)),),
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


def _unknown_reason(data: bytes) -> str:
    if not data.strip():
        return "the file is empty"
    codec, bom = detect_encoding(data)
    if not is_utf16(codec) and b"\x00" in data[bom : bom + _SNIFF_BYTES]:
        return "the file holds binary data (NUL bytes) and is not UTF-16 text; it was not read"
    return (
        "not an export auditor reads: expected Get-PartnerApplication output saved as "
        "Format-List text, Export-Csv, ConvertTo-Json or Export-Clixml, or a web.config file"
    )


def _too_large(display: str, size: int, max_bytes: int) -> Problem:
    return _problem(
        ProblemCode.TOO_LARGE,
        display,
        f"the file is {size} bytes, over the limit of {max_bytes} bytes; it was not read",
    )


def _os_reason(error: OSError | ValueError) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"cannot be read: {error.strerror}"
    return f"cannot be read: {error}"


def _problem(
    code: ProblemCode, path: str, message: str, severity: Severity = Severity.HIGH
) -> Problem:
    return Problem(code=code, message=message, path=path, severity=severity)


def _fold(results: list[ParseResult | Problem], problems: list[Problem]) -> Inventory:
    inputs: list[SourceFile] = []
    applications: list[PartnerApplication] = []
    web_configs: list[WebConfig] = []
    for result in results:
        if isinstance(result, Problem):
            problems.append(result)
            continue
        inputs.append(result.source)
        applications.extend(result.partner_applications)
        web_configs.extend(result.web_configs)
        problems.extend(result.problems)
    return Inventory(
        inputs=tuple(sorted(inputs, key=lambda source: source.path)),
        partner_applications=tuple(
            sorted(
                applications,
                key=lambda app: (
                    app.application_identifier,
                    app.server or "",
                    app.source.path,
                    app.source.line or 0,
                ),
            )
        ),
        web_configs=tuple(
            sorted(web_configs, key=lambda config: (config.server, config.vdir, config.path))
        ),
        problems=tuple(
            sorted(
                problems,
                key=lambda problem: (
                    problem.path,
                    problem.line is not None,
                    problem.line or 0,
                    problem.code.value,
                    problem.message,
                ),
            )
        ),
    )
