"""The Export-Clixml parser: a generic deserialiser and the mappings of what it reads.

- `deserialise`: any CLIXML document into plain values (`PSObject`, lists, dictionaries,
  primitives), references resolved as `Import-Clixml` resolves them, within bounds; the
  reusable piece for every further Exchange export.
- `application_mapping`: which deserialised objects are partner applications, and their
  `PartnerApplication` records.
- `server_mapping`: the `ExchangeServer` records of a `Get-ExchangeServer` export.
- `trust_mapping`: the hybrid OAuth trust exports, recognised by their type names and read by
  `authentication_mapping`, `override_mapping`, `certificate_mapping`, `build_mapping` and
  `hybrid_mapping` (with `fields`, reading one object's properties).

`parse` reads one file through all of them.
"""

from __future__ import annotations

from auditor.model import InputFormat, ParseResult
from auditor.parsers.base import RawInput
from auditor.parsers.clixml.application_mapping import (
    PARTNER_APPLICATION_TYPE,
    UNRELATED_TYPES,
    partner_applications,
)
from auditor.parsers.clixml.deserialise import (
    CLIXML_NAMESPACE,
    MAX_ITEMS,
    Entry,
    Property,
    PSObject,
    Unresolved,
    Value,
    decode_string,
    deserialize,
    local_name,
    property_flag,
    property_text,
    strip_type_prefix,
    type_label,
)
from auditor.parsers.clixml.server_mapping import EXCHANGE_SERVER_TYPE, exchange_servers
from auditor.parsers.clixml.trust_mapping import trust_evidence

__all__ = [
    "CLIXML_NAMESPACE",
    "EXCHANGE_SERVER_TYPE",
    "MAX_ITEMS",
    "PARTNER_APPLICATION_TYPE",
    "UNRELATED_TYPES",
    "Entry",
    "PSObject",
    "Property",
    "Unresolved",
    "Value",
    "decode_string",
    "deserialize",
    "exchange_servers",
    "parse",
    "partner_applications",
    "property_flag",
    "property_text",
    "strip_type_prefix",
    "trust_evidence",
    "type_label",
]


def parse(raw: RawInput) -> ParseResult:
    """Read one Export-Clixml file into partner applications, wherever they sit in it, the
    servers of a `Get-ExchangeServer` export and the records of the trust exports."""
    source = raw.source(InputFormat.CLIXML)
    values, loaded, problems = deserialize(raw)
    if loaded is None or local_name(loaded.root) != "Objs":
        return ParseResult(source=source, problems=tuple(problems))
    lines = loaded.source_lines()
    trust = trust_evidence(raw, values, lines)
    applications, found = partner_applications(raw, values, lines, trust.taken)
    return ParseResult(
        source=source,
        partner_applications=applications,
        problems=(*problems, *found, *trust.problems),
        exchange_servers=exchange_servers(raw, values),
        trust=trust.evidence,
    )
