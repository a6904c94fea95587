"""What the hybrid-trust rules HT001-HT009 share: the facts they decide once from the exports.

- whether hybrid is in scope (`hybrid_signal`): the HealthChecker condition of the
  hybrid-oauth-trust notes (section 3.1, section 4 "Hybrid in scope"), made to fail closed: a
  `Get-HybridConfiguration` object, an enabled IntraOrganizationConnector, or an enabled
  EvoSTS (`AzureAD`) or ACS (`MicrosoftACS`) AuthServer makes the organisation hybrid; with
  none of them, it is not hybrid only when all three exports were read (an export of nothing
  reads as missing, which the evidence model already reports as EV001), else unknown;
- which `Get-SettingOverride` objects are the dedicated-app override (`ComponentName=Global`,
  `SectionName=ExchangeOnpremAsThirdPartyAppId`) and whether one enables the feature
  (exactly one `Enabled=true` entry, with the regex `ConfigureExchangeHybridApplication.ps1`
  uses, no `Enabled=false`, status `Accepted`);
- which AuthServer is a valid EvoSTS for the dedicated app (`evosts_problem`).

Names and GUIDs compare case-insensitively; nothing here reads a file or the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from auditor.model import (
    AuthServer,
    Evidence,
    HybridTrustPolicy,
    Inventory,
    Location,
    SettingOverride,
)

GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
ENABLED_TRUE = re.compile(r"^\s*Enabled\s*=\s*true\s*$", re.IGNORECASE)
ENABLED_ANY = re.compile(r"^\s*Enabled\s*=", re.IGNORECASE)
# First-party application ids an EvoSTS must never name as the dedicated app (notes, rule B).
FIRST_PARTY_IDS = frozenset(
    {
        "00000002-0000-0ff1-ce00-000000000000",  # Office 365 Exchange Online
        "00000003-0000-0000-c000-000000000000",  # Microsoft Graph
        "00000004-0000-0ff1-ce00-000000000000",  # Skype for Business Online
    }
)
EXCHANGE_ONLINE_ID = "00000002-0000-0ff1-ce00-000000000000"
DEDICATED_COMPONENT = "Global"
DEDICATED_SECTION = "ExchangeOnpremAsThirdPartyAppId"
GRAPH_COMPONENT = "SettingOverride"
GRAPH_SECTION = "RouteThroughMSGraph"
EVOSTS_TYPE = "AzureAD"
ACS_TYPE = "MicrosoftACS"

LEARN = "https://learn.microsoft.com/powershell/module/exchangepowershell"
CSS = "https://github.com/microsoft/CSS-Exchange"
DEDICATED_APP_DOC = (
    "https://learn.microsoft.com/exchange/hybrid-deployment/deploy-dedicated-hybrid-app"
)
HEALTH_CHECKER_SOURCE = (
    f"{CSS}/blob/main/Diagnostics/HealthChecker/Analyzer/Get-FilteredSettingOverrideInformation.ps1"
)
_SCRIPT_FOLDER = "Hybrid/ConfigureExchangeHybridApplication"
CONFIGURE_SCRIPT_SOURCE = f"{CSS}/blob/main/{_SCRIPT_FOLDER}/ConfigureExchangeHybridApplication.ps1"


def location(source: Evidence) -> Location:
    return Location(source.path, source.line)


def same(value: str | None, wanted: str) -> bool:
    return value is not None and value.casefold() == wanted.casefold()


@dataclass(frozen=True, slots=True)
class HybridSignal:
    """Hybrid in scope: True (with the record that shows it), False, or None (unknown)."""

    hybrid: bool | None
    shown_by: Evidence | None = None
    why: str = ""


def hybrid_signal(inventory: Inventory) -> HybridSignal:
    """Whether the organisation is hybrid, from the exports (see the module docstring)."""
    trust = inventory.trust
    for config in trust.hybrid_configurations:
        return HybridSignal(True, config.source, "a Get-HybridConfiguration object exists")
    for connector in trust.intra_organization_connectors:
        if connector.enabled is True:
            return HybridSignal(
                True, connector.source, f"IntraOrganizationConnector '{connector.name}' is enabled"
            )
    for server in trust.auth_servers:
        if server.enabled is True and server.type in (EVOSTS_TYPE, ACS_TYPE):
            return HybridSignal(
                True, server.source, f"{server.type} AuthServer '{server.name}' is enabled"
            )
    if trust.hybrid_configurations or not (
        trust.auth_servers and trust.intra_organization_connectors
    ):
        return HybridSignal(None)
    return HybridSignal(False)


def dedicated_overrides(inventory: Inventory) -> tuple[SettingOverride, ...]:
    """The dedicated-app overrides (`Global` / `ExchangeOnpremAsThirdPartyAppId`)."""
    return tuple(
        override
        for override in inventory.trust.setting_overrides
        if same(override.component, DEDICATED_COMPONENT)
        and same(override.section, DEDICATED_SECTION)
    )


def enabling_problem(override: SettingOverride) -> str | None:
    """Why `override` does not enable its feature (None: it does; it is also None when its
    parameters are incomplete, which the parser reports as incomplete evidence)."""
    if override.parameters is None:
        return "it has no Parameters"
    if not override.parameters.complete:
        return None
    entries = [entry for entry in override.parameters.values if ENABLED_ANY.match(entry)]
    enabled = [entry for entry in entries if ENABLED_TRUE.match(entry)]
    if not entries:
        return "its Parameters hold no Enabled=true entry"
    if len(enabled) != len(entries):
        shown = ", ".join(f"'{entry}'" for entry in entries)
        return f"its Parameters hold {shown}, not exactly Enabled=true"
    if override.status is None:
        return "its Status is not given"
    if not same(override.status, "Accepted"):
        return f"its Status is '{override.status}', not Accepted"
    return None


def enabled_override(inventory: Inventory) -> SettingOverride | None:
    """The one dedicated-app override that enables the feature (None: none, or several)."""
    overrides = dedicated_overrides(inventory)
    if len(overrides) != 1:
        return None
    override = overrides[0]
    complete = override.parameters is not None and override.parameters.complete
    return override if complete and enabling_problem(override) is None else None


def evosts_problem(server: AuthServer, policy: HybridTrustPolicy) -> str | None:
    """Why `server` is not a valid EvoSTS for the dedicated app (None: it is)."""
    if server.type != EVOSTS_TYPE:
        return f"its Type is {server.type or 'not given'}, not {EVOSTS_TYPE} (EvoSTS)"
    if server.enabled is not True:
        return "it is not enabled"
    realm = server.realm or ""
    if not GUID.fullmatch(realm):
        return f"its Realm '{realm}' is not a tenant ID (a GUID)"
    if policy.tenant_id is not None and realm.lower() != policy.tenant_id:
        return f"its Realm {realm} is not the policy's tenant_id {policy.tenant_id}"
    app = server.application_identifier or ""
    if not GUID.fullmatch(app):
        return f"its ApplicationIdentifier '{app}' is not an application ID (a GUID)"
    if app.lower() in FIRST_PARTY_IDS:
        return (
            f"its ApplicationIdentifier {app} is a first-party application, not the dedicated app"
        )
    wanted = policy.expected_application_id
    if wanted is not None and app.lower() != wanted:
        return (
            f"its ApplicationIdentifier {app} is not the policy's expected_application_id {wanted}"
        )
    return None


def enabled_evosts(inventory: Inventory) -> Iterator[AuthServer]:
    for server in inventory.trust.auth_servers:
        if server.type == EVOSTS_TYPE and server.enabled is True:
            yield server
