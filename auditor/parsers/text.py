"""Turning the bytes of a text export into text: encoding sniffing, line numbers, ANSI escapes.

PowerShell writes exports in several encodings: Windows PowerShell 5.1 `Out-File` and `>` write
UTF-16LE with a BOM, PowerShell 7 writes UTF-8 without a BOM, `Export-Csv` in 5.1 writes ASCII,
`-Encoding UTF8` in 5.1 adds a UTF-8 BOM. `>>` does not match the encoding of the file it
appends to, so one file can switch encodings half way. This module owns:

- `detect_encoding`: BOM sniffing (UTF-32 and UTF-16 LE/BE, UTF-8), then a byte-pattern test for
  BOM-less UTF-16 (every other byte NUL), else UTF-8;
- `decode`: the whole file as text, or a `BAD_ENCODING` problem naming the line where decoding
  failed (invalid bytes, NUL bytes in a non-UTF-16 file, a UTF-16 file that continues in an
  8-bit encoding). A U+FEFF at the start of a line (a BOM written again by an append) is
  removed, one inside a line is kept; line endings are kept as they are;
- `split_lines` and `LineIndex`: one definition of a line (ended by CRLF, LF or a lone CR) that
  every text parser shares, so that line numbers agree across formats;
- `strip_ansi`: removes terminal escape sequences (PowerShell 7.2+ colours list labels) for the
  Format-List parser.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from auditor.model import Problem, ProblemCode
from auditor.parsers.base import RawInput

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM starts with the UTF-16LE one.
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)

_UTF16_SAMPLE_BYTES = 256
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A byte order mark written again by an append sits at the start of a line; anywhere else U+FEFF
# is part of a value and is kept (a permission named `Mail.Se\ufeffnd` is not `Mail.Send`).
_REPEATED_BOM = re.compile(r"(?:^|(?<=[\r\n]))\ufeff+")
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor movement
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC: titles, hyperlinks
    r"|\x1b[()*+][0-9A-Za-z]"  # character set designation, e.g. ESC ( B
    r"|\x1b[@-Z\\-_]"  # other two-character escapes
)
# Both bytes of a UTF-16 code unit in the printable ASCII range (or tab/CR/LF): what 8-bit text
# looks like when it is read as UTF-16. 17 units so that an even-aligned run of 16 always fits.
_ASCII_PAIRS = re.compile(rb"(?:[\t\n\r\x20-\x7e]{2}){17}")
_MIXED_ADVICE = (
    "the file was probably extended with `>>` from a PowerShell session that writes another "
    "encoding; export again into a new file in one command"
)


def detect_encoding(data: bytes) -> tuple[str, int]:
    """The codec name for `data` and the length of its byte order mark (0 when there is none)."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    # Judge by the start only: a file that switches encoding later (`>>`) is judged by what
    # it starts as, and decoding then reports where it stops making sense.
    sample = data[:_UTF16_SAMPLE_BYTES]
    pairs = len(sample) // 2
    if pairs >= 2:
        even_zeros = sample[0::2].count(0)
        odd_zeros = sample[1::2].count(0)
        if odd_zeros >= 0.7 * pairs and even_zeros <= 0.05 * pairs:
            return "utf-16-le", 0
        if even_zeros >= 0.7 * pairs and odd_zeros <= 0.05 * pairs:
            return "utf-16-be", 0
    return "utf-8", 0


def is_utf16(codec: str) -> bool:
    return codec.startswith(("utf-16", "utf-32"))


def decode(raw: RawInput) -> str | Problem:
    """The whole input as text, or a BAD_ENCODING problem saying at which line decoding failed."""
    codec, bom = detect_encoding(raw.data)
    body = raw.data[bom:]
    name = _codec_label(codec, bom)
    if codec.startswith("utf-16"):
        switch = _utf16_switch_offset(body)
        if switch is not None:
            line = _line_after(body[:switch].decode(codec, errors="replace"))
            return raw.problem(
                ProblemCode.BAD_ENCODING,
                f"the file starts as {name} but continues in an 8-bit encoding (UTF-8 or ANSI) "
                f"at line {line}; {_MIXED_ADVICE}",
                line,
            )
    try:
        text = body.decode(codec)
    except UnicodeDecodeError as error:
        line = _line_after(body[: error.start].decode(codec, errors="replace"))
        return raw.problem(
            ProblemCode.BAD_ENCODING,
            _decode_error_message(codec, name, body, error, line),
            line,
        )
    nul = text.find("\x00")
    if nul >= 0:
        line = _line_after(text[:nul])
        return raw.problem(
            ProblemCode.BAD_ENCODING,
            f"the file contains NUL characters from line {line} on: it is binary data, or "
            f"UTF-16 text appended to a {name} file; {_MIXED_ADVICE}",
            line,
        )
    if "\ufeff" in text:
        text = _REPEATED_BOM.sub("", text)
    return text


def _codec_label(codec: str, bom: int) -> str:
    label = codec.upper().replace("-LE", "LE").replace("-BE", "BE")
    if codec == "utf-8":
        return "UTF-8 with BOM" if bom else "UTF-8"
    return f"{label} with BOM" if bom else f"{label} without BOM"


def _decode_error_message(
    codec: str, name: str, body: bytes, error: UnicodeDecodeError, line: int
) -> str:
    bad = body[error.start : error.start + 2]
    if codec == "utf-8" and (bad in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in body[error.start :]):
        return f"the file is {name} up to line {line} and then switches to UTF-16; {_MIXED_ADVICE}"
    if is_utf16(codec) and error.end >= len(body):
        return (
            f"the file is {name} but ends in the middle of a character at line {line}: it was "
            f"cut short or extended in another encoding; {_MIXED_ADVICE}"
        )
    if codec == "utf-8":
        return (
            f"byte 0x{body[error.start]:02X} at line {line} is not valid UTF-8: the file is "
            "probably in a legacy code page (Windows PowerShell 5.1 `Set-Content`, "
            "`Out-File -Encoding Default`); export again with `-Encoding UTF8`, or use "
            "`Export-Clixml`"
        )
    return f"the file is not valid {name} at line {line} ({error.reason})"


def _utf16_switch_offset(body: bytes) -> int | None:
    """Where a UTF-16 body turns into 8-bit text (an even byte offset), or None."""
    match = _ASCII_PAIRS.search(body)
    if match is None:
        return None
    return match.start() + match.start() % 2


def _line_after(prefix: str) -> int:
    """The 1-based line number of the character that follows `prefix`."""
    return len(_LINE_BREAK.findall(prefix)) + 1


def strip_ansi(text: str) -> str:
    """`text` without terminal escape sequences (colours, cursor movement, hyperlinks)."""
    if "\x1b" not in text:
        return text
    return _ANSI.sub("", text)


def split_lines(text: str) -> list[str]:
    """`text` cut at CRLF, LF and lone CR (only those: not at form feeds or U+2028)."""
    return _LINE_BREAK.split(text)


def count_line_breaks(text: str) -> int:
    return len(_LINE_BREAK.findall(text))


@dataclass(frozen=True, slots=True)
class LineIndex:
    """Maps character offsets in a text to 1-based line numbers (same line rule as above)."""

    starts: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> LineIndex:
        return cls((0, *(match.end() for match in _LINE_BREAK.finditer(text))))

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)
