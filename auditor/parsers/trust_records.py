"""The trust records of one exported object, whatever the format it was read from.

Owns which property of which export becomes which field of the records of
`auditor.model.trust` (`AuthServer`, `AuthConfig`, `SettingOverride`, `HybridConfiguration`,
`IntraOrganizationConnector`, `OrganizationRelationship`, `OrganizationConfig`, and the
`ExSetupVersion` of `(Get-Command ExSetup.exe).FileVersionInfo`). Every format
reads one object through a `Fields` of its own (CLIXML:
`auditor.parsers.clixml.fields.ObjectFields`; Format-List, CSV and JSON:
`auditor.parsers.trust_text`) and calls the builder here, so that the same object gives the
same record in every format, but for what a format cannot carry (each `Fields` says what:
such a value is None and its name is in `missing` or `unreadable`).

The property names follow the Exchange cmdlets' output (and, for `Get-AuthServer`, of which
no real export is public, HealthChecker's mock and the `Set-AuthServer` parameters).
"""

from __future__ import annotations

from typing import Protocol

from auditor.model import (
    AuthConfig,
    AuthServer,
    Evidence,
    ExchangeCertificate,
    ExportedList,
    ExSetupVersion,
    HybridConfiguration,
    IntraOrganizationConnector,
    OrganizationConfig,
    OrganizationRelationship,
    Problem,
    ProblemCode,
    SettingOverride,
)
from auditor.parsers.base import RawInput
from auditor.parsers.der import CertificateFacts

__all__ = [
    "LARGEST_PART",
    "ExSetupOrPart",
    "Fields",
    "auth_config",
    "auth_server",
    "certificate_from_der",
    "exsetup_version",
    "hybrid_configuration",
    "intra_organization_connector",
    "is_exsetup",
    "organization_config",
    "organization_relationship",
    "setting_override",
]


class Fields(Protocol):
    """One exported object's properties read by name (ignoring case), by the rules of
    `auditor.model.trust`: None for `$null` or not given (its name then in `missing`), or for
    a value of a shape that could not be read (its name then in `unreadable`)."""

    missing: list[str]
    unreadable: list[str]

    def text(self, name: str) -> str | None: ...

    def flag(self, name: str) -> bool | None: ...

    def integer(self, name: str) -> int | None: ...

    def listed(self, name: str) -> ExportedList | None: ...

    def date(self, name: str) -> str | None:
        """A date as ISO 8601 text with its offset (None when the format shows it otherwise)."""
        ...


_EXSETUP_PARTS = ("FileMajorPart", "FileMinorPart", "FileBuildPart", "FilePrivatePart")
_EXSETUP_NAMES = ("InternalName", "OriginalFilename", "FileName")
LARGEST_PART = 65535  # a version part is 16 bits


def is_exsetup(fields: Fields) -> bool:
    """Whether a FileVersionInfo object is that of `ExSetup.exe` (by `InternalName`,
    `OriginalFilename` or `FileName`): another file's version says nothing of Exchange's build."""
    for name in _EXSETUP_NAMES:
        text = fields.text(name)
        if text and text.replace("\\", "/").rsplit("/", 1)[-1].strip().casefold() == "exsetup.exe":
            return True
    return False


ExSetupOrPart = ExSetupVersion | str


def exsetup_version(fields: Fields, source: Evidence, server: str | None) -> ExSetupOrPart:
    """The ExSetup version of one server from the four `File*Part` integers (never the
    zero-padded `FileVersion` text, kept as exported), or the name of the part that is
    missing or not an integer from 0 to `LARGEST_PART`."""
    parts: list[int] = []
    for name in _EXSETUP_PARTS:
        value = fields.integer(name)
        if value is None or not 0 <= value <= LARGEST_PART:
            return name
        parts.append(value)
    return ExSetupVersion(
        server=server,
        build=".".join(str(part) for part in parts),
        file_version=fields.text("FileVersion"),
        source=source,
    )


def auth_server(fields: Fields, source: Evidence) -> AuthServer:
    """One `Get-AuthServer` object."""
    return AuthServer(
        name=fields.text("Name"),
        type=fields.text("Type"),
        enabled=fields.flag("Enabled"),
        realm=fields.text("Realm"),
        application_identifier=fields.text("ApplicationIdentifier"),
        auth_metadata_url=fields.text("AuthMetadataUrl"),
        issuer_identifier=fields.text("IssuerIdentifier"),
        token_issuing_endpoint=fields.text("TokenIssuingEndpoint"),
        graph_base_url=fields.text("GraphBaseUrl"),
        domain_names=fields.listed("DomainName"),
        is_default_authorization_endpoint=fields.flag("IsDefaultAuthorizationEndpoint"),
        source=source,
        missing=tuple(fields.missing),
    )


def auth_config(fields: Fields, source: Evidence) -> AuthConfig:
    """The `Get-AuthConfig` object."""
    return AuthConfig(
        name=fields.text("Name"),
        service_name=fields.text("ServiceName"),
        realm=fields.text("Realm"),
        current_certificate_thumbprint=fields.text("CurrentCertificateThumbprint"),
        next_certificate_thumbprint=fields.text("NextCertificateThumbprint"),
        previous_certificate_thumbprint=fields.text("PreviousCertificateThumbprint"),
        next_certificate_effective_date=fields.date("NextCertificateEffectiveDate"),
        source=source,
        missing=tuple(fields.missing),
    )


def setting_override(fields: Fields, source: Evidence) -> SettingOverride:
    """One `Get-SettingOverride` object: `ComponentName`/`SectionName` (what the trust rules
    match on, never the name), `Parameters` and `Server` as lists, `Status` by name."""
    return SettingOverride(
        name=fields.text("Name"),
        component=fields.text("ComponentName"),
        section=fields.text("SectionName"),
        parameters=fields.listed("Parameters"),
        servers=fields.listed("Server"),
        min_version=fields.text("MinVersion"),
        max_version=fields.text("MaxVersion"),
        reason=fields.text("Reason"),
        status=fields.text("Status"),
        source=source,
        missing=tuple(fields.missing),
    )


def hybrid_configuration(fields: Fields, source: Evidence) -> HybridConfiguration:
    """The `Get-HybridConfiguration` object."""
    return HybridConfiguration(
        client_access_servers=fields.listed("ClientAccessServers"),
        domains=fields.listed("Domains"),
        features=fields.listed("Features"),
        service_instance=fields.integer("ServiceInstance"),
        tls_certificate_name=fields.text("TlsCertificateName"),
        on_premises_smart_host=fields.text("OnPremisesSmartHost"),
        source=source,
        missing=tuple(fields.missing),
    )


def intra_organization_connector(fields: Fields, source: Evidence) -> IntraOrganizationConnector:
    """One `Get-IntraOrganizationConnector` object."""
    return IntraOrganizationConnector(
        name=fields.text("Name"),
        enabled=fields.flag("Enabled"),
        discovery_endpoint=fields.text("DiscoveryEndpoint"),
        target_address_domains=fields.listed("TargetAddressDomains"),
        source=source,
        missing=tuple(fields.missing),
    )


def organization_config(fields: Fields, source: Evidence) -> OrganizationConfig:
    """What the trust rules need of `Get-OrganizationConfig`: name, `Guid`, DistinguishedName."""
    return OrganizationConfig(
        name=fields.text("Name"),
        guid=fields.text("Guid"),
        distinguished_name=fields.text("DistinguishedName"),
        source=source,
        missing=tuple(fields.missing),
    )


def organization_relationship(fields: Fields, source: Evidence) -> OrganizationRelationship:
    """One `Get-OrganizationRelationship` object."""
    return OrganizationRelationship(
        name=fields.text("Name"),
        enabled=fields.flag("Enabled"),
        domain_names=fields.listed("DomainNames"),
        source=source,
        missing=tuple(fields.missing),
    )


def certificate_from_der(
    raw: RawInput,
    facts: CertificateFacts,
    server: str | None,
    source: Evidence,
    exported: object,
) -> tuple[ExchangeCertificate, Problem | None]:
    """A certificate record from the facts of its DER (CLIXML's `RawData`, or ConvertTo-Json's
    array of bytes); an exported `Thumbprint` that disagrees with the DER is a problem at the
    object's line, and the DER's thumbprint is kept."""
    record = ExchangeCertificate(
        server=server,
        thumbprint=facts.thumbprint,
        subject=facts.subject,
        not_before=facts.not_before,
        not_after=facts.not_after,
        source=source,
    )
    if isinstance(exported, str) and exported.strip().upper() != facts.thumbprint:
        return record, raw.problem(
            ProblemCode.INCOMPLETE_EVIDENCE,
            f"the certificate at line {source.line} says Thumbprint {exported!r} but its "
            f"RawData hashes to {facts.thumbprint}; the DER's thumbprint is kept",
            source.line,
        )
    return record, None
