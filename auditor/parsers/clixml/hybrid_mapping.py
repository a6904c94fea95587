"""The Get-HybridConfiguration, Get-IntraOrganizationConnector, Get-OrganizationRelationship and
Get-OrganizationConfig mappings of CLIXML: whether the organisation is hybrid, how it reaches the
cloud, with whom it shares, who it is.

Owns reading objects of these types (all organisation-wide) into `HybridConfiguration`,
`IntraOrganizationConnector`, `OrganizationRelationship` and `OrganizationConfig` records by
the rules of `auditor.model.trust` (see `auditor.parsers.clixml.fields`). Of the organisation's
configuration only what the trust rules need is kept (name, `Guid`, DistinguishedName).
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.model import (
    HybridConfiguration,
    IntraOrganizationConnector,
    OrganizationConfig,
    OrganizationRelationship,
    Problem,
)
from auditor.parsers import trust_records
from auditor.parsers.base import RawInput
from auditor.parsers.clixml.deserialise import PSObject
from auditor.parsers.clixml.fields import ObjectFields, evidence, unreadable_problem

HYBRID_CONFIGURATION_TYPE = (
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.HybridConfiguration"
)
INTRA_ORGANIZATION_CONNECTOR_TYPE = (
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.IntraOrganizationConnector"
)
ORGANIZATION_CONFIG_TYPE = "Microsoft.Exchange.Data.Directory.Management.OrganizationConfig"
ORGANIZATION_RELATIONSHIP_TYPE = (
    "Microsoft.Exchange.Data.Directory.Management.OrganizationRelationship"
)


def hybrid_configuration(
    raw: RawInput, obj: PSObject, lines: Sequence[str]
) -> tuple[HybridConfiguration, Problem | None]:
    """The HybridConfiguration object as a record, and the problem of its unreadable values."""
    fields = ObjectFields(obj)
    record = trust_records.hybrid_configuration(fields, evidence(raw, obj, lines))
    return record, unreadable_problem(raw, fields, "HybridConfiguration")


def intra_organization_connector(
    raw: RawInput, obj: PSObject, lines: Sequence[str]
) -> tuple[IntraOrganizationConnector, Problem | None]:
    """One IntraOrganizationConnector as a record, and the problem of its unreadable values."""
    fields = ObjectFields(obj)
    record = trust_records.intra_organization_connector(fields, evidence(raw, obj, lines))
    return record, unreadable_problem(raw, fields, "IntraOrganizationConnector")


def organization_config(
    raw: RawInput, obj: PSObject, lines: Sequence[str]
) -> tuple[OrganizationConfig, Problem | None]:
    """The OrganizationConfig object's identity, and the problem of its unreadable values."""
    fields = ObjectFields(obj)
    record = trust_records.organization_config(fields, evidence(raw, obj, lines))
    return record, unreadable_problem(raw, fields, "OrganizationConfig")


def organization_relationship(
    raw: RawInput, obj: PSObject, lines: Sequence[str]
) -> tuple[OrganizationRelationship, Problem | None]:
    """One OrganizationRelationship as a record, and the problem of its unreadable values."""
    fields = ObjectFields(obj)
    record = trust_records.organization_relationship(fields, evidence(raw, obj, lines))
    return record, unreadable_problem(raw, fields, "OrganizationRelationship")
