"""Format sniffing: which parser reads a file, judged by its content, never by its name.

XML whose root is `Objs` is CLIXML, whose root is `configuration` is a web.config (or
`appSettings`: a file that a web.config's appSettings names with `file=`/`configSource=`);
`{` or `[` first is JSON; an optional `#TYPE` line and a header naming `ApplicationIdentifier`
or `Name` (or a trust export's key column) is CSV; `Label : value` lines are Format-List. NUL
bytes in a file that is not UTF-16 mean binary: no format, as is anything else unrecognised and
an empty file (`unknown_reason` says which).
"""

from __future__ import annotations

import csv
import re

from auditor.model import InputFormat
from auditor.parsers.text import detect_encoding, is_utf16, split_lines, strip_ansi

__all__ = ["sniff", "unknown_reason"]

_SNIFF_BYTES = 64 * 1024
_XML_PROLOG_ITEM = re.compile(
    r"\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]|\[.*?\])*>", re.DOTALL | re.IGNORECASE
)
_XML_START_TAG = re.compile(r"<(?:[A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")
_FORMAT_LIST_LABEL = re.compile(r"[^\s:][^:]*?\s:(?: |$)")
# A column every partner application and every trust export has, or one that tells a trust
# export projected without its Name (`auditor.parsers.trust_text`).
_CSV_KEY_COLUMNS = frozenset(
    {
        "applicationidentifier",
        "name",
        "componentname",
        "currentcertificatethumbprint",
        "thumbprint",
        "filemajorpart",  # ExSetup.exe's FileVersionInfo
        "isvalid",  # the VariantConfiguration diagnostic
    }
)


def sniff(data: bytes) -> InputFormat | None:
    """The format of an input, judged by its content (never its name); None when unknown."""
    codec, bom = detect_encoding(data)
    if not is_utf16(codec) and data.find(b"\x00", bom, bom + _SNIFF_BYTES) >= 0:
        return None
    text = data[bom : bom + _SNIFF_BYTES].decode(codec, errors="replace").lstrip("\ufeff \t\r\n")
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


def unknown_reason(data: bytes) -> str:
    """Why `sniff` found no format in `data`, as a sentence for the problem."""
    if not data.strip():
        return "the file is empty"
    codec, bom = detect_encoding(data)
    if not is_utf16(codec) and b"\x00" in data[bom : bom + _SNIFF_BYTES]:
        return "the file holds binary data (NUL bytes) and is not UTF-16 text; it was not read"
    return (
        "not an export auditor reads: expected Get-PartnerApplication output saved as "
        "Format-List text, Export-Csv, ConvertTo-Json or Export-Clixml, or a web.config file; "
        "a file that is not evidence is left out with --exclude or a line in .auditorignore"
    )


def _xml_format(text: str) -> InputFormat | None:
    pos = 0
    while (match := _XML_PROLOG_ITEM.match(text, pos)) is not None and match.end() > pos:
        pos = match.end()
    root = _XML_START_TAG.match(text, pos)
    if root is None:
        return None
    return _root_format(root.group(1))


def _root_format(root: str) -> InputFormat | None:
    if root == "Objs":
        return InputFormat.CLIXML
    if root in ("configuration", "appSettings"):  # appSettings: a file= / configSource=
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
