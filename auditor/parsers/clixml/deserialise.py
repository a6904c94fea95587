"""A generic CLIXML deserialiser: PowerShell's serialisation format, read without executing it.

Owns turning any CLIXML document (namespace `http://schemas.microsoft.com/powershell/2004/04`,
root `Objs`) into plain values, whatever cmdlet exported it; what the values mean (a partner
application, an Exchange server) is decided by the mappings beside it. The document is first
loaded by `auditor.parsers.xmlsafe` (DTDs refused, no entities, no network, size and depth
bounded), then deserialised (`deserialize`):

- `Obj` (with `RefId`) becomes a `PSObject`: type names from `TN` (`T` children, most specific
  first) or `TNRef`, `ToString`, properties from `Props` (adapted) and `MS` (extended; a nested
  `MS` without a name is merged, one with `N` becomes a property holding a property bag);
  `LST`/`IE`/`QUE`/`STK` give `items`, `DCT` gives `entries` (`En` with `Key`/`Value`), a
  primitive child (an enum's `I32`) gives `value`;
- references resolve as PowerShell's `Import-Clixml` resolves them (checked with pwsh 7.6 on
  crafted files): an `Obj` or `TN` registers its `RefId` when it starts, and a later definition
  of the same `RefId` replaces the earlier one, so a `Ref`/`TNRef` means the latest definition
  before it (two exports merged into one `<Objs>` reuse RefIds). A `Ref` to an enclosing `Obj`
  (a cycle) or to a RefId not defined before it (dangling) is a MALFORMED problem and the value
  is `Unresolved`; nothing is followed twice, so hostile references cannot loop. A `TNRef` to
  no earlier `TN` leaves the type unknown (`PSObject.dangling_type`): the mapping decides
  whether that matters;
- a property name given twice in one object (in `Props`, `MS` or both, compared
  case-insensitively as PowerShell compares member names) or a key given twice in one `DCT`
  is MALFORMED: PowerShell silently keeps the last one, auditor does not guess, and the object
  is marked `ambiguous`;
- at most `MAX_ITEMS` items of one list or dictionary are read (the bound of the text formats'
  permission lists); the object is then marked `truncated`;
- primitives: `S` (with `_xHHHH_` escapes decoded case-insensitively, `_x005F_` for `_`), `B`,
  `I16`/`I32`/`I64`/`U16`/`U32`/`U64`/`By`/`SB` as integers, `Nil` as None, everything else
  (`DT`, `G`, `TS`, `Db`, `D`, `Sg`, `C`, `URI`, `Version`, `XD`, `SBK`, `SS`) as its text.
  `BA` (binary data) is never deserialised: it stays `Binary`, an `Unresolved` value that
  keeps the element's Base64 text undecoded, so that a mapping that knows what the bytes are
  (a certificate's `RawData`) can decode them itself and every other reader sees it unread
  (.NET `SerializationData` blobs are never decoded).

Type names are compared without a `Deserialized.` or `Selected.` prefix and without surrounding
white space (`strip_type_prefix`); `property_text` and `property_flag` read a property as
display text or as a boolean, as every mapping does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from lxml import etree

from auditor.model import Problem, ProblemCode
from auditor.parsers.base import RawInput
from auditor.parsers.properties import MAX_NAMES
from auditor.parsers.xmlsafe import LoadedXml, load_xml, source_line

CLIXML_NAMESPACE = "http://schemas.microsoft.com/powershell/2004/04"
# The bound of the text formats' permission lists, so that a cut list reads as they say.
MAX_ITEMS = MAX_NAMES

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


class Unresolved:
    """A value that could not be read (a cyclic or dangling `Ref`, a skipped `BA`)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<unresolved: {self.reason}>"


class Binary(Unresolved):
    """A `BA` element: unread, with its Base64 text kept as written (see the module docstring)."""

    __slots__ = ("base64",)

    def __init__(self, base64: str) -> None:
        super().__init__("binary data (BA) is never decoded")
        self.base64 = base64


Value = object  # str | bool | int | None | PSObject | Unresolved | tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Property:
    """One property of a deserialised object: its value and the line of its element."""

    value: Value
    line: int | None


@dataclass(frozen=True, slots=True)
class Entry:
    """One `En` of a `DCT`: key, value, and the line of the `Value` element."""

    key: Value
    value: Value
    line: int | None


@dataclass(frozen=True, slots=True)
class PSObject:
    """A deserialised `Obj`: type names (prefix-free), ToString, properties, content.

    `written_type` is the most specific type name as the file writes it (for evidence);
    `truncated` is True when its list or dictionary held more than `MAX_ITEMS` items (only
    those were read); `ambiguous` is True when a property or key was given twice;
    `dangling_type` is the RefId of a `TNRef` that names no earlier `TN`.
    """

    type_names: tuple[str, ...]
    to_string: str | None
    properties: dict[str, Property] = field(hash=False, compare=False)
    items: tuple[Value, ...] | None = None
    entries: tuple[Entry, ...] | None = None
    value: Value = None
    line: int | None = None
    written_type: str | None = None
    truncated: bool = False
    ambiguous: bool = False
    dangling_type: str | None = None

    def is_a(self, type_name: str) -> bool:
        return type_name in self.type_names


def decode_string(text: str) -> str:
    """Undo CLIXML's `_xHHHH_` escapes (case-insensitive; surrogate pairs recombined).

    An escaped high surrogate directly followed by an escaped low surrogate becomes one
    character; a lone surrogate stays a lone surrogate (shown, never interpreted).
    """
    if "_" not in text:
        return text
    if len(text) > _KEPT_TEXT:
        return _ESCAPE.sub(_unescape, text)
    return _decoded(text)


# The same escaped texts come in every server's export (a certificate's ToString, an
# override's reason): decoded once, kept for texts up to `_KEPT_TEXT` characters (at most
# 1,024 of them: a few MB at worst, whatever the files). With `certificate_mapping`'s kept
# certificates: the trust exports of a 500-server fleet read in 0.79x the CPU.
_KEPT_TEXT = 4096


@lru_cache(maxsize=1024)
def _decoded(text: str) -> str:
    return _ESCAPE.sub(_unescape, text)


def _unescape(match: re.Match[str]) -> str:
    high, low, single = match.groups()
    if single is not None:
        return chr(int(single, 16))
    return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))


def strip_type_prefix(type_name: str) -> str:
    """`Deserialized.X` and `Selected.X` (in any combination, white space around) become `X`."""
    type_name = type_name.strip()
    changed = True
    while changed:
        changed = False
        for prefix in _TYPE_PREFIXES:
            if type_name.startswith(prefix):
                type_name = type_name[len(prefix) :].strip()
                changed = True
    return type_name


class _Reader:
    """One document's deserialisation state: RefId tables and the problems found on the way."""

    def __init__(self, raw: RawInput) -> None:
        self.raw = raw
        self.objects: dict[str, PSObject] = {}
        self.in_progress: set[str] = set()
        self.type_names: dict[str, tuple[tuple[str, ...], str | None]] = {}
        self.problems: list[Problem] = []

    def problem(self, message: str, line: int | None) -> None:
        self.problems.append(self.raw.problem(ProblemCode.MALFORMED, message, line))

    def value(self, element: etree._Element) -> Value:
        name = local_name(element)
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
            return Binary(element.text or "")
        if name in _TEXTS:
            return decode_string(element.text or "")
        return Unresolved(f"unknown element <{name}>")

    def ref(self, element: etree._Element) -> Value:
        ref_id = element.get("RefId")
        line = source_line(element)
        if ref_id is not None and ref_id in self.in_progress:
            self.problem(f"<Ref RefId={ref_id!r}> refers to an object that contains it", line)
            return Unresolved(f"cyclic RefId {ref_id}")
        if ref_id is not None and ref_id in self.objects:
            return self.objects[ref_id]
        self.problem(f"<Ref RefId={ref_id!r}> refers to no earlier <Obj>", line)
        return Unresolved(f"dangling RefId {ref_id}")

    def obj(self, element: etree._Element) -> Value:
        ref_id = element.get("RefId")
        line = source_line(element)
        if ref_id is not None:
            # PowerShell registers the RefId when the object starts: a later definition replaces
            # an earlier one, and a Ref inside the object means the object itself (a cycle).
            self.objects.pop(ref_id, None)
            self.in_progress.add(ref_id)
        type_names: tuple[str, ...] = ()
        written_type: str | None = None
        to_string: str | None = None
        properties: dict[str, Property] = {}
        seen: dict[str, int | None] = {}
        ambiguous = False
        truncated = False
        items: tuple[Value, ...] | None = None
        entries: tuple[Entry, ...] | None = None
        value: Value = None
        dangling_type: str | None = None
        for child in element.iterchildren(tag=etree.Element):
            name = local_name(child)
            if name == "TN":
                type_names, written_type = self.type_names_of(child)
            elif name == "TNRef":
                tn_ref = child.get("RefId") or ""
                if tn_ref in self.type_names:
                    type_names, written_type = self.type_names[tn_ref]
                else:
                    dangling_type = tn_ref
            elif name == "ToString":
                to_string = decode_string(child.text or "")
            elif name in ("Props", "MS"):
                ambiguous |= self.property_bag(child, properties, seen, line)
            elif name in _LISTS:
                items, truncated = self.list_items(child)
            elif name == "DCT":
                entries, truncated, repeated = self.dictionary(child, line)
                ambiguous |= repeated
            elif child.get("N") is None:
                value = self.value(child)
        result = PSObject(
            type_names=type_names,
            to_string=to_string,
            properties=properties,
            items=items,
            entries=entries,
            value=value,
            line=line,
            written_type=written_type,
            truncated=truncated,
            ambiguous=ambiguous,
            dangling_type=dangling_type,
        )
        if ref_id is not None:
            self.in_progress.discard(ref_id)
            self.objects[ref_id] = result
        return result

    def type_names_of(self, element: etree._Element) -> tuple[tuple[str, ...], str | None]:
        written = [
            decode_string(t.text or "").strip()
            for t in element.iterchildren(tag=etree.Element)
            if local_name(t) == "T"
        ]
        names = tuple(strip_type_prefix(name) for name in written)
        result = (names, written[0] if written else None)
        tn_id = element.get("RefId")
        if tn_id is not None:
            self.type_names[tn_id] = result  # the latest definition wins, as in PowerShell
        return result

    def list_items(self, element: etree._Element) -> tuple[tuple[Value, ...], bool]:
        items: list[Value] = []
        for item in element.iterchildren(tag=etree.Element):
            if len(items) == MAX_ITEMS:
                return tuple(items), True
            items.append(self.value(item))
        return tuple(items), False

    def property_bag(
        self,
        element: etree._Element,
        properties: dict[str, Property],
        seen: dict[str, int | None],
        object_line: int | None,
    ) -> bool:
        """Read `Props`/`MS` into `properties`; True when a property name was given twice."""
        repeated = False
        for child in element.iterchildren(tag=etree.Element):
            name = child.get("N")
            line = source_line(child)
            if local_name(child) == "MS":
                if name is None:
                    repeated |= self.property_bag(child, properties, seen, object_line)
                    continue
                nested: dict[str, Property] = {}
                nested_repeated = self.property_bag(child, nested, {}, line)
                bag = PSObject((), None, nested, line=line, ambiguous=nested_repeated)
                prop = Property(bag, line)
            elif name is None:
                continue
            else:
                prop = Property(self.value(child), line)
            decoded = decode_string(name)
            folded = decoded.casefold()
            if folded in seen:
                repeated = True
                self.problem(
                    f"the object at line {object_line} has the property {decoded!r} more than "
                    f"once (first at line {seen[folded]}, again at line {line}); PowerShell "
                    "silently keeps the last one, so the object is ambiguous and was not read "
                    "as evidence",
                    line,
                )
                continue
            seen[folded] = line
            properties[decoded] = prop
        return repeated

    def dictionary(
        self, element: etree._Element, object_line: int | None
    ) -> tuple[tuple[Entry, ...], bool, bool]:
        """The entries (at most `MAX_ITEMS`), whether more were left, whether a key repeats."""
        entries: list[Entry] = []
        seen: dict[str, int | None] = {}
        repeated = False
        for entry in element.iterchildren(tag=etree.Element):
            if local_name(entry) != "En":
                continue
            if len(entries) == MAX_ITEMS:
                return tuple(entries), True, repeated
            key: Value = None
            val: Value = None
            line = source_line(entry)
            for part in entry.iterchildren(tag=etree.Element):
                if part.get("N") == "Key":
                    key = self.value(part)
                elif part.get("N") == "Value":
                    val = self.value(part)
                    line = source_line(part)
            if isinstance(key, str):
                folded = key.casefold()
                if folded in seen:
                    repeated = True
                    self.problem(
                        f"the dictionary at line {object_line} has the key {key!r} more than "
                        f"once (first at line {seen[folded]}, again at line {line}); it is "
                        "ambiguous and was not read as evidence",
                        line,
                    )
                    continue
                seen[folded] = line
            entries.append(Entry(key, val, line))
        return tuple(entries), False, repeated


def local_name(element: etree._Element) -> str:
    tag = element.tag
    name = _LOCAL_NAMES.get(tag)
    if name is not None:
        return name
    if not isinstance(tag, str):
        return ""
    name = tag[len(_NS) :] if tag.startswith(_NS) else "" if tag.startswith("{") else tag
    if len(_LOCAL_NAMES) < _KEPT_NAMES:
        _LOCAL_NAMES[tag] = name
    return name


# Tag -> local name: a CLIXML file has some thirty distinct tags and a trust export asks for
# them 50 times a file; at most `_KEPT_NAMES` are kept, whatever tags a file invents.
# Measured: the trust exports of a 500-server fleet read in 0.96x the CPU (fresh processes,
# alternated, against no names kept).
_KEPT_NAMES = 512
_LOCAL_NAMES: dict[object, str] = {}


def deserialize(raw: RawInput) -> tuple[tuple[Value, ...], LoadedXml | None, list[Problem]]:
    """Every top-level value of a CLIXML file, the loaded document, and the problems found."""
    loaded = load_xml(raw)
    if isinstance(loaded, Problem):
        return (), None, [loaded]
    root = loaded.root
    if local_name(root) != "Objs":
        problem = raw.problem(
            ProblemCode.MALFORMED,
            f"the root element is <{etree.QName(root).localname}> in namespace "
            f"{etree.QName(root).namespace!r}, not CLIXML's <Objs> "
            f"in {CLIXML_NAMESPACE!r}: not an Export-Clixml file",
            source_line(root),
        )
        return (), loaded, [problem]
    reader = _Reader(raw)
    values: list[Value] = []
    try:
        for child in root.iterchildren(tag=etree.Element):
            values.append(reader.value(child))
    except RecursionError:  # the parser bounds depth at 256; this is a second fence
        problem = raw.problem(ProblemCode.TOO_LARGE, "the objects are nested too deeply; refused")
        return (), loaded, [problem]
    return tuple(values), loaded, reader.problems


def type_label(obj: PSObject) -> str:
    """How a problem names an object: its type as the file writes it."""
    if obj.written_type:
        return obj.written_type
    return "object without type name"


def property_flag(obj: PSObject, name: str) -> bool | None:
    """The boolean property `name` of `obj`; None when absent or not a boolean."""
    prop = obj.properties.get(name)
    if prop is None or not isinstance(prop.value, bool):
        return None
    return prop.value


def property_text(prop: Property | None) -> str | None:
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
