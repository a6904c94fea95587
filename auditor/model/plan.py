"""The remediation plan: the changes the planner decided, the scripts that make them, the rest.

Owns `ChangeKind` and the changes (`PartnerApplicationChange`, `WebConfigChange`,
`SettingOverrideChange`, `AuthServerChange`, with the
`AppOnlyLimit`s an enabling change waits for), one script's worth of them (`ChangeSet`), one
planned change beside its set (`PlanItem`), the generated scripts (`ScriptKind`, `Script`) and
the subjects left without a script (`Skipped`), and the runbook-only steps (`ManualKind`,
`ManualStep`, `ServerBuild`): Microsoft's commands an operator runs by hand where no script is
generated (cloud changes, build upgrades, the auth certificate). Imports no other stage of the
model: a change names findings by fingerprint.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ChangeKind(StrEnum):
    """Every kind of change a remediation script can make; each has a template pair."""

    PARTNER_APPLICATIONS = "partner-applications"
    WEB_CONFIG_PROFILES = "web-config-profiles"
    DEDICATED_APP_OVERRIDE = "dedicated-app-override"
    EVOSTS_AUTH_SERVERS = "evosts-auth-servers"


# The dedicated hybrid app's setting override as Microsoft's ConfigureExchangeHybridApplication.ps1
# creates it (hybrid-oauth-trust notes, sections 3.2 and 4 rule A).
DEDICATED_APP_OVERRIDE_NAME = "EnableExchangeHybrid3PAppFeature"
DEDICATED_APP_COMPONENT = "Global"
DEDICATED_APP_SECTION = "ExchangeOnpremAsThirdPartyAppId"
DEDICATED_APP_PARAMETERS: tuple[str, ...] = ("Enabled=true",)


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
class SettingOverrideChange:
    """Create the dedicated-app override, or set the audited one to Enabled=true, unscoped.

    `audited_parameters` is None when the exports hold no dedicated-app override (the script
    creates `name`, and the rollback removes it); otherwise the script sets the override `name`
    from the audited Parameters to the target (and the rollback sets them back). The audited
    scope (`audited_servers`: the Server list, None when not scoped by server; the MinVersion
    and MaxVersion texts) is checked by the drift guard; `clears_scope` (HT004) clears every
    audited scope (`Set-SettingOverride -Server $null`, `-MinVersion $null`, `-MaxVersion $null`)
    in the same call, and the rollback writes the audited scope back.
    """

    name: str
    audited_parameters: tuple[str, ...] | None
    reason: str  # New-SettingOverride -Reason: names the change id
    fixes: tuple[str, ...]
    subject: str
    target_parameters: tuple[str, ...] = DEDICATED_APP_PARAMETERS
    component: str = DEDICATED_APP_COMPONENT
    section: str = DEDICATED_APP_SECTION
    audited_servers: tuple[str, ...] | None = None
    audited_min_version: str | None = None
    audited_max_version: str | None = None
    clears_scope: bool = False

    @property
    def creates(self) -> bool:
        return self.audited_parameters is None

    @property
    def sets_parameters(self) -> bool:
        """Whether the script writes Parameters (it creates the override, or they differ)."""
        return self.audited_parameters != self.target_parameters

    @property
    def target_servers(self) -> tuple[str, ...] | None:
        return None if self.clears_scope else self.audited_servers

    @property
    def target_min_version(self) -> str | None:
        return None if self.clears_scope else self.audited_min_version

    @property
    def target_max_version(self) -> str | None:
        return None if self.clears_scope else self.audited_max_version

    @property
    def scope_changes(self) -> tuple[tuple[str, str], ...]:
        """(property, audited value) for each scope the script clears: Server (its entries
        joined by ", "), MinVersion, MaxVersion."""
        if not self.clears_scope:
            return ()
        changes: list[tuple[str, str]] = []
        if self.audited_servers:
            changes.append(("Server", ", ".join(self.audited_servers)))
        for label, text in (
            ("MinVersion", self.audited_min_version),
            ("MaxVersion", self.audited_max_version),
        ):
            if text:
                changes.append((label, text))
        return tuple(changes)


class AuthServerProperty(StrEnum):
    """The AuthServer properties an `evosts-auth-servers` script sets (Set-AuthServer.md)."""

    APPLICATION_IDENTIFIER = "ApplicationIdentifier"
    ENABLED = "Enabled"


@dataclass(frozen=True, slots=True)
class AuthServerChange:
    """Set one property of one EvoSTS AuthServer from the audited value to the target.

    ApplicationIdentifier (HT007): the audited value is the exported one ("" when empty), the
    target the policy's expected_application_id; the rollback writes the audited value back,
    except an empty one, which Set-AuthServer documents no way to restore (`restorable`).
    Enabled (HT008): "True" to "False" for a duplicate EvoSTS; the rollback sets "True".
    `realm` is the audited Realm the drift guard also checks; `source` the export's place.
    An Enabled change names the EvoSTS it keeps (`kept_name`, with its dedicated
    `kept_application_identifier`): the script disables nothing unless that one is still
    enabled with that ApplicationIdentifier and Realm.
    """

    name: str
    subject: str
    setting: AuthServerProperty
    audited_value: str
    target_value: str
    realm: str
    source: str
    fixes: tuple[str, ...]
    kept_name: str = ""
    kept_application_identifier: str = ""

    @property
    def restorable(self) -> bool:
        """Whether the rollback can write the audited value back with a documented command."""
        return self.setting is AuthServerProperty.ENABLED or self.audited_value != ""


# One planned change: what a plan item holds.
PlanChange = PartnerApplicationChange | WebConfigChange | SettingOverrideChange | AuthServerChange


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
    setting_overrides: tuple[SettingOverrideChange, ...] = ()
    auth_servers: tuple[AuthServerChange, ...] = ()

    @property
    def enables(self) -> tuple[str, ...]:
        """Every token an ENABLES change of the set makes take effect, in plan order."""
        return tuple(dict.fromkeys(t for change in self.web_configs for t in change.enables))

    @property
    def script_names(self) -> tuple[str, str]:
        """Package-relative names of the set's remediation and rollback scripts."""
        return f"remediation/{self.slug}.ps1", f"rollback/{self.slug}.ps1"

    @property
    def changes(self) -> tuple[PlanChange, ...]:
        """Every plan item of the set, applications first, in plan order."""
        return (
            *self.partner_applications,
            *self.web_configs,
            *self.setting_overrides,
            *self.auth_servers,
        )

    @property
    def fixes(self) -> tuple[str, ...]:
        found: list[str] = []
        for app_change in self.partner_applications:
            found.extend(app_change.fixes)
        for config_change in self.web_configs:
            found.extend(config_change.fixes)
        for override_change in self.setting_overrides:
            found.extend(override_change.fixes)
        for server_change in self.auth_servers:
            found.extend(server_change.fixes)
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
class Skipped:
    """A subject with active findings for which no change was planned, and why."""

    subject: str
    reason: str
    fixes: tuple[str, ...]  # fingerprints of the findings left without a script

    def to_json(self) -> dict[str, Any]:
        return {"subject": self.subject, "reason": self.reason, "fixes": list(self.fixes)}


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One planned change (one application, one web.config, the dedicated-app setting override,
    one AuthServer property) and the change set holding it."""

    change_set: ChangeSet
    change: PlanChange

    @property
    def subject(self) -> str:
        return self.change.subject

    @property
    def script_names(self) -> tuple[str, str]:
        """Package-relative names of the remediation and rollback scripts that make it."""
        return self.change_set.script_names


class ManualKind(StrEnum):
    """Every kind of runbook-only step: a change auditor never scripts (hybrid trust)."""

    BUILD_UPGRADE = "build-upgrade"  # HT101: install the current CU and latest HU/SU
    AUTH_CERTIFICATE = "auth-certificate"  # HT111-HT114: renew or deploy the auth certificate
    DEDICATED_APP = "dedicated-app"  # HT001/HT007: create the app, consent, configure EvoSTS
    CERTIFICATE_UPLOAD = "certificate-upload"  # HT122: upload the auth certificate to the app
    CLOUD_EXPORT = "cloud-export"  # HT121/HT122 not assessed: take the cloud export
    KEY_RESET = "key-reset"  # HT121: reset the first-party service principal's keys


@dataclass(frozen=True, slots=True)
class ServerBuild:
    """A server a build-upgrade step names: the ExSetup build read (None: not read) and the
    floor it is judged by (None: not known, the build was not read)."""

    server: str
    build: str | None
    required: str | None
    build_line: str | None


@dataclass(frozen=True, slots=True)
class ManualStep:
    """One runbook-only step, decided by the planner (`auditor.remediation_manual`).

    `commands` are Microsoft's documented command lines, in run order, with only checked
    values filled in (a thumbprint of 40 hex digits, a GUID) and `<placeholders>` elsewhere;
    `alternatives` another documented form of the same step. `before_scripts`: the step runs
    before the generated scripts (else after the last one). `rollback`: the step can be undone
    (by `rollback_commands`); a step without one says why in the runbook.
    """

    kind: ManualKind
    label: str  # M1, M2, ... in run order (the runbook, the plan table and findings.json)
    rules: tuple[str, ...]  # the rules whose findings the step answers (or leaves unassessed)
    fixes: tuple[str, ...]  # fingerprints of those findings (none for a cloud export)
    commands: tuple[str, ...]
    alternatives: tuple[str, ...] = ()
    before_scripts: bool = False
    servers: tuple[ServerBuild, ...] = ()  # BUILD_UPGRADE; AUTH_CERTIFICATE: servers lacking one
    thumbprints: tuple[str, ...] = ()  # the certificates the step is about (checked hex)
    rollback: bool = False
    rollback_commands: tuple[str, ...] = ()
    organisation_guid: str | None = None  # CLOUD_EXPORT: the checked Get-OrganizationConfig Guid

    @property
    def changes(self) -> bool:
        """Whether the step changes the organisation (a cloud export only reads: it completes
        the audit's evidence, so it is no proposed change and needs no approval)."""
        return self.kind is not ManualKind.CLOUD_EXPORT

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "kind": self.kind.value,
            "rules": list(self.rules),
            "fixes": list(self.fixes),
            "commands": list(self.commands),
            "alternatives": list(self.alternatives),
            "before_scripts": self.before_scripts,
            "servers": [
                {
                    "server": s.server,
                    "build": s.build,
                    "required": s.required,
                    "build_line": s.build_line,
                }
                for s in self.servers
            ],
            "thumbprints": list(self.thumbprints),
            "rollback": self.rollback,
            "rollback_commands": list(self.rollback_commands),
            "organisation_guid": self.organisation_guid,
        }
