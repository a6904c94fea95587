"""Encodings of text exports: BOMs, BOM-less UTF-16, legacy code pages, `>>` mixtures, ANSI."""

from __future__ import annotations

from pathlib import Path

import pytest
from parser_helpers import DATA, raw_input

from auditor.model import Problem, ProblemCode
from auditor.parsers import formatlist
from auditor.parsers.sniff import sniff
from auditor.parsers.text import LineIndex, decode, detect_encoding, split_lines, strip_ansi

MIXED = DATA / "mixed"


@pytest.mark.parametrize(
    ("data", "codec", "bom"),
    [
        (b"\xff\xfeN\x00a\x00", "utf-16-le", 2),
        (b"\xfe\xff\x00N\x00a", "utf-16-be", 2),
        (b"\xef\xbb\xbfName", "utf-8", 3),
        (b"\xff\xfe\x00\x00N\x00\x00\x00", "utf-32-le", 4),
        ("Name : x\r\n".encode("utf-16-le"), "utf-16-le", 0),
        ("Name : x\r\n".encode("utf-16-be"), "utf-16-be", 0),
        (b"Name : x\r\n", "utf-8", 0),
        ("Název : č".encode(), "utf-8", 0),
    ],
)
def test_detect_encoding(data: bytes, codec: str, bom: int) -> None:
    assert detect_encoding(data) == (codec, bom)


@pytest.mark.parametrize(
    "file", ["utf16le-no-bom.txt", "utf16be-bom.txt", "utf8-no-bom-lf.txt"], ids=str
)
def test_every_encoding_reads_the_same_application(file: str) -> None:
    result = formatlist.parse(raw_input(MIXED / file))

    assert result.problems == ()
    (app,) = result.partner_applications
    assert app.act_as_permissions.values == ("Mail.Read", "Mail.Send")


@pytest.mark.parametrize(
    ("file", "line", "phrases"),
    [
        ("appended-utf8-after-utf16.txt", 6, ("starts as UTF-16LE with BOM", "line 6", ">>")),
        ("appended-utf16-after-utf8.txt", 5, ("UTF-8 up to line 5", "switches to UTF-16", ">>")),
        ("cp1250-legacy.txt", 1, ("not valid UTF-8", "code page", "-Encoding UTF8")),
    ],
)
def test_undecodable_files_give_a_located_problem_not_garbage(
    file: str, line: int, phrases: tuple[str, ...]
) -> None:
    decoded = decode(raw_input(MIXED / file))

    assert isinstance(decoded, Problem)
    assert (decoded.code, decoded.line) == (ProblemCode.BAD_ENCODING, line)
    for phrase in phrases:
        assert phrase in decoded.message
    result = formatlist.parse(raw_input(MIXED / file))
    assert result.partner_applications == () and result.problems == (decoded,)


def test_nul_bytes_in_utf8_text_are_refused() -> None:
    data = b"Name : a\nApplicationIdentifier : b\nActAsPermissions : {\x00\x00}\n"
    decoded = decode(raw_input(Path("nul.txt"), data=data))

    assert isinstance(decoded, Problem)
    assert (decoded.code, decoded.line) == (ProblemCode.BAD_ENCODING, 3)


def test_binary_files_are_not_sniffed_as_any_format() -> None:
    assert sniff((MIXED / "binary.dat").read_bytes()) is None


def test_a_bom_written_again_by_an_append_is_dropped() -> None:
    data = b"\xef\xbb\xbfName : a\r\xef\xbb\xbfName : b\n\xef\xbb\xbfId : Mail.Se\xef\xbb\xbfnd\n"
    text = decode(raw_input(Path("twice.txt"), data=data))
    assert text == "Name : a\rName : b\nId : Mail.Se\ufeffnd\n"  # kept inside a value


def test_ansi_escapes_are_removed() -> None:
    coloured = "\x1b[32;1mName : \x1b[0mGraph\x1b]8;;https://x\x07link\x1b]8;;\x07\x1b(B"
    assert strip_ansi(coloured) == "Name : Graphlink"


def test_lines_end_at_crlf_lf_and_cr_only() -> None:
    text = "a\r\nb\nc\rd\x0ce\u2028f"
    assert split_lines(text) == ["a", "b", "c", "d\x0ce\u2028f"]
    index = LineIndex.of(text)
    assert [index.line_of(text.index(ch)) for ch in "abcdf"] == [1, 2, 3, 4, 4]
