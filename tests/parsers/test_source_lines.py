"""`SourceLines` splits a document only as far as a line is asked for: every way of reading it
gives what one `str.split` of the whole text gives."""

from __future__ import annotations

import pytest

from auditor.parsers.xmlsafe import SourceLines

TEXT = "\n".join(f"line {number}" for number in range(1, 201)) + "\n"


@pytest.mark.parametrize("given", [TEXT, TEXT.encode("ascii")])
def test_lines_asked_in_any_order_are_those_of_one_split(given: str | bytes) -> None:
    whole = TEXT.split("\n")
    lines = SourceLines(given)
    assert lines.line(3) == "line 3"
    assert lines[0] == "line 1"
    assert lines.line(150) == "line 150"  # past the first 64 lines split
    assert lines.line(70) == "line 70"
    assert lines[-1] == "" and lines[-2] == "line 200"  # the text ends with a newline
    assert lines[198:] == whole[198:]
    assert len(lines) == len(whole) == 201
    assert list(lines) == whole
    for number in (0, 202):
        with pytest.raises(IndexError):
            lines.line(number)


def test_a_text_without_a_newline_is_one_line_and_an_empty_one_is_one_empty_line() -> None:
    assert list(SourceLines("<a/>")) == ["<a/>"]
    assert SourceLines("<a/>").line(1) == "<a/>"
    with pytest.raises(IndexError):
        SourceLines("<a/>").line(2)
    assert list(SourceLines("")) == [""]
    assert len(SourceLines(b"")) == 1
