"""What was read of the hybrid OAuth trust: the exports that say how Exchange trusts the cloud.

Owns the records of the trust exports (issue 24): `AuthServer`, `AuthConfig`,
`SettingOverride`, `ExchangeCertificate`, `ExSetupVersion`, `HybridConfiguration`,
`IntraOrganizationConnector`, `OrganizationRelationship`, `OrganizationConfig` and the
per-server `VariantConfiguration` diagnostic (its `EffectiveOverride`s), and `TrustEvidence`,
all of them read from one file or from every file, and which exports a complete hybrid-trust
audit needs (`TRUST_EXPORTS`, `TRUST_SERVER_EXPORTS`). Imports only `auditor.model.inputs`.

The same trust rules as the partner-application reader hold for every value here:

- every text is untrusted export text, kept as exported (no trimming, no case folding);
- a property the export does not carry is "not given": its field is None and its name is in
  the record's `missing`; `""` (an empty string) and None (`$null`, or not given) differ;
- enums are read by name (`ToString`), never by their undocumented integers;
- a list is an `ExportedList`: its items and whether it is whole (a truncated or unreadable
  list is not complete and must not be compared);
- `properties` (on every record read from one exported object) holds every property of that
  object as (name as exported, canonical text: `auditor.parsers.properties.canonical_text`),
  so that `auditor attest` compares what the typed fields leave out; empty for a record built
  in code;
- nothing is judged here: whether `Enabled=true` is among an override's parameters, whether
  a build is high enough, is decided by the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.model.inputs import Evidence

# The org-wide trust exports a complete hybrid-trust audit needs: the `TrustEvidence` field its
# records are read into, the file `auditor collect` writes, the cmdlet.
TRUST_EXPORTS: tuple[tuple[str, str, str], ...] = (
    ("auth_servers", "AuthServer.xml", "Get-AuthServer"),
    ("auth_configs", "AuthConfig.xml", "Get-AuthConfig"),
    ("setting_overrides", "SettingOverride.xml", "Get-SettingOverride"),
    ("hybrid_configurations", "HybridConfiguration.xml", "Get-HybridConfiguration"),
    (
        "intra_organization_connectors",
        "IntraOrganizationConnector.xml",
        "Get-IntraOrganizationConnector",
    ),
    ("organization_configs", "OrganizationConfig.xml", "Get-OrganizationConfig"),
)
# And per Client Access server (each record names its server).
TRUST_SERVER_EXPORTS: tuple[tuple[str, str, str], ...] = (
    ("exsetup_versions", "ExSetup.xml", "the ExSetup.exe file version"),
    ("exchange_certificates", "ExchangeCertificate.xml", "Get-ExchangeCertificate"),
)


@dataclass(frozen=True, slots=True)
class ExportedList:
    """A list property as exported: items in stored order, and whether the list is whole."""

    values: tuple[str, ...]
    complete: bool

    def to_json(self) -> dict[str, Any]:
        return {"values": list(self.values), "complete": self.complete}


def _list_json(value: ExportedList | None) -> dict[str, Any] | None:
    return None if value is None else value.to_json()


def _source_json(source: Evidence) -> dict[str, Any]:
    return {
        "path": source.path,
        "line": source.line,
        "sha256": source.sha256,
        "format": source.format.value,
    }


@dataclass(frozen=True, slots=True)
class AuthServer:
    """One `Get-AuthServer` object (org-wide). `type` is the `AuthServerType` name as exported
    (`AzureAD` for EvoSTS, `MicrosoftACS`, `ADFS`, ...)."""

    name: str | None
    type: str | None
    enabled: bool | None
    realm: str | None
    application_identifier: str | None
    auth_metadata_url: str | None
    issuer_identifier: str | None
    token_issuing_endpoint: str | None
    graph_base_url: str | None
    domain_names: ExportedList | None
    is_default_authorization_endpoint: bool | None
    source: Evidence
    missing: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "enabled": self.enabled,
            "realm": self.realm,
            "application_identifier": self.application_identifier,
            "auth_metadata_url": self.auth_metadata_url,
            "issuer_identifier": self.issuer_identifier,
            "token_issuing_endpoint": self.token_issuing_endpoint,
            "graph_base_url": self.graph_base_url,
            "domain_names": _list_json(self.domain_names),
            "is_default_authorization_endpoint": self.is_default_authorization_endpoint,
            "missing": list(self.missing),
            "source": _source_json(self.source),
        }


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The `Get-AuthConfig` object (org-wide): the auth certificates by thumbprint.

    `next_certificate_effective_date` is the exported date text (ISO 8601 with offset).
    """

    name: str | None
    service_name: str | None
    realm: str | None
    current_certificate_thumbprint: str | None
    next_certificate_thumbprint: str | None
    previous_certificate_thumbprint: str | None
    next_certificate_effective_date: str | None
    source: Evidence
    missing: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "service_name": self.service_name,
            "realm": self.realm,
            "current_certificate_thumbprint": self.current_certificate_thumbprint,
            "next_certificate_thumbprint": self.next_certificate_thumbprint,
            "previous_certificate_thumbprint": self.previous_certificate_thumbprint,
            "next_certificate_effective_date": self.next_certificate_effective_date,
            "missing": list(self.missing),
            "source": _source_json(self.source),
        }


@dataclass(frozen=True, slots=True)
class SettingOverride:
    """One `Get-SettingOverride` object (org-wide, from Active Directory).

    `parameters` are kept raw (`Enabled=true` is decided by the rules); `servers` is the
    `Server` list (None: `$null`, the override is not scoped by server); `status` is the
    `SettingOverrideStatus` name (`Accepted`, ...).
    """

    name: str | None
    component: str | None
    section: str | None
    parameters: ExportedList | None
    servers: ExportedList | None
    min_version: str | None
    max_version: str | None
    reason: str | None
    status: str | None
    source: Evidence
    missing: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "component": self.component,
            "section": self.section,
            "parameters": _list_json(self.parameters),
            "servers": _list_json(self.servers),
            "min_version": self.min_version,
            "max_version": self.max_version,
            "reason": self.reason,
            "status": self.status,
            "missing": list(self.missing),
            "source": _source_json(self.source),
        }


@dataclass(frozen=True, slots=True)
class ExchangeCertificate:
    """One certificate of one server, read from its DER (`RawData`).

    `thumbprint` is the SHA-1 of the DER in upper-case hex (what Exchange shows); `subject` is
    the subject's common name (None when it has none); `not_before`/`not_after` are UTC times
    in ISO 8601 (`2028-01-05T09:04:48Z`). `server` comes from the layout (the server folder),
    else from the export's `PSComputerName`, else None.
    """

    server: str | None
    thumbprint: str
    subject: str | None
    not_before: str
    not_after: str
    source: Evidence
    properties: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "thumbprint": self.thumbprint,
            "subject": self.subject,
            "not_before": self.not_before,
            "not_after": self.not_after,
            "source": _source_json(self.source),
        }


@dataclass(frozen=True, slots=True)
class ExSetupVersion:
    """The `ExSetup.exe` file version of one server: the build that decides its hotfix level.

    `build` is the four-part version from the four `File*Part` integers (`15.2.1118.25`);
    `file_version` is the text as exported (zero-padded: `15.02.1118.025`).
    """

    server: str | None
    build: str
    file_version: str | None
    source: Evidence
    properties: tuple[tuple[str, str], ...] = ()

    @property
    def parts(self) -> tuple[int, int, int, int]:
        """The build as four integers, for comparison with a build table."""
        major, minor, build, revision = (int(part) for part in self.build.split("."))
        return major, minor, build, revision

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "build": self.build,
            "file_version": self.file_version,
            "source": _source_json(self.source),
        }


@dataclass(frozen=True, slots=True)
class HybridConfiguration:
    """The `Get-HybridConfiguration` object (org-wide)."""

    client_access_servers: ExportedList | None
    domains: ExportedList | None
    features: ExportedList | None
    service_instance: int | None
    tls_certificate_name: str | None
    on_premises_smart_host: str | None
    source: Evidence
    missing: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "client_access_servers": _list_json(self.client_access_servers),
            "domains": _list_json(self.domains),
            "features": _list_json(self.features),
            "service_instance": self.service_instance,
            "tls_certificate_name": self.tls_certificate_name,
            "on_premises_smart_host": self.on_premises_smart_host,
            "missing": list(self.missing),
            "source": _source_json(self.source),
        }


@dataclass(frozen=True, slots=True)
class IntraOrganizationConnector:
    """One `Get-IntraOrganizationConnector` object (org-wide)."""

    name: str | None
    enabled: bool | None
    discovery_endpoint: str | None
    target_address_domains: ExportedList | None
    source: Evidence
    missing: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "enabled": self.enabled,
            "discovery_endpoint": self.discovery_endpoint,
            "target_address_domains": _list_json(self.target_address_domains),
            "missing": list(self.missing),
            "source": _source_json(self.source),
        }


@dataclass(frozen=True, slots=True)
class OrganizationRelationship:
    """One `Get-OrganizationRelationship` object (org-wide): with whom the organisation shares
    free/busy and more. No rule judges it yet; `auditor attest` compares it."""

    name: str | None
    enabled: bool | None
    domain_names: ExportedList | None
    source: Evidence
    missing: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "enabled": self.enabled,
            "domain_names": _list_json(self.domain_names),
            "missing": list(self.missing),
            "source": _source_json(self.source),
        }


@dataclass(frozen=True, slots=True)
class OrganizationConfig:
    """What the trust rules need of `Get-OrganizationConfig`: the organisation's name and
    `Guid` (the dedicated app is `ExchangeServerApp-<Guid>`)."""

    name: str | None
    guid: str | None
    distinguished_name: str | None
    source: Evidence
    missing: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "guid": self.guid,
            "distinguished_name": self.distinguished_name,
            "missing": list(self.missing),
            "source": _source_json(self.source),
        }


@dataclass(frozen=True, slots=True)
class EffectiveOverride:
    """One `SettingOverride` of the VariantConfiguration diagnostic: what one server applies."""

    name: str | None
    component: str | None
    section: str | None
    status: str | None
    parameters: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "component": self.component,
            "section": self.section,
            "status": self.status,
            "parameters": list(self.parameters),
        }


@dataclass(frozen=True, slots=True)
class VariantConfiguration:
    """The per-server `Get-ExchangeDiagnosticInfo ... -Component VariantConfiguration
    -Argument Overrides` result: the overrides effective on that server.

    `fast_train_version` is the diagnostic's `fastTrainExchangeVersion` text (possibly the
    running build; undocumented, so never proof of a build); `complete` is False when part of
    the overrides could not be read.
    """

    server: str | None
    overrides: tuple[EffectiveOverride, ...]
    fast_train_version: str | None
    complete: bool
    source: Evidence

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "overrides": [override.to_json() for override in self.overrides],
            "fast_train_version": self.fast_train_version,
            "complete": self.complete,
            "source": _source_json(self.source),
        }


@dataclass(frozen=True, slots=True)
class TrustEvidence:
    """Every trust record of one file, or (folded) of every file, each kind in its order."""

    auth_servers: tuple[AuthServer, ...] = ()
    auth_configs: tuple[AuthConfig, ...] = ()
    setting_overrides: tuple[SettingOverride, ...] = ()
    exchange_certificates: tuple[ExchangeCertificate, ...] = ()
    exsetup_versions: tuple[ExSetupVersion, ...] = ()
    hybrid_configurations: tuple[HybridConfiguration, ...] = ()
    intra_organization_connectors: tuple[IntraOrganizationConnector, ...] = ()
    organization_configs: tuple[OrganizationConfig, ...] = ()
    organization_relationships: tuple[OrganizationRelationship, ...] = ()
    variant_configurations: tuple[VariantConfiguration, ...] = ()
    # Cloud evidence (optional input): the service principals and applications of a Graph
    # JSON export or of ScubaGear's ProviderSettingsExport.json.
    cloud_principals: tuple[CloudPrincipal, ...] = ()

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in self.__slots__)

    def to_json(self) -> dict[str, Any]:
        """Each kind as a list of records (the `hybrid_trust` of `auditor parse --json`)."""
        return {
            name: [record.to_json() for record in getattr(self, name)] for name in self.__slots__
        }


@dataclass(frozen=True, slots=True)
class KeyCredential:
    """One `keyCredential` of a cloud service principal or application (Graph, or ScubaGear).

    `thumbprints` are the SHA-1 thumbprints the credential can be matched by, upper-case hex:
    the SHA-1 of its `key` (the DER, when exported), and its `customKeyIdentifier` read as raw
    20 bytes and as hex text (Graph's encoding is not documented). ScubaGear keeps none.
    """

    key_id: str | None
    display_name: str | None
    end: str | None
    thumbprints: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "display_name": self.display_name,
            "end": self.end,
            "thumbprints": list(self.thumbprints),
        }


@dataclass(frozen=True, slots=True)
class CloudPrincipal:
    """A service principal or application of a cloud export: `kind` is `service-principal`
    or `application`; `key_credentials` None when the export does not say (ScubaGear with
    `KeyCredentials` null), else the credentials it lists; `has_key_credentials` is
    ScubaGear's own flag (None from Graph). `origin` is `graph` or `scubagear`."""

    kind: str
    app_id: str | None
    display_name: str | None
    key_credentials: tuple[KeyCredential, ...] | None
    has_key_credentials: bool | None
    origin: str
    source: Evidence

    def to_json(self) -> dict[str, Any]:
        credentials = self.key_credentials
        return {
            "kind": self.kind,
            "app_id": self.app_id,
            "display_name": self.display_name,
            "key_credentials": None if credentials is None else [k.to_json() for k in credentials],
            "has_key_credentials": self.has_key_credentials,
            "origin": self.origin,
            "source": _source_json(self.source),
        }
