"""The hybrid OAuth trust of CLIXML: which objects of a file are trust exports, by content.

Owns recognising the trust objects of a deserialised file by their type names (`TN`, with or
without a `Deserialized.`/`Selected.` prefix), whatever the file is called, and handing each
to its mapping: `authentication_mapping` (AuthServer, AuthConfig), `override_mapping`
(SettingOverride, the VariantConfiguration diagnostic), `certificate_mapping`
(ExchangeCertificate), `build_mapping` (ExSetup.exe's FileVersionInfo) and `hybrid_mapping`
(HybridConfiguration, IntraOrganizationConnector, OrganizationRelationship,
OrganizationConfig). Objects are looked for at the top of the file and among the items of a
top-level list (`Export-Clixml -InputObject`).
An object with a property given twice is not read (the deserialiser already reported it).
Every record but the VariantConfiguration diagnostic's (whose object is one text, holding the
server's process state) also keeps every exported property of its object
(`fields.exported_properties`), for `auditor attest`.

`trust_evidence` also returns which objects it took, so that the partner-application mapping
counts them as legitimate objects that are no partner application; a file that holds none of
them is read exactly as before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from auditor.model import Problem, TrustEvidence
from auditor.parsers.base import RawInput
from auditor.parsers.clixml.authentication_mapping import (
    AUTH_CONFIG_TYPE,
    AUTH_SERVER_TYPE,
    auth_config,
    auth_server,
)
from auditor.parsers.clixml.build_mapping import exsetup_version, is_exsetup
from auditor.parsers.clixml.certificate_mapping import (
    EXCHANGE_CERTIFICATE_TYPE,
    exchange_certificate,
)
from auditor.parsers.clixml.deserialise import PSObject, Value
from auditor.parsers.clixml.fields import exported_properties
from auditor.parsers.clixml.hybrid_mapping import (
    HYBRID_CONFIGURATION_TYPE,
    INTRA_ORGANIZATION_CONNECTOR_TYPE,
    ORGANIZATION_CONFIG_TYPE,
    ORGANIZATION_RELATIONSHIP_TYPE,
    hybrid_configuration,
    intra_organization_connector,
    organization_config,
    organization_relationship,
)
from auditor.parsers.clixml.override_mapping import (
    DIAGNOSTIC_RESULT_TYPE,
    SETTING_OVERRIDE_TYPE,
    setting_override,
    variant_configuration,
)

Mapping = Callable[[RawInput, PSObject, Sequence[str]], tuple[object | None, Problem | None]]

# type name -> (the TrustEvidence field its records go to, its mapping)
_BY_TYPE: dict[str, tuple[str, Mapping]] = {
    AUTH_SERVER_TYPE: ("auth_servers", auth_server),
    AUTH_CONFIG_TYPE: ("auth_configs", auth_config),
    SETTING_OVERRIDE_TYPE: ("setting_overrides", setting_override),
    EXCHANGE_CERTIFICATE_TYPE: ("exchange_certificates", exchange_certificate),
    HYBRID_CONFIGURATION_TYPE: ("hybrid_configurations", hybrid_configuration),
    INTRA_ORGANIZATION_CONNECTOR_TYPE: (
        "intra_organization_connectors",
        intra_organization_connector,
    ),
    ORGANIZATION_CONFIG_TYPE: ("organization_configs", organization_config),
    ORGANIZATION_RELATIONSHIP_TYPE: ("organization_relationships", organization_relationship),
}


@dataclass(slots=True)
class TrustRead:
    """What the trust mappings made of one file: records, problems, the objects taken."""

    evidence: TrustEvidence = field(default_factory=TrustEvidence)
    problems: list[Problem] = field(default_factory=list)
    taken: set[int] = field(default_factory=set)


def trust_evidence(raw: RawInput, values: Sequence[Value], lines: Sequence[str]) -> TrustRead:
    """Every trust record of a deserialised file (see the module docstring)."""
    found: dict[str, list[object]] = {name: [] for name in TrustEvidence.__slots__}
    read = TrustRead()
    for obj in _candidates(values):
        target = _target(obj)
        if target is None:
            continue
        kind, mapping = target
        if obj.ambiguous:
            read.taken.add(id(obj))
            continue
        record, problem = mapping(raw, obj, lines)
        if problem is not None:
            read.problems.append(problem)
        if record is None and problem is None:
            continue  # a diagnostic result of another component: not a trust export
        read.taken.add(id(obj))
        if record is not None and kind != "variant_configurations":
            record = dataclasses.replace(record, properties=exported_properties(obj))  # type: ignore[type-var]
        if record is not None:
            found[kind].append(record)
    read.evidence = TrustEvidence(**{name: tuple(records) for name, records in found.items()})  # type: ignore[arg-type]
    return read


def _candidates(values: Sequence[Value]) -> Iterator[PSObject]:
    for value in values:
        if not isinstance(value, PSObject):
            continue
        yield value
        for item in value.items or ():
            if isinstance(item, PSObject):
                yield item


def _target(obj: PSObject) -> tuple[str, Mapping] | None:
    for name in obj.type_names:
        if name in _BY_TYPE:
            return _BY_TYPE[name]
    if obj.is_a(DIAGNOSTIC_RESULT_TYPE):
        return "variant_configurations", variant_configuration
    if is_exsetup(obj):
        return "exsetup_versions", exsetup_version
    return None
