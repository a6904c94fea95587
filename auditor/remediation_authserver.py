"""The planner's EvoSTS AuthServer changes: one org-wide `evosts-auth-servers` change set.

Two findings get a change here, each only when the exports prove its preconditions (the
hybrid-oauth-trust notes, section 4 rules B, G and H); otherwise a `Skipped` names the first
precondition that does not hold, in this order:

* HT007 (no valid EvoSTS for the dedicated app), `Set-AuthServer -ApplicationIdentifier`:
  1. the policy gives `hybrid_trust.expected_application_id` and `tenant_id` (the app id comes
     from Entra ID, never from a guess);
  2. every Client Access server is at or above the build floor (the parameter exists only from
     the April 2025 hotfix; `build_floor_problem`, as for the override);
  3. exactly one AuthServer is the tenant's EvoSTS: Type AzureAD, enabled, Realm = tenant_id;
  4. its name and audited ApplicationIdentifier are values the script writes (no control
     characters; the audited value printable ASCII, since the rollback writes it back).
  The rollback sets the audited value back; an empty one cannot be restored with a documented
  command (`AuthServerChange.restorable`), so the rollback and the runbook say so instead.
* HT008 (duplicate enabled EvoSTS of one realm), `Set-AuthServer -Enabled $false`: among the
  enabled AzureAD AuthServers of the finding's realm exactly one is a valid EvoSTS
  (`evosts_problem`: the policy's tenant and app when set); every other one is disabled, and
  its name is unique among the exported AuthServers. Never Remove-AuthServer (its rollback
  could not restore the metadata-derived fields). The rollback sets Enabled back to True.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from auditor.model import (
    AuthServer,
    AuthServerChange,
    AuthServerProperty,
    ChangeKind,
    ChangeSet,
    Finding,
    Inventory,
    Policy,
    Skipped,
)
from auditor.remediation_override import build_floor_problem
from auditor.rules.trust_facts import EVOSTS_TYPE, enabled_evosts, evosts_problem

SLUG = "evosts-auth-servers"
EVOSTS_SUBJECT = "hybrid-trust:evosts"  # HT007's subject
SERVER_PREFIX = "auth-server:"  # HT008's subjects
# A name the script passes to -Identity: no control characters (quoted as a literal all the
# same); an audited ApplicationIdentifier the rollback writes back: printable ASCII.
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,256}")
_VALUE = re.compile(r"[\x20-\x7e]{0,256}")


def plan_auth_servers(
    inventory: Inventory,
    policy: Policy,
    findings: Sequence[Finding],
    fixes: dict[str, list[str]],
) -> tuple[ChangeSet | None, list[Skipped]]:
    """The AuthServer change set for the active HT007/HT008 findings (`fixes`: subject ->
    fingerprints), and the Skipped entries of those it cannot plan."""
    changes: list[AuthServerChange] = []
    notes: list[Skipped] = []
    if EVOSTS_SUBJECT in fixes:
        found = tuple(fixes[EVOSTS_SUBJECT])
        change = _application_change(inventory, policy, findings, found)
        if isinstance(change, str):
            notes.append(Skipped(EVOSTS_SUBJECT, change, found))
        else:
            changes.append(change)
    duplicates = {key: found for key, found in fixes.items() if key.startswith(SERVER_PREFIX)}
    planned, skipped = _duplicate_changes(inventory, policy, duplicates)
    changes.extend(planned)
    notes.extend(skipped)
    if not changes:
        return None, notes
    change_set = ChangeSet(
        kind=ChangeKind.EVOSTS_AUTH_SERVERS, slug=SLUG, server=None, auth_servers=tuple(changes)
    )
    return change_set, notes


def _application_change(
    inventory: Inventory, policy: Policy, findings: Sequence[Finding], found: tuple[str, ...]
) -> AuthServerChange | str:
    trust_policy = policy.hybrid_trust
    wanted, tenant = trust_policy.expected_application_id, trust_policy.tenant_id
    if wanted is None or tenant is None:
        return (
            "the policy does not give hybrid_trust.expected_application_id and tenant_id: the "
            "dedicated app's id comes from Entra ID, so no script guesses it; set both in the "
            "policy (or run ConfigureExchangeHybridApplication.ps1 -ConfigureAuthServer) and "
            "audit again"
        )
    builds = build_floor_problem(inventory, policy, findings)
    if builds is not None:
        return (
            f"{builds}: Set-AuthServer -ApplicationIdentifier exists only from the April 2025 "
            "hotfix; update every server and audit again"
        )
    tenant_servers = [
        server
        for server in inventory.trust.auth_servers
        if server.type == EVOSTS_TYPE
        and server.enabled is True
        and (server.realm or "").lower() == tenant
    ]
    if not tenant_servers:
        return (
            f"no enabled EvoSTS AuthServer (Type {EVOSTS_TYPE}) has the policy's tenant_id "
            f"{tenant} as Realm: create it with ConfigureExchangeHybridApplication.ps1 "
            "-ConfigureAuthServer (or the Hybrid Configuration Wizard) and audit again"
        )
    if len(tenant_servers) > 1:
        names = ", ".join(f"'{server.name}'" for server in tenant_servers)
        return (
            f"more than one enabled EvoSTS AuthServer has the tenant's Realm ({names}; HT008): "
            "which one to point at the dedicated app is not clear; disable the duplicate first "
            "and audit again"
        )
    server = tenant_servers[0]
    problem = _name_problem(inventory, server)
    audited = server.application_identifier or ""
    if problem is None and _VALUE.fullmatch(audited) is None:
        problem = (
            f"AuthServer '{server.name}' has an ApplicationIdentifier with characters the "
            "rollback does not write back; set it by hand"
        )
    if problem is not None:
        return problem
    return AuthServerChange(
        name=server.name or "",
        subject=EVOSTS_SUBJECT,
        setting=AuthServerProperty.APPLICATION_IDENTIFIER,
        audited_value=audited,
        target_value=wanted,
        realm=server.realm or "",
        source=server.source.place,
        fixes=found,
    )


def _name_problem(inventory: Inventory, server: AuthServer) -> str | None:
    name = server.name or ""
    if _NAME.fullmatch(name) is None:
        return f"the AuthServer's name {name!r} is not one the script passes to -Identity"
    same = [s for s in inventory.trust.auth_servers if (s.name or "").casefold() == name.casefold()]
    if len(same) > 1:
        return f"more than one exported AuthServer is named '{name}'; -Identity would not be clear"
    return None


def _duplicate_changes(
    inventory: Inventory, policy: Policy, fixes: dict[str, list[str]]
) -> tuple[list[AuthServerChange], list[Skipped]]:
    """The Enabled changes of the realms the HT008 findings name, in export order."""
    enabled = list(enabled_evosts(inventory))
    realms: dict[str, list[str]] = {}  # casefolded realm -> finding subjects
    notes: list[Skipped] = []
    for subject in sorted(fixes):
        name = subject[len(SERVER_PREFIX) :]
        matches = [s for s in enabled if (s.name or "(no name)") == name]
        if len(matches) != 1:
            reason = f"the exports do not hold exactly one enabled EvoSTS named '{name}'"
            notes.append(Skipped(subject, reason, tuple(fixes[subject])))
            continue
        realms.setdefault((matches[0].realm or "").casefold(), []).append(subject)
    changes: list[AuthServerChange] = []
    for realm, subjects in realms.items():
        group = [s for s in enabled if (s.realm or "").casefold() == realm]
        planned = _realm_changes(inventory, policy, group, subjects, fixes)
        if isinstance(planned, str):
            notes.extend(Skipped(subject, planned, tuple(fixes[subject])) for subject in subjects)
        else:
            changes.extend(planned)
    return changes, notes


def _realm_changes(
    inventory: Inventory,
    policy: Policy,
    group: list[AuthServer],
    subjects: list[str],
    fixes: dict[str, list[str]],
) -> list[AuthServerChange] | str:
    valid = [server for server in group if evosts_problem(server, policy.hybrid_trust) is None]
    realm = group[0].realm or ""
    if len(valid) != 1:
        held = "none" if not valid else f"{len(valid)}"
        return (
            f"the exports do not show which EvoSTS of realm '{realm}' to keep: {held} of the "
            f"{len(group)} enabled ones holds a valid dedicated ApplicationIdentifier (the "
            "policy's expected_application_id when set); decide which one stays (or re-run the "
            "Hybrid Configuration Wizard) and audit again"
        )
    kept = valid[0]
    duplicates = [server for server in group if server is not kept]
    for server in (kept, *duplicates):
        problem = _name_problem(inventory, server)
        if problem is not None:
            return problem
    kept_subject = f"{SERVER_PREFIX}{kept.name or '(no name)'}"
    changes = []
    for index, server in enumerate(duplicates):
        subject = f"{SERVER_PREFIX}{server.name}"
        found = list(fixes.get(subject, ())) if subject in subjects else []
        if index == 0 and kept_subject in subjects:
            found.extend(fixes[kept_subject])  # the finding on the kept one: resolved here
        changes.append(
            AuthServerChange(
                name=server.name or "",
                subject=subject,
                setting=AuthServerProperty.ENABLED,
                audited_value="True",
                target_value="False",
                realm=realm,
                source=server.source.place,
                fixes=tuple(found),
                kept_name=kept.name or "",
                kept_application_identifier=(kept.application_identifier or "").lower(),
            )
        )
    return changes
