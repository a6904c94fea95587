"""The hybrid OAuth trust exports saved as Format-List text, Export-Csv or ConvertTo-Json.

Owns recognising a trust object of a text export by the properties it carries (`trust_kind`:
the export has no type name, and the file may be called anything), and reading its values
(`FormatListFields`, `CsvFields`, `JsonFields`) into the records CLIXML gives
(`auditor.parsers.trust_records`), with `TrustObjects` gathering one file's records and problems.
The partner-application readers (`formatlist`, `csv_`, `json_`) hand every object that is a
trust object here and read the others as before; ExSetup.exe's FileVersionInfo,
`Get-ExchangeServer` and the VariantConfiguration diagnostic are read by
`auditor.parsers.server_text`.

What each format cannot carry faithfully is not guessed at:

- `""` and `$null` look the same in Format-List and CSV: both are None (JSON keeps them apart);
- a list Format-List cut at `$FormatEnumerationLimit` (`…` / `...`) keeps the names shown and
  is incomplete; Export-Csv writes every list as its type name or its items joined by spaces,
  so a non-empty CSV list cell is no list at all (no names, incomplete); a JSON list of
  objects without a name, or text where a list was expected (`-Depth` too small), is
  incomplete. Each is also named in a located INCOMPLETE_EVIDENCE problem advising Export-Clixml;
- an enum is read by its name: Format-List and CSV show the name; ConvertTo-Json writes a
  deserialised enum as `{"value": 1, "Value": "AzureAD"}` (the name is read) and a live one as
  its integer, which is never read (the value is unreadable);
- a date is kept only as ISO 8601 text with its offset (PowerShell 7's JSON) or from 5.1's
  `\\/Date(ms)\\/` (milliseconds since 1970 UTC, written in UTC); the culture-formatted text of
  Format-List and CSV (`02/03/2023 14:16:02`: month or day first?) is missing;
- an object of `Get-ExchangeCertificate` is read from its DER only: ConvertTo-Json writes
  `RawData` as an array of bytes (`auditor.parsers.certificate_json`); Format-List shows only
  its first four bytes and Export-Csv its type name, and both show the dates culture-formatted,
  so there the certificate is refused: a located problem says to export it with Export-Clixml;
- every record also keeps every exported property of its object as text
  (`auditor.parsers.properties.canonical_text`, what `auditor attest` compares): Format-List
  and CSV as shown (a Format-List list as its items, marked when cut), JSON as decoded (an
  enum by its name, anything else not text marked as such).
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterable, Mapping
from typing import Any

from auditor.model import (
    Evidence,
    ExchangeServer,
    ExportedList,
    InputFormat,
    ParseResult,
    Problem,
    ProblemCode,
    TrustEvidence,
)
from auditor.parsers import server_text, trust_records
from auditor.parsers.base import RawInput
from auditor.parsers.certificate_json import json_certificate
from auditor.parsers.properties import MAX_NAMES, MAX_RAW, PropertyValue, canonical_text
from auditor.parsers.server_text import EXCHANGE_SERVER, EXSETUP, VARIANT

__all__ = [
    "CERTIFICATE",
    "ORGANIZATION_RELATIONSHIP",
    "CsvFields",
    "FormatListFields",
    "JsonFields",
    "TrustObjects",
    "trust_kind",
]

CERTIFICATE = "exchange_certificates"
ORGANIZATION_RELATIONSHIP = "organization_relationships"

# Each kind with the property sets that tell it (any one set, all its names present,
# casefolded), in the order they are tried; a partner application is never one of them.
_SIGNATURES: tuple[tuple[str, tuple[frozenset[str], ...]], ...] = (
    ("setting_overrides", (frozenset({"componentname", "sectionname", "parameters"}),)),
    ("auth_configs", (frozenset({"currentcertificatethumbprint"}),)),
    (
        "auth_servers",
        (
            frozenset({"tokenissuingendpoint", "authmetadataurl"}),
            frozenset({"isdefaultauthorizationendpoint", "authmetadataurl"}),
        ),
    ),
    ("intra_organization_connectors", (frozenset({"discoveryendpoint", "targetaddressdomains"}),)),
    (
        "hybrid_configurations",
        (
            frozenset({"features", "domains", "onpremisessmarthost"}),
            frozenset({"features", "clientaccessservers"}),
        ),
    ),
    (
        "organization_configs",
        (
            frozenset({"guid", "oauth2clientprofileenabled"}),
            frozenset({"guid", "mapihttpenabled"}),
        ),
    ),
    (ORGANIZATION_RELATIONSHIP, (frozenset({"domainnames", "targetapplicationuri"}),)),
    (
        CERTIFICATE,
        (
            frozenset({"thumbprint", "notafter", "certificatedomains"}),
            frozenset({"thumbprint", "notafter", "services"}),
            frozenset({"thumbprint", "rawdata"}),
        ),
    ),
    (EXSETUP, (frozenset({"filemajorpart", "fileminorpart", "filebuildpart", "fileprivatepart"}),)),
    (EXCHANGE_SERVER, (frozenset({"fqdn", "serverrole", "admindisplayversion"}),)),
    (VARIANT, (frozenset({"result", "isvalid"}),)),
)
_PARTNER = frozenset({"actaspermissions", "apponlypermissions"})

_BUILDERS = {
    "auth_servers": trust_records.auth_server,
    "auth_configs": trust_records.auth_config,
    "setting_overrides": trust_records.setting_override,
    "hybrid_configurations": trust_records.hybrid_configuration,
    "intra_organization_connectors": trust_records.intra_organization_connector,
    "organization_configs": trust_records.organization_config,
    ORGANIZATION_RELATIONSHIP: trust_records.organization_relationship,
}
_WHAT = {
    "auth_servers": ("AuthServer", "Get-AuthServer"),
    "auth_configs": ("AuthConfig", "Get-AuthConfig"),
    "setting_overrides": ("SettingOverride", "Get-SettingOverride"),
    "hybrid_configurations": ("HybridConfiguration", "Get-HybridConfiguration"),
    "intra_organization_connectors": (
        "IntraOrganizationConnector",
        "Get-IntraOrganizationConnector",
    ),
    "organization_configs": ("OrganizationConfig", "Get-OrganizationConfig"),
    ORGANIZATION_RELATIONSHIP: ("OrganizationRelationship", "Get-OrganizationRelationship"),
}
_WHY = {
    InputFormat.FORMAT_LIST: (
        "Format-List shows at most `$FormatEnumerationLimit` items of a list and ends it "
        "with `…`, and shows a list only inside braces"
    ),
    InputFormat.CSV: (
        "Export-Csv writes a list as its type name or as its items joined by spaces, never "
        "as the items"
    ),
    InputFormat.JSON: (
        "ConvertTo-Json writes an enum as its number, an object without its name, and a "
        "list deeper than -Depth as text"
    ),
}
_ISO_DATE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,7})?(?:Z|[+-]\d\d:\d\d)")
_MS_DATE = re.compile(r"/Date\((-?\d{1,15})(?:[+-]\d{4})?\)/")
_ELLIPSES = ("...", "…")


def trust_kind(names: Iterable[str]) -> str | None:
    """Which trust export an object with these property names is (a `TrustEvidence` field,
    `ORGANIZATION_RELATIONSHIP` or `CERTIFICATE`), or None: a partner application or other."""
    folded = {name.casefold() for name in names}
    if folded & _PARTNER:
        return None
    for kind, signatures in _SIGNATURES:
        if any(signature <= folded for signature in signatures):
            return kind
    return None


class TrustObjects:
    """One file's trust records and problems, object by object, in reading order."""

    def __init__(self, raw: RawInput, input_format: InputFormat) -> None:
        self.raw = raw
        self.input_format = input_format
        self.found: dict[str, list[Any]] = {name: [] for name in TrustEvidence.__slots__}
        self.problems: list[Problem] = []
        self.servers: list[ExchangeServer] = []  # Get-ExchangeServer (`server_text`)

    def add(self, kind: str, fields: TextFields, line: int | None, shown: str) -> None:
        """Read one object of `kind` (see `trust_kind`) found at `line` (`shown`: its text)."""
        source = Evidence(
            path=self.raw.path,
            line=line,
            raw=shown[:MAX_RAW],
            sha256=self.raw.sha256,
            format=self.input_format,
        )
        if kind == CERTIFICATE:
            self._certificate(fields, source)
            return
        if kind in (EXSETUP, EXCHANGE_SERVER, VARIANT):
            server_text.read(self, kind, fields, source)
            return
        record: Any = _BUILDERS[kind](fields, source)
        self.found[kind].append(dataclasses.replace(record, properties=fields.exported()))
        if fields.unreadable:
            self.problems.append(self._unreadable(kind, fields, line))

    def merged(self, result: ParseResult) -> ParseResult:
        """The file's parse result with these records and problems added."""
        if not any(self.found.values()) and not self.problems and not self.servers:
            return result
        records = {name: tuple(found) for name, found in self.found.items()}
        return dataclasses.replace(
            result,
            problems=(*result.problems, *self.problems),
            trust=TrustEvidence(**records),
            exchange_servers=(*result.exchange_servers, *self.servers),
        )

    def _unreadable(self, kind: str, fields: trust_records.Fields, line: int | None) -> Problem:
        what, cmdlet = _WHAT[kind]
        names = ", ".join(sorted(set(fields.unreadable)))
        where = f"at line {line}" if line is not None else "in this file"
        return self.raw.problem(
            ProblemCode.INCOMPLETE_EVIDENCE,
            f"the {what} {where} has {names} in a shape this {self.input_format.value} export "
            f"cannot carry faithfully ({_WHY[self.input_format]}); those values are not "
            f"evidence: export it with `{cmdlet} | Export-Clixml -Depth 4 -Path {what}.xml` "
            "(`auditor collect` does)",
            line,
        )

    def _certificate(self, fields: TextFields, source: Evidence) -> None:
        """A certificate: read from the DER of a JSON export, refused from the others."""
        if isinstance(fields, JsonFields):
            record, problem = json_certificate(self.raw, fields.values, source)
            if record is not None:
                self.found[CERTIFICATE].append(record)
            if problem is not None:
                self.problems.append(problem)
            return
        self.problems.append(self._certificate_refused(source.line))

    def _certificate_refused(self, line: int | None) -> Problem:
        where = f"at line {line}" if line is not None else "in this file"
        return self.raw.problem(
            ProblemCode.INCOMPLETE_EVIDENCE,
            f"the certificate {where} was not read: a {self.input_format.value} export of "
            "Get-ExchangeCertificate carries no certificate (RawData) and culture-formatted "
            "dates; export it with `Get-ExchangeCertificate -Server <server> | Export-Clixml "
            "-Path ExchangeCertificate.xml` (`auditor collect` does)",
            line,
        )


class _Fields:
    """What every format's fields share: lookup by name ignoring case, `missing`,
    `unreadable`; values are looked up once each."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.original = values
        self.by_name: dict[str, Any] = {}
        for name, value in values.items():
            self.by_name.setdefault(name.casefold(), value)
        self.missing: list[str] = []
        self.unreadable: list[str] = []

    def value(self, name: str) -> tuple[bool, Any]:
        """(given, value) of a property; a property not given is noted in `missing`."""
        folded = name.casefold()
        if folded not in self.by_name:
            self.missing.append(name)
            return False, None
        return True, self.by_name[folded]

    def bad(self, name: str) -> None:
        self.unreadable.append(name)

    def exported(self) -> tuple[tuple[str, str], ...]:
        """Every property as (name as exported, canonical text), in export order."""
        return tuple(
            (name, canonical_text(self.shown(value))) for name, value in self.original.items()
        )

    def shown(self, value: Any) -> PropertyValue:
        """One value as `canonical_text` reads it (text formats: the text shown)."""
        return PropertyValue(_shown_text(value), None, "")


class _TextCells(_Fields):
    """Format-List values and CSV cells: every value is text, "" is None."""

    def text(self, name: str) -> str | None:
        _, value = self.value(name)
        return _shown_text(value)

    def flag(self, name: str) -> bool | None:
        text = self.text(name)
        if text is None:
            return None
        found = {"true": True, "false": False}.get(text.casefold())
        if found is None:
            self.bad(name)
        return found

    def integer(self, name: str) -> int | None:
        text = self.text(name)
        if text is None:
            return None
        if re.fullmatch(r"-?\d{1,18}", text) is None:
            self.bad(name)
            return None
        return int(text)

    def date(self, name: str) -> str | None:
        text = self.text(name)
        if text is None or _ISO_DATE.fullmatch(text) is None:
            if text is not None:
                self.missing.append(name)  # culture-formatted: not evidence
            return None
        return text


class FormatListFields(_TextCells):
    """One Format-List object: label -> its value re-joined from its lines."""

    def listed(self, name: str) -> ExportedList | None:
        text = self.text(name)
        if text is None:
            return None
        if not text.startswith("{"):
            self.bad(name)  # a list is always shown in braces
            return ExportedList((), False)
        if not text.endswith("}"):
            self.bad(name)  # cut short: the last name shown may itself be cut
            return ExportedList(_items(text[1:])[:-1], False)
        inner = text[1:-1].rstrip()
        for ellipsis in _ELLIPSES:
            if inner.endswith(ellipsis):
                self.bad(name)
                return ExportedList(_items(inner[: -len(ellipsis)]), False)
        names = _items(inner)
        return ExportedList(names[:MAX_NAMES], len(names) <= MAX_NAMES)

    def shown(self, value: Any) -> PropertyValue:
        """A braced value as its items (marked when Format-List cut it), else its text."""
        text = _shown_text(value)
        if text is None or not text.startswith("{"):
            return PropertyValue(text, None, "")
        listed = FormatListFields({"value": text}).listed("value")
        lost = None if listed is None or listed.complete else "Format-List cut the list"
        return PropertyValue(listed.values if listed else None, None, "", lost=lost)


class CsvFields(_TextCells):
    """One Export-Csv record: column -> cell."""

    def listed(self, name: str) -> ExportedList | None:
        text = self.text(name)
        if text is None:
            return None
        self.bad(name)  # a type name or items joined by spaces: no list
        return ExportedList((), False)


class JsonFields(_Fields):
    """One ConvertTo-Json object: key -> decoded value (`values`, as decoded)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__(values)
        self.values = values

    def shown(self, value: Any) -> PropertyValue:
        """A value as decoded: text, a flag, a number, an enum by its name, a list by its
        items; anything else (an object, a list of objects) marked as not text."""
        if value is None or isinstance(value, str | bool | int | float):
            return PropertyValue(value, None, "")
        if isinstance(value, list):
            names = tuple(name for name in map(_item_name, value) if name is not None)
            lost = None if len(names) == len(value) else "an item is not text"
            return PropertyValue(names, None, "", lost=lost)
        enum = _enum_name(value)
        if enum is not None:
            return PropertyValue(enum, None, "")
        return PropertyValue(None, None, "", lost="an object, not text")

    def text(self, name: str) -> str | None:
        _, value = self.value(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return str(value)
        enum = _enum_name(value)
        if enum is None:
            self.bad(name)  # a number may be an enum's integer; an object has no text
        return enum

    def flag(self, name: str) -> bool | None:
        _, value = self.value(name)
        if value is None or isinstance(value, bool):
            return value
        self.bad(name)
        return None

    def integer(self, name: str) -> int | None:
        _, value = self.value(name)
        if isinstance(value, dict):
            value = value.get("value")
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return value
        self.bad(name)
        return None

    def date(self, name: str) -> str | None:
        given, value = self.value(name)
        if isinstance(value, dict):  # 5.1: {"value": "\/Date(ms)\/", "DateTime": "..."}
            value = value.get("value")
        if value is None:
            return None
        found = _json_date(value) if isinstance(value, str) else None
        if found is None and given:
            self.missing.append(name)
        return found

    def listed(self, name: str) -> ExportedList | None:
        _, value = self.value(name)
        if isinstance(value, dict) and set(value) == {"value", "Count"}:
            value = value["value"]  # 5.1's wrapper around an array
        if value is None:
            return None
        if not isinstance(value, list):
            self.bad(name)
            return ExportedList((), False)
        names = [_item_name(item) for item in value[:MAX_NAMES]]
        shown = tuple(item for item in names if item is not None)
        complete = len(shown) == len(value)
        if not complete:
            self.bad(name)
        return ExportedList(shown, complete)


def _shown_text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text or None


def _items(inner: str) -> tuple[str, ...]:
    """The names inside a Format-List collection's braces: split on ",", trimmed."""
    names: list[str] = []
    for piece in inner.split(","):
        name = piece.strip()
        if name:
            names.append(name)
            if len(names) > MAX_NAMES:
                break
    return tuple(names)


def _enum_name(value: Any) -> str | None:
    """The name of an enum as PowerShell 7 writes a deserialised one, else None."""
    if isinstance(value, dict):
        name = value.get("Value")
        if isinstance(name, str) and isinstance(value.get("value"), int):
            return name
    return None


def _item_name(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    return _enum_name(item)


def _json_date(text: str) -> str | None:
    if _ISO_DATE.fullmatch(text) is not None:
        return text
    match = _MS_DATE.fullmatch(text)
    if match is None:
        return None
    try:
        moment = datetime.datetime.fromtimestamp(int(match.group(1)) / 1000, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return moment.isoformat()


TextFields = FormatListFields | CsvFields | JsonFields
