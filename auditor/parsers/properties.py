"""The one place where an exported object's properties become a `PartnerApplication`.

Every format parser (Format-List, JSON, CSV, CLIXML) reduces one exported object to a mapping of
property name to `PropertyValue` (the value as the format shows it, where it is, what was lost)
and calls `build_partner_application`, so that all formats normalise identically:

- `application_identifier`: the `ApplicationIdentifier` text, trimmed and lower-cased. An object
  without one is not a partner application we can name: a MALFORMED problem at the object.
- `name`: `Name`, else `Identity`, else "".
- `enabled`: True/False from a boolean, "True"/"False" (any case), 1/0; None when absent or
  unrecognised (an unrecognised value is also reported, severity low).
- `linked_account`: the text shown (formats that export an object reduce it to text first);
  empty or absent is None.
- `server`: the server from the folder layout or `--server` (`RawInput.server`) when set, else
  the object's `PSComputerName` (the Exchange server the export ran against, present on objects
  from a remote Exchange Management Shell), else its `OriginatingServer`. Note that
  `OriginatingServer` names the domain controller the object was read from, not necessarily an
  Exchange server; it is the last resort.
- `ActAsPermissions` / `AppOnlyPermissions`: names in stored order. `$null` or an empty list is
  an empty, complete list. A list the export truncated (`PropertyValue.lost` set), a plain text
  where a list is expected, or a property missing from the export is incomplete evidence: the
  list keeps only what was shown, `complete` is False, and an INCOMPLETE_EVIDENCE problem at the
  property tells the admin how to export completely (`REEXPORT_ADVICE`). A list whose items
  look like names but one holds a character no permission name contains (space, `?`, `,`, `|`,
  `;`, `…`, tab, CR, LF, any other control, format or Unicode separator character) is
  incomplete too: it is a truncated Format-List saved as ASCII (`…` became `?`) or a list
  written as one joined string (plain `Export-Csv`); its items are kept as shown.

Every property of the object is also kept as (name, `canonical_text`) in
`PartnerApplication.properties`, in export order, for `attest` to compare.

Property names are matched exactly first, then case-insensitively (PowerShell property names
are case-insensitive). Every permission list carries `Evidence` of its property (line and raw
text as shown in the file, cut at `MAX_RAW` characters); `source` is the evidence of the object.

Bounds shared by the text parsers, against hostile exports: at most `MAX_OBJECTS` objects are
read from one file (then a TOO_LARGE problem, `too_many_objects`), at most `MAX_NAMES` names from
one permission list (then the list is incomplete, `TOO_MANY_NAMES`; `cut_names`). Real
organisations have a handful of partner applications with a few dozen permissions each. Every
format parser reads its objects through one `ApplicationReader` (the object bound, the builder,
the problems in order) and tells a permission property by `is_permission_property`.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from auditor.model import (
    Evidence,
    InputFormat,
    ParseResult,
    PartnerApplication,
    PermissionList,
    Problem,
    ProblemCode,
    Severity,
)
from auditor.parsers.base import RawInput

MAX_RAW = 500
# Bounds against hostile exports (a real organisation has a handful of partner applications with
# a few dozen permissions each): objects read per file, names read per permission list.
MAX_OBJECTS = 10_000
MAX_NAMES = 100_000
TOO_MANY_NAMES = (
    f"the list holds more than {MAX_NAMES} names, more than any Exchange partner application "
    f"has; only the first {MAX_NAMES} were read"
)

# Characters no permission name contains (besides control, format and separator characters of
# any script): a list item holding one is a truncated or glued list, not a name.
_GLUE = frozenset(" ?,|;\t\r\n\u2026")
_GLUE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})

ACT_AS = "ActAsPermissions"
APP_ONLY = "AppOnlyPermissions"
PERMISSION_PROPERTIES = (ACT_AS, APP_ONLY)
_PERMISSION_NAMES = frozenset(name.casefold() for name in PERMISSION_PROPERTIES)

_COMPLETE_EXPORT = (
    "`Get-PartnerApplication | Export-Clixml -Depth 4 -Path pa.xml` exports every property "
    "completely (`auditor collect` writes a script that does this)"
)

REEXPORT_ADVICE: dict[InputFormat, str] = {
    InputFormat.FORMAT_LIST: (
        "Format-List shows at most `$FormatEnumerationLimit` items of a list (4 by default); "
        "run `$FormatEnumerationLimit = -1` before `Get-PartnerApplication | Format-List *`, "
        f"or better: {_COMPLETE_EXPORT}"
    ),
    InputFormat.JSON: (
        "ConvertTo-Json replaces anything deeper than `-Depth` (2 by default) with text; "
        "export again with `Get-PartnerApplication | ConvertTo-Json -Depth 4`, "
        f"or better: {_COMPLETE_EXPORT}"
    ),
    InputFormat.CSV: (
        "Export-Csv writes a list as its type name, not its items; "
        f"{_COMPLETE_EXPORT}, or join the lists yourself: `Get-PartnerApplication | "
        "Select-Object Name,ApplicationIdentifier,Enabled,LinkedAccount,"
        "@{n='ActAsPermissions';e={$_.ActAsPermissions -join ';'}},"
        "@{n='AppOnlyPermissions';e={$_.AppOnlyPermissions -join ';'}} | "
        "Export-Csv -NoTypeInformation -Path pa.csv`"
    ),
    InputFormat.CLIXML: (
        "Export-Clixml writes anything deeper than `-Depth` (2 by default) as text; "
        f"{_COMPLETE_EXPORT}"
    ),
}

# Properties that say where and how an object was read (which server and runspace answered,
# which domain controller it came from), not what it is: two exports of one object differ in
# them. Casefolded names.
READ_CONTEXT = frozenset(
    name.casefold()
    for name in ("PSComputerName", "PSShowComputerName", "RunspaceId", "OriginatingServer")
)

ScalarValue = str | bool | int | float | None


@dataclass(frozen=True, slots=True)
class PropertyValue:
    """One property of one exported object, as a format parser read it.

    `value` is text or a JSON-like scalar for single values and a tuple of names for a list
    (only the shown items when the export truncated it). `lost`, when set, says in a few words
    what the export lost (e.g. "the list ends in `…`: Format-List truncated it"); the builder
    then marks the list incomplete. `line` is the 1-based line of the property, `raw` its text
    as shown in the file.
    """

    value: ScalarValue | tuple[str, ...]
    line: int | None
    raw: str
    lost: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectSource:
    """Where one exported object is in its file: first line and the text shown there."""

    line: int | None
    raw: str


def build_partner_application(
    properties: Mapping[str, PropertyValue],
    *,
    raw: RawInput,
    input_format: InputFormat,
    source: ObjectSource,
) -> tuple[PartnerApplication | None, list[Problem]]:
    """Normalise one exported object; None (and a MALFORMED problem) when it has no identifier."""
    lookup = _PropertyLookup(properties)
    object_evidence = _evidence(raw, source.line, source.raw, input_format)
    identifier = _text(lookup.get("ApplicationIdentifier"))
    if not identifier:
        return None, [_no_identifier(raw, source.line)]
    identifier = identifier.lower()
    name = _text(lookup.get("Name")) or _text(lookup.get("Identity")) or ""
    subject = f"partner-application:{identifier}"
    shown = f"'{name}' ({identifier})" if name else identifier
    label = f"partner application {shown}"
    problems: list[Problem] = []
    enabled_value = lookup.get("Enabled")
    enabled = _enabled(enabled_value)
    if enabled is None and enabled_value is not None and enabled_value.value is not None:
        problems.append(_unknown_enabled(raw, enabled_value, label, subject))
    server = (
        raw.server
        or _text(lookup.get("PSComputerName"))
        or _text(lookup.get("OriginatingServer"))
        or None
    )
    permission_lists: dict[str, PermissionList] = {}
    for property_name in PERMISSION_PROPERTIES:
        permission_list, problem = _permission_list(
            property_name,
            lookup.get(property_name),
            raw=raw,
            input_format=input_format,
            object_evidence=object_evidence,
            label=label,
            subject=subject,
        )
        permission_lists[property_name] = permission_list
        if problem is not None:
            problems.append(problem)
    application = PartnerApplication(
        name=name,
        application_identifier=identifier,
        enabled=enabled,
        act_as_permissions=permission_lists[ACT_AS],
        app_only_permissions=permission_lists[APP_ONLY],
        linked_account=_text(lookup.get("LinkedAccount")) or None,
        server=server,
        source=object_evidence,
        properties=tuple((key, canonical_text(value)) for key, value in properties.items()),
    )
    return application, problems


class ApplicationReader:
    """One file's partner applications as its format parser reads them, object by object.

    Every format reads at most `MAX_OBJECTS` objects (`room_for` says when the next one is one
    too many, and records the TOO_LARGE problem), builds each with `build_partner_application`
    (`add`) and keeps the problems in the order they were found.
    """

    __slots__ = ("_objects", "applications", "input_format", "problems", "raw")

    def __init__(self, raw: RawInput, input_format: InputFormat) -> None:
        self.raw = raw
        self.input_format = input_format
        self.applications: list[PartnerApplication] = []
        self.problems: list[Problem] = []
        self._objects = 0

    def room_for(self, line: int | None) -> bool:
        """Count one more object (at `line`); False, with a TOO_LARGE problem, past the bound."""
        self._objects += 1
        if self._objects > MAX_OBJECTS:
            self.problems.append(too_many_objects(self.raw, line, MAX_OBJECTS))
            return False
        return True

    @property
    def count(self) -> int:
        """How many objects were counted so far (the one past the bound included)."""
        return self._objects

    def add(self, properties: Mapping[str, PropertyValue], source: ObjectSource) -> None:
        """Build one exported object into a partner application, keeping its problems."""
        application, found = build_partner_application(
            properties, raw=self.raw, input_format=self.input_format, source=source
        )
        self.problems.extend(found)
        if application is not None:
            self.applications.append(application)

    def result(self) -> ParseResult:
        """What the parser made of the file."""
        return ParseResult(
            source=self.raw.source(self.input_format),
            partner_applications=tuple(self.applications),
            problems=tuple(self.problems),
        )


def is_permission_property(name: str) -> bool:
    """True for `ActAsPermissions` and `AppOnlyPermissions`, in any case (as PowerShell)."""
    return name.casefold() in _PERMISSION_NAMES


def cut_names(names: tuple[str, ...]) -> tuple[tuple[str, ...], str | None]:
    """At most `MAX_NAMES` of a list's names, and `TOO_MANY_NAMES` when the rest was cut."""
    if len(names) > MAX_NAMES:
        return names[:MAX_NAMES], TOO_MANY_NAMES
    return names, None


def canonical_text(value: PropertyValue) -> str:
    """A property's value as one text that is equal exactly when the exported values are.

    Text as exported (None, the `$null` of every format, and "" are both ""), booleans as
    PowerShell writes them (`True`, `False`), numbers as digits, lists as a JSON array of their
    items (so that `{a, b}` and `{"a, b"}` differ); a value the export lost part of ends in
    `(incomplete: <what was lost>)`.
    """
    item = value.value
    if item is None:
        text = ""
    elif isinstance(item, bool):
        text = "True" if item else "False"
    elif isinstance(item, tuple):
        text = json.dumps(list(item), ensure_ascii=False)
    else:
        text = str(item)
    return text if value.lost is None else f"{text} (incomplete: {value.lost})"


def incomplete_problem(
    raw: RawInput,
    input_format: InputFormat,
    *,
    property_name: str,
    label: str,
    subject: str | None,
    lost: str,
    line: int | None,
    advice: str | None = None,
) -> Problem:
    """The INCOMPLETE_EVIDENCE problem for one property, with the format's re-export advice."""
    if advice is None:
        advice = REEXPORT_ADVICE.get(input_format, _COMPLETE_EXPORT)
    return Problem(
        code=ProblemCode.INCOMPLETE_EVIDENCE,
        message=f"{property_name} of {label} is incomplete: {lost}. {advice}.",
        path=raw.path,
        line=line,
        severity=Severity.HIGH,
        subject=subject,
    )


def too_many_objects(raw: RawInput, line: int | None, limit: int = MAX_OBJECTS) -> Problem:
    """The TOO_LARGE problem for a file that holds more than `limit` objects."""
    where = f" from line {line} on" if line is not None else ""
    return raw.problem(
        ProblemCode.TOO_LARGE,
        f"the file holds more than {limit} objects, more than any Exchange organisation "
        f"has partner applications; the objects{where} were not read",
        line,
    )


class _PropertyLookup:
    """Exact-then-case-insensitive property lookup."""

    __slots__ = ("_exact", "_folded")

    def __init__(self, properties: Mapping[str, PropertyValue]) -> None:
        self._exact = properties
        self._folded: dict[str, PropertyValue] = {}
        for key, value in properties.items():
            self._folded.setdefault(key.casefold(), value)

    def get(self, name: str) -> PropertyValue | None:
        found = self._exact.get(name)
        if found is None:
            found = self._folded.get(name.casefold())
        return found


def _evidence(raw: RawInput, line: int | None, text: str, input_format: InputFormat) -> Evidence:
    return Evidence(
        path=raw.path, line=line, raw=text[:MAX_RAW], sha256=raw.sha256, format=input_format
    )


# What an object of an export may be, for the problem of one that is none of them.
KNOWN_EXPORTS = (
    "a Get-PartnerApplication object or one of the trust exports auditor reads "
    "(Get-AuthServer, Get-AuthConfig, Get-SettingOverride, Get-HybridConfiguration, "
    "Get-IntraOrganizationConnector, Get-OrganizationRelationship, Get-OrganizationConfig, "
    "Get-ExchangeCertificate, Get-ExchangeServer, (Get-Command ExSetup.exe).FileVersionInfo)"
)


def _no_identifier(raw: RawInput, line: int | None) -> Problem:
    where = f"at line {line}" if line is not None else "in this file"
    return raw.problem(
        ProblemCode.MALFORMED,
        f"the object {where} has no ApplicationIdentifier and is none of the exports auditor "
        f"reads: expected {KNOWN_EXPORTS}, or the export lost a property that tells which; "
        "it was skipped",
        line,
    )


def _unknown_enabled(raw: RawInput, value: PropertyValue, label: str, subject: str) -> Problem:
    return Problem(
        code=ProblemCode.MALFORMED,
        message=(
            f"Enabled of {label} is {value.raw.strip()!r}, "
            "neither True nor False; it is treated as unknown"
        ),
        path=raw.path,
        line=value.line,
        severity=Severity.LOW,
        subject=subject,
    )


def _text(value: PropertyValue | None) -> str:
    """A property's value as trimmed text ("" for absent, $null, or a list)."""
    if value is None or value.value is None or isinstance(value.value, tuple):
        return ""
    if isinstance(value.value, bool):
        return "True" if value.value else "False"
    return str(value.value).strip()


def _enabled(value: PropertyValue | None) -> bool | None:
    if value is None or value.value is None:
        return None
    item = value.value
    if isinstance(item, bool):
        return item
    if isinstance(item, int | float):
        return True if item == 1 else False if item == 0 else None
    if isinstance(item, str):
        return {"true": True, "false": False, "1": True, "0": False}.get(item.strip().lower())
    return None


def _permission_list(
    property_name: str,
    value: PropertyValue | None,
    *,
    raw: RawInput,
    input_format: InputFormat,
    object_evidence: Evidence,
    label: str,
    subject: str,
) -> tuple[PermissionList, Problem | None]:
    advice: str | None = None
    if value is None:
        evidence = object_evidence
        shown: tuple[str, ...] = ()
        lost: str | None = "the export has no such property (was it left out by Select-Object?)"
        advice = f"Export every property: {_COMPLETE_EXPORT}"
    else:
        evidence = _evidence(raw, value.line, value.raw, input_format)
        shown, lost = _names(value)
    if lost is None:
        lost = _glued(shown)
        if lost is not None:
            advice = f"Export the lists as lists: {_COMPLETE_EXPORT}"
    if lost is None:
        return PermissionList(values=shown, complete=True, evidence=evidence), None
    problem = incomplete_problem(
        raw,
        input_format,
        property_name=property_name,
        label=label,
        subject=subject,
        lost=lost,
        line=evidence.line,
        advice=advice,
    )
    return PermissionList(values=shown, complete=False, evidence=evidence), problem


def _glued(names: tuple[str, ...]) -> str | None:
    """What was lost when a list item holds a character no permission name contains, else None.

    Permission names are dotted words (`Mail.Read`, `user_impersonation`). A list that looks
    complete but carries such a character is not a list of names: PowerShell 7 Format-List
    saved as ASCII turns its truncation mark `…` into `?`, a plain `Export-Csv` of
    deserialised objects writes a whole list as one space-joined string, an admin's own join
    leaves `,` `|` `;` or line breaks. The names stay as shown (a rule may still look inside
    them); the list is incomplete.
    """
    for name in names:
        if name.isprintable() and _GLUE.isdisjoint(name):
            continue  # the common case, without a per-character loop
        for char in name:
            if char in _GLUE or unicodedata.category(char) in _GLUE_CATEGORIES:
                return (
                    f"the item {name[:80]!r} holds {_describe_char(char)}, which no permission "
                    "name contains: the list was probably truncated (`…` saved as `?` in an "
                    "ASCII file) or written as one joined string (Export-Csv of a list), so "
                    "its names cannot be trusted"
                )
    return None


def _describe_char(char: str) -> str:
    if char == " ":
        return "a space"
    name = unicodedata.name(char, "")
    if char.isprintable() and name:
        return f"{char!r} ({name.lower()})"
    return f"the character U+{ord(char):04X}" + (f" ({name.lower()})" if name else "")


def _names(value: PropertyValue) -> tuple[tuple[str, ...], str | None]:
    """The permission names a property holds, and what was lost (None when nothing was)."""
    item = value.value
    if isinstance(item, tuple):
        return item, value.lost
    if value.lost is not None:
        return (), value.lost
    if item is None:
        return (), None
    if isinstance(item, str) and not item.strip():
        return (), None
    shown = item if isinstance(item, str) else repr(item)
    return (), f"the export holds the text {shown.strip()[:80]!r} where a list was expected"
