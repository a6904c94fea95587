"""Fuzz targets for every parser: round trips through a faithful writer, and no-crash mutations.

Each `Target` pairs a hypothesis strategy with a check. Round-trip targets generate partner
applications (or appSettings), write them the way PowerShell (or IIS tooling) would, parse the
bytes back and compare: Format-List with wrapping at random widths (5.1 word wrap and 7.x hard
cut, truncated lists with `...`/`…`), Export-Clixml with `_xHHHH_` escapes of control characters,
`_x` look-alikes and surrogates, web.config through lxml serialisation, ConvertTo-Json in every
shape, Export-Csv with every delimiter. Mutation targets flip, drop and insert bytes of valid
documents and check only that the parser returns located problems instead of raising.

Used by `tests/hardening/test_fuzz_parsers.py` (small budget, every CI run) and by
`tests/fuzz/fuzz_parsers.py` (long runs).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st
from lxml import etree

from auditor.model import ParseResult, ProblemCode
from auditor.parsers import clixml, csv_, formatlist, json_, webconfig
from auditor.parsers.base import RawInput
from auditor.parsers.sniff import sniff

CLIXML_NS = "http://schemas.microsoft.com/powershell/2004/04"
PARTNER_TYPE = "Microsoft.Exchange.Data.Directory.SystemConfiguration.PartnerApplication"
PARSERS: dict[str, Callable[[RawInput], ParseResult]] = {
    "formatlist": formatlist.parse,
    "clixml": clixml.parse,
    "json": json_.parse,
    "csv": csv_.parse,
    "webconfig": webconfig.parse,
}


@dataclass(frozen=True)
class App:
    """What a generated partner application should read back as."""

    name: str
    app_id: str
    enabled: bool
    act_as: tuple[str, ...]
    app_only: tuple[str, ...]


def raw(data: bytes, path: str = "fuzz.input") -> RawInput:
    return RawInput(
        path=path,
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        server="S",
        vdir="Default Web Site/API",
    )


# --- strategies ----------------------------------------------------------------------------------

guids = st.uuids().map(str)
permission_names = st.from_regex(r"[A-Z][a-z]{1,8}(\.[A-Z][A-Za-z]{1,10}){0,3}", fullmatch=True)
permission_lists = st.lists(permission_names, max_size=12).map(tuple)
# Printable text without line or paragraph separators and without surrogates.
printable = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Co", "Cn"))
# Everything a .NET string may hold, control characters and lone surrogates included.
any_char = st.characters(blacklist_categories=("Cn",))
xml_char = st.characters(
    blacklist_categories=("Cs", "Cn"), blacklist_characters="\x00\ufffe\uffff"
).filter(lambda ch: ch >= " " or ch in "\t\n\r")


@st.composite
def display_names(draw: st.DrawFn) -> str:
    """A name as Format-List can show it: single spaces, nothing to trim."""
    words = draw(
        st.lists(
            st.text(printable.filter(lambda c: not c.isspace()), min_size=1, max_size=12),
            min_size=1,
            max_size=6,
        )
    )
    return " ".join(words)


def apps(names: st.SearchStrategy[str], items: st.SearchStrategy[tuple[str, ...]]) -> Any:
    return st.builds(App, names, guids, st.booleans(), items, items)


# --- Format-List ---------------------------------------------------------------------------------


def wrap(value: str, field: int, word_wrap: bool) -> list[str]:
    """Lines of one value, as ListWriter wraps it (5.1 word wrap, or 7.x cut at the column)."""
    if not word_wrap:
        return [value[i : i + field] for i in range(0, len(value), field)] or [""]
    chunks: list[str] = []
    current = ""
    for word in re.findall(r"[^ ]+ ?| ", value):
        if len(current) + len(word) > field and current:
            chunks.append(current)
            current = ""
        while len(word) > field:
            chunks.append(word[:field])
            word = word[field:]
        current += word
    chunks.append(current)
    return chunks


@st.composite
def format_list_documents(draw: st.DrawFn) -> tuple[bytes, list[App], list[tuple[bool, bool]]]:
    objects = draw(st.lists(apps(display_names(), permission_lists), min_size=1, max_size=3))
    extra_pad = draw(st.integers(0, 6))
    width = draw(st.integers(40, 260))
    word_wrap = draw(st.booleans())
    ellipsis = draw(st.sampled_from(["...", "\u2026"]))
    newline = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    labels = ["Name", "ApplicationIdentifier", "Enabled", "ActAsPermissions", "AppOnlyPermissions"]
    label_width = max(map(len, labels)) + extra_pad
    blocks: list[str] = []
    truncations: list[tuple[bool, bool]] = []
    for app in objects:
        lists: list[str] = []
        cut: list[bool] = []
        for names in (app.act_as, app.app_only):
            truncated = len(names) > 4 and draw(st.booleans())
            shown = names[:4] if truncated else names
            lists.append("{" + ", ".join(shown) + (ellipsis if truncated else "") + "}")
            cut.append(truncated)
        truncations.append((cut[0], cut[1]))
        values = [app.name, app.app_id, str(app.enabled), *lists]
        lines: list[str] = []
        for label, value in zip(labels, values, strict=True):
            head = label.ljust(label_width) + " : "
            chunks = wrap(value, max(width - 1 - len(head), 8), word_wrap)
            lines.append(head + chunks[0])
            lines.extend(" " * len(head) + chunk for chunk in chunks[1:])
        blocks.append(newline.join(lines))
    text = newline + newline + (newline * 2).join(blocks) + newline + newline
    encoding = draw(st.sampled_from(["utf-16", "utf-8-sig", "utf-8"]))
    return text.encode(encoding), objects, truncations


def check_format_list_round_trip(case: tuple[bytes, list[App], list[tuple[bool, bool]]]) -> None:
    data, objects, truncations = case
    result = formatlist.parse(raw(data))
    assert sniff(data) is not None
    assert len(result.partner_applications) == len(objects), result.problems
    expected_incomplete = 0
    for app, parsed, (act_cut, only_cut) in zip(
        objects, result.partner_applications, truncations, strict=True
    ):
        assert parsed.name == app.name
        assert parsed.application_identifier == app.app_id
        assert parsed.enabled is app.enabled
        for names, permission_list, cut in (
            (app.act_as, parsed.act_as_permissions, act_cut),
            (app.app_only, parsed.app_only_permissions, only_cut),
        ):
            assert permission_list.values == (names[:4] if cut else names)
            assert permission_list.complete is not cut
            expected_incomplete += cut
    codes = [problem.code for problem in result.problems]
    assert codes == [ProblemCode.INCOMPLETE_EVIDENCE] * expected_incomplete, result.problems


# --- CLIXML --------------------------------------------------------------------------------------


def clixml_escape(text: str, upper: bool) -> str:
    """PowerShell's string encoding: control characters, surrogates and `_x` as `_xHHHH_`."""
    out: list[str] = []
    for index, char in enumerate(text):
        code = ord(char)
        if char == "_" and text[index + 1 : index + 2] in ("x", "X"):
            out.append("_x005F_")
        elif code < 0x20 or 0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF):
            out.append(f"_x{code:04X}_" if upper else f"_x{code:04x}_")
        elif code > 0xFFFF:
            pair = char.encode("utf-16-le")
            high, low = int.from_bytes(pair[:2], "little"), int.from_bytes(pair[2:], "little")
            out.append(f"_x{high:04X}__x{low:04X}_")
        else:
            out.append(char)
    return "".join(out)


def recombined(text: str) -> str:
    """The .NET string as Python text: valid surrogate pairs joined, lone surrogates kept."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


clixml_strings = st.lists(
    st.one_of(any_char, st.sampled_from(["_", "x", "X", "_x", "_x0041_", "_X005f_", "\r\n"])),
    max_size=20,
).map("".join)


@st.composite
def clixml_documents(draw: st.DrawFn) -> tuple[bytes, list[App]]:
    objects = draw(
        st.lists(
            apps(clixml_strings, st.lists(clixml_strings, max_size=6).map(tuple)),
            min_size=1,
            max_size=3,
        )
    )
    upper = draw(st.booleans())
    root = etree.Element(f"{{{CLIXML_NS}}}Objs", nsmap={None: CLIXML_NS}, Version="1.1.0.1")
    ref = 0
    for app in objects:
        obj = etree.SubElement(root, f"{{{CLIXML_NS}}}Obj", RefId=str(ref))
        ref += 1
        tn = etree.SubElement(obj, f"{{{CLIXML_NS}}}TN", RefId=str(ref))
        etree.SubElement(tn, f"{{{CLIXML_NS}}}T").text = "Deserialized." + PARTNER_TYPE
        props = etree.SubElement(obj, f"{{{CLIXML_NS}}}Props")
        etree.SubElement(props, f"{{{CLIXML_NS}}}S", N="Name").text = clixml_escape(app.name, upper)
        etree.SubElement(props, f"{{{CLIXML_NS}}}S", N="ApplicationIdentifier").text = app.app_id
        etree.SubElement(props, f"{{{CLIXML_NS}}}B", N="Enabled").text = str(app.enabled).lower()
        for label, names in (
            ("ActAsPermissions", app.act_as),
            ("AppOnlyPermissions", app.app_only),
        ):
            holder = etree.SubElement(props, f"{{{CLIXML_NS}}}Obj", N=label, RefId=str(ref))
            ref += 1
            items = etree.SubElement(holder, f"{{{CLIXML_NS}}}LST")
            for name in names:
                etree.SubElement(items, f"{{{CLIXML_NS}}}S").text = clixml_escape(name, upper)
    encoding = draw(st.sampled_from(["utf-16", "utf-8"]))
    data = etree.tostring(
        root, encoding=encoding, xml_declaration=True, pretty_print=draw(st.booleans())
    )
    if encoding == "utf-16" and not data.startswith(codecs.BOM_UTF16_LE):
        data = codecs.BOM_UTF16_LE + data.decode("utf-16").encode("utf-16-le")
    return data, objects


def holds_glue(names: tuple[str, ...]) -> bool:
    """A name with a character no permission name contains: the list is incomplete evidence."""
    return any(
        char in " ?,|;\u2026" or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp")
        for name in names
        for char in name
    )


def check_clixml_round_trip(case: tuple[bytes, list[App]]) -> None:
    data, objects = case
    result = clixml.parse(raw(data))
    assert sniff(data) is not None
    assert len(result.partner_applications) == len(objects), result.problems
    expected_incomplete = 0
    for app, parsed in zip(objects, result.partner_applications, strict=True):
        assert parsed.name == recombined(app.name).strip()
        assert parsed.enabled is app.enabled
        for names, permission_list in (
            (tuple(map(recombined, app.act_as)), parsed.act_as_permissions),
            (tuple(map(recombined, app.app_only)), parsed.app_only_permissions),
        ):
            assert permission_list.values == names
            assert permission_list.complete is not holds_glue(names)
            expected_incomplete += holds_glue(names)
    assert [problem.code for problem in result.problems] == (
        [ProblemCode.INCOMPLETE_EVIDENCE] * expected_incomplete
    )


# --- web.config ----------------------------------------------------------------------------------

xml_text = st.text(xml_char, max_size=40)


@st.composite
def web_config_documents(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str]]]:
    settings = draw(st.lists(st.tuples(xml_text, xml_text), max_size=8))
    profiles = "".join(
        draw(st.lists(st.sampled_from(["V1S2SAppOnly", "S2SAppActAs", "|", " ", "x"]), max_size=12))
    )
    settings.insert(draw(st.integers(0, len(settings))), ("OAuthHttpModule.Profiles", profiles))
    root = etree.Element("configuration")
    if draw(st.booleans()):
        root.append(etree.Comment(' <add key="OAuthHttpModule.Profiles" value="X" /> '))
    section = etree.SubElement(root, "appSettings")
    for key, value in settings:
        add = etree.SubElement(section, "add")
        add.set("key", key)
        add.set("value", value)
    data = etree.tostring(
        root, encoding="utf-8", xml_declaration=True, pretty_print=draw(st.booleans())
    )
    if draw(st.booleans()):
        data = codecs.BOM_UTF8 + data
    return data, settings


def check_web_config_round_trip(case: tuple[bytes, list[tuple[str, str]]]) -> None:
    data, settings = case
    result = webconfig.parse(raw(data, "S/FrontEnd/HttpProxy/Rest/web.config"))
    assert result.problems == ()
    (config,) = result.web_configs
    assert [(s.key, s.value) for s in config.app_settings] == settings
    effective = [value for key, value in settings if key.lower() == "oauthhttpmodule.profiles"][-1]
    assert config.oauth_profiles is not None
    assert config.oauth_profiles.raw == effective
    # Exchange drops the one empty token of "".Split('|'): an empty value enables nothing.
    assert config.oauth_profiles.tokens == (tuple(effective.split("|")) if effective else ())


# --- JSON ----------------------------------------------------------------------------------------

json_strings = st.text(st.characters(blacklist_categories=("Cs", "Cn")), max_size=30)


@st.composite
def json_documents(draw: st.DrawFn) -> tuple[bytes, list[App]]:
    objects = draw(
        st.lists(
            apps(json_strings, st.lists(json_strings, max_size=6).map(tuple)),
            min_size=1,
            max_size=3,
        )
    )
    records = [
        {
            "Name": app.name,
            "ApplicationIdentifier": app.app_id,
            "Enabled": app.enabled,
            "ActAsPermissions": list(app.act_as),
            "AppOnlyPermissions": list(app.app_only),
            "LinkedAccount": None,
        }
        for app in objects
    ]
    shape = draw(st.sampled_from(["array", "wrapped", "single", "appended"]))
    if shape == "single" or (shape == "appended" and len(records) == 1):
        documents: list[Any] = [records[0]]
        objects = objects[:1]
    elif shape == "wrapped":
        documents = [{"value": records, "Count": len(records)}]
    elif shape == "appended":
        documents = [records[0], records[1:]]
    else:
        documents = [records]
    indent = draw(st.sampled_from([None, 2, 4]))
    ensure_ascii = draw(st.booleans())
    text = "\r\n".join(json.dumps(d, indent=indent, ensure_ascii=ensure_ascii) for d in documents)
    return text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))), objects


def check_json_round_trip(case: tuple[bytes, list[App]]) -> None:
    data, objects = case
    result = json_.parse(raw(data))
    glued = sum(holds_glue(a.act_as) + holds_glue(a.app_only) for a in objects)
    assert [p.code for p in result.problems] == [ProblemCode.INCOMPLETE_EVIDENCE] * glued
    assert [
        (
            p.name,
            p.application_identifier,
            p.enabled,
            p.act_as_permissions.values,
            p.act_as_permissions.complete,
            p.app_only_permissions.values,
            p.app_only_permissions.complete,
        )
        for p in result.partner_applications
    ] == [
        (
            a.name.strip(),
            a.app_id,
            a.enabled,
            a.act_as,
            not holds_glue(a.act_as),
            a.app_only,
            not holds_glue(a.app_only),
        )
        for a in objects
    ]


# --- CSV -----------------------------------------------------------------------------------------

csv_names = st.text(
    st.characters(blacklist_categories=("Cs", "Cn"), blacklist_characters="\x00"),
    max_size=30,
)
csv_permission = permission_names.filter(
    lambda name: not name.startswith(("System.", "Microsoft.", "Deserialized."))
)


@st.composite
def csv_documents(draw: st.DrawFn) -> tuple[bytes, list[App]]:
    objects = draw(
        st.lists(
            apps(csv_names, st.lists(csv_permission, max_size=6).map(tuple)), min_size=1, max_size=3
        )
    )
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    buffer = io.StringIO(newline="")
    if draw(st.booleans()):
        buffer.write("#TYPE Deserialized." + PARTNER_TYPE + "\r\n")
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(
        ["Name", "ApplicationIdentifier", "Enabled", "ActAsPermissions", "AppOnlyPermissions"]
    )
    for app in objects:
        writer.writerow(
            [app.name, app.app_id, str(app.enabled), ";".join(app.act_as), ";".join(app.app_only)]
        )
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
    return buffer.getvalue().encode(encoding), objects


def check_csv_round_trip(case: tuple[bytes, list[App]]) -> None:
    data, objects = case
    result = csv_.parse(raw(data), list_separator=";")
    assert result.problems == ()
    assert [
        (
            p.name,
            p.application_identifier,
            p.enabled,
            p.act_as_permissions.values,
            p.app_only_permissions.values,
        )
        for p in result.partner_applications
    ] == [(a.name.strip(), a.app_id, a.enabled, a.act_as, a.app_only) for a in objects]


# --- mutations: no crash, located problems -------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, documents: Any) -> bytes:
    data = bytearray(draw(documents)[0])
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "drop", "insert", "cut", "repeat"]))
        if action == "flip":
            data[position] = draw(st.integers(0, 255))
        elif action == "drop":
            del data[position : position + draw(st.integers(1, 16))]
        elif action == "insert":
            data[position:position] = draw(
                st.sampled_from(
                    [
                        b"\x00",
                        b"\xff\xfe",
                        b"\r",
                        b"<!DOCTYPE x>",
                        b"{",
                        b"}",
                        b"...",
                        b'"',
                        b"_x",
                        b'<Ref RefId="0"/>',
                        b"\xe2\x80\xa6",
                        b"  ",
                        b":",
                        b"\x1b[31m",
                    ]
                )
            )
        elif action == "cut":
            del data[position:]
        else:
            data[position:position] = data[position : position + 200]
    return bytes(data)


def check_no_crash(parser: str) -> Callable[[bytes], None]:
    def check(data: bytes) -> None:
        source = raw(data)
        result = PARSERS[parser](source)
        assert isinstance(result, ParseResult)
        line_count = data.count(b"\n") + data.count(b"\r") + 2
        for problem in result.problems:
            assert problem.path == source.path
            assert problem.message.strip()
            assert problem.line is None or 1 <= problem.line <= line_count, problem
        sniff(data)

    return check


@dataclass(frozen=True)
class Target:
    """One fuzz target: which parser, what it checks, the strategy and the check."""

    parser: str
    name: str
    strategy: Any
    check: Callable[[Any], None]


_DOCUMENTS: dict[str, Any] = {
    "formatlist": format_list_documents(),
    "clixml": clixml_documents(),
    "webconfig": web_config_documents(),
    "json": json_documents(),
    "csv": csv_documents(),
}
_ROUND_TRIPS: dict[str, Callable[[Any], None]] = {
    "formatlist": check_format_list_round_trip,
    "clixml": check_clixml_round_trip,
    "webconfig": check_web_config_round_trip,
    "json": check_json_round_trip,
    "csv": check_csv_round_trip,
}

TARGETS: tuple[Target, ...] = tuple(
    target
    for parser in PARSERS
    for target in (
        Target(parser, "round-trip", _DOCUMENTS[parser], _ROUND_TRIPS[parser]),
        Target(parser, "mutations", mutated(_DOCUMENTS[parser]), check_no_crash(parser)),
        Target(parser, "bytes", st.binary(max_size=2000), check_no_crash(parser)),
    )
)
