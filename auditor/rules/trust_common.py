"""What the hybrid-trust rules (HT1xx) share: the Client Access servers they judge, the
comparison of server names, and why a trust rule is not assessed.

The servers are those of the `Get-ExchangeServer` export that are neither Edge Transport
servers nor without the Client Access role (as the evidence model, `auditor.scope`, counts
them); without that export, the servers the per-server trust exports name. Names compare by
their first DNS label, ignoring case (`EX01.contoso.lab` and `ex01` are one server).

`not_assessed` is why a trust rule is listed as not applied (an audit that leaves the hybrid
trust out on purpose runs none of them, and says so): no AuthConfig for the certificate rules,
no ExSetup version and no server list for the build rule, no cloud evidence for the cloud
rules. A trust rule is never a quiet pass over evidence it did not have.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.model import Inventory

# Which evidence each trust rule cannot be assessed without (the rule modules register here).
BUILD_RULES: frozenset[str] = frozenset({"HT101"})
CERTIFICATE_RULES: frozenset[str] = frozenset({"HT111", "HT112", "HT113", "HT114"})
CLOUD_RULES: frozenset[str] = frozenset({"HT121", "HT122"})

NO_CLOUD_EVIDENCE = "no cloud evidence given"
NO_GRAPH_EXPORT = "no Graph export was given (ScubaGear keeps no certificate thumbprint)"


def server_key(name: str) -> str:
    """One server's names compared: the first DNS label, ignoring case."""
    return name.split(".", 1)[0].casefold()


def client_access_servers(inventory: Inventory, named: Iterable[str | None] = ()) -> list[str]:
    """The Client Access servers to judge, each once, in export order (see the docstring);
    `named` are the servers the per-server exports name, used when no server list was read."""
    if inventory.exchange_servers:
        servers = [
            server.name
            for server in inventory.exchange_servers
            if not server.edge and server.client_access is not False
        ]
    else:
        servers = [name for name in named if name]
    unique: dict[str, str] = {}
    for name in servers:
        unique.setdefault(server_key(name), name)
    return list(unique.values())


def edge_servers(inventory: Inventory) -> set[str]:
    """The keys of the servers the export says are Edge Transport (never judged)."""
    return {server_key(server.name) for server in inventory.exchange_servers if server.edge}


def not_assessed(rule_id: str, inventory: Inventory) -> str | None:
    """Why the trust rule `rule_id` is not applied to this audit, or None (also for any rule
    that is not a trust rule)."""
    if rule_id not in BUILD_RULES | CERTIFICATE_RULES | CLOUD_RULES:
        return None
    trust = inventory.trust
    if rule_id in CLOUD_RULES:
        if not trust.cloud_principals:
            return NO_CLOUD_EVIDENCE
        if rule_id == "HT122":
            if not any(principal.origin == "graph" for principal in trust.cloud_principals):
                return NO_GRAPH_EXPORT
            if not trust.auth_configs:
                return "no Get-AuthConfig export was read"
        return None
    if rule_id in CERTIFICATE_RULES and not trust.auth_configs:
        return "no Get-AuthConfig export was read"
    if rule_id in BUILD_RULES and not (trust.exsetup_versions or inventory.exchange_servers):
        return "no ExSetup version and no Get-ExchangeServer export was read"
    return None
