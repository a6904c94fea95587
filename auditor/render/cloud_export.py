"""How to take the optional cloud export, written once for the collection script and the runbook.

The key credentials of the first-party service principal "Office 365 Exchange Online" and of the
dedicated hybrid app live in Entra ID, not in Exchange Server: no on-premises export shows them
(hybrid-oauth-trust notes, section 1 "Cleaning the first-party service principal" and section
2.12). The commands below are the ones `auditor collect`'s script prints in its help (section
NOTES, `help_text`) and the runbook's cloud-export step quotes (`auditor.render.story_trust`):
the Graph PowerShell SDK (`Get-MgServicePrincipal`, `Get-MgApplication`), the Graph REST API
v1.0, or ScubaGear's `ProviderSettingsExport.json`. A command is a tuple of pipeline parts (the
help wraps a long pipeline after its first `|`). `<Guid>` is the organisation's Guid
(`Get-OrganizationConfig`), `<OutDir>` the collection's folder.
"""

from __future__ import annotations

GUID_PLACEHOLDER = "<Guid>"
FIRST_PARTY_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
_SELECT = "Id,AppId,DisplayName,KeyCredentials"
_REST_SELECT = "$select=id,appId,displayName,keyCredentials"
_GRAPH = "https://graph.microsoft.com/v1.0"

GRAPH_SDK: tuple[tuple[str, ...], ...] = (
    ("Connect-MgGraph -Scopes Application.Read.All",),
    (
        f"Get-MgServicePrincipal -Filter 'appId eq ''{FIRST_PARTY_APP_ID}''' -Property {_SELECT}",
        "ConvertTo-Json -Depth 5",
        r"Out-File -FilePath <OutDir>\FirstPartyServicePrincipal.json -Encoding utf8",
    ),
    (
        "Get-MgApplication -Filter 'displayName eq ''ExchangeServerApp-<Guid>''' "
        f"-Property {_SELECT}",
        "ConvertTo-Json -Depth 5",
        r"Out-File -FilePath <OutDir>\DedicatedHybridApplication.json -Encoding utf8",
    ),
)
GRAPH_REST_LIST: tuple[str, ...] = (
    f"GET {_GRAPH}/servicePrincipals?$filter=appId eq '{FIRST_PARTY_APP_ID}'&{_REST_SELECT}",
    f"GET {_GRAPH}/applications?$filter=displayName eq 'ExchangeServerApp-<Guid>'&{_REST_SELECT}",
)
GRAPH_REST_BY_ID: tuple[str, ...] = (
    f"GET {_GRAPH}/servicePrincipals/<id>?{_REST_SELECT}",
    f"GET {_GRAPH}/applications/<id>?{_REST_SELECT}",
)
SCUBAGEAR = "Invoke-SCuBA -ProductNames aad -OutPath <folder>"
SCUBAGEAR_COPY = (
    r"copy ProviderSettingsExport.json from <folder>\M365BaselineConformance_<time> into <OutDir>"
)


def pipeline(command: tuple[str, ...]) -> str:
    """A command on one line."""
    return " | ".join(command)


def help_text() -> str:
    """The collection script's help lines about the cloud export (its NOTES section)."""
    sdk = []
    for command in GRAPH_SDK:
        sdk.append(f"    {command[0]}" + (" |" if len(command) > 1 else ""))
        if len(command) > 1:
            sdk.append(f"        {pipeline(command[1:])}")
    lines = [
        "  Graph PowerShell SDK (module Microsoft.Graph.Applications):",
        *sdk,
        "  or the Graph REST API (v1.0), each response saved as it is:",
        *(f"    {request}" for request in GRAPH_REST_LIST),
        "  A list query leaves out each certificate's key; to match the keys to the Exchange Auth",
        "  Certificate by thumbprint, read each object by its id as well:",
        *(f"    {request}" for request in GRAPH_REST_BY_ID),
        "  or ScubaGear (cisagov/ScubaGear): its ProviderSettingsExport.json holds",
        "  legacy_exchange_service_principal and dedicated_exchange_hybrid_applications "
        "(whether keys",
        "  exist and when they expire, no thumbprints):",
        f"    {SCUBAGEAR}",
        f"  then {SCUBAGEAR_COPY}.",
    ]
    return "\n".join(lines)
