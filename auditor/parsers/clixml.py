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
- references resolve as PowerShell's `Import-Clixml` resolves them (checked with pwsh 7.6 on
  crafted files): an `Obj` or `TN` registers its `RefId` when it starts, and a later definition
  of the same `RefId` replaces the earlier one, so a `Ref`/`TNRef` means the latest definition
  before it (two exports merged into one `<Objs>` reuse RefIds). A `Ref` to an enclosing `Obj`
  (a cycle) or to a RefId not defined before it (dangling) is a MALFORMED problem and the value
  is treated as unknown; nothing is followed twice, so hostile references cannot loop. A
  `TNRef` to no earlier `TN` leaves the type unknown: harmless inside an object (its
  properties still read), a MALFORMED problem for an object of the file or of a list that is
  not recognisable as a partner application by its properties;
- a property name given twice in one object (in `Props`, `MS` or both, compared
  case-insensitively as PowerShell compares member names) or a key given twice in one `DCT`
  is MALFORMED: PowerShell silently keeps the last one, auditor does not guess, and a partner
  application with such a property is not read;
- at most `MAX_ITEMS` items of one list or dictionary are read (the bound of the text formats'
  permission lists); a longer permission list is incomplete evidence, a longer list of objects
  a TOO_LARGE problem;
- primitives: `S` (with `_xHHHH_` escapes decoded case-insensitively, `_x005F_` for `_`), `B`,
  `I16`/`I32`/`I64`/`U16`/`U32`/`U64`/`By`/`SB` as integers, `Nil` as None, everything else
  (`DT`, `G`, `TS`, `Db`, `D`, `Sg`, `C`, `URI`, `Version`, `XD`, `SBK`, `SS`) as its text.
  `BA` (binary .NET serialisation data) is skipped: never decoded, never deserialised.

Which objects are partner applications. Real exports lose the PartnerApplication type name
(`Select-Object` gives `Selected.System.Management.Automation.PSCustomObject`,
`ConvertFrom-Json` a `PSCustomObject`, a hashtable has keys, psrpcore writes whatever it is
told), so an object is read as a partner application when one of its type names is
`Microsoft.Exchange.Data.Directory.SystemConfiguration.PartnerApplication` or when it has an
`ApplicationIdentifier` and an `ActAsPermissions` or `AppOnlyPermissions` property (for a
dictionary: keys). Such objects are found at any depth: in the top-level objects, in the items
of lists (`Export-Clixml -InputObject $apps` and `,$apps | Export-Clixml` write one
`System.Object[]` holding them), in the keys and values of dictionaries and in the properties of
other objects. The evidence of each application names the type it was read from (and the
container it was found in). Type names are compared without a `Deserialized.` or `Selected.`
prefix and without surrounding white space.

A file with no partner application is a problem unless every object in it is of a known
unrelated Exchange type (`Get-ExchangeServer` or `Get-AuthServer | Export-Clixml`, legitimate
inputs that yield no record): an empty `<Objs/>` "holds no object", anything else "holds no
partner application". The top-level `ExchangeServer` objects of a `Get-ExchangeServer` export
are read as `ExchangeServer` records (name, FQDN, roles, build): the evidence model
(`auditor.scope`) learns from them which servers the organisation has.

Each partner application's properties are handed to
`auditor.parsers.properties.build_partner_application`, which normalises every format the same
way. In CLIXML terms: a property holding a collection (`String[]`, ``MultiValuedProperty`1[...]``
with or without assembly-qualified arguments, `ArrayList`, `Object[]`, ...: any `Obj` with a
list) is a list; `Nil` is an empty, complete list ($null: nothing granted); a plain string or an
`Obj` without a list (what `-Depth` truncation leaves), a `BA` blob or an unresolved `Ref` is
incomplete evidence. Evidence lines are the property elements' lines (a dictionary entry's: its
`Value` element); the raw text is that source line, stripped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from lxml import etree

from auditor.model import (
    ExchangeServer,
    InputFormat,
    ParseResult,
    PartnerApplication,
    Problem,
    ProblemCode,
)
from auditor.parsers.base import RawInput
from auditor.parsers.properties import (
    MAX_NAMES,
    MAX_OBJECTS,
    PERMISSION_PROPERTIES,
    TOO_MANY_NAMES,
    ObjectSource,
    PropertyValue,
    build_partner_application,
    too_many_objects,
)
from auditor.parsers.xmlsafe import LoadedXml, load_xml, source_line

CLIXML_NAMESPACE = "http://schemas.microsoft.com/powershell/2004/04"
PARTNER_APPLICATION_TYPE = (
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.PartnerApplication"
)
EXCHANGE_SERVER_TYPE = "Microsoft.Exchange.Data.Directory.Management.ExchangeServer"
# Exchange objects that are legitimate inputs holding no partner application: a file made only
# of these yields no record and no problem.
UNRELATED_TYPES = frozenset(
    {
        EXCHANGE_SERVER_TYPE,
        "Microsoft.Exchange.Data.Directory.SystemConfiguration.AuthServer",
    }
)
RAW_LINE_LIMIT = 500
# An object's evidence is its source line (cut here, a one-line file is one long line) and the
# type and container it was read from.
ORIGIN_LINE_LIMIT = 120
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
_IDENTIFIER = "applicationidentifier"
_PERMISSIONS = frozenset(name.casefold() for name in PERMISSION_PROPERTIES)


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
        if ref_id is not None and ref_id in self.in_progress:
            self.problem(f"<Ref RefId={ref_id!r}> refers to an object that contains it", line)
            return _Unresolved(f"cyclic RefId {ref_id}")
        if ref_id is not None and ref_id in self.objects:
            return self.objects[ref_id]
        self.problem(f"<Ref RefId={ref_id!r}> refers to no earlier <Obj>", line)
        return _Unresolved(f"dangling RefId {ref_id}")

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
            name = _local(child)
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
            if _local(t) == "T"
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
            if _local(child) == "MS":
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
            if _local(entry) != "En":
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


def _local(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    if tag.startswith(_NS):
        return tag[len(_NS) :]
    return "" if tag.startswith("{") else tag


def deserialize(raw: RawInput) -> tuple[tuple[Value, ...], LoadedXml | None, list[Problem]]:
    """Every top-level value of a CLIXML file, the loaded document, and the problems found."""
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
    values: list[Value] = []
    try:
        for child in root.iterchildren(tag=etree.Element):
            values.append(reader.value(child))
    except RecursionError:  # the parser bounds depth at 256; this is a second fence
        problem = raw.problem(ProblemCode.TOO_LARGE, "the objects are nested too deeply; refused")
        return (), loaded, [problem]
    return tuple(values), loaded, reader.problems


@dataclass(frozen=True, slots=True)
class _Found:
    """A partner application found in the document: the object, its members, where it sits."""

    obj: PSObject
    members: dict[str, Property]
    container: str


@dataclass(slots=True)
class _Survey:
    """What a walk over the document found."""

    applications: list[_Found] = field(default_factory=list)
    unrelated: int = 0
    others: list[Value] = field(default_factory=list)
    untyped: list[PSObject] = field(default_factory=list)
    oversized: list[PSObject] = field(default_factory=list)


def _survey(values: tuple[Value, ...]) -> _Survey:
    """Find every partner application, at any depth; count what else the file holds.

    An iterative walk in document order; each object is visited once however many `Ref`s
    point to it, so the walk is linear in the size of the document.
    """
    survey = _Survey()
    visited: set[int] = set()
    # (value, container description, whether it is an item of the file or of a list/dictionary)
    stack: list[tuple[Value, str, bool]] = [(value, "", True) for value in reversed(values)]
    while stack:
        value, container, is_item = stack.pop()
        if not isinstance(value, PSObject):
            if is_item and value is not None:
                survey.others.append(value)
            continue
        if id(value) in visited:
            continue
        visited.add(id(value))
        members = _members(value)
        if members is not None:
            survey.applications.append(_Found(value, members, container))
            continue
        if any(name in UNRELATED_TYPES for name in value.type_names):
            survey.unrelated += 1
            continue
        is_container = value.items is not None or value.entries is not None
        if is_item and value.dangling_type is not None:
            survey.untyped.append(value)
        elif is_item and not is_container:
            survey.others.append(value)
        if value.truncated:
            survey.oversized.append(value)
        inside = f" in the {_type_label(value)} at line {value.line}"
        children: list[tuple[Value, str, bool]] = []
        for item in value.items or ():
            children.append((item, inside, True))
        for entry in value.entries or ():
            children.append((entry.key, inside, True))
            children.append((entry.value, inside, True))
        for prop in value.properties.values():
            children.append((prop.value, inside, False))
        stack.extend(reversed(children))
    return survey


def _members(obj: PSObject) -> dict[str, Property] | None:
    """The object's properties when it is a partner application, else None.

    A partner application by type name, or any object (or dictionary, by its string keys) that
    has an `ApplicationIdentifier` and a permission property.
    """
    if obj.is_a(PARTNER_APPLICATION_TYPE) or _looks_like_application(obj.properties):
        return obj.properties
    if obj.entries is not None:
        keyed = {
            entry.key: Property(entry.value, entry.line)
            for entry in obj.entries
            if isinstance(entry.key, str)
        }
        if _looks_like_application(keyed):
            return keyed
    return None


def _looks_like_application(members: dict[str, Property]) -> bool:
    names = {name.casefold() for name in members}
    return _IDENTIFIER in names and not names.isdisjoint(_PERMISSIONS)


def _type_label(obj: PSObject) -> str:
    if obj.written_type:
        return obj.written_type
    return "object without type name"


def parse(raw: RawInput) -> ParseResult:
    """Read one Export-Clixml file into partner applications, wherever they sit in it."""
    source = raw.source(InputFormat.CLIXML)
    values, loaded, problems = deserialize(raw)
    if loaded is None or _local(loaded.root) != "Objs":
        return ParseResult(source=source, problems=tuple(problems))
    lines = loaded.source_lines()
    survey = _survey(values)
    for untyped in survey.untyped:
        problems.append(
            raw.problem(
                ProblemCode.MALFORMED,
                f"the object's <TNRef RefId={untyped.dangling_type!r}> refers to no earlier "
                "<TN>: its type is unknown and it was not read",
                untyped.line,
            )
        )
    for container in survey.oversized:
        problems.append(
            raw.problem(
                ProblemCode.TOO_LARGE,
                f"the {_type_label(container)} at line {container.line} holds more than "
                f"{MAX_ITEMS} items; only the first {MAX_ITEMS} were read",
                container.line,
            )
        )
    applications: list[PartnerApplication] = []
    for count, found in enumerate(survey.applications, start=1):
        if count > MAX_OBJECTS:
            problems.append(too_many_objects(raw, found.obj.line))
            break
        if found.obj.ambiguous:
            continue  # the repeated property is already a problem; do not guess which counts
        application = _partner_application(raw, found, lines, problems)
        if application is not None:
            applications.append(application)
    if not survey.applications and not survey.untyped:
        problem = _nothing_read(raw, survey)
        if problem is not None:
            problems.append(problem)
    return ParseResult(
        source=source,
        partner_applications=tuple(applications),
        problems=tuple(problems),
        exchange_servers=_exchange_servers(raw, values),
    )


def _nothing_read(raw: RawInput, survey: _Survey) -> Problem | None:
    """The problem for a file without partner applications, None when that is expected."""
    if survey.others:
        first = survey.others[0]
        kinds = sorted({_describe(value) for value in survey.others})
        shown = ", ".join(kinds[:5]) + (f" and {len(kinds) - 5} more" if len(kinds) > 5 else "")
        line = first.line if isinstance(first, PSObject) else None
        return raw.problem(
            ProblemCode.MALFORMED,
            f"the file holds no partner application: {len(survey.others)} object(s) ({shown}), "
            "none with an ApplicationIdentifier and ActAsPermissions or AppOnlyPermissions; "
            "export `Get-PartnerApplication | Export-Clixml -Depth 4` (`auditor collect` writes "
            "a script that does this)",
            line,
        )
    if survey.unrelated:
        return None
    return raw.problem(
        ProblemCode.MALFORMED,
        "the Export-Clixml file holds no object; export again with "
        "`Get-PartnerApplication | Export-Clixml -Depth 4`",
    )


def _describe(value: Value) -> str:
    if isinstance(value, PSObject):
        return _type_label(value)
    if isinstance(value, _Unresolved):
        return "an unreadable value"
    return f"a {type(value).__name__} value"


def exchange_servers(raw: RawInput) -> tuple[ExchangeServer, ...]:
    """The `ExchangeServer` records of a file (what `parse` reads into `exchange_servers`)."""
    values, _loaded, _problems = deserialize(raw)
    return _exchange_servers(raw, values)


def _exchange_servers(raw: RawInput, values: Sequence[Value]) -> tuple[ExchangeServer, ...]:
    """Each top-level `ExchangeServer` object: name, FQDN, client access and edge, build.

    Roles come from `IsClientAccessServer` / `IsEdgeServer`, else from the `ServerRole` enum's
    text (`Mailbox` serves clients from Exchange 2016 on, `Edge` never does); a server whose
    export says neither keeps None (unknown).
    """
    servers: list[ExchangeServer] = []
    for obj in values:
        if not isinstance(obj, PSObject) or not obj.is_a(EXCHANGE_SERVER_TYPE):
            continue
        name = _text(obj.properties.get("Name")) or obj.to_string
        if not name:
            continue
        roles = (_text(obj.properties.get("ServerRole")) or "").replace(" ", "").split(",")
        folded_roles = {role.casefold() for role in roles if role}
        client_access = _flag(obj, "IsClientAccessServer")
        if client_access is None and folded_roles:
            client_access = not folded_roles.isdisjoint({"clientaccess", "mailbox"})
        edge = _flag(obj, "IsEdgeServer")
        if edge is None and folded_roles:
            edge = "edge" in folded_roles
        servers.append(
            ExchangeServer(
                name=name,
                fqdn=_text(obj.properties.get("Fqdn")),
                client_access=client_access,
                edge=edge,
                version=_text(obj.properties.get("AdminDisplayVersion")),
                path=raw.path,
                line=obj.line,
            )
        )
    return tuple(servers)


def _flag(obj: PSObject, name: str) -> bool | None:
    prop = obj.properties.get(name)
    if prop is None or not isinstance(prop.value, bool):
        return None
    return prop.value


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


def _line_text(lines: Sequence[str], line: int | None) -> str:
    if line is None or not 0 < line <= len(lines):
        return ""
    return lines[line - 1].strip()[:RAW_LINE_LIMIT]


def _partner_application(
    raw: RawInput, found: _Found, lines: Sequence[str], problems: list[Problem]
) -> PartnerApplication | None:
    """Hand the object's properties to the shared builder, as `PropertyValue`s."""
    obj = found.obj
    properties = {name: _property_value(name, prop, lines) for name, prop in found.members.items()}
    kind = "dictionary" if found.members is not obj.properties else "object"
    origin = f"{kind} of type {_type_label(obj)}{found.container}"
    application, found_problems = build_partner_application(
        properties,
        raw=raw,
        input_format=InputFormat.CLIXML,
        source=ObjectSource(
            line=obj.line, raw=f"{_line_text(lines, obj.line)[:ORIGIN_LINE_LIMIT]} ({origin})"
        ),
    )
    problems.extend(found_problems)
    return application


def _property_value(name: str, prop: Property, lines: Sequence[str]) -> PropertyValue:
    """One deserialised property in the builder's terms: scalar, text, or a list of names."""
    value = prop.value
    raw_text = _line_text(lines, prop.line)
    if isinstance(value, _Unresolved):
        return PropertyValue(
            None, prop.line, raw_text, lost=f"its value could not be read ({value.reason})"
        )
    if isinstance(value, PSObject):
        if value.items is not None:
            names, unreadable = _names(value.items)
            lost = f"{unreadable} item(s) of the list could not be read" if unreadable else None
            if value.truncated:
                lost = TOO_MANY_NAMES
            return PropertyValue(names, prop.line, raw_text, lost=lost)
        if name in PERMISSION_PROPERTIES or name.casefold() in _PERMISSIONS:
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


def _names(items: tuple[Value, ...]) -> tuple[tuple[str, ...], int]:
    """The names a list holds (strings, or objects shown by their ToString); count the rest."""
    names: list[str] = []
    unreadable = 0
    for item in items:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, PSObject) and item.to_string is not None and item.items is None:
            names.append(item.to_string)
        else:
            unreadable += 1
    return tuple(names), unreadable
