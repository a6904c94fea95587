"""What was read: input files, their problems, and the records parsers build from them.

Owns the formats auditor reads (`InputFormat`), a problem with an input (`ProblemCode`,
`Problem`), where a value came from (`SourceFile`, `Evidence`, `Location`, `format_place`), and
the records themselves: `PartnerApplication` (with its `PermissionList`s), `WebConfig` (its
`AppSetting`s, `OAuthProfiles` and `EditRefusal`), `ExchangeServer`. Each record names the
subject its findings carry (`fleet_subject` for a vdir across servers). Imports only
`auditor.model.severity`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from auditor.model.severity import Severity


class InputFormat(StrEnum):
    """Every input format auditor reads."""

    FORMAT_LIST = "format-list"
    CLIXML = "clixml"
    JSON = "json"
    CSV = "csv"
    WEB_CONFIG = "web.config"


class ProblemCode(StrEnum):
    """Why an input (or part of it) could not be used as evidence.

    `INCOMPLETE_EVIDENCE` maps to rule EV001; every other code to EV002.
    """

    UNREADABLE = "unreadable"
    UNKNOWN_FORMAT = "unknown-format"
    BAD_ENCODING = "bad-encoding"
    MALFORMED = "malformed"
    HOSTILE = "hostile"
    TOO_LARGE = "too-large"
    INCOMPLETE_EVIDENCE = "incomplete-evidence"
    UNKNOWN_LAYOUT = "unknown-layout"


def format_place(path: str, line: int | None) -> str:
    """How every output names a place: `path:line`, or `path` alone when there is no line."""
    return path if line is None else f"{path}:{line}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing that went wrong with one input, located as precisely as the input allows."""

    code: ProblemCode
    message: str
    path: str
    line: int | None = None
    severity: Severity = Severity.HIGH
    subject: str | None = None

    @property
    def place(self) -> str:
        return format_place(self.path, self.line)

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "severity": self.severity.value,
            "message": self.message,
            "path": self.path,
            "line": self.line,
        }


@dataclass(frozen=True, slots=True)
class SourceFile:
    """An input file as read: its path as given, its SHA-256 and the format it was read as."""

    path: str
    sha256: str
    format: InputFormat | None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "format": self.format.value if self.format else None,
        }


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a value came from: file, 1-based line (when the format has lines), the raw text."""

    path: str
    line: int | None
    raw: str
    sha256: str
    format: InputFormat
    # The server the file belongs to, where a record read from it was folded into another
    # (`PartnerApplication.also_in`): the report names copies by server. Not in the JSON.
    server: str | None = None

    @property
    def place(self) -> str:
        return format_place(self.path, self.line)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "line": self.line,
            "raw": self.raw,
            "sha256": self.sha256,
            "format": self.format.value,
        }


@dataclass(frozen=True, slots=True)
class PermissionList:
    """A permission property as exported: names in stored order, and whether the list is whole.

    `complete` is False when the export lost data (Format-List truncation with `...`/`…`,
    ConvertTo-Json depth truncation, a CSV type name). `values` then holds only what was shown
    and must not be compared. `evidence` points at the property in the export.
    """

    values: tuple[str, ...]
    complete: bool
    evidence: Evidence


@dataclass(frozen=True, slots=True)
class PartnerApplication:
    """One `Get-PartnerApplication` object."""

    name: str
    application_identifier: str
    enabled: bool | None
    act_as_permissions: PermissionList
    app_only_permissions: PermissionList
    linked_account: str | None
    server: str | None
    source: Evidence
    # The same object read from further exports (one Get-PartnerApplication export per server
    # is common): identical records fold into one, each extra source listed here.
    also_in: tuple[Evidence, ...] = ()
    # Every property of the exported object, in export order: (name as exported, canonical
    # text; see `auditor.parsers.properties.canonical_text`). What `attest` compares; not part
    # of `to_json` (the `parse --json` contract).
    properties: tuple[tuple[str, str], ...] = ()
    # Where the copies folded into this record (`also_in`) differ from it in a property the
    # fold does not compare (e.g. Realm), one sentence each naming both files; `attest`
    # refuses such copies, the audit judges what `exported_properties` holds.
    copy_differences: tuple[str, ...] = ()

    def exported_properties(self) -> dict[str, object]:
        """What the export says of the application, by the property name an admin knows.

        Two records of one application are copies of the same object when these are equal
        (where each was read from does not count).
        """
        return {
            "Name": self.name,
            "Enabled": self.enabled,
            "ActAsPermissions": (self.act_as_permissions.values, self.act_as_permissions.complete),
            "AppOnlyPermissions": (
                self.app_only_permissions.values,
                self.app_only_permissions.complete,
            ),
            "LinkedAccount": self.linked_account,
        }

    @property
    def subject(self) -> str:
        """The stable subject used in findings and waivers: `partner-application:<app id>`."""
        return f"partner-application:{self.application_identifier.lower()}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "application_identifier": self.application_identifier,
            "enabled": self.enabled,
            "act_as_permissions": list(self.act_as_permissions.values),
            "act_as_complete": self.act_as_permissions.complete,
            "app_only_permissions": list(self.app_only_permissions.values),
            "app_only_complete": self.app_only_permissions.complete,
            "linked_account": self.linked_account,
            "server": self.server,
            "source": {
                "path": self.source.path,
                "line": self.source.line,
                "sha256": self.source.sha256,
                "format": self.source.format.value,
            },
        }


@dataclass(frozen=True, slots=True)
class AppSetting:
    """One `<add key=... value=...>` of `configuration/appSettings` (or of a `<location>`)."""

    key: str
    value: str
    line: int
    raw: str
    location: str | None = None
    # The file the setting was read from when it is not the web.config itself: the file an
    # `<appSettings file=...>` or `configSource=...` names (`line` and `raw` are in that file),
    # and that file's SHA-256.
    path: str | None = None
    sha256: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "value": self.value, "line": self.line}
        if self.location is not None:
            data["location"] = self.location
        if self.path is not None:
            data["path"] = self.path
        return data


@dataclass(frozen=True, slots=True)
class OAuthProfiles:
    """The effective `OAuthHttpModule.Profiles` value, split on `|` exactly as Exchange does.

    No trimming, no case folding: `tokens` keeps empty segments and padded or mis-cased tokens
    so that rules can flag what Exchange would silently drop.
    """

    raw: str
    tokens: tuple[str, ...]
    line: int
    evidence: Evidence

    def to_json(self) -> dict[str, Any]:
        return {"tokens": list(self.tokens), "raw": self.raw, "line": self.line}


OAUTH_PROFILES_KEY = "OAuthHttpModule.Profiles"


def fleet_subject(vdir: str) -> str:
    """The subject of a finding about every server's copy of one vdir: `fleet:<vdir>`."""
    return f"fleet:{vdir}"


@dataclass(frozen=True, slots=True)
class EditRefusal:
    """Why the script will not edit the effective value in place, and what to do by hand.

    Decided by `auditor.appsettings.edit_refusal`; the planner shows it as a `Skipped`.

    `why` and `step` are sentences without a final period; `step` is done in the file `path` and
    ends where the target value is to be named ("... and set its value to").
    """

    why: str
    step: str
    path: str
    line: int | None


@dataclass(frozen=True, slots=True)
class WebConfig:
    """What auditor keeps of one web.config: its appSettings, nothing else of the DOM.

    `app_settings` holds every `add` that survives `<remove>`/`<clear>`, in document order,
    duplicates included (the last one wins in IIS); `oauth_profiles` is the effective
    `OAuthHttpModule.Profiles` of the vdir's root `appSettings`. `profiles_edit` says why the
    script cannot edit that value in place (`auditor.appsettings.edit_refusal`), None when it can
    (or when there is none). Keys compare as `auditor.appsettings.same_key` says.
    """

    server: str
    vdir: str
    path: str
    sha256: str
    app_settings: tuple[AppSetting, ...]
    oauth_profiles: OAuthProfiles | None
    has_bom: bool = True
    # False when the file's own root appSettings cut off what a parent configuration sets for
    # `OAuthHttpModule.Profiles` (a `<clear/>`, or a `<remove>` of the key): with no add of its
    # own the key then has no value at all. True when an absent key is inherited.
    inherits_profiles: bool = True
    # The parent configuration the effective `oauth_profiles` was read from, when the file sets
    # no value of its own and the parent was given (`auditor.scope` resolves it); None otherwise.
    inherited_from: str | None = None
    profiles_edit: EditRefusal | None = None

    @property
    def subject(self) -> str:
        return f"web-config:{self.server}:{self.vdir}"

    def setting_evidence(self, setting: AppSetting) -> Evidence:
        """Where `setting` was read: this file, or the file its `path` names (with that hash)."""
        return Evidence(
            path=setting.path or self.path,
            line=setting.line,
            raw=setting.raw,
            sha256=self.sha256 if setting.path is None else setting.sha256 or "",
            format=InputFormat.WEB_CONFIG,
        )

    def to_json(self, *, app_settings: bool = True) -> dict[str, Any]:
        """The JSON of `auditor parse --json`; without `app_settings` when asked (the renderer
        writes those itself, they are most of the text of a fleet)."""
        document: dict[str, Any] = {
            "server": self.server,
            "vdir": self.vdir,
            "path": self.path,
            "sha256": self.sha256,
            "oauth_profiles": self.oauth_profiles.to_json() if self.oauth_profiles else None,
        }
        if app_settings:
            document["app_settings"] = [setting.to_json() for setting in self.app_settings]
        return document


@dataclass(frozen=True, slots=True)
class ExchangeServer:
    """One `Get-ExchangeServer` object: which server exists and whether it serves clients.

    `client_access` is None when the export does not say (the evidence model then expects the
    server's client-access evidence: fail closed); `edge` likewise. `name` is the server's
    short name as Exchange shows it.
    """

    name: str
    fqdn: str | None
    client_access: bool | None
    edge: bool | None
    version: str | None
    path: str
    line: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "fqdn": self.fqdn,
            "client_access": self.client_access,
            "edge": self.edge,
            "version": self.version,
            "path": self.path,
            "line": self.line,
        }


@dataclass(frozen=True, slots=True)
class Location:
    """A place in an input: file and 1-based line (None when the format has no lines)."""

    path: str
    line: int | None

    @property
    def place(self) -> str:
        return format_place(self.path, self.line)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line}
