"""Writes the bundled example exports under auditor/examples/ (run from the project root).

A two-server hybrid organisation (fabrikam.lab, servers EX01 and EX02) where the article's recipe
was applied: the "Microsoft Graph" partner application got all 29 ActAsPermissions copied into
AppOnlyPermissions, and `V1S2SAppOnly` was appended to the front-end Rest web.config on both
servers; on EX02 the admin typed it with a leading space, so Exchange silently drops it there.
The files follow the shapes of real exports (Export-Clixml of Get-PartnerApplication and of
Get-ExchangeServer, every server, as the collection script writes them; web.config files as
copied from the Exchange install tree) but all names, GUIDs and values are the project's own.
Output is deterministic.
"""

from __future__ import annotations

import sys
from pathlib import Path

from example_trust import trust_files

GRAPH_ACT_AS = (
    "Mail.Read Mail.Write Mail.Send Calendars.Read Calendars.ReadWrite Calendars.Read.Shared "
    "Calendars.ReadWrite.Shared Contacts.Read Contacts.ReadWrite Contacts.Read.Shared "
    "Contacts.ReadWrite.Shared Mail.ReadWrite Calendars.Write Contacts.Write Sites.Read.All "
    "Sites.ReadWrite.All User.Read User.ReadWrite User.ReadBasic.All User.Read.All "
    "User.ReadWrite.All Group.Read.All Group.ReadWrite.All People.Read People.ReadWrite "
    "MailboxSettings.ReadWrite Privilege.SkipClientAccessRules Tasks.Read Tasks.ReadWrite"
).split()

DOMAIN = "fabrikam.lab"
ORG_DN = "CN=Fabrikam,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=fabrikam,DC=lab"

# name, application id, enabled, linked account, act-as, app-only, ASII, object guid
APPLICATIONS = (
    (
        "Exchange Online",
        "00000002-0000-0ff1-ce00-000000000000",
        True,
        f"{DOMAIN}/Users/Exchange Online-ApplicationAccount",
        None,
        None,
        False,
        "6f1c2a8e-31d4-4f0b-9a57-0d6e4b1c7a21",
    ),
    (
        "Microsoft Graph",
        "00000003-0000-0000-c000-000000000000",
        True,
        None,
        GRAPH_ACT_AS,
        GRAPH_ACT_AS,
        True,
        "b3e9d4f2-7c1a-4e8b-8f20-5a6d9c3e1b47",
    ),
    (
        "TeamsScheduler",
        "7557eb47-c689-4224-abcf-aef9bd7573df",
        False,
        f"{DOMAIN}/Users/TeamsIntegration-ApplicationAccount",
        None,
        None,
        False,
        "0a9d7e3c-54b2-4c6f-b18e-2f7a3d9e6c05",
    ),
    (
        "CloudVoicemail",
        "db7de2b5-2149-435e-8043-e080dd50afae",
        False,
        f"{DOMAIN}/Users/TeamsIntegration-ApplicationAccount",
        None,
        None,
        False,
        "c4e8f1a2-9b3d-4d7e-a6c5-7e2b0f9d1a38",
    ),
    (
        "SfBLegacy",
        "00000004-0000-0ff1-ce00-000000000000",
        True,
        None,
        None,
        None,
        False,
        "e7b2c9d4-1f6a-4a3e-9c8d-4b5e7f0a2c61",
    ),
)

_TN_PARTNER_APP = """    <TN RefId="0">
      <T>Microsoft.Exchange.Data.Directory.SystemConfiguration.PartnerApplication</T>
      <T>Microsoft.Exchange.Data.Directory.SystemConfiguration.ADConfigurationObject</T>
      <T>Microsoft.Exchange.Data.Directory.ADObject</T>
      <T>Microsoft.Exchange.Data.Directory.ADRawEntry</T>
      <T>Microsoft.Exchange.Data.ConfigurableObject</T>
      <T>System.Object</T>
    </TN>"""


class RefIds:
    """Hands out RefIds and remembers which type names were already written (TN vs TNRef)."""

    def __init__(self) -> None:
        self.next_obj = 0
        self.type_names: dict[str, int] = {"partner": 0}

    def obj(self) -> int:
        value = self.next_obj
        self.next_obj += 1
        return value

    def tn(self, key: str, names: tuple[str, ...], indent: str) -> str:
        if key in self.type_names:
            return f'{indent}<TNRef RefId="{self.type_names[key]}" />'
        ref = len(self.type_names)
        self.type_names[key] = ref
        body = "".join(f"\n{indent}  <T>{name}</T>" for name in names)
        return f'{indent}<TN RefId="{ref}">{body}\n{indent}</TN>'


def _string_list(refs: RefIds, name: str, values: tuple[str, ...] | list[str] | None) -> str:
    if values is None:
        return f'      <Nil N="{name}" />'
    tn = refs.tn("string[]", ("System.String[]", "System.Array", "System.Object"), "        ")
    items = "".join(f"\n          <S>{value}</S>" for value in values)
    return (
        f'      <Obj N="{name}" RefId="{refs.obj()}">\n{tn}\n        <LST>{items}\n        </LST>\n'
        "      </Obj>"
    )


def _ad_object_id(refs: RefIds, name: str, canonical: str, dn: str, guid: str) -> str:
    tn = refs.tn(
        "adobjectid",
        (
            "Microsoft.Exchange.Data.Directory.ADObjectId",
            "Microsoft.Exchange.Data.ObjectId",
            "System.Object",
        ),
        "        ",
    )
    rdn = dn.split(",", 1)[0]
    return f"""      <Obj N="{name}" RefId="{refs.obj()}">
{tn}
        <ToString>{canonical}</ToString>
        <Props>
          <Nil N="OrgHierarchyToIgnore" />
          <B N="IsDeleted">false</B>
          <S N="Rdn">{rdn}</S>
          <S N="DistinguishedName">{dn}</S>
          <S N="DomainId">{DOMAIN}</S>
          <G N="ObjectGuid">{guid}</G>
        </Props>
      </Obj>"""


def partner_applications_clixml() -> str:
    """`Get-PartnerApplication | Export-Clixml -Depth 4` of the example organisation."""
    refs = RefIds()
    objects = []
    for index, (name, app_id, enabled, linked, act_as, app_only, asii, guid) in enumerate(
        APPLICATIONS
    ):
        obj_ref = refs.obj()
        tn = _TN_PARTNER_APP if index == 0 else '    <TNRef RefId="0" />'
        cert_tn = refs.tn(
            "mvp-string",
            (
                "Microsoft.Exchange.Data.MultiValuedProperty`1[[System.String, mscorlib, "
                "Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089]]",
                "Microsoft.Exchange.Data.MultiValuedPropertyBase",
                "System.Object",
            ),
            "        ",
        )
        dn = f"CN={name},CN=Partner Applications,CN=Auth Configuration,{ORG_DN}"
        linked_xml = (
            '      <Nil N="LinkedAccount" />'
            if linked is None
            else _ad_object_id(
                refs,
                "LinkedAccount",
                linked,
                f"CN={linked.rsplit('/', 1)[1]},CN=Users,DC=fabrikam,DC=lab",
                "5d2e8a41-0c7f-4b39-8e16-a94f3b7d2c50",
            )
        )
        account_tn = refs.tn(
            "accounttype",
            (
                "Microsoft.Exchange.Data.Directory.SystemConfiguration.SupportedAccountType",
                "System.Enum",
                "System.ValueType",
                "System.Object",
            ),
            "        ",
        )
        identity = _ad_object_id(refs, "Identity", name, dn, guid)
        objects.append(f"""  <Obj RefId="{obj_ref}">
{tn}
    <ToString>{name}</ToString>
    <Props>
      <B N="Enabled">{"true" if enabled else "false"}</B>
      <S N="ApplicationIdentifier">{app_id}</S>
      <Obj N="CertificateStrings" RefId="{refs.obj()}">
{cert_tn}
        <LST />
      </Obj>
      <S N="AuthMetadataUrl"></S>
      <S N="Realm"></S>
      <B N="UseAuthServer">true</B>
      <B N="AcceptSecurityIdentifierInformation">{"true" if asii else "false"}</B>
{linked_xml}
      <Nil N="DeploymentId" />
      <Nil N="IssuerIdentifier" />
      <Obj N="AccountType" RefId="{refs.obj()}">
{account_tn}
        <ToString>OrganizationalAccount</ToString>
        <I32>1</I32>
      </Obj>
{_string_list(refs, "AppOnlyPermissions", app_only)}
{_string_list(refs, "ActAsPermissions", act_as)}
      <S N="AdminDisplayName"></S>
      <S N="Name">{name}</S>
      <S N="DistinguishedName">{dn}</S>
{identity}
      <G N="Guid">{guid}</G>
      <DT N="WhenChanged">2026-10-14T16:02:11+02:00</DT>
      <DT N="WhenCreated">2024-03-05T09:41:27+01:00</DT>
      <DT N="WhenChangedUTC">2026-10-14T14:02:11Z</DT>
      <DT N="WhenCreatedUTC">2024-03-05T08:41:27Z</DT>
      <S N="OriginatingServer">dc01.{DOMAIN}</S>
      <B N="IsValid">true</B>
    </Props>
    <MS>
      <S N="PSComputerName">ex01.{DOMAIN}</S>
      <B N="PSShowComputerName">false</B>
    </MS>
  </Obj>""")
    body = "\n".join(objects)
    return (
        '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\n'
        f"{body}\n</Objs>"
    )


REST_PROFILES = "S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2"


def rest_web_config(server: str, profiles: str) -> str:
    """The front-end Rest web.config (vdir Default Web Site/API) in the shape Exchange ships."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!--
  Exchange front-end REST proxy (Default Web Site/API).
  -->
<configuration>
  <appSettings>
    <add key="HttpProxy.ProtocolType" value="Rest" />
    <add key="HttpProxy.NoMailboxFallbackRouting" value="true" />
    <add key="HttpProxy.NoMailboxFallbackRoutingRandomBackEnd" value="true" />
    <add key="OAuthHttpModule.Profiles" value="{profiles}" />
    <add key="OAuthHttpModule.V1AppScopes" value="*" />
    <add key="OAuthHttpModule.V1AppRoles" value="*" />
    <add key="OAuthHttpModule.ResourceType" value="Exchange" />
  </appSettings>
  <system.webServer>
    <serverRuntime appConcurrentRequestLimit="65535" uploadReadAheadSize="0" />
    <modules>
      <remove name="CustomErrorModule" />
      <remove name="DirectoryListingModule" />
      <add name="HttpProxy" type="Microsoft.Exchange.HttpProxy.ProxyModule,Microsoft.Exchange.FrontEndHttpProxy,Version=15.0.0.0,Culture=neutral,PublicKeyToken=31bf3856ad364e35" preCondition="" />
      <add name="OAuthAuthModule" type="Microsoft.Exchange.Security.OAuth.OAuthHttpModule" />
    </modules>
    <httpErrors existingResponse="PassThrough" />
    <httpProtocol>
      <customHeaders>
        <add name="X-FEServer" value="{server}" />
      </customHeaders>
    </httpProtocol>
  </system.webServer>
  <system.web>
    <machineKey validationKey="AutoGenerate,IsolateApps" />
    <httpRuntime maxRequestLength="2097151" maxUrlLength="2048" requestValidationMode="2.0" />
  </system.web>
</configuration>
"""


def ews_web_config(server: str) -> str:
    """The front-end EWS web.config (vdir Default Web Site/EWS), left at the shipped default."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <appSettings>
    <add key="HttpProxy.ProtocolType" value="Ews" />
    <add key="OAuthHttpModule.Profiles" value="S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback" />
    <add key="OAuthHttpModule.V1AppScopes" value="*" />
    <add key="OAuthHttpModule.V1AppRoles" value="*" />
    <add key="WsSecurityEndpointEnabled" value="True" />
  </appSettings>
  <system.webServer>
    <httpProtocol>
      <customHeaders>
        <add name="X-FEServer" value="{server}" />
      </customHeaders>
    </httpProtocol>
  </system.webServer>
</configuration>
"""


# name, object guid; both Exchange 2019 CU14 Mailbox servers (Client Access services included)
SERVERS = (
    ("EX01", "2c7b9e14-8d3a-4f61-b5e2-7a90c4d1e836"),
    ("EX02", "91f3a6d2-4b7e-4c08-a1d5-e26b8f0c3a97"),
)


def exchange_servers_clixml() -> str:
    """`Get-ExchangeServer | Export-Clixml -Depth 4` of the example organisation (every server,
    as the collection script exports it)."""
    objects = []
    for index, (name, guid) in enumerate(SERVERS):
        base = index * 3
        tn = (
            f"""    <TN RefId="{base}">
      <T>Microsoft.Exchange.Data.Directory.Management.ExchangeServer</T>
      <T>Microsoft.Exchange.Data.Directory.ADObject</T>
      <T>System.Object</T>
    </TN>"""
            if index == 0
            else '    <TNRef RefId="0" />'
        )
        version_tn = (
            """        <TN RefId="1">
          <T>Microsoft.Exchange.Data.ServerVersion</T>
          <T>System.Object</T>
        </TN>"""
            if index == 0
            else '        <TNRef RefId="1" />'
        )
        role_tn = (
            """        <TN RefId="2">
          <T>Microsoft.Exchange.Data.Directory.SystemConfiguration.ServerRole</T>
          <T>System.Enum</T>
          <T>System.ValueType</T>
          <T>System.Object</T>
        </TN>"""
            if index == 0
            else '        <TNRef RefId="2" />'
        )
        objects.append(
            f"""  <Obj RefId="{base}">
{tn}
    <ToString>{name}</ToString>
    <Props>
      <S N="Name">{name}</S>
      <S N="Fqdn">{name.lower()}.{DOMAIN}</S>
      <S N="Edition">StandardEvaluation</S>
      <Obj N="AdminDisplayVersion" RefId="{base + 1}">
{version_tn}
        <ToString>Version 15.2 (Build 1544.4)</ToString>
        <Props>
          <I32 N="Major">15</I32>
          <I32 N="Minor">2</I32>
          <I32 N="Build">1544</I32>
          <I32 N="Revision">4</I32>
        </Props>
      </Obj>
      <Obj N="ServerRole" RefId="{base + 2}">
{role_tn}
        <ToString>Mailbox</ToString>
        <I32>2</I32>
      </Obj>
      <B N="IsClientAccessServer">true</B>
      <B N="IsEdgeServer">false</B>
      <B N="IsMailboxServer">true</B>
      <S N="Site">{DOMAIN}/Configuration/Sites/Default-First-Site-Name</S>
      <G N="Guid">{guid}</G>
      <S N="DistinguishedName">CN={name},CN=Servers,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,{ORG_DN}</S>
    </Props>
  </Obj>
"""
        )
    return (
        '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\n'
        + "".join(objects)
        + "</Objs>"
    )


def crlf_bom(text: str) -> bytes:
    return b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8")


def example_files() -> dict[str, bytes]:
    """Every bundled example file by path below auditor/examples/."""
    clixml = partner_applications_clixml().replace("\n", "\r\n")
    return {
        "EX01/PartnerApplication.xml": b"\xff\xfe" + clixml.encode("utf-16-le"),
        "EX01/ExchangeServer.xml": b"\xff\xfe"
        + exchange_servers_clixml().replace("\n", "\r\n").encode("utf-16-le"),
        "EX01/FrontEnd/HttpProxy/Rest/web.config": crlf_bom(
            rest_web_config("EX01", REST_PROFILES + "|V1S2SAppOnly")
        ),
        "EX01/FrontEnd/HttpProxy/EWS/web.config": crlf_bom(ews_web_config("EX01")),
        "EX02/FrontEnd/HttpProxy/Rest/web.config": crlf_bom(
            rest_web_config("EX02", REST_PROFILES + "| V1S2SAppOnly")
        ),
        "EX02/FrontEnd/HttpProxy/EWS/web.config": crlf_bom(ews_web_config("EX02")),
        # The hybrid-trust exports (scripts/example_trust.py), as Export-Clixml writes them.
        **{
            path: b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le")
            for path, text in trust_files().items()
        },
    }


def main() -> int:
    target = Path(__file__).resolve().parent.parent / "auditor" / "examples"
    for relative, data in example_files().items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {path.relative_to(target.parent.parent)} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
