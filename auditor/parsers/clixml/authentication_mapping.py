"""The Get-AuthServer and Get-AuthConfig mappings of CLIXML: whose tokens Exchange trusts, and
which auth certificates it signs with.

Owns reading the objects of type `Microsoft.Exchange.Data.Directory.SystemConfiguration.
AuthServer` into `AuthServer` records and of type `...SystemConfiguration.AuthConfig` into
`AuthConfig` records (both organisation-wide), by the rules of `auditor.model.trust` (see
`auditor.parsers.clixml.fields`). An AuthServer's `Type` is the `AuthServerType` enum's name;
its `DomainName` is a list whose items are objects shown by their `ToString`. The property
names follow HealthChecker's mock and the `Set-AuthServer` parameters (no real export of
`Get-AuthServer` is public; `tests/parsers/data/trust/` holds synthetic ones).
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.model import AuthConfig, AuthServer, Problem
from auditor.parsers import trust_records
from auditor.parsers.base import RawInput
from auditor.parsers.clixml.deserialise import PSObject
from auditor.parsers.clixml.fields import ObjectFields, evidence, unreadable_problem

AUTH_SERVER_TYPE = "Microsoft.Exchange.Data.Directory.SystemConfiguration.AuthServer"
AUTH_CONFIG_TYPE = "Microsoft.Exchange.Data.Directory.SystemConfiguration.AuthConfig"


def auth_server(
    raw: RawInput, obj: PSObject, lines: Sequence[str]
) -> tuple[AuthServer, Problem | None]:
    """One AuthServer object as a record, and the problem of its unreadable values."""
    fields = ObjectFields(obj)
    record = trust_records.auth_server(fields, evidence(raw, obj, lines))
    return record, unreadable_problem(raw, fields, "AuthServer")


def auth_config(
    raw: RawInput, obj: PSObject, lines: Sequence[str]
) -> tuple[AuthConfig, Problem | None]:
    """The AuthConfig object as a record, and the problem of its unreadable values."""
    fields = ObjectFields(obj)
    record = trust_records.auth_config(fields, evidence(raw, obj, lines))
    return record, unreadable_problem(raw, fields, "AuthConfig")
