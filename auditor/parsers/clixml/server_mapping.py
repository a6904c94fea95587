"""The Get-ExchangeServer mapping of CLIXML: which servers the organisation has.

Owns reading the top-level `ExchangeServer` objects of a deserialised export
(`Get-ExchangeServer | Export-Clixml`, which `auditor collect` writes) into `ExchangeServer`
records (name, FQDN, roles, build): the evidence model (`auditor.scope`) learns from them which
servers the organisation has and which of them serve clients.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.model import ExchangeServer
from auditor.parsers.base import RawInput
from auditor.parsers.clixml.deserialise import PSObject, Value, property_flag, property_text

EXCHANGE_SERVER_TYPE = "Microsoft.Exchange.Data.Directory.Management.ExchangeServer"


def exchange_servers(raw: RawInput, values: Sequence[Value]) -> tuple[ExchangeServer, ...]:
    """Each top-level `ExchangeServer` object: name, FQDN, client access and edge, build.

    Roles come from `IsClientAccessServer` / `IsEdgeServer`, else from the `ServerRole` enum's
    text (`Mailbox` serves clients from Exchange 2016 on, `Edge` never does); a server whose
    export says neither keeps None (unknown).
    """
    servers: list[ExchangeServer] = []
    for obj in values:
        if not isinstance(obj, PSObject) or not obj.is_a(EXCHANGE_SERVER_TYPE):
            continue
        name = property_text(obj.properties.get("Name")) or obj.to_string
        if not name:
            continue
        roles = (property_text(obj.properties.get("ServerRole")) or "").replace(" ", "").split(",")
        folded_roles = {role.casefold() for role in roles if role}
        client_access = property_flag(obj, "IsClientAccessServer")
        if client_access is None and folded_roles:
            client_access = not folded_roles.isdisjoint({"clientaccess", "mailbox"})
        edge = property_flag(obj, "IsEdgeServer")
        if edge is None and folded_roles:
            edge = "edge" in folded_roles
        servers.append(
            ExchangeServer(
                name=name,
                fqdn=property_text(obj.properties.get("Fqdn")),
                client_access=client_access,
                edge=edge,
                version=property_text(obj.properties.get("AdminDisplayVersion")),
                path=raw.path,
                line=obj.line,
            )
        )
    return tuple(servers)
