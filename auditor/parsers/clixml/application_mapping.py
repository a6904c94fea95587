"""The partner-application mapping of CLIXML: which deserialised objects are partner applications.

Owns finding the partner applications in a deserialised Export-Clixml file
(`auditor.parsers.clixml.deserialise`) and handing each one's properties to the shared builder.

Real exports lose the PartnerApplication type name (`Select-Object` gives
`Selected.System.Management.Automation.PSCustomObject`, `ConvertFrom-Json` a `PSCustomObject`,
a hashtable has keys, psrpcore writes whatever it is told), so an object is read as a partner
application when one of its type names is
`Microsoft.Exchange.Data.Directory.SystemConfiguration.PartnerApplication` or when it has an
`ApplicationIdentifier` and an `ActAsPermissions` or `AppOnlyPermissions` property (for a
dictionary: keys). Such objects are found at any depth: in the top-level objects, in the items
of lists (`Export-Clixml -InputObject $apps` and `,$apps | Export-Clixml` write one
`System.Object[]` holding them), in the keys and values of dictionaries and in the properties of
other objects. The evidence of each application names the type it was read from (and the
container it was found in). An object (or dictionary) with a property given twice is not read
(the deserialiser already reported it). A `TNRef` to no earlier `TN` is harmless inside an
object (its properties still read), a MALFORMED problem for an object of the file or of a list
that is not recognisable as a partner application by its properties. A longer list of objects
than `MAX_ITEMS` is a TOO_LARGE problem; a longer permission list incomplete evidence.

A file with no partner application is a problem unless every object in it is of a known
unrelated Exchange type (`Get-ExchangeServer` or `Get-AuthServer | Export-Clixml`, legitimate
inputs that yield no record) or was read by the trust mappings (`trust_mapping`): an empty
`<Objs/>` "holds no object", anything else "holds no partner application".

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

from collections.abc import Sequence, Set
from dataclasses import dataclass, field
from pathlib import PurePath

from auditor.layout import TRUST_EXPORT_FILES
from auditor.model import InputFormat, PartnerApplication, Problem, ProblemCode
from auditor.parsers.base import RawInput
from auditor.parsers.clixml.deserialise import (
    MAX_ITEMS,
    Property,
    PSObject,
    Unresolved,
    Value,
    type_label,
)
from auditor.parsers.clixml.server_mapping import EXCHANGE_SERVER_TYPE
from auditor.parsers.properties import (
    TOO_MANY_NAMES,
    ApplicationReader,
    ObjectSource,
    PropertyValue,
    is_permission_property,
)

PARTNER_APPLICATION_TYPE = (
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.PartnerApplication"
)
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
_IDENTIFIER = "applicationidentifier"


def partner_applications(
    raw: RawInput,
    values: tuple[Value, ...],
    lines: Sequence[str],
    taken: Set[int] = frozenset(),
) -> tuple[tuple[PartnerApplication, ...], list[Problem]]:
    """Every partner application of a deserialised file, wherever it sits, and the problems.

    `taken` holds the ids of objects another mapping read (the trust exports): like the
    `UNRELATED_TYPES`, they are legitimate objects that are no partner application.
    """
    applications = ApplicationReader(raw, InputFormat.CLIXML)
    problems = applications.problems
    survey = _survey(values, taken)
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
                f"the {type_label(container)} at line {container.line} holds more than "
                f"{MAX_ITEMS} items; only the first {MAX_ITEMS} were read",
                container.line,
            )
        )
    for found in survey.applications:
        if not applications.room_for(found.obj.line):
            break
        if found.obj.ambiguous:
            continue  # the repeated property is already a problem; do not guess which counts
        applications.add(_properties(found, lines), _object_source(found, lines))
    if not survey.applications and not survey.untyped:
        problem = _nothing_read(raw, survey)
        if problem is not None:
            problems.append(problem)
    return tuple(applications.applications), problems


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


def _survey(values: tuple[Value, ...], taken: Set[int]) -> _Survey:
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
        if id(value) in taken or any(name in UNRELATED_TYPES for name in value.type_names):
            survey.unrelated += 1
            continue
        is_container = value.items is not None or value.entries is not None
        if is_item and value.dangling_type is not None:
            survey.untyped.append(value)
        elif is_item and not is_container:
            survey.others.append(value)
        if value.truncated:
            survey.oversized.append(value)
        inside = f" in the {type_label(value)} at line {value.line}"
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
    return _IDENTIFIER in names and any(is_permission_property(name) for name in members)


def _nothing_read(raw: RawInput, survey: _Survey) -> Problem | None:
    """The problem for a file without partner applications, None when that is expected."""
    if PurePath(raw.path).name.casefold() in TRUST_EXPORT_FILES:
        # A hybrid-trust export of the collection: its objects are read by the trust mappings
        # (the evidence model reads one that yielded nothing as missing), or, as the
        # OrganizationRelationship export, by no rule yet; it is no partner-application export.
        return None
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
        return type_label(value)
    if isinstance(value, Unresolved):
        return "an unreadable value"
    return f"a {type(value).__name__} value"


def _line_text(lines: Sequence[str], line: int | None) -> str:
    if line is None or not 0 < line <= len(lines):
        return ""
    return lines[line - 1].strip()[:RAW_LINE_LIMIT]


def _properties(found: _Found, lines: Sequence[str]) -> dict[str, PropertyValue]:
    """The object's properties in the builder's terms (`build_partner_application`)."""
    return {name: _property_value(name, prop, lines) for name, prop in found.members.items()}


def _object_source(found: _Found, lines: Sequence[str]) -> ObjectSource:
    """The object's line and, as its raw text, that line and the type and container it was in."""
    obj = found.obj
    kind = "dictionary" if found.members is not obj.properties else "object"
    origin = f"{kind} of type {type_label(obj)}{found.container}"
    return ObjectSource(
        line=obj.line, raw=f"{_line_text(lines, obj.line)[:ORIGIN_LINE_LIMIT]} ({origin})"
    )


def _property_value(name: str, prop: Property, lines: Sequence[str]) -> PropertyValue:
    """One deserialised property in the builder's terms: scalar, text, or a list of names."""
    value = prop.value
    raw_text = _line_text(lines, prop.line)
    if isinstance(value, Unresolved):
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
        if is_permission_property(name):
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
