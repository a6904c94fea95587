"""Reading the named properties of one deserialised object into record values, as the trust
mappings do (`authentication_mapping`, `override_mapping`, `hybrid_mapping`, ...).

Owns the trust rules of `auditor.model.trust` in CLIXML terms: `ObjectFields` looks a property
up by name ignoring case (as PowerShell does); a property the object does not carry is noted in
`missing` and read as None; `Nil` is None and `<S></S>` is `""`; an enum (an `Obj` with a
`ToString` and an integer) is read by its `ToString`; a list is an `Obj` with `LST`, made an
`ExportedList` whose items are strings or objects' `ToString`, incomplete when the deserialiser
cut it (`MAX_ITEMS`) or an item could not be read; a value of an unexpected shape (a `BA`, an
unresolved `Ref`, a list where text was expected, an object without its list) is noted in
`unreadable` and read as None. `evidence` and `server` say where the object came from;
`exported_properties` is every property of the object as text (what `auditor attest` compares).
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.model import Evidence, ExportedList, InputFormat, Problem, ProblemCode
from auditor.parsers.base import RawInput
from auditor.parsers.clixml.deserialise import Property, PSObject, Unresolved, Value
from auditor.parsers.properties import PropertyValue, canonical_text

RAW_LINE_LIMIT = 500


class ObjectFields:
    """One object's properties read by name, with what was not given or not readable."""

    def __init__(self, obj: PSObject) -> None:
        self.obj = obj
        self.by_name = {name.casefold(): prop for name, prop in obj.properties.items()}
        self.missing: list[str] = []
        self.unreadable: list[str] = []

    def get(self, name: str) -> Property | None:
        prop = self.by_name.get(name.casefold())
        if prop is None:
            self.missing.append(name)
        return prop

    def text(self, name: str) -> str | None:
        """A text property (a string, or an object's ToString such as an enum's name)."""
        prop = self.get(name)
        if prop is None or prop.value is None:
            return None
        value = prop.value
        if isinstance(value, str):
            return value
        if isinstance(value, PSObject) and value.items is None and value.entries is None:
            return value.to_string
        if isinstance(value, bool | int):
            return str(value)
        self.unreadable.append(name)
        return None

    def date(self, name: str) -> str | None:
        """A date: the `DT` text as exported (ISO 8601 with its offset)."""
        return self.text(name)

    def flag(self, name: str) -> bool | None:
        prop = self.get(name)
        if prop is None or prop.value is None:
            return None
        if isinstance(prop.value, bool):
            return prop.value
        self.unreadable.append(name)
        return None

    def integer(self, name: str) -> int | None:
        prop = self.get(name)
        if prop is None or prop.value is None:
            return None
        value = prop.value
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, PSObject) and isinstance(value.value, int):
            return value.value  # an enum's integer, when only that is wanted
        self.unreadable.append(name)
        return None

    def listed(self, name: str) -> ExportedList | None:
        """A list property; None for `Nil` (or not given)."""
        prop = self.get(name)
        if prop is None or prop.value is None:
            return None
        value = prop.value
        if isinstance(value, PSObject) and value.items is not None:
            names: list[str] = []
            complete = not value.truncated
            for item in value.items:
                if isinstance(item, str):
                    names.append(item)
                elif isinstance(item, PSObject) and item.to_string is not None:
                    names.append(item.to_string)
                else:
                    complete = False
            return ExportedList(tuple(names), complete)
        if isinstance(value, str):  # one value where a list was expected: not the whole list
            return ExportedList((value,), False)
        if isinstance(value, PSObject) and value.to_string is not None:
            return ExportedList((value.to_string,), False)  # -Depth cut the list off
        self.unreadable.append(name)
        return ExportedList((), False)


def evidence(raw: RawInput, obj: PSObject, lines: Sequence[str]) -> Evidence:
    """Where an object was read: the file, the object's line and that line's text."""
    line = obj.line
    text = lines[line - 1].strip()[:RAW_LINE_LIMIT] if line and 0 < line <= len(lines) else ""
    return Evidence(
        path=raw.path, line=line, raw=text, sha256=raw.sha256, format=InputFormat.CLIXML
    )


def server(raw: RawInput, obj: PSObject) -> str | None:
    """The server a per-server fact belongs to: the layout's (the server folder), else the
    export's `PSComputerName`, else None."""
    if raw.server:
        return raw.server
    prop = ObjectFields(obj).by_name.get("pscomputername")
    if prop is not None and isinstance(prop.value, str) and prop.value.strip():
        return prop.value
    return None


def unreadable_problem(raw: RawInput, fields: ObjectFields, what: str) -> Problem | None:
    """An INCOMPLETE_EVIDENCE problem naming the properties that could not be read, if any."""
    if not fields.unreadable:
        return None
    names = ", ".join(sorted(set(fields.unreadable)))
    return raw.problem(
        ProblemCode.INCOMPLETE_EVIDENCE,
        f"the {what} at line {fields.obj.line} has {names} in a shape that could not be read "
        "(binary data, an unresolved reference or an object without its value); those values "
        "are not evidence: export it again with `auditor collect`",
        fields.obj.line,
    )


def exported_properties(obj: PSObject) -> tuple[tuple[str, str], ...]:
    """Every property of `obj`, in file order, as (name as exported, canonical text): text as
    exported, lists as a JSON array of their items, an object by its `ToString`; a value that
    could not be read (a binary `BA`, an unresolved `Ref`) or a list read in part says so."""
    return tuple(
        (name, canonical_text(_exported(prop.value))) for name, prop in obj.properties.items()
    )


def _exported(value: Value) -> PropertyValue:
    if isinstance(value, Unresolved):
        return PropertyValue(None, None, "", lost=f"its value could not be read ({value.reason})")
    if isinstance(value, PSObject) and value.items is not None:
        names: list[str] = []
        for item in value.items:
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, PSObject) and item.to_string is not None:
                names.append(item.to_string)
        lost = None
        if value.truncated or len(names) != len(value.items):
            lost = "the list was cut or an item could not be read"
        return PropertyValue(tuple(names), None, "", lost=lost)
    if isinstance(value, PSObject):
        return PropertyValue(value.to_string, None, "")
    if value is None or isinstance(value, str | bool | int):
        return PropertyValue(value, None, "")
    return PropertyValue(None, None, "", lost="its value has an unexpected shape")
