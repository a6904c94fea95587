"""The domain values every stage shares: what was read, what was found, what is reported.

Everything here is a frozen, slotted dataclass or a closed enum. Parsers build
`PartnerApplication` and `WebConfig` records (each carrying its `Evidence`), `normalise` folds
them into one `Inventory`, rules judge every permission and profile token once (`Judgements`)
and raise `Finding`s from those judgements, the planner turns them into plan items
(`ChangeSet`, `PlanItem`, `Skipped`), and renderers read a `Report`: they display judgements,
plan items, `Report.verdict` and `Location.place`, and never re-derive them.
"Changing" a value means `dataclasses.replace`.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.decisions import Decisions


class Severity(StrEnum):
    """Finding and problem severities, ordered: `Severity.CRITICAL.rank` is the highest."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def at_least(self, other: Severity) -> bool:
        """True when this severity is `other` or more severe."""
        return self.rank >= other.rank


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


# A rule's id, e.g. "PA001": the rules are those registered (`auditor.rules.registry`), each
# declared once beside its check, so the ids are not a closed enum here.
RuleId = str


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
class ParseResult:
    """What one parser made of one file: records and problems (a bad file is a value)."""

    source: SourceFile
    partner_applications: tuple[PartnerApplication, ...] = ()
    web_configs: tuple[WebConfig, ...] = ()
    problems: tuple[Problem, ...] = ()
    exchange_servers: tuple[ExchangeServer, ...] = ()


@dataclass(frozen=True, slots=True)
class Organisation:
    """What identifies the organisation an inventory was read from (a baseline must match).

    `directories`: the Active Directory domains (`dc=...` parts, lower-cased) in the
    DistinguishedName of the partner applications; `servers`: every server named (lower-cased);
    `partner_applications`: every ApplicationIdentifier. Each sorted, each once.
    """

    directories: tuple[str, ...] = ()
    servers: tuple[str, ...] = ()
    partner_applications: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "directories": list(self.directories),
            "servers": list(self.servers),
            "partner_applications": list(self.partner_applications),
        }

    def differs_from(self, other: Organisation) -> str | None:
        """Why `other` is another organisation, or None when it may be this one.

        The strongest identity both sides carry decides: the directory domains, else the server
        names, else the application identifiers; the two are one organisation when they share
        at least one (servers and applications come and go). Two sides without any identity
        are not told apart.
        """
        for what, mine, theirs in (
            ("Active Directory domain", self.directories, other.directories),
            ("server", self.servers, other.servers),
            ("partner application", self.partner_applications, other.partner_applications),
        ):
            if mine and theirs:
                if set(mine) & set(theirs):
                    return None
                return (
                    f"no {what} in common (these exports: {', '.join(mine[:5])}; the "
                    f"baseline: {', '.join(theirs[:5])})"
                )
        return None


_DIRECTORY_PART = re.compile(r"(?i)(?:^|,)\s*dc=([^,]+)")


@dataclass(frozen=True, slots=True)
class Excluded:
    """A file or folder discovery did not read on purpose, and why (`--exclude`, ...).

    `own_output` marks what auditor itself wrote (an earlier package, the package folder being
    written, the file stdout goes to, a SARIF or findings.json found by its content): it is
    noted on the terminal but kept out of the package, which must not depend on what earlier
    runs left in the tree.
    """

    path: str  # display path; a folder ends with `/`
    reason: str
    own_output: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Inventory:
    """Everything read from every input, in a deterministic order."""

    inputs: tuple[SourceFile, ...] = ()
    partner_applications: tuple[PartnerApplication, ...] = ()
    web_configs: tuple[WebConfig, ...] = ()
    problems: tuple[Problem, ...] = ()
    # Files found while walking a folder and not read because they are never exports
    # (documentation by exact name, shell files, dot-files that are not exports), by path.
    skipped: tuple[str, ...] = ()
    # Every server of every `Get-ExchangeServer` export, by name (one record per name).
    exchange_servers: tuple[ExchangeServer, ...] = ()
    # What discovery left out on purpose (`--exclude`, `.auditorignore`, auditor's own
    # outputs, the policy in use), each with why; also listed in `skipped`.
    excluded: tuple[Excluded, ...] = ()

    @property
    def organisation(self) -> Organisation:
        """The organisation these exports come from (see `Organisation`)."""
        directories: set[str] = set()
        for app in self.partner_applications:
            for name, text in app.properties:
                if name.casefold() == "distinguishedname":
                    parts = _DIRECTORY_PART.findall(text)
                    if parts:
                        directories.add(".".join(part.strip().lower() for part in parts))
        servers = {app.server.lower() for app in self.partner_applications if app.server}
        servers |= {config.server.lower() for config in self.web_configs if config.server}
        servers.discard("unknown")
        return Organisation(
            directories=tuple(sorted(directories)),
            servers=tuple(sorted(servers)),
            partner_applications=tuple(
                sorted({app.application_identifier.lower() for app in self.partner_applications})
            ),
        )

    def to_json(self, *, web_configs: bool = True) -> dict[str, Any]:
        """The `auditor parse --json` document; without `web_configs` when asked."""
        document: dict[str, Any] = {
            "schema_version": 1,
            "inputs": [source.to_json() for source in self.inputs],
            "partner_applications": [app.to_json() for app in self.partner_applications],
            "problems": [problem.to_json() for problem in self.problems],
            "skipped": list(self.skipped),
        }
        if web_configs:
            document["web_configs"] = [config.to_json() for config in self.web_configs]
        document["exchange_servers"] = [server.to_json() for server in self.exchange_servers]
        return document


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


@dataclass(frozen=True, slots=True)
class Waiver:
    """A policy waiver: accepted risk for one rule on one subject, until `expires`."""

    rule: str
    subject: str
    reason: str
    ticket: str
    owner: str
    approver: str
    expires: datetime.date  # the last day the waiver is in force
    line: int | None = None
    source: str | None = None  # the policy file that declares it (`PolicySource.name`), for WV001

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "subject": self.subject,
            "reason": self.reason,
            "ticket": self.ticket,
            "owner": self.owner,
            "approver": self.approver,
            "expires": self.expires.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule firing on one subject.

    `fingerprint` is stable across runs and independent of paths and line numbers (rule id,
    subject and a rule-defined discriminator), so SARIF consumers and waivers can track it.
    `details` holds the structured facts a renderer or remediation planner needs (e.g. the
    excess permissions); it is JSON-safe.
    """

    rule_id: RuleId
    severity: Severity
    title: str
    message: str
    subject: str
    location: Location
    evidence: tuple[Evidence, ...]
    fingerprint: str
    details: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    suppressed: bool = False
    waiver: Waiver | None = None
    remediation: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "severity": self.severity.value,
            "title": self.title,
            "message": self.message,
            "subject": self.subject,
            "location": self.location.to_json(),
            "evidence": [item.to_json() for item in self.evidence],
            "details": self.details,
            "suppressed": self.suppressed,
            "waiver": self.waiver.to_json() if self.waiver else None,
            "fingerprint": self.fingerprint,
            "remediation": self.remediation,
        }


# --- policy -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule's effective settings: its declaration (`auditor.rules.declaration`) plus overrides."""

    id: RuleId
    title: str
    severity: Severity
    rationale: str
    references: tuple[str, ...]
    remediation: str | None  # remediation template id, e.g. "partner-application-app-only"
    enabled: bool = True
    fires_when: str = ""  # what triggers the rule (the catalogue requires it)
    how_to_fix: str = ""  # what fixes a finding, for readers (`rules explain`, docs, SARIF)
    example: str = ""  # an example for the docs, when the rule declares one
    waivable: bool = True  # False: no waiver suppresses it (WV001 reports the waivers)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "fires_when": self.fires_when,
            "severity": self.severity.value,
            "rationale": self.rationale,
            "references": list(self.references),
            "remediation": self.remediation,
            "enabled": self.enabled,
        }


@dataclass(frozen=True, slots=True)
class ApplicationPolicy:
    """What the policy says about one partner application (matched by ApplicationIdentifier)."""

    application_identifier: str  # lower-case GUID
    name: str
    approved_app_only: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VdirPolicy:
    """OAuth profile expectations for one vdir (canonical id, e.g. `Default Web Site/API`)."""

    vdir: str
    default_profiles: tuple[str, ...] | None = None  # the shipped default, for display/FL001
    allowed_profiles: tuple[str, ...] = ()
    forbidden_profiles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicySource:
    """One policy file as every output names it: never a path of the analyst's machine.

    `name` is `default` for the shipped default and the file name for any other policy;
    `sha256` is the hash of its text (UTF-8 without BOM, LF line endings), which tells two files
    of one name apart.
    """

    name: str
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256}


class WeakeningKind(StrEnum):
    """Every way an organisation policy can weaken the shipped default (`PolicyWeakening`)."""

    FORBIDDEN_PERMISSION_REMOVED = "forbidden-permission-removed"
    FORBIDDEN_PERMISSION_APPROVED = "forbidden-permission-approved"
    FORBIDDEN_TOKEN_REMOVED = "forbidden-token-removed"
    FORBIDDEN_TOKEN_ALLOWED = "forbidden-token-allowed"
    APP_ONLY_TOKEN_REMOVED = "app-only-token-removed"
    RULE_DISABLED = "rule-disabled"
    RULE_SEVERITY_LOWERED = "rule-severity-lowered"
    CRITICAL_RULE_WAIVED = "critical-rule-waived"


@dataclass(frozen=True, slots=True)
class PolicyWeakening:
    """One way the loaded policy weakens the shipped default, and the file that does it.

    `source` is the policy file as every output names it (`PolicySource.name`); `text` is one
    sentence for a reader ("policy contoso.yaml approves Mail.Send for Microsoft Graph
    (forbidden by default: Mail.Send*)"); `subject` is what is weakened (the pattern, token,
    rule id or permission). Computed once, when the policy is loaded
    (`auditor.policy.weakening`); outputs only display it.
    """

    source: str
    kind: WeakeningKind
    subject: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind.value,
            "subject": self.subject,
            "text": self.text,
        }


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated, merged policy (an organisation policy on top of the shipped default)."""

    name: str
    sha256: str
    sources: tuple[str, ...]  # each file's `PolicySource.name`, in load order
    rules: tuple[RuleInfo, ...]
    applications: tuple[ApplicationPolicy, ...] = ()
    forbidden_app_only: tuple[str, ...] = ()  # fnmatch-style globs, case-sensitive
    known_profile_tokens: tuple[str, ...] = ()
    app_only_profile_tokens: tuple[str, ...] = ("V1S2SAppOnly",)
    vdirs: tuple[VdirPolicy, ...] = ()
    forbidden_profiles_everywhere: tuple[str, ...] = ()
    csv_list_separator: str | None = None
    docs_url: str | None = None  # where docs/rules/<ID>.md are published (SARIF `helpUri`)
    waivers: tuple[Waiver, ...] = ()
    malformed_waivers: tuple[tuple[int | None, str], ...] = ()  # (line, why) for WV001
    malformed_waiver_sources: tuple[str, ...] = ()  # policy file of each malformed waiver
    source_files: tuple[PolicySource, ...] = ()  # the files of `sources`, with their hashes
    # The evidence classes a complete audit assesses (`EvidenceClass` values), the policy file
    # that last set them (None: the shipped default), and the vdirs whose web.config every
    # Client Access server must supply.
    assess: tuple[str, ...] = ("partner-applications", "web-config")
    assess_source: str | None = None
    judged_vdirs: tuple[str, ...] = ("Default Web Site/API",)
    # Every way this policy weakens the shipped default, sorted by (source, text); () for the
    # shipped default itself. Decided at load time; outputs display it beside the verdict.
    weakenings: tuple[PolicyWeakening, ...] = ()

    def rule(self, rule_id: RuleId | str) -> RuleInfo:
        """The metadata of `rule_id`; an unknown id is a programming error and raises."""
        for info in self.rules:
            if info.id == rule_id:
                return info
        raise KeyError(f"unknown rule id {rule_id!r}")

    def application(self, application_identifier: str) -> ApplicationPolicy | None:
        wanted = application_identifier.lower()
        for app in self.applications:
            if app.application_identifier == wanted:
                return app
        return None

    def vdir(self, vdir: str) -> VdirPolicy | None:
        for entry in self.vdirs:
            if entry.vdir.lower() == vdir.lower():
                return entry
        return None


# --- judgements: what the rules decided, per permission and per token ---------------------------


class Presence(StrEnum):
    """Whether a name is in an exported list; UNKNOWN when the list is incomplete."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class PermissionMark(StrEnum):
    """What the rules decided about one permission name of one application.

    Renderers print these words (and colour them); they never decide a mark themselves.
    """

    FORBIDDEN = "FORBIDDEN"  # granted app-only and matching a forbidden pattern (PA003)
    EXCESS = "EXCESS"  # granted app-only and not approved (PA002)
    NOT_IN_ACT_AS = "NOT IN ACTAS"  # granted app-only and not among ActAsPermissions (PA004)
    APPROVED = "APPROVED"  # granted app-only and approved
    NOT_GRANTED = "APPROVED, NOT GRANTED"  # approved and not granted app-only


@dataclass(frozen=True, slots=True)
class PermissionJudgement:
    """One permission name of one application: where it is, and what the rules decided.

    `after` says whether the name is in AppOnlyPermissions once the planned change ran
    (`Presence.UNKNOWN` when the list cannot be judged; equal to `app_only` when no change is
    planned for the application).
    """

    name: str
    act_as: Presence
    app_only: Presence
    approved: bool
    forbidden_by: str | None  # the forbidden pattern this name matches, when granted app-only
    marks: tuple[PermissionMark, ...]
    after: Presence = Presence.UNKNOWN


@dataclass(frozen=True, slots=True)
class ApplicationJudgement:
    """The judgement of one partner application's permissions (one row per distinct name)."""

    subject: str
    application_identifier: str  # lower case
    name: str
    known: bool  # the policy knows this ApplicationIdentifier
    judged: bool  # False when AppOnlyPermissions were incomplete: nothing below is a verdict
    approved: tuple[str, ...]
    permissions: tuple[PermissionJudgement, ...]
    target_app_only: tuple[str, ...] | None  # held and approved, not forbidden; None: not judged
    source: Location | None = None  # the export record judged (file and line)

    @property
    def excess(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.permissions if PermissionMark.EXCESS in p.marks)

    @property
    def forbidden(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.permissions if PermissionMark.FORBIDDEN in p.marks)


class TokenMark(StrEnum):
    """What the rules decided about one segment of an `OAuthHttpModule.Profiles` value."""

    HONOURED = "HONOURED"  # Exchange honours it as written (an exact known token)
    FORBIDDEN = "FORBIDDEN"  # equals a forbidden token (after folding case, spaces, format chars)
    DROPPED = "DROPPED"  # Exchange drops it (empty, padded, wrong case, unknown)
    ADDED = "ADDED"  # honoured, and not in the vdir's shipped default
    UNKNOWN_TOKEN = "UNKNOWN TOKEN"  # not a token the policy knows


class TokenAction(StrEnum):
    """What the planned change does with a segment."""

    KEEP = "keep"  # stays as it is
    REMOVE = "remove"  # removed from the value
    ENABLE = "enable"  # rewritten to its canonical spelling, so it takes effect where today
    # Exchange drops it: planned only when the policy approves the token on the vdir


@dataclass(frozen=True, slots=True)
class TokenJudgement:
    """One `|`-separated segment as written, and what the rules decided about it."""

    segment: str
    canonical: str | None  # the known token it folds to, if any
    marks: tuple[TokenMark, ...]
    drop_kind: str | None  # "empty", "whitespace", "case", "unknown" when DROPPED
    action: TokenAction = TokenAction.KEEP
    forbidden_reason: str | None = None  # "forbidden" or "no-approved-app-only" when FORBIDDEN


@dataclass(frozen=True, slots=True)
class ProfilesJudgement:
    """The judgement of one web.config's effective OAuthHttpModule.Profiles value."""

    subject: str
    server: str
    vdir: str
    path: str
    line: int | None
    raw: str | None  # None when the file has no effective Profiles key
    tokens: tuple[TokenJudgement, ...]
    default: tuple[str, ...] | None  # the vdir's shipped default, when the policy has one
    missing_default: tuple[str, ...]  # default tokens Exchange does not honour here
    target: str | None  # the value after the planned change; None when no change is judged

    @property
    def place(self) -> str:
        return format_place(self.path, self.line)

    @property
    def matches_default(self) -> bool:
        if self.default is None or self.raw is None:
            return False
        honoured = {t.segment for t in self.tokens if TokenMark.HONOURED in t.marks}
        clean = all(TokenMark.HONOURED in t.marks for t in self.tokens)
        return clean and honoured == set(self.default)


@dataclass(frozen=True, slots=True)
class Judgements:
    """Every per-permission and per-token decision of one audit, made once by the rules."""

    applications: tuple[ApplicationJudgement, ...] = ()
    profiles: tuple[ProfilesJudgement, ...] = ()

    def application(self, subject: str) -> ApplicationJudgement | None:
        for judgement in self.applications:
            if judgement.subject == subject:
                return judgement
        return None


# --- remediation plan and report ----------------------------------------------------------------


class ChangeKind(StrEnum):
    """Every kind of change a remediation script can make; each has a template pair."""

    PARTNER_APPLICATIONS = "partner-applications"
    WEB_CONFIG_PROFILES = "web-config-profiles"


@dataclass(frozen=True, slots=True)
class PartnerApplicationChange:
    """Set one application's AppOnlyPermissions from the audited list to the target list."""

    application_identifier: str
    name: str
    audited_app_only: tuple[str, ...]
    target_app_only: tuple[str, ...]
    fixes: tuple[str, ...]  # finding fingerprints

    @property
    def subject(self) -> str:
        """The subject of the application's findings: `partner-application:<app id>`."""
        return f"partner-application:{self.application_identifier.lower()}"

    @property
    def removes(self) -> tuple[str, ...]:
        """Names the change takes away, in audited order."""
        kept = set(self.target_app_only)
        return tuple(dict.fromkeys(p for p in self.audited_app_only if p not in kept))

    @property
    def adds(self) -> tuple[str, ...]:
        """Names the change grants that were not granted (only ever approved ones)."""
        had = set(self.audited_app_only)
        return tuple(p for p in self.target_app_only if p not in had)


@dataclass(frozen=True, slots=True)
class WebConfigChange:
    """Rewrite the OAuthHttpModule.Profiles value of one web.config on one server."""

    vdir: str
    # The path below $env:ExchangeInstallPath, e.g. FrontEnd\\HttpProxy\\Rest\\web.config.
    relative_path: str
    app_pool: str | None
    audited_sha256: str
    audited_value: str
    target_value: str
    fixes: tuple[str, ...]
    removes: tuple[str, ...] = ()  # segments taken out, as written (a padded one as padded)
    enables: tuple[str, ...] = ()  # tokens that take effect only after the change (ENABLES)
    subject: str = ""  # the subject of the file's findings, `web-config:<server>:<vdir>`
    path: str = ""  # the audited copy of the file (display path)


@dataclass(frozen=True, slots=True)
class AppOnlyLimit:
    """The app-only permissions one partner application may hold once the package ran.

    An ENABLES change takes effect only while every live partner application holds app-only
    permissions within its limit (an application without a limit: none at all); the planner
    gives each judged application the list the policy approves of what it holds.
    """

    application_identifier: str  # lower case
    name: str
    app_only: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """One remediation script's worth of change: org-wide partner apps, or one server's files.

    `app_only_limits` is set only on a web.config set with an ENABLES change: its script checks
    the live partner applications against them before anything else (the enablement waits for
    the partner change). A removal-only set has none and no such dependency.
    """

    kind: ChangeKind
    slug: str  # file-name stem, allow-listed [a-z0-9-]
    server: str | None
    partner_applications: tuple[PartnerApplicationChange, ...] = ()
    web_configs: tuple[WebConfigChange, ...] = ()
    app_only_limits: tuple[AppOnlyLimit, ...] = ()

    @property
    def enables(self) -> tuple[str, ...]:
        """Every token an ENABLES change of the set makes take effect, in plan order."""
        return tuple(dict.fromkeys(t for change in self.web_configs for t in change.enables))

    @property
    def script_names(self) -> tuple[str, str]:
        """Package-relative names of the set's remediation and rollback scripts."""
        return f"remediation/{self.slug}.ps1", f"rollback/{self.slug}.ps1"

    @property
    def changes(self) -> tuple[PartnerApplicationChange | WebConfigChange, ...]:
        """Every plan item of the set, applications first, in plan order."""
        return (*self.partner_applications, *self.web_configs)

    @property
    def fixes(self) -> tuple[str, ...]:
        found: list[str] = []
        for app_change in self.partner_applications:
            found.extend(app_change.fixes)
        for config_change in self.web_configs:
            found.extend(config_change.fixes)
        return tuple(found)


class ScriptKind(StrEnum):
    """A generated script either makes the change or takes it back."""

    REMEDIATION = "remediation"
    ROLLBACK = "rollback"


@dataclass(frozen=True, slots=True)
class Script:
    """A generated PowerShell script: package-relative name, text, and what it fixes."""

    name: str  # e.g. "remediation/partner-applications.ps1"
    kind: ScriptKind
    content: str
    sha256: str
    fixes: tuple[str, ...]
    pair: str | None  # the rollback of a remediation script, and vice versa


@dataclass(frozen=True, slots=True)
class NotApplied:
    """A rule that could not be evaluated, and why (no input of the kind it reads, incomplete)."""

    rule_id: RuleId
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Skipped:
    """A subject with active findings for which no change was planned, and why."""

    subject: str
    reason: str
    fixes: tuple[str, ...]  # fingerprints of the findings left without a script

    def to_json(self) -> dict[str, Any]:
        return {"subject": self.subject, "reason": self.reason, "fixes": list(self.fixes)}


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One planned change (one application, or one web.config) and the change set holding it."""

    change_set: ChangeSet
    change: PartnerApplicationChange | WebConfigChange

    @property
    def subject(self) -> str:
        return self.change.subject

    @property
    def script_names(self) -> tuple[str, str]:
        """Package-relative names of the remediation and rollback scripts that make it."""
        return self.change_set.script_names


# --- scope: what a complete audit needs, and what this one assessed ----------------------------


class EvidenceClass(StrEnum):
    """A kind of evidence a complete audit assesses; each feeds a family of rules."""

    PARTNER_APPLICATIONS = "partner-applications"  # the Get-PartnerApplication export (PA rules)
    WEB_CONFIG = "web-config"  # every Client Access server's judged web.configs (WC, FL rules)

    @property
    def label(self) -> str:
        if self is EvidenceClass.PARTNER_APPLICATIONS:
            return "partner applications"
        return "web.config"


class EvidenceState(StrEnum):
    """What became of one piece of expected evidence."""

    READ = "read"  # read and assessed
    MISSING = "missing"  # expected and not given
    NOT_READ = "not read"  # given, but it could not be read or was refused (EV002)
    INHERITED = "inherited"  # the judged setting comes from a parent configuration not given
    NOT_IN_SCOPE = "not in scope"  # left out of the audit on purpose (--scope, policy scope)


@dataclass(frozen=True, slots=True)
class ExpectedEvidence:
    """One piece of evidence a complete audit needs: the export, or one server's web.config.

    `path` is the file that was read, or where the collection layout puts the missing one;
    `server` and `vdir` are None for organisation-wide evidence.
    """

    evidence_class: EvidenceClass
    server: str | None
    vdir: str | None
    state: EvidenceState
    path: str
    note: str = ""

    @property
    def assessed(self) -> bool:
        return self.state is EvidenceState.READ

    @property
    def what(self) -> str:
        """How a reader names it: `the partner-application export`, `EX02 Default Web Site/API`."""
        if self.server is None:
            if self.evidence_class is EvidenceClass.PARTNER_APPLICATIONS:
                return "the partner-application export"
            return "the web.config files (no server known)"
        return f"{self.server} {self.vdir} web.config"

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.evidence_class.value,
            "server": self.server,
            "vdir": self.vdir,
            "state": self.state.value,
            "path": self.path,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Scope:
    """What a complete audit of the organisation needs, and what this audit assessed.

    Decided once by `auditor.scope.assess_scope`; every output shows `describe()` beside its
    verdict and renderers never recount. `servers` are the Client Access servers the evidence
    names (`servers_from` says which evidence named them); `excluded` the servers not expected
    to hold the judged web.configs, with why (an Edge Transport server).
    """

    classes: tuple[EvidenceClass, ...]  # in scope
    narrowed: tuple[EvidenceClass, ...] = ()  # left out on purpose
    narrowed_by: str | None = None  # `--scope web-config`, or `policy contoso.yaml`
    servers: tuple[str, ...] = ()
    servers_from: tuple[str, ...] = ()
    excluded: tuple[tuple[str, str], ...] = ()
    vdirs: tuple[str, ...] = ()
    expected: tuple[ExpectedEvidence, ...] = ()

    def items(self, evidence_class: EvidenceClass) -> tuple[ExpectedEvidence, ...]:
        return tuple(item for item in self.expected if item.evidence_class is evidence_class)

    @property
    def servers_assessed(self) -> tuple[str, ...]:
        """Servers whose every judged web.config was read and assessed."""
        unassessed = {
            item.server for item in self.items(EvidenceClass.WEB_CONFIG) if not item.assessed
        }
        return tuple(server for server in self.servers if server not in unassessed)

    @property
    def classes_read(self) -> tuple[EvidenceClass, ...]:
        """Classes in scope whose expected evidence was all read."""
        return tuple(
            evidence_class
            for evidence_class in self.classes
            if self.items(evidence_class)
            and all(item.assessed for item in self.items(evidence_class))
        )

    @property
    def classes_missing(self) -> tuple[EvidenceClass, ...]:
        """Classes in scope with expected evidence that was not read."""
        return tuple(c for c in self.classes if c not in self.classes_read)

    @property
    def not_assessed(self) -> tuple[ExpectedEvidence, ...]:
        """Expected evidence in scope that was not assessed, in scope order."""
        return tuple(
            item
            for item in self.expected
            if not item.assessed and item.state is not EvidenceState.NOT_IN_SCOPE
        )

    def assessed_text(self) -> str:
        """`partner applications and web.config of 2 of 2 servers` (what was assessed)."""
        parts: list[str] = []
        for evidence_class in self.classes:
            if evidence_class is EvidenceClass.WEB_CONFIG:
                parts.append(
                    f"web.config of {len(self.servers_assessed)} of {len(self.servers)} "
                    f"server{'' if len(self.servers) == 1 else 's'}"
                )
            elif evidence_class in self.classes_read:
                parts.append(evidence_class.label)
        return " and ".join(parts) if parts else "nothing"

    def gaps_text(self) -> str:
        """What was not assessed: left out on purpose, then missing (at most three named)."""
        parts: list[str] = []
        if self.narrowed:
            labels = " and ".join(c.label for c in self.narrowed)
            by = f" ({self.narrowed_by})" if self.narrowed_by else ""
            parts.append(f"{labels} not assessed{by}")
        missing = self.not_assessed
        if missing:
            named = ", ".join(f"{item.what} ({item.state.value})" for item in missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            parts.append(f"not assessed: {named}{more}")
        return "; ".join(parts)

    def describe(self) -> str:
        """The scope as one clause for a verdict line: assessed, then the gaps."""
        text = self.assessed_text()
        gaps = self.gaps_text()
        return f"{text}; {gaps}" if gaps else text

    def servers_text(self) -> str:
        """Where the server list came from, for the scope box."""
        if not self.servers_from:
            return "no server is known (no Get-ExchangeServer export, no server folder)"
        return "servers known from " + " and ".join(self.servers_from)

    def to_json(self) -> dict[str, Any]:
        return {
            "assessed": self.assessed_text(),
            "not_assessed": self.gaps_text(),
            "classes": [c.value for c in self.classes],
            "classes_read": [c.value for c in self.classes_read],
            "classes_missing": [c.value for c in self.classes_missing],
            "narrowed": [c.value for c in self.narrowed],
            "narrowed_by": self.narrowed_by,
            "servers_known": list(self.servers),
            "servers_assessed": list(self.servers_assessed),
            "servers_from": list(self.servers_from),
            "servers_excluded": [{"server": s, "why": why} for s, why in self.excluded],
            "vdirs": list(self.vdirs),
            "evidence": [item.to_json() for item in self.expected],
        }


class BaselineState(StrEnum):
    """A finding against an earlier audit (`--baseline`), in SARIF's words (`baselineState`)."""

    NEW = "new"  # the baseline lacks its fingerprint
    UNCHANGED = "unchanged"  # the baseline has it
    ABSENT = "absent"  # a baseline finding no longer found (fixed)


@dataclass(frozen=True, slots=True)
class FixedFinding:
    """A finding of the baseline that the audit no longer finds."""

    fingerprint: str
    rule_id: str
    severity: str
    subject: str

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "rule_id": self.rule_id,
            "severity": self.severity,
            "subject": self.subject,
            "baseline": BaselineState.ABSENT.value,
        }


@dataclass(frozen=True, slots=True)
class BaselineComparison:
    """The audit against an earlier `findings.json`, decided once by fingerprint
    (`auditor.package.compare`): which findings are new, which unchanged, which fixed."""

    file: str  # the baseline's file name (never a path: the package stays machine-free)
    new: frozenset[str]  # fingerprints of findings the baseline lacks
    fixed: tuple[FixedFinding, ...] = ()

    def state(self, finding: Finding) -> BaselineState:
        return BaselineState.NEW if finding.fingerprint in self.new else BaselineState.UNCHANGED


class Verdict(StrEnum):
    """The one word every output leads with."""

    PASS = "pass"
    FAIL = "fail"
    INCOMPLETE = "incomplete"

    @property
    def configuration(self) -> str:
        """The word the change-board report uses: "Current configuration: NON-COMPLIANT"."""
        return "NON-COMPLIANT" if self is Verdict.FAIL else self.value.upper()


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a renderer may show. Built once by the audit; renderers never add facts."""

    tool_version: str
    as_of: datetime.date  # the date the audit was judged against
    change_id: str
    fail_on: Severity
    policy: Policy
    inventory: Inventory
    findings: tuple[Finding, ...]
    not_applied: tuple[NotApplied, ...] = ()
    change_sets: tuple[ChangeSet, ...] = ()
    scripts: tuple[Script, ...] = ()
    complete: bool = True  # False when evidence a rule needed was missing (exit 2)
    requester: str = ""  # printed in the approval block; blank lines when empty
    reviewers: tuple[str, ...] = ()
    judgements: Judgements = field(default_factory=Judgements)
    skipped: tuple[Skipped, ...] = ()  # remediable findings no script fixes, with the reason
    scope: Scope = field(default_factory=lambda: Scope(classes=tuple(EvidenceClass)))
    # SHA-256 of the package's plan.json: every state record the scripts write carries it
    package_id: str = ""
    baseline: BaselineComparison | None = None  # set by `audit --baseline`
    # The folder SARIF locations are relative to (`--sarif-root`, `%SRCROOT%`) lies on the path
    # of the inputs' common root: below it (`repo/` when `.` is audited: `sarif_strip`, taken
    # off every display path) or at or above it (`sec/exchange/`: `sarif_prefix`, put before).
    sarif_strip: str = ""
    sarif_prefix: str = ""
    decisions: Decisions | None = None  # every fact the outputs state, decided once (audit.py)

    def artifact_path(self, path: str) -> str:
        """A display path (relative to the inputs' common root) relative to the SARIF root."""
        return self.sarif_prefix + path.removeprefix(self.sarif_strip)

    def baseline_state(self, finding: Finding) -> BaselineState | None:
        """NEW or UNCHANGED against the baseline; None when the audit has no baseline."""
        return None if self.baseline is None else self.baseline.state(finding)

    @property
    def new_findings(self) -> tuple[Finding, ...]:
        """Findings the baseline lacks (waived ones included); none without a baseline."""
        if self.baseline is None:
            return ()
        return tuple(f for f in self.findings if f.fingerprint in self.baseline.new)

    def new_failing(self) -> tuple[Finding, ...]:
        """New unwaived findings at or above `fail_on`: what `--fail-on-new` fails on."""
        return tuple(
            finding
            for finding in self.new_findings
            if not finding.suppressed and finding.severity.at_least(self.fail_on)
        )

    def plan_items(self) -> tuple[PlanItem, ...]:
        """Every planned change beside its change set, in plan order."""
        return tuple(
            PlanItem(change_set, change)
            for change_set in self.change_sets
            for change in change_set.changes
        )

    def plan_items_by_fix(self) -> dict[str, tuple[PlanItem, ...]]:
        """The planned changes that fix each finding, by the finding's fingerprint.

        Usually one; a fleet finding (FL001) that the changes on several servers resolve
        together lists each of them.
        """
        found: dict[str, list[PlanItem]] = {}
        for item in self.plan_items():
            for fingerprint in dict.fromkeys(item.change.fixes):
                found.setdefault(fingerprint, []).append(item)
        return {fingerprint: tuple(items) for fingerprint, items in found.items()}

    @property
    def active_findings(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if not finding.suppressed)

    def counts(self) -> dict[Severity, int]:
        """Unsuppressed findings per severity, every severity present."""
        counts = dict.fromkeys(Severity, 0)
        for finding in self.active_findings:
            counts[finding.severity] += 1
        return counts

    def failing(self) -> bool:
        return any(f.severity.at_least(self.fail_on) for f in self.active_findings)

    @property
    def verdict(self) -> Verdict:
        """INCOMPLETE when evidence was missing, else FAIL at or above `fail_on`, else PASS."""
        if not self.complete:
            return Verdict.INCOMPLETE
        return Verdict.FAIL if self.failing() else Verdict.PASS

    @property
    def verdict_line(self) -> str:
        """The verdict with its scope, as every output leads with it:
        `PASS for web.config of 2 of 2 servers; partner applications not assessed (--scope ...)`.
        """
        return f"{self.verdict.value.upper()} for {self.scope.describe()}"
