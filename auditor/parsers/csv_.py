"""Reads `Get-PartnerApplication | Export-Csv` output.

A file whose header names the columns of a hybrid-trust export (`Get-SettingOverride`,
`Get-AuthServer`, ...: `auditor.parsers.trust_text`) is read into trust records instead.

Export-Csv writes every property with `ToString()`, so a list becomes its .NET type name
(`System.String[]`, ``Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]``,
`System.Collections.ArrayList`, `System.Object[]`, optionally `Deserialized.`-prefixed): such a
cell carries no permission data. It is incomplete evidence (`complete=False`, no names, an
INCOMPLETE_EVIDENCE problem telling the admin to use Export-Clixml or to join the lists with
`-join ';'` in a `Select-Object`), never an empty list. Any cell that is a fully qualified
`System.`/`Microsoft.` type name counts as such a type name; permission names never look so.

Other rules:
- an optional first line `#TYPE <type name>` (Windows PowerShell 5.1 without
  `-NoTypeInformation`) is skipped;
- the delimiter is read from the header: `,` unless the header's quoted names are separated by
  `;` or a tab (`Export-Csv -UseCulture` / `-Delimiter` on e.g. a cs-CZ or de-DE system);
- quoted fields may hold the delimiter, doubled quotes and line breaks;
- an empty cell is `$null`: an empty, complete list;
- with `list_separator` set (";" by default; the policy's `csv_list_separator` decides), a cell
  holding names joined by the admin (`Mail.Read;Mail.Write`) is read as that list: split on the
  separator, trimmed, empty pieces dropped. With `list_separator=None` such a cell is incomplete
  evidence (a CSV cell cannot hold a list);
- a repeated column name (case-insensitive) or a missing `ApplicationIdentifier` column makes the
  file MALFORMED; a record with the wrong number of fields is MALFORMED and skipped.

At most MAX_OBJECTS objects per file and MAX_NAMES names per list are read (see
`auditor.parsers.properties`).

Line numbers are physical lines (CRLF, LF or CR end a line): a record's line is where it starts,
a cell's line adds the line breaks inside the cells before it. A cell's raw evidence is the cell
written as Export-Csv quotes it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from auditor.model import InputFormat, ParseResult, Problem, ProblemCode
from auditor.parsers.base import RawInput
from auditor.parsers.properties import (
    KNOWN_EXPORTS,
    MAX_RAW,
    ApplicationReader,
    ObjectSource,
    PropertyValue,
    cut_names,
    is_permission_property,
)
from auditor.parsers.text import count_line_breaks, decode, split_lines
from auditor.parsers.trust_text import CsvFields, TrustObjects, trust_kind

if TYPE_CHECKING:
    from _csv import Reader as _CsvReader

_TYPE_NAME = re.compile(r"(?:Deserialized\.)?(?:System|Microsoft)(?:\.\w+)+(?:`\d+)?(?:\[.*\])?")
_DELIMITERS = (",", ";", "\t")


def is_type_name(cell: str) -> bool:
    """True when `cell` is a .NET type name, i.e. what Export-Csv writes for a list."""
    return _TYPE_NAME.fullmatch(cell.strip()) is not None


def parse(raw: RawInput, *, list_separator: str | None = ";") -> ParseResult:
    """Every partner application in an Export-Csv export, with problems for what is lost."""
    source = raw.source(InputFormat.CSV)
    text = decode(raw)
    if isinstance(text, Problem):
        return ParseResult(source=source, problems=(text,))
    stream = io.StringIO(text, newline="")
    skipped = 0
    first = stream.readline()
    if first.startswith("#TYPE"):
        skipped = 1
        first = stream.readline()
    if not first.strip():
        return ParseResult(
            source=source,
            problems=(raw.problem(ProblemCode.MALFORMED, "the CSV export has no header line"),),
        )
    reader = csv.reader(_chain(first, stream), delimiter=_delimiter(first), strict=True)
    applications = ApplicationReader(raw, InputFormat.CSV)
    trust = TrustObjects(raw, InputFormat.CSV)
    try:
        header = next(reader)
        kind = trust_kind(header)
        header_problem = _header_problem(header, raw, skipped + 1, trust=kind is not None)
        if header_problem is not None:
            return ParseResult(source=source, problems=(header_problem,))
        records = _Records(header, skipped, split_lines(text), list_separator, kind, trust)
        _read_records(reader, records, applications)
    except csv.Error as error:
        line = skipped + reader.line_num
        applications.problems.append(
            raw.problem(ProblemCode.MALFORMED, f"not valid CSV at line {line}: {error}", line)
        )
    return trust.merged(applications.result())


@dataclass(frozen=True, slots=True)
class _Records:
    """How the records after the header are read: `skipped` lines (a `#TYPE` line) precede
    the header; `kind` is the trust export the header says the file is (None: partner
    applications, read into `ApplicationReader`; else into `trust`)."""

    header: list[str]
    skipped: int
    physical_lines: list[str]
    list_separator: str | None
    kind: str | None
    trust: TrustObjects


def _read_records(reader: _CsvReader, records: _Records, applications: ApplicationReader) -> None:
    """Every record after the header as a partner application or a trust record (`_Records`);
    one of the wrong width is skipped."""
    header, skipped, physical_lines = records.header, records.skipped, records.physical_lines
    previous_end = reader.line_num
    for row in reader:
        start = skipped + previous_end + 1
        previous_end = reader.line_num
        if not row:
            continue
        if not applications.room_for(start):
            break
        if len(row) != len(header):
            applications.problems.append(
                applications.raw.problem(
                    ProblemCode.MALFORMED,
                    f"the record at line {start} has {len(row)} fields, the header "
                    f"{len(header)}; it was skipped",
                    start,
                )
            )
            continue
        shown = physical_lines[start - 1][:MAX_RAW]
        if records.kind is not None:
            fields = CsvFields(dict(zip(header, row, strict=True)))
            records.trust.add(records.kind, fields, start, shown)
            continue
        applications.add(
            _properties(header, row, start, records.list_separator),
            ObjectSource(line=start, raw=shown),
        )


def _chain(first: str, rest: io.StringIO) -> Iterator[str]:
    yield first
    yield from rest


def _delimiter(header_line: str) -> str:
    """The delimiter between the header's names (`,` unless `;` or tab clearly separate them)."""
    if header_line.startswith('"'):
        closing = header_line.find('"', 1)
        if closing > 0 and header_line[closing + 1 : closing + 2] in _DELIMITERS:
            return header_line[closing + 1]
        return ","
    counts = {delimiter: header_line.count(delimiter) for delimiter in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _header_problem(
    header: list[str], raw: RawInput, line: int, *, trust: bool = False
) -> Problem | None:
    """Why the header cannot be read (a repeated column; no ApplicationIdentifier column in a
    file that is no trust export), else None."""
    seen: set[str] = set()
    for name in header:
        folded = name.casefold()
        if folded in seen:
            return raw.problem(
                ProblemCode.MALFORMED,
                f"the CSV header names the column {name!r} more than once; the file is ambiguous",
                line,
            )
        seen.add(folded)
    if "applicationidentifier" not in seen and not trust:
        return raw.problem(
            ProblemCode.MALFORMED,
            "the CSV header has no ApplicationIdentifier column and is none of the exports "
            f"auditor reads: expected {KNOWN_EXPORTS}, or a column that tells which was left out",
            line,
        )
    return None


def _properties(
    header: list[str], row: list[str], start: int, list_separator: str | None
) -> dict[str, PropertyValue]:
    properties: dict[str, PropertyValue] = {}
    line = start
    for name, cell in zip(header, row, strict=True):
        quoted = '"' + cell[:MAX_RAW].replace('"', '""') + '"'
        if is_permission_property(name):
            properties[name] = _permission_value(cell, line, quoted, list_separator)
        else:
            properties[name] = PropertyValue(value=cell or None, line=line, raw=quoted)
        line += count_line_breaks(cell)
    return properties


def _permission_value(
    cell: str, line: int, quoted: str, list_separator: str | None
) -> PropertyValue:
    text = cell.strip()
    if not text:
        return PropertyValue(value=None, line=line, raw=quoted)
    if is_type_name(text):
        return PropertyValue(
            value=(),
            line=line,
            raw=quoted,
            lost=f"Export-Csv wrote the type name {text!r} instead of the names",
        )
    if list_separator is None:
        return PropertyValue(
            value=(),
            line=line,
            raw=quoted,
            lost=(
                f"the cell holds the text {text[:80]!r}, and joined lists are not read because "
                "the policy sets no csv_list_separator"
            ),
        )
    names = tuple(name for name in (piece.strip() for piece in text.split(list_separator)) if name)
    shown, lost = cut_names(names)
    return PropertyValue(value=shown, line=line, raw=quoted, lost=lost)
