"""Hardened XML loading shared by the CLIXML and web.config parsers.

Every XML input is untrusted. This module owns the one way auditor turns bytes into an lxml
tree:

1. size: more than `max_bytes` is refused (TOO_LARGE) before anything is decoded;
2. encoding: a UTF-8 or UTF-16 byte-order mark decides; without one, a first `<` written as a
   UTF-16 code unit (`<` NUL or NUL `<`) means UTF-16, anything else is UTF-8, except that bytes
   which are not valid UTF-8 are decoded with the encoding their XML declaration names when
   that is not a Unicode encoding (a legacy code page such as `windows-1252`); anything else is
   BAD_ENCODING. The decoded text serves the prolog scan and the evidence lines; lxml parses
   the bytes itself, following the same byte-order mark and declaration. A document that is
   ASCII after an optional UTF-8 byte-order mark (every Exchange web.config) is not decoded as
   a whole: only its prolog and the lines evidence quotes are (`SourceLines`);
3. prolog scan: the decoded text before the root element is read (XML declaration, comments,
   processing instructions, white space); a `<!DOCTYPE` there, internal or external, is refused
   as HOSTILE before the parser sees the document. Entity declarations can only live inside a
   DOCTYPE, so this also refuses every `<!ENTITY` (billion laughs, XXE by file or URL);
4. parse: lxml with `resolve_entities=False, no_network=True, load_dtd=False,
   dtd_validation=False, huge_tree=False` (libxml2 then also refuses nesting deeper than
   256 elements and text nodes over 10 MB); comments and processing instructions are dropped,
   so nothing inside a comment can count as configuration. A DOCTYPE that slipped through the
   scan is still refused after parsing. Syntax errors become MALFORMED with lxml's line number.

Nothing here ever raises for bad input: `load_xml` returns a `LoadedXml` or a `Problem`.
"""

from __future__ import annotations

import codecs
import re
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

from lxml import etree

from auditor.model import Problem, ProblemCode
from auditor.parsers.base import RawInput

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 256  # libxml2's own limit without XML_PARSE_HUGE; documented here, enforced there

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_local = threading.local()


class SourceLines(Sequence[str]):
    """A document's lines as lxml numbers them (`sourceline` N is item N - 1): the text split on
    `\\n` by `str.split`, only as far as a line is asked for (ASCII bytes are decoded first).

    Readers ask for lines near the elements they read, and the appSettings of a web.config
    mostly sit at its top: splitting only up to the line asked for (64 lines at a time) instead
    of the whole text took the appSettings walk (`SettingsReader.read`) of the 100-server fleet
    of `benchmarks/fleet.py` from 144 to 128 ms of CPU (best of 7 in one process,
    `time.process_time`, three alternated pairs). A cursor that skipped lines with a regular
    expression was measured no faster than one `str.split` of the whole text and went.
    """

    __slots__ = ("_lines", "_rest", "_text")

    def __init__(self, text: str | bytes) -> None:
        """`text` is the decoded text, or bytes that are all ASCII."""
        self._text: str | bytes | None = text
        self._lines: list[str] = []
        self._rest: str | None = None  # the text after the lines split so far

    def _upto(self, count: int) -> list[str]:
        """The lines split so far: at least `count` of them, unless the text has fewer."""
        lines = self._lines
        if len(lines) >= count:
            return lines
        if self._text is not None:
            text, self._text = self._text, None
            self._rest = text.decode("ascii") if isinstance(text, bytes) else text
        rest = self._rest
        if rest is not None:
            wanted = max(count - len(lines), 64)
            more = rest.split("\n", wanted)
            self._rest = more.pop() if len(more) > wanted else None
            lines.extend(more)
        return lines

    def _split(self) -> list[str]:
        return self._upto(sys.maxsize)

    def upto(self, number: int) -> list[str]:
        """The lines split so far, at least through line `number` unless the text is shorter:
        item N - 1 is line N (a reader of many lines indexes the list itself)."""
        return self._upto(number)

    def __len__(self) -> int:
        return len(self._split())

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, int) and index >= 0:
            return self._upto(index + 1)[index]
        return self._split()[index]

    def line(self, number: int) -> str:
        """Line `number`, counted from 1 as lxml counts; IndexError past either end."""
        if number < 1:
            raise IndexError("line number out of range")
        return self._upto(number)[number - 1]


@dataclass(frozen=True, slots=True)
class LoadedXml:
    """A parsed document: the root element, its lines (for evidence), the byte-order mark, and
    the encoding its text was read in (`document_encoding`)."""

    root: etree._Element
    lines: SourceLines
    has_bom: bool
    encoding: str = "utf-8"

    def source_lines(self) -> SourceLines:
        """The document's lines as lxml numbers them (`sourceline` N is item N - 1)."""
        return self.lines


def source_line(element: etree._Element) -> int | None:
    """The 1-based line lxml recorded for `element`, or None (the stubs leave it untyped)."""
    line: object = element.sourceline
    return line if isinstance(line, int) and line > 0 else None


def start_line(element: etree._Element, lines: Sequence[str], lookback: int = 200) -> int | None:
    """The line where `element`'s start tag begins.

    libxml2 records the line where a start tag *ends*; for a tag written over several lines
    that is its last line. Walk back (at most `lookback` lines) to the line holding `<name`.
    """
    line = source_line(element)
    tag = element.tag
    if line is None or not isinstance(tag, str):
        return line
    local = tag.rpartition("}")[2]
    opening = f"<{element.prefix}:{local}" if element.prefix else f"<{local}"
    for candidate in range(line, max(0, line - lookback), -1):
        try:
            text = lines[candidate - 1]
        except IndexError:  # a line past the text: lxml's number is all there is
            return line
        if opening in text:
            return candidate
    return line


# One parser per thread and setting, reused (an lxml parser must not be shared between threads):
# building a new parser for every file cost 1.21x the CPU of reading the 100-server fleet of
# `benchmarks/fleet.py` in one process (`farm-bench -n 5` paired runs, median; spread 0.88x to
# 1.28x, load average 16).
def _parser(keep_blank_text: bool) -> etree.XMLParser:
    parsers: dict[bool, etree.XMLParser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(keep_blank_text)
    if parser is None:
        parser = parsers[keep_blank_text] = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
            collect_ids=False,
            remove_blank_text=not keep_blank_text,
        )
    return parser


def load_xml(
    raw: RawInput, *, max_bytes: int = DEFAULT_MAX_BYTES, keep_blank_text: bool = True
) -> LoadedXml | Problem:
    """Parse `raw` as XML with every hardening above; bad input is returned as a Problem.

    `keep_blank_text=False` drops the white space between elements from the tree (a reader of
    elements and attributes alone, such as the web.config parser, parses faster without it).
    """
    data = raw.data
    if len(data) > max_bytes:
        return raw.problem(
            ProblemCode.TOO_LARGE,
            f"the file is {len(data)} bytes, more than the {max_bytes}-byte limit for XML input",
        )
    has_bom = data.startswith(codecs.BOM_UTF8)
    body = data[3:] if has_bom else data
    source: str | bytes
    if body.isascii() and b"\x00" not in body:  # NULs: UTF-16 without a byte-order mark
        source = body
        hostile = _scan_ascii_prolog(body)
    else:
        decoded = _decode(data)
        if decoded is None:
            return raw.problem(
                ProblemCode.BAD_ENCODING,
                "the file is neither UTF-8 nor UTF-16 (with or without a byte-order mark), and "
                "its XML declaration names no other encoding it can be read in",
            )
        source, has_bom = decoded
        hostile = _scan_prolog(source)
    if hostile is not None:
        line, what = hostile
        return raw.problem(
            ProblemCode.HOSTILE,
            f"the file declares {what}; DTDs and entity declarations are refused "
            "(they can read local files, reach the network or expand without bound)",
            line,
        )
    try:
        root = etree.fromstring(data, _parser(keep_blank_text))
    except etree.XMLSyntaxError as error:
        return _syntax_problem(raw, error)
    except (etree.LxmlError, ValueError, LookupError) as error:  # e.g. an unknown encoding
        return raw.problem(ProblemCode.MALFORMED, f"the XML could not be parsed: {error}")
    docinfo = root.getroottree().docinfo
    doctype: object = getattr(docinfo, "doctype", "")
    if doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        return raw.problem(ProblemCode.HOSTILE, "the file declares a DTD; DTDs are refused")
    encoding = document_encoding(data)
    return LoadedXml(root=root, lines=SourceLines(source), has_bom=has_bom, encoding=encoding)


def document_encoding(data: bytes) -> str:
    """The encoding an XML reader reads `data` in: `utf-8` for ASCII, or UTF-8 (with or without a
    byte-order mark) not declared otherwise; `utf-16` for a UTF-16 byte-order mark or NUL
    pattern; else the encoding the XML declaration names, as written. A UTF-8 byte-order mark
    with non-ASCII text and a declaration of another encoding gives that encoding: readers
    disagree on which one wins, so the file is not taken for UTF-8."""
    if data.startswith(_UTF16_BOMS) or data.startswith((b"<\x00", b"\x00<")):
        return "utf-16"
    body = data[3:] if data.startswith(codecs.BOM_UTF8) else data
    if body.isascii():
        return "utf-8"
    declared = _DECLARED_ENCODING.match(body)
    if declared is None:
        return "utf-8"
    name = declared.group(1).decode("ascii")
    try:
        return "utf-8" if codecs.lookup(name).name == "utf-8" else name
    except LookupError:
        return name


def _decode(data: bytes) -> tuple[str, bool] | None:
    """The document text and whether it started with a byte-order mark, or None."""
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[3:].decode("utf-8"), True
        if data.startswith(_UTF16_BOMS):
            return data.decode("utf-16"), True
        if data.startswith(b"<\x00"):
            return data.decode("utf-16-le"), False
        if data.startswith(b"\x00<"):
            return data.decode("utf-16-be"), False
        try:
            return data.decode("utf-8"), False
        except UnicodeDecodeError:
            declared = _DECLARED_ENCODING.match(data)
            if declared is None:
                return None
            encoding = declared.group(1).decode("ascii")
            if codecs.lookup(encoding).name.startswith("utf"):
                return None
            return data.decode(encoding), False
    except (UnicodeDecodeError, LookupError):
        return None


def _scan_ascii_prolog(body: bytes) -> tuple[int, str] | None:
    """`_scan_prolog` of an ASCII document, decoding a growing head of it, not all of it."""
    size = 4096
    while True:
        head = body[:size].decode("ascii")
        if size >= len(body):
            return _scan_prolog(head)
        found = _scan_prolog(head, complete=False)
        if found is not _MORE:
            return found
        size *= 4


_MORE = (0, "")  # `_scan_prolog` of a head ran off its end: scan more of the document
_WHITE_SPACE = re.compile(r"[ \t\r\n]*")  # a run of it is passed at once, not a character a turn


def _scan_prolog(text: str, *, complete: bool = True) -> tuple[int, str] | None:
    """(line, what) of a DOCTYPE or entity declaration before the root element, else None.

    Walks the prolog only: XML declaration, processing instructions, comments and white space.
    Anything else that is not the start of the root element ends the scan (the parser reports
    it); a `<!` that is not a comment is a DOCTYPE or worse and is refused. When `text` is only
    the head of the document (`complete=False`) and the scan runs off its end, `_MORE`.
    """
    more = None if complete else _MORE
    position = 0
    length = len(text)
    while position < length:
        if text[position] in " \t\r\n":
            spaces = _WHITE_SPACE.match(text, position)
            position = spaces.end() if spaces else position + 1
            continue
        if not complete and position + 9 > length:
            return _MORE  # `<?`, `<!--` or `<!DOCTYPE` may run past the head
        if text.startswith("<?", position):
            end = text.find("?>", position + 2)
            if end < 0:
                return more
            position = end + 2
            continue
        if text.startswith("<!--", position):
            end = text.find("-->", position + 4)
            if end < 0:
                return more
            position = end + 3
            continue
        if text.startswith("<!", position):
            line = text.count("\n", 0, position) + 1
            declaration = text[position + 2 : position + 9].upper()
            if declaration.startswith("DOCTYPE"):
                return line, "a DOCTYPE"
            if declaration.startswith("ENTITY"):
                return line, "an entity"
            return line, "a markup declaration"
        return None
    return more


def _syntax_problem(raw: RawInput, error: etree.XMLSyntaxError) -> Problem:
    message = str(error.msg) if error.msg else str(error)
    line = error.lineno if error.lineno else None
    if "Excessive depth" in message:
        return raw.problem(
            ProblemCode.TOO_LARGE,
            f"the XML nests elements deeper than {MAX_DEPTH} levels; refused",
            line,
        )
    if "huge" in message.lower():
        return raw.problem(
            ProblemCode.TOO_LARGE, "the XML holds a node larger than the parser limit", line
        )
    return raw.problem(
        ProblemCode.MALFORMED, f"the XML is not well-formed: {_strip_location(message)}", line
    )


def _strip_location(message: str) -> str:
    """lxml appends `, line N, column M` to its messages; the Problem carries the line."""
    return re.sub(r", line \d+, column \d+$", "", message.strip())
