"""Hostile XML: both XML parsers refuse DTDs and entities, never resolve, never go online."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parser_helpers import DATA, raw_input

from auditor.model import ParseResult, ProblemCode
from auditor.parsers import clixml, webconfig
from auditor.parsers.base import RawInput
from auditor.parsers.xmlsafe import SourceLines

PARSERS: dict[str, Callable[[RawInput], ParseResult]] = {
    "clixml": clixml.parse,
    "webconfig": webconfig.parse,
}
HOSTILE_WEBCONFIG = DATA / "webconfig" / "hostile"
HOSTILE_CLIXML = DATA / "clixml" / "hostile"
SECRET = "TOP-SECRET-SENTINEL-4711"


@pytest.fixture
def listener() -> Iterator[tuple[int, list[bytes]]]:
    """A local TCP listener that records every connection made to it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.05)
    connections: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _address = server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(0.5)
                try:
                    connections.append(connection.recv(1024))
                except OSError:
                    connections.append(b"")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], connections
    stop.set()
    thread.join(timeout=2)
    server.close()


def _documents(secret_file: Path, port: int) -> dict[str, str]:
    uri = secret_file.as_uri()
    return {
        "xxe-file": (
            f'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "{uri}">]>\n'
            '<configuration><appSettings><add key="k" value="&xxe;" /></appSettings>'
            "</configuration>"
        ),
        "xxe-url": (
            f'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "http://127.0.0.1:{port}/x">]>'
            '\n<Objs xmlns="http://schemas.microsoft.com/powershell/2004/04"><S>&xxe;</S></Objs>'
        ),
        "external-dtd-url": (
            f'<!DOCTYPE configuration SYSTEM "http://127.0.0.1:{port}/evil.dtd">\n<configuration />'
        ),
        "parameter-entity": (
            f'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;]>\n'
            "<configuration />"
        ),
        "doctype-after-comment": (
            '<?xml version="1.0"?>\n<!-- hello -->\n\n<!DOCTYPE r>\n<configuration />'
        ),
    }


@pytest.mark.parametrize("parser", PARSERS, ids=str)
@pytest.mark.parametrize(
    "name",
    ["xxe-file", "xxe-url", "external-dtd-url", "parameter-entity", "doctype-after-comment"],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_dtds_are_refused_and_never_resolved(
    parser: str,
    name: str,
    encoding: str,
    tmp_path: Path,
    listener: tuple[int, list[bytes]],
) -> None:
    port, connections = listener
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    text = _documents(secret, port)[name]
    if encoding == "utf-16":
        text = text.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16"?>')
    data = text.encode(encoding)

    result = PARSERS[parser](raw_input(tmp_path / "in.xml", server="S", data=data))

    assert [p.code for p in result.problems] == [ProblemCode.HOSTILE]
    assert result.problems[0].line is not None
    assert result.partner_applications == () and result.web_configs == ()
    assert SECRET not in repr(result)
    assert connections == []


@pytest.mark.parametrize("parser", PARSERS, ids=str)
@pytest.mark.parametrize(
    ("file", "line"),
    [
        ("doctype-internal.config", 2),
        ("billion-laughs.config", 2),
        ("doctype-external.config", 3),
    ],
)
def test_hostile_files_are_refused(parser: str, file: str, line: int) -> None:
    result = PARSERS[parser](raw_input(HOSTILE_WEBCONFIG / file, server="S"))

    (problem,) = result.problems
    assert (problem.code, problem.line) == (ProblemCode.HOSTILE, line)
    assert "DOCTYPE" in problem.message


@pytest.mark.parametrize("parser", PARSERS, ids=str)
def test_undefined_entity_is_malformed_and_not_expanded(parser: str) -> None:
    result = PARSERS[parser](raw_input(HOSTILE_WEBCONFIG / "undefined-entity.config", server="S"))

    (problem,) = result.problems
    assert (problem.code, problem.line) == (ProblemCode.MALFORMED, 4)


def test_doctype_text_inside_a_comment_is_harmless() -> None:
    data = (
        b'<?xml version="1.0"?>\n<!-- an old note: <!DOCTYPE configuration> -->\n'
        b'<configuration><appSettings><add key="a" value="b" /></appSettings></configuration>'
    )
    raw = raw_input(
        HOSTILE_WEBCONFIG / "c.config", server="S", vdir="Default Web Site/API", data=data
    )
    result = webconfig.parse(raw)

    assert result.problems == ()
    assert result.web_configs[0].app_settings[0].key == "a"


@pytest.mark.parametrize("parser", PARSERS, ids=str)
@pytest.mark.parametrize(("depth", "refused"), [(250, False), (300, True), (100_000, True)])
def test_deep_nesting_is_refused(parser: str, depth: int, refused: bool) -> None:
    data = b"<configuration>" + b"<x>" * depth + b"</x>" * depth + b"</configuration>"
    result = PARSERS[parser](raw_input(HOSTILE_WEBCONFIG / "deep.config", server="S", data=data))

    codes = [p.code for p in result.problems]
    if refused:
        assert codes == [ProblemCode.TOO_LARGE]
        assert "256" in result.problems[0].message
    else:
        assert ProblemCode.TOO_LARGE not in codes


def test_ref_cycle_is_a_problem_not_a_loop() -> None:
    result = clixml.parse(raw_input(HOSTILE_CLIXML / "ref-cycle.xml"))

    (app,) = result.partner_applications
    assert app.act_as_permissions.complete is False
    codes = sorted(p.code for p in result.problems)
    assert codes == sorted([ProblemCode.MALFORMED, ProblemCode.INCOMPLETE_EVIDENCE])
    cycle = next(p for p in result.problems if p.code is ProblemCode.MALFORMED)
    assert cycle.line == 9
    assert "contains it" in cycle.message


def test_dangling_ref_is_a_problem() -> None:
    result = clixml.parse(raw_input(HOSTILE_CLIXML / "dangling-ref.xml"))

    (app,) = result.partner_applications
    assert app.app_only_permissions.complete is False
    dangling = next(p for p in result.problems if p.code is ProblemCode.MALFORMED)
    assert dangling.line == 10
    assert "99" in dangling.message


def test_binary_blobs_are_never_decoded() -> None:
    result = clixml.parse(raw_input(HOSTILE_CLIXML / "ba-blob.xml"))

    (app,) = result.partner_applications
    assert app.act_as_permissions.complete is True
    assert app.app_only_permissions.values == ()
    assert app.app_only_permissions.complete is False  # a blob is not a permission list
    assert "System, Version" not in repr(result)  # the base64 content was not decoded


def test_ref_chains_share_objects_without_blowup() -> None:
    """Thousands of Refs to one list are read once each: linear, not exponential."""
    refs = "".join(f'<Ref N="P{i}" RefId="1" />' for i in range(5000))
    data = (
        '<Objs xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj RefId="0">'
        "<TN><T>Microsoft.Exchange.Data.Directory.SystemConfiguration.PartnerApplication</T></TN>"
        '<Props><S N="ApplicationIdentifier">x</S><Obj N="ActAsPermissions" RefId="1"><LST>'
        '<S>Mail.Read</S></LST></Obj><Ref N="AppOnlyPermissions" RefId="1" />'
        f"{refs}</Props></Obj></Objs>"
    ).encode()
    result = clixml.parse(raw_input(HOSTILE_CLIXML / "refs.xml", data=data))

    (app,) = result.partner_applications
    assert app.app_only_permissions.values == ("Mail.Read",)
    assert result.problems == ()


def test_deepest_allowed_clixml_nesting_is_read() -> None:
    """A partner application in the deepest property bag the XML limit allows is found."""
    levels = 120  # Obj + MS per level: 240 elements, under the 256 limit
    inner = (
        '<S N="ApplicationIdentifier">x</S>'
        '<Nil N="ActAsPermissions" /><Nil N="AppOnlyPermissions" />'
    )
    data = (
        '<Objs xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        + '<Obj RefId="0"><MS>'
        + '<Obj N="P"><MS>' * levels
        + inner
        + "</MS></Obj>" * levels
        + "</MS></Obj></Objs>"
    ).encode()

    result = clixml.parse(raw_input(HOSTILE_CLIXML / "nested.xml", server="S", data=data))

    assert result.problems == ()
    (app,) = result.partner_applications
    assert app.application_identifier == "x"


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400) | st.text(max_size=400).map(lambda t: t.encode("utf-8")))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    for parse in PARSERS.values():
        result = parse(RawInput(path="fuzz.xml", data=data, sha256="0" * 64, server="S"))
        assert isinstance(result, ParseResult)


@settings(max_examples=200, deadline=None)
@given(
    body=st.lists(
        st.sampled_from(
            [
                '<Obj RefId="1">',
                "</Obj>",
                '<Ref N="A" RefId="1" />',
                '<Ref RefId="7" />',
                "<LST>",
                "</LST>",
                "<Props>",
                "</Props>",
                "<MS>",
                "</MS>",
                '<S N="Name">x</S>',
                '<TN RefId="0"><T>Microsoft.Exchange.Data.Directory.SystemConfiguration.'
                "PartnerApplication</T></TN>",
                '<TNRef RefId="0" />',
                "<Nil />",
                '<S N="ApplicationIdentifier">a</S>',
                '<BA N="B">AAAA</BA>',
                "<DCT><En>",
                "</En></DCT>",
                '<I32 N="ActAsPermissions">99999999999999999999</I32>',
            ]
        ),
        max_size=40,
    )
)
def test_arbitrary_clixml_shapes_never_raise(body: list[str]) -> None:
    data = (
        '<Objs xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj RefId="0">'
        + "".join(body)
        + "</Obj></Objs>"
    ).encode()

    result = clixml.parse(RawInput(path="fuzz.xml", data=data, sha256="0" * 64))

    assert isinstance(result, ParseResult)


def test_dangling_type_reference() -> None:
    """A nested object of unknown type is still read; a top-level one is reported, not guessed."""
    data = (
        b'<Objs xmlns="http://schemas.microsoft.com/powershell/2004/04">\n'
        b'<Obj RefId="0"><TN RefId="0"><T>Microsoft.Exchange.Data.Directory.SystemConfiguration.'
        b'PartnerApplication</T></TN><Props><S N="ApplicationIdentifier">A</S>'
        b'<Obj N="ActAsPermissions" RefId="1"><TNRef RefId="9" /><LST><S>Mail.Read</S></LST></Obj>'
        b'<Nil N="AppOnlyPermissions" /></Props></Obj>\n'
        b'<Obj RefId="2"><TNRef RefId="8" /><Props><S N="ApplicationIdentifier">B</S></Props></Obj>'
        b"\n</Objs>"
    )

    result = clixml.parse(raw_input(HOSTILE_CLIXML / "tnref.xml", data=data))

    (app,) = result.partner_applications
    assert app.act_as_permissions.values == ("Mail.Read",) and app.act_as_permissions.complete
    (problem,) = result.problems
    assert (problem.code, problem.line) == (ProblemCode.MALFORMED, 3)
    assert "'8'" in problem.message


@pytest.mark.parametrize("pad", [0, 4050, 4057, 4060, 4063, 4066, 4070, 16_350, 70_000])
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_doctype_after_a_long_prolog_is_refused(pad: int, bom: bytes) -> None:
    """An ASCII document's prolog is scanned from a growing head (4,096 characters, then
    16,384, ...): a DOCTYPE at or across the head's end (it starts at 30 + pad) is still found,
    refused and located, with or without a byte-order mark."""
    prolog = b'<?xml version="1.0"?>\n<!--' + b"x" * pad + b"-->\n"
    data = bom + prolog + b'<!DOCTYPE c [<!ENTITY e "boom">]>\n<configuration>&e;</configuration>'
    result = webconfig.parse(raw_input(HOSTILE_WEBCONFIG / "c.config", server="S", data=data))
    assert [problem.code for problem in result.problems] == [ProblemCode.HOSTILE]
    assert result.problems[0].line == 3
    assert "DOCTYPE" in result.problems[0].message


@given(
    st.text(alphabet="ab \r\n\n\n<>", max_size=600),
    st.lists(st.integers(min_value=-120, max_value=160), max_size=12),
)
@settings(max_examples=300, deadline=None)
def test_source_lines_read_in_any_order_are_the_text_split(text: str, reads: list[int]) -> None:
    """Lines read in any order, from decoded text or from
    ASCII bytes, are `text.split("\\n")` (lxml numbers lines by line feeds); past either end
    is an IndexError."""
    expected = text.split("\n")
    for source in (text, text.encode("ascii")):
        lines = SourceLines(source)
        for index in reads:
            if -len(expected) <= index < len(expected):
                assert lines[index] == expected[index]
            else:
                with pytest.raises(IndexError):
                    lines[index]
            if 0 <= index < len(expected):
                assert lines.line(index + 1) == expected[index]
            elif index >= len(expected):
                with pytest.raises(IndexError):
                    lines.line(index + 1)
        assert len(lines) == len(expected)
        assert lines[1:4] == expected[1:4]
        assert list(lines) == expected


@pytest.mark.parametrize("source_type", [str, bytes])
def test_source_lines_jump_far_forward_and_back(source_type: type) -> None:
    """Lines read far apart, forward and back, are the right lines."""
    expected = [f"line {number} " + "x" * (number % 7) for number in range(1, 1001)]
    text = "\n".join(expected)
    lines = SourceLines(text if source_type is str else text.encode("ascii"))
    for number in (1, 17, 16, 33, 500, 499, 1000, 2, 999, 15, 31, 32, 48, 1000):
        assert lines.line(number) == expected[number - 1]
    with pytest.raises(IndexError):
        lines.line(1001)
    assert lines.line(985) == expected[984]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_doctype_after_much_white_space_is_refused_on_its_line(bom: bytes) -> None:
    """White space before the root is passed a run at a time (not a character a turn, which
    took seconds for megabytes): a DOCTYPE after 5,000 line breaks is refused on line 5,001."""
    white = b"\r\n" * 5000 + b" \t" * 200_000
    data = bom + b'<?xml version="1.0"?>' + white + b'<!DOCTYPE c [<!ENTITY e "x">]>\n<c/>'
    result = webconfig.parse(raw_input(HOSTILE_WEBCONFIG / "c.config", server="S", data=data))
    assert [(problem.code, problem.line) for problem in result.problems] == [
        (ProblemCode.HOSTILE, 5001)
    ]
