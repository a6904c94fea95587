"""The Export-Clixml parser: PowerShell's serialisation format, read without ever executing it.

Owns turning a CLIXML document (namespace `http://schemas.microsoft.com/powershell/2004/04`,
root `Objs`) into `PartnerApplication` records. The document is first loaded by
`auditor.parsers.xmlsafe` (DTDs refused, no entities, no network, size and depth bounded), then
deserialised into plain values:

- `Obj` (with `RefId`) becomes a `PSObject`: type names from `TN` (`T` children, most specific
  first) or `TNRef`, `ToString`, properties from `Props` (adapted) and `MS` (extended; a nested
  `MS` without a name is merged, one with `N` becomes a property holding a property bag);
  `LST`/`IE`/`QUE`/`STK` give `items`, `DCT` gives `entries` (`En` with `Key`/`Value`), a
  primitive child (an enum's `I32`) gives `value`;
- `Ref` points to an earlier, completed `Obj`. A `Ref` to an enclosing `Obj` (a cycle) or to a
  RefId not seen before (dangling) is a MALFORMED problem and the value is treated as unknown;
  nothing is ever followed twice, so hostile references cannot loop;
- primitives: `S` (with `_xHHHH_` escapes decoded case-insensitively, `_x005F_` for `_`), `B`,
  `I16`/`I32`/`I64`/`U16`/`U32`/`U64`/`By`/`SB` as integers, `Nil` as None, everything else
  (`DT`, `G`, `TS`, `Db`, `D`, `Sg`, `C`, `URI`, `Version`, `XD`, `SBK`, `SS`) as its text.
  `BA` (binary .NET serialisation data) is skipped: never decoded, never deserialised.

Type names are compared without a `Deserialized.` or `Selected.` prefix, so exports from remote
EMS sessions and `Select-Object` output are recognised. A top-level object is a partner
application when one of its type names is
`Microsoft.Exchange.Data.Directory.SystemConfiguration.PartnerApplication`. Every other object
(e.g. `Get-ExchangeServer | Export-Clixml`, a legitimate input) yields no record and no problem;
`exchange_servers` reads the names and builds of `ExchangeServer` objects for whoever wants them.

Each partner application's properties are handed to
`auditor.parsers.properties.build_partner_application`, which normalises every format the same
way. In CLIXML terms: a property holding a collection (`String[]`, ``MultiValuedProperty`1[...]``
with or without assembly-qualified arguments, `ArrayList`, ...: any `Obj` with a list) is a
complete list; `Nil` is an empty, complete list ($null: nothing granted); a plain string or an
`Obj` without a list (what `-Depth` truncation leaves), a `BA` blob or an unresolved `Ref` is
incomplete evidence. Evidence lines are the property elements' lines; the raw text is that
source line, stripped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from auditor.model import (
    InputFormat,
    ParseResult,
    PartnerApplication,
    Problem,
    ProblemCode,
)
from auditor.parsers.base import RawInput
from auditor.parsers.properties import (
    PERMISSION_PROPERTIES,
    ObjectSource,
    PropertyValue,
    build_partner_application,
)
from auditor.parsers.xmlsafe import LoadedXml, load_xml, source_line

CLIXML_NAMESPACE = "http://schemas.microsoft.com/powershell/2004/04"
PARTNER_APPLICATION_TYPE = (
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.PartnerApplication"
)
EXCHANGE_SERVER_TYPE = "Microsoft.Exchange.Data.Directory.Management.ExchangeServer"
RAW_LINE_LIMIT = 500

_NS = "{" + CLIXML_NAMESPACE + "}"
_ESCAPE = re.compile(
    r"_[xX](D[89ABab][0-9A-Fa-f]{2})__[xX](D[C-Fc-f][0-9A-Fa-f]{2})_|_[xX]([0-9A-Fa-f]{4})_"
)
_TYPE_PREFIXES = ("Deserialized.", "Selected.")
_INTEGERS = frozenset({"I16", "I32", "I64", "U16", "U32", "U64", "By", "SB"})
_TEXTS = frozenset(
    {"DT", "G", "TS", "Db", "D", "Sg", "C", "URI", "Version", "XD", "SBK", "SS", "ToString"}
)
_LISTS = frozenset({"LST", "IE", "QUE", "STK"})


class _Unresolved:
    """A value that could not be read (a cyclic or dangling `Ref`, a skipped `BA`)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<unresolved: {self.reason}>"


Value = object  # str | bool | int | None | PSObject | _Unresolved | tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Property:
    """One property of a deserialised object: its value and the line of its element."""

    value: Value
    line: int | None


@dataclass(frozen=True, slots=True)
class PSObject:
    """A deserialised `Obj`: type names (prefix-free), ToString, properties, content."""

    type_names: tuple[str, ...]
    to_string: str | None
    properties: dict[str, Property] = field(hash=False, compare=False)
    items: tuple[Value, ...] | None = None
    entries: tuple[tuple[Value, Value], ...] | None = None
    value: Value = None
    line: int | None = None

    def is_a(self, type_name: str) -> bool:
        return type_name in self.type_names


@dataclass(frozen=True, slots=True)
class ExchangeServerInfo:
    """Name and build of one `Get-ExchangeServer` object, as far as the export shows them."""

    name: str
    admin_display_version: str | None
    line: int | None


def decode_string(text: str) -> str:
    """Undo CLIXML's `_xHHHH_` escapes (case-insensitive; surrogate pairs recombined).

    An escaped high surrogate directly followed by an escaped low surrogate becomes one
    character; a lone surrogate stays a lone surrogate (shown, never interpreted).
    """
    if "_" not in text:
        return text
    return _ESCAPE.sub(_unescape, text)


def _unescape(match: re.Match[str]) -> str:
    high, low, single = match.groups()
    if single is not None:
        return chr(int(single, 16))
    return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))


def strip_type_prefix(type_name: str) -> str:
    """`Deserialized.X` and `Selected.X` (in any combination) become `X`."""
    changed = True
    while changed:
        changed = False
        for prefix in _TYPE_PREFIXES:
            if type_name.startswith(prefix):
                type_name = type_name[len(prefix) :]
                changed = True
    return type_name


class _Reader:
    """One document's deserialisation state: RefId tables and the problems found on the way."""

    def __init__(self, raw: RawInput) -> None:
        self.raw = raw
        self.objects: dict[str, PSObject] = {}
        self.in_progress: set[str] = set()
        self.type_names: dict[str, tuple[str, ...]] = {}
        self.problems: list[Problem] = []
        # Objects whose <TNRef> names no earlier <TN>: id(object) -> RefId. Harmless inside an
        # object (its properties still read); a top-level object of unknown type is reported.
        self.untyped: dict[int, str] = {}

    def problem(self, message: str, line: int | None) -> None:
        self.problems.append(self.raw.problem(ProblemCode.MALFORMED, message, line))

    def value(self, element: etree._Element) -> Value:
        name = _local(element)
        if name == "Obj":
            return self.obj(element)
        if name == "Ref":
            return self.ref(element)
        if name == "S":
            return decode_string(element.text or "")
        if name == "B":
            return (element.text or "").strip().lower() == "true"
        if name == "Nil":
            return None
        if name in _INTEGERS:
            text = (element.text or "").strip()
            try:
                return int(text)
            except ValueError:
                return text
        if name == "BA":
            return _Unresolved("binary data (BA) is never decoded")
        if name in _TEXTS:
            return decode_string(element.text or "")
        return _Unresolved(f"unknown element <{name}>")

    def ref(self, element: etree._Element) -> Value:
        ref_id = element.get("RefId")
        line = source_line(element)
        if ref_id is not None and ref_id in self.objects:
            return self.objects[ref_id]
        if ref_id is not None and ref_id in self.in_progress:
            self.problem(f"<Ref RefId={ref_id!r}> refers to an object that contains it", line)
            return _Unresolved(f"cyclic RefId {ref_id}")
        self.problem(f"<Ref RefId={ref_id!r}> refers to no earlier <Obj>", line)
        return _Unresolved(f"dangling RefId {ref_id}")

    def obj(self, element: etree._Element) -> Value:
        ref_id = element.get("RefId")
        if ref_id is not None:
            self.in_progress.add(ref_id)
        type_names: tuple[str, ...] = ()
        to_string: str | None = None
        properties: dict[str, Property] = {}
        items: tuple[Value, ...] | None = None
        entries: tuple[tuple[Value, Value], ...] | None = None
        value: Value = None
        dangling_type: str | None = None
        for child in element.iterchildren(tag=etree.Element):
            name = _local(child)
            if name == "TN":
                type_names = self.type_names_of(child)
            elif name == "TNRef":
                tn_ref = child.get("RefId") or ""
                if tn_ref in self.type_names:
                    type_names = self.type_names[tn_ref]
                else:
                    dangling_type = tn_ref
            elif name == "ToString":
                to_string = decode_string(child.text or "")
            elif name in ("Props", "MS"):
                self.property_bag(child, properties)
            elif name in _LISTS:
                items = tuple(self.value(item) for item in child.iterchildren(tag=etree.Element))
            elif name == "DCT":
                entries = self.dictionary(child)
            elif child.get("N") is None:
                value = self.value(child)
        result = PSObject(
            type_names=type_names,
            to_string=to_string,
            properties=properties,
            items=items,
            entries=entries,
            value=value,
            line=source_line(element),
        )
        if ref_id is not None:
            self.in_progress.discard(ref_id)
            self.objects.setdefault(ref_id, result)
        if dangling_type is not None:
            self.untyped[id(result)] = dangling_type
        return result

    def type_names_of(self, element: etree._Element) -> tuple[str, ...]:
        names = tuple(
            strip_type_prefix(decode_string(t.text or ""))
            for t in element.iterchildren(tag=etree.Element)
            if _local(t) == "T"
        )
        tn_id = element.get("RefId")
        if tn_id is not None:
            self.type_names.setdefault(tn_id, names)
        return names

    def property_bag(self, element: etree._Element, properties: dict[str, Property]) -> None:
        for child in element.iterchildren(tag=etree.Element):
            name = child.get("N")
            if _local(child) == "MS":
                if name is None:
                    self.property_bag(child, properties)
                    continue
                nested: dict[str, Property] = {}
                self.property_bag(child, nested)
                bag = PSObject((), None, nested, line=source_line(child))
                properties.setdefault(decode_string(name), Property(bag, source_line(child)))
                continue
            if name is None:
                continue
            properties.setdefault(
                decode_string(name), Property(self.value(child), source_line(child))
            )

    def dictionary(self, element: etree._Element) -> tuple[tuple[Value, Value], ...]:
        entries: list[tuple[Value, Value]] = []
        for entry in element.iterchildren(tag=etree.Element):
            if _local(entry) != "En":
                continue
            key: Value = None
            val: Value = None
            for part in entry.iterchildren(tag=etree.Element):
                if part.get("N") == "Key":
                    key = self.value(part)
                elif part.get("N") == "Value":
                    val = self.value(part)
            entries.append((key, val))
        return tuple(entries)


def _local(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    if tag.startswith(_NS):
        return tag[len(_NS) :]
    return "" if tag.startswith("{") else tag


def deserialize(raw: RawInput) -> tuple[tuple[PSObject, ...], LoadedXml | None, list[Problem]]:
    """Every top-level object of a CLIXML file, the loaded document, and the problems found."""
    loaded = load_xml(raw)
    if isinstance(loaded, Problem):
        return (), None, [loaded]
    root = loaded.root
    if _local(root) != "Objs":
        problem = raw.problem(
            ProblemCode.MALFORMED,
            f"the root element is <{etree.QName(root).localname}> in namespace "
            f"{etree.QName(root).namespace!r}, not CLIXML's <Objs> "
            f"in {CLIXML_NAMESPACE!r}: not an Export-Clixml file",
            source_line(root),
        )
        return (), loaded, [problem]
    reader = _Reader(raw)
    objects: list[PSObject] = []
    try:
        for child in root.iterchildren(tag=etree.Element):
            value = reader.value(child)
            if not isinstance(value, PSObject):
                continue
            objects.append(value)
            if id(value) in reader.untyped:
                reader.problem(
                    f"the object's <TNRef RefId={reader.untyped[id(value)]!r}> refers to no "
                    "earlier <TN>: its type is unknown and it was not read",
                    value.line,
                )
    except RecursionError:  # the parser bounds depth at 256; this is a second fence
        problem = raw.problem(ProblemCode.TOO_LARGE, "the objects are nested too deeply; refused")
        return (), loaded, [problem]
    return tuple(objects), loaded, reader.problems


def parse(raw: RawInput) -> ParseResult:
    """Read one Export-Clixml file into partner applications (other objects are ignored)."""
    source = raw.source(InputFormat.CLIXML)
    objects, loaded, problems = deserialize(raw)
    if loaded is None:
        return ParseResult(source=source, problems=tuple(problems))
    lines = loaded.source_lines()
    applications: list[PartnerApplication] = []
    for obj in objects:
        if not obj.is_a(PARTNER_APPLICATION_TYPE):
            continue
        application = _partner_application(raw, obj, lines, problems)
        if application is not None:
            applications.append(application)
    return ParseResult(
        source=source, partner_applications=tuple(applications), problems=tuple(problems)
    )


def exchange_servers(raw: RawInput) -> tuple[ExchangeServerInfo, ...]:
    """Name and `AdminDisplayVersion` of each `ExchangeServer` object in a CLIXML file."""
    objects, _loaded, _problems = deserialize(raw)
    servers: list[ExchangeServerInfo] = []
    for obj in objects:
        if not obj.is_a(EXCHANGE_SERVER_TYPE):
            continue
        name = _text(obj.properties.get("Name")) or obj.to_string
        if not name:
            continue
        version = obj.properties.get("AdminDisplayVersion")
        servers.append(ExchangeServerInfo(name, _text(version), obj.line))
    return tuple(servers)


def _text(prop: Property | None) -> str | None:
    """A property as display text: a string, or an object's ToString."""
    if prop is None:
        return None
    value = prop.value
    if isinstance(value, str):
        return value
    if isinstance(value, PSObject):
        return value.to_string
    if isinstance(value, bool | int):
        return str(value)
    return None


def _line_text(lines: list[str], line: int | None) -> str:
    if line is None or not 0 < line <= len(lines):
        return ""
    return lines[line - 1].strip()[:RAW_LINE_LIMIT]


def _partner_application(
    raw: RawInput, obj: PSObject, lines: list[str], problems: list[Problem]
) -> PartnerApplication | None:
    """Hand the object's properties to the shared builder, as `PropertyValue`s."""
    properties = {name: _property_value(name, prop, lines) for name, prop in obj.properties.items()}
    application, found = build_partner_application(
        properties,
        raw=raw,
        input_format=InputFormat.CLIXML,
        source=ObjectSource(line=obj.line, raw=_line_text(lines, obj.line)),
    )
    problems.extend(found)
    return application


def _property_value(name: str, prop: Property, lines: list[str]) -> PropertyValue:
    """One deserialised property in the builder's terms: scalar, text, or a list of names."""
    value = prop.value
    raw_text = _line_text(lines, prop.line)
    if isinstance(value, _Unresolved):
        return PropertyValue(
            None, prop.line, raw_text, lost=f"its value could not be read ({value.reason})"
        )
    if isinstance(value, PSObject):
        if value.items is not None:
            names: list[str] = []
            unreadable = 0
            for item in value.items:
                if isinstance(item, str):
                    names.append(item)
                elif isinstance(item, PSObject) and item.to_string is not None:
                    names.append(item.to_string)
                else:
                    unreadable += 1
            lost = f"{unreadable} item(s) of the list could not be read" if unreadable else None
            return PropertyValue(tuple(names), prop.line, raw_text, lost=lost)
        if name in PERMISSION_PROPERTIES:
            return PropertyValue(
                value.to_string,
                prop.line,
                raw_text,
                lost="the export holds an object without its list (Export-Clixml -Depth "
                "truncated it)",
            )
        return PropertyValue(value.to_string, prop.line, raw_text)
    if value is None or isinstance(value, str | bool | int):
        return PropertyValue(value, prop.line, raw_text)
    return PropertyValue(None, prop.line, raw_text, lost="its value has an unexpected shape")
