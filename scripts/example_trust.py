"""The hybrid-trust exports of the bundled example (imported by scripts/make_examples.py).

The example organisation (fabrikam.lab, servers EX01 and EX02) is hybrid: the Hybrid
Configuration Wizard left a HybridConfiguration, an IntraOrganizationConnector, an
OrganizationRelationship and two AuthServers (ACS and EvoSTS). Both servers run Exchange 2019
CU14 with the April 2025 hotfix (ExSetup 15.2.1544.25, the floor of the dedicated hybrid app),
and the EvoSTS AuthServer already carries a dedicated app id (`ExchangeServerApp-<org GUID>`
was created in Entra ID), but the `EnableExchangeHybrid3PAppFeature` setting override was never
made: the only override is serialization-data signing. So the audit finds HT001 and the
package carries the dedicated-app override script. No cloud export is given: the cloud rules
show as not assessed.

The files are in the shapes `auditor collect` writes (layout (c) of auditor/layout.py;
Export-Clixml -Depth 4 in Windows PowerShell 5.1: UTF-16LE with BOM, CRLF), after the real
samples of ../shared/reference/css-exchange (CSS-Exchange HealthChecker and
MonitorExchangeAuthCertificate test data), with fewer properties; every name, GUID, tenant and
value is the project's own. The AuthServer export is synthetic in shape too: no real
`Get-AuthServer` export is public (notes section 2.1, HealthChecker's mock). As for the
partner-application export, the organisation-wide exports are those of EX01's collection run.

The auth certificate is a DER certificate built here byte by byte, deterministically: subject
and issuer `CN=Microsoft Exchange Server Auth Certificate`, valid from 2025-03-12 to
2045-03-12 (so the example stays valid whatever the audit date until then). Its public key and
signature are bytes derived from SHA-256 of fixed text, not a real key: no one can verify or
use it; auditor reads only its thumbprint (SHA-1 of the DER), subject and validity.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

HEAD = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\n'
TAIL = "</Objs>"

DOMAIN = "fabrikam.lab"
ORG_DN = "CN=Fabrikam,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=fabrikam,DC=lab"
ORG_GUID = "5e0c7a93-2d4b-4f18-9b6e-c3a8f1d27e40"
TENANT_ID = "8d2f4c61-3b7a-4e09-9c15-6a0e2b7d4f93"
TENANT_DOMAIN = "fabrikam.mail.onmicrosoft.com"
# The dedicated app `ExchangeServerApp-<ORG_GUID>` registered in the tenant (its appId).
DEDICATED_APP_ID = "e4a7c2d9-5b13-4f86-a0d2-7c91b3e5f608"
BUILD = (15, 2, 1544, 25)  # Exchange 2019 CU14 with the April 2025 HU
SERVERS = ("EX01", "EX02")
AUTH_SUBJECT = "Microsoft Exchange Server Auth Certificate"
NOT_BEFORE = "250312090000Z"  # UTCTime, 2025-03-12 09:00:00 UTC
NOT_AFTER = "450312090000Z"  # UTCTime, 2045-03-12 09:00:00 UTC

_AD_TYPES = (
    "Microsoft.Exchange.Data.Directory.ADConfigurationObject",
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ADRawEntry",
    "Microsoft.Exchange.Data.ConfigurableObject",
    "System.Object",
)
_MVP_STRING = (
    "Microsoft.Exchange.Data.MultiValuedProperty`1[[System.String, mscorlib, Version=4.0.0.0, "
    "Culture=neutral, PublicKeyToken=b77a5c561934e089]]"
)


# --- DER ---------------------------------------------------------------------------------------


def _der(tag: int, content: bytes) -> bytes:
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(part) for part in dotted.split("."))
    body = bytearray((first * 40 + second,))
    for arc in rest:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return _der(0x06, bytes(body))


def _stream(label: str, size: int) -> bytes:
    """`size` bytes derived from SHA-256 of `label` (deterministic, not random)."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{label}/{counter}".encode()).digest()
        counter += 1
    return out[:size]


def _name(common_name: str) -> bytes:
    attribute = _der(0x30, _oid("2.5.4.3") + _der(0x0C, common_name.encode("utf-8")))
    return _der(0x30, _der(0x31, attribute))


def auth_certificate() -> bytes:
    """The example's auth certificate in DER (see the module docstring)."""
    sha256_rsa = _der(0x30, _oid("1.2.840.113549.1.1.11") + _der(0x05, b""))
    modulus = bytearray(_stream("fabrikam.lab auth certificate modulus", 256))
    modulus[0] |= 0x80
    rsa_key = _der(0x30, _der(0x02, b"\x00" + bytes(modulus)) + _der(0x02, b"\x01\x00\x01"))
    spki = _der(
        0x30,
        _der(0x30, _oid("1.2.840.113549.1.1.1") + _der(0x05, b"")) + _der(0x03, b"\x00" + rsa_key),
    )
    serial = b"\x00" + _stream("fabrikam.lab auth certificate serial", 16)
    tbs = _der(
        0x30,
        _der(0xA0, _der(0x02, b"\x02"))
        + _der(0x02, serial)
        + sha256_rsa
        + _name(AUTH_SUBJECT)
        + _der(0x30, _der(0x17, NOT_BEFORE.encode()) + _der(0x17, NOT_AFTER.encode()))
        + _name(AUTH_SUBJECT)
        + spki,
    )
    signature = _der(0x03, b"\x00" + _stream("fabrikam.lab auth certificate signature", 256))
    return _der(0x30, tbs + sha256_rsa + signature)


def auth_thumbprint() -> str:
    return hashlib.sha1(auth_certificate()).hexdigest().upper()


# --- CLIXML pieces -----------------------------------------------------------------------------


def _tn(ref: int, names: tuple[str, ...], indent: str) -> str:
    body = "".join(f"\n{indent}  <T>{name}</T>" for name in names)
    return f'{indent}<TN RefId="{ref}">{body}\n{indent}</TN>'


def _s(name: str, value: str | None, indent: str = "      ") -> str:
    if value is None:
        return f'{indent}<Nil N="{name}" />'
    return f'{indent}<S N="{name}">{escape(value, quote=False)}</S>'


def _b(name: str, value: bool, indent: str = "      ") -> str:
    return f'{indent}<B N="{name}">{"true" if value else "false"}</B>'


class _Refs:
    """RefIds of objects and type names within one file (TN once, then TNRef)."""

    def __init__(self) -> None:
        self.objects = 0
        self.types: dict[str, int] = {}

    def obj(self) -> int:
        self.objects += 1
        return self.objects - 1

    def tn(self, names: tuple[str, ...], indent: str) -> str:
        if names[0] in self.types:
            return f'{indent}<TNRef RefId="{self.types[names[0]]}" />'
        self.types[names[0]] = len(self.types)
        return _tn(self.types[names[0]], names, indent)


def _list(refs: _Refs, name: str, items: list[str], item_type: str | None = None) -> str:
    """A multi-valued property; items are strings, or objects shown by `item_type`'s ToString."""
    list_type = (
        f"Microsoft.Exchange.Data.MultiValuedProperty`1[[{item_type}, Microsoft.Exchange.Data, "
        "Version=15.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35]]"
        if item_type
        else _MVP_STRING
    )
    head = f'      <Obj N="{name}" RefId="{refs.obj()}">\n' + refs.tn(
        (list_type, "Microsoft.Exchange.Data.MultiValuedPropertyBase", "System.Object"), "        "
    )
    if not items:
        return f"{head}\n        <LST />\n      </Obj>"
    lines = []
    for item in items:
        if item_type is None:
            lines.append(f"          <S>{escape(item, quote=False)}</S>")
        else:
            type_names = (item_type, "System.Object")
            lines.append(
                f'          <Obj RefId="{refs.obj()}">\n{refs.tn(type_names, "            ")}\n'
                f"            <ToString>{escape(item, quote=False)}</ToString>\n          </Obj>"
            )
    return f"{head}\n        <LST>\n" + "\n".join(lines) + "\n        </LST>\n      </Obj>"


def _enum(refs: _Refs, name: str, type_name: str, value: str, number: int) -> str:
    names = (type_name, "System.Enum", "System.ValueType", "System.Object")
    return (
        f'      <Obj N="{name}" RefId="{refs.obj()}">\n{refs.tn(names, "        ")}\n'
        f"        <ToString>{value}</ToString>\n        <I32>{number}</I32>\n      </Obj>"
    )


def _start(refs: _Refs, type_name: str, extra: tuple[str, ...] = _AD_TYPES) -> tuple[int, str]:
    """The RefId and type names of the next top-level object (taken before its properties)."""
    ref = refs.obj()
    return ref, refs.tn((type_name, *extra), "    ")


def _ad_object(head: tuple[int, str], name: str, dn: str, guid: str, props: list[str]) -> str:
    """One Active Directory object of an Exchange cmdlet, as Export-Clixml writes it."""
    ref, tn = head
    body = "\n".join(
        [
            *props,
            _s("Name", name),
            _s("DistinguishedName", dn),
            f'      <G N="Guid">{guid}</G>',
            '      <DT N="WhenChanged">2025-06-18T11:24:05+02:00</DT>',
            '      <DT N="WhenCreated">2024-03-05T10:12:44+01:00</DT>',
            _s("OriginatingServer", f"dc01.{DOMAIN}"),
            _b("IsValid", True),
        ]
    )
    return (
        f'  <Obj RefId="{ref}">\n{tn}\n    <ToString>{escape(name, quote=False)}</ToString>\n'
        f"    <Props>\n{body}\n    </Props>\n    <MS>\n"
        f'      <S N="PSComputerName">ex01.{DOMAIN}</S>\n'
        '      <B N="PSShowComputerName">false</B>\n    </MS>\n  </Obj>\n'
    )


def _file(objects: list[str]) -> str:
    return HEAD + "".join(objects) + TAIL


# --- the exports -------------------------------------------------------------------------------

_SYSTEM_CONFIGURATION = "Microsoft.Exchange.Data.Directory.SystemConfiguration"
_AUTH_DN = f"CN=Auth Configuration,{ORG_DN}"


def auth_servers_clixml() -> str:
    """`Get-AuthServer`: the HCW's ACS and EvoSTS, the EvoSTS carrying the dedicated app id."""
    refs = _Refs()
    objects = []
    for name, kind, number, issuer, token, metadata, app_id, default in (
        (
            f"ACS - {TENANT_ID}",
            "MicrosoftACS",
            0,
            "00000001-0000-0000-c000-000000000000",
            f"https://accounts.accesscontrol.windows.net/{TENANT_ID}/tokens/OAuth/2",
            f"https://accounts.accesscontrol.windows.net/{TENANT_ID}/metadata/json/1",
            None,
            False,
        ),
        (
            f"EvoSts - {TENANT_ID}",
            "AzureAD",
            1,
            f"https://sts.windows.net/{TENANT_ID}/",
            "https://login.windows.net/common/oauth2/token",
            f"https://login.windows.net/{TENANT_ID}/federationmetadata/2007-06/federationmetadata.xml",
            DEDICATED_APP_ID,
            True,
        ),
    ):
        head = _start(refs, f"{_SYSTEM_CONFIGURATION}.AuthServer")
        guid = hashlib.sha256(name.encode()).hexdigest()
        props = [
            _s("IssuerIdentifier", issuer),
            _s("TokenIssuingEndpoint", token),
            _s("ApplicationIdentifier", app_id),
            _s("AuthMetadataUrl", metadata),
            _s("GraphBaseUrl", ""),
            _enum(refs, "Type", f"{_SYSTEM_CONFIGURATION}.AuthServerType", kind, number),
            _s("Realm", TENANT_ID),
            _b("Enabled", True),
            _b("IsDefaultAuthorizationEndpoint", default),
            _list(refs, "DomainName", [TENANT_DOMAIN], "SmtpDomainWithSubdomains"),
        ]
        objects.append(
            _ad_object(head, name, f"CN={name},CN=Auth Servers,{_AUTH_DN}", _guid(guid), props)
        )
    return _file(objects)


def _guid(hex_digits: str) -> str:
    h = hex_digits
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def auth_config_clixml() -> str:
    """`Get-AuthConfig`: the documented ServiceName, no Realm, the current auth certificate."""
    refs = _Refs()
    head = _start(refs, f"{_SYSTEM_CONFIGURATION}.AuthConfig")
    props = [
        _s("CurrentCertificateThumbprint", auth_thumbprint()),
        _s("PreviousCertificateThumbprint", ""),
        _s("NextCertificateThumbprint", ""),
        _s("NextCertificateEffectiveDate", None),
        _s("ServiceName", "00000002-0000-0ff1-ce00-000000000000"),
        _s("Realm", ""),
    ]
    guid = "b71d3e05-9a2c-4c6f-8e14-3f5a0d9c2b68"
    return _file([_ad_object(head, "Auth Configuration", _AUTH_DN, guid, props)])


def setting_overrides_clixml() -> str:
    """`Get-SettingOverride`: serialization-data signing only; no dedicated-app override."""
    refs = _Refs()
    name = "EnableSigningVerification"
    head = _start(refs, f"{_SYSTEM_CONFIGURATION}.ConfigurationSettings.SettingOverride")
    props = [
        _s("ComponentName", "Data"),
        _s("SectionName", "EnableSerializationDataSigning"),
        _s("FlightName", None),
        _s("ModifiedBy", f"{DOMAIN}/Users/Administrator"),
        _s("Reason", "Enabling Signing Verification"),
        _s("MinVersion", None),
        _s("MaxVersion", None),
        _s("FixVersion", None),
        _s("Server", None),
        _b("IsFlight", False),
        _list(refs, "Parameters", ["Enabled=true"]),
        _enum(
            refs,
            "Status",
            f"{_SYSTEM_CONFIGURATION}.ConfigurationSettings.SettingOverrideStatus",
            "Accepted",
            3,
        ),
    ]
    dn = f"CN={name},CN=Setting Overrides,CN=Global Settings,{ORG_DN}"
    return _file([_ad_object(head, name, dn, "3a8e6b21-0f4d-4c97-b2e5-9d1c7a0f4e83", props)])


def hybrid_configuration_clixml() -> str:
    """`Get-HybridConfiguration`: what the Hybrid Configuration Wizard left."""
    refs = _Refs()
    head = _start(refs, f"{_SYSTEM_CONFIGURATION}.HybridConfiguration")
    props = [
        _list(refs, "ClientAccessServers", [], "Microsoft.Exchange.Data.Directory.ADObjectId"),
        _list(
            refs,
            "ReceivingTransportServers",
            list(SERVERS),
            "Microsoft.Exchange.Data.Directory.ADObjectId",
        ),
        _list(
            refs,
            "SendingTransportServers",
            list(SERVERS),
            "Microsoft.Exchange.Data.Directory.ADObjectId",
        ),
        _s("OnPremisesSmartHost", f"mail.{DOMAIN}"),
        _list(refs, "Domains", [DOMAIN], "AutoDiscoverSmtpDomain"),
        _list(
            refs,
            "Features",
            [
                "FreeBusy",
                "MoveMailbox",
                "Mailtips",
                "MessageTracking",
                "OwaRedirection",
                "OnlineArchive",
                "SecureMail",
                "Photos",
            ],
            "HybridFeature",
        ),
        _s(
            "TlsCertificateName",
            f"<I>CN=Fabrikam Issuing CA, DC=fabrikam, DC=lab<S>CN=mail.{DOMAIN}",
        ),
        '      <I32 N="ServiceInstance">0</I32>',
    ]
    dn = f"CN=Hybrid Configuration,CN=Hybrid Configuration,{ORG_DN}"
    guid = "c2f90d47-6e1b-4a35-8d7c-05b9e3a1f6d2"
    return _file([_ad_object(head, "Hybrid Configuration", dn, guid, props)])


def intra_organization_connector_clixml() -> str:
    """`Get-IntraOrganizationConnector`: the HCW's connector to Exchange Online, enabled."""
    refs = _Refs()
    name = f"HybridIOC - {ORG_GUID}"
    head = _start(refs, f"{_SYSTEM_CONFIGURATION}.IntraOrganizationConnector")
    props = [
        _list(refs, "TargetAddressDomains", [TENANT_DOMAIN], "SmtpDomain"),
        _s("DiscoveryEndpoint", "https://autodiscover-s.outlook.com/autodiscover/autodiscover.svc"),
        _s("TargetSharingEpr", None),
        _b("Enabled", True),
    ]
    dn = f"CN={name},CN=Federation,{ORG_DN}"
    return _file([_ad_object(head, name, dn, "7b4c1e92-3d8a-4f60-a5b3-e29f0c6d8a17", props)])


def organization_relationship_clixml() -> str:
    """`Get-OrganizationRelationship`: the HCW's relationship with the tenant (auditor reads
    it as part of the collection; no rule judges it)."""
    refs = _Refs()
    name = f"O365 to On-premises - {ORG_GUID}"
    head = _start(refs, f"{_SYSTEM_CONFIGURATION}.OrganizationRelationship")
    props = [
        _list(refs, "DomainNames", [TENANT_DOMAIN], "SmtpDomain"),
        _b("FreeBusyAccessEnabled", True),
        _s("TargetApplicationUri", "outlook.com"),
        _s(
            "TargetAutodiscoverEpr",
            "https://autodiscover-s.outlook.com/autodiscover/autodiscover.svc/WSSecurity",
        ),
        _b("Enabled", True),
    ]
    dn = f"CN={name},CN=Federation,{ORG_DN}"
    return _file([_ad_object(head, name, dn, "e80a5c36-91f2-4b7d-8c04-6d3b2f9e1a55", props)])


def organization_config_clixml() -> str:
    """`Get-OrganizationConfig`: the organisation's identity (a few of its many properties)."""
    refs = _Refs()
    head = _start(
        refs,
        "Microsoft.Exchange.Data.Directory.Management.OrganizationConfig",
        (
            "Microsoft.Exchange.Data.Directory.Management.ADPresentationObject",
            "Microsoft.Exchange.Data.ConfigurableObject",
            "System.Object",
        ),
    )
    props = [_b("MailTipsAllTipsEnabled", True), _b("OAuth2ClientProfileEnabled", True)]
    return _file([_ad_object(head, "Fabrikam", ORG_DN, ORG_GUID, props)])


def exsetup_clixml() -> str:
    """`(Get-Item $env:ExchangeInstallPath\\Bin\\ExSetup.exe).VersionInfo`, read on the server."""
    major, minor, build, revision = BUILD
    padded = f"{major}.{minor:02d}.{build:04d}.{revision:03d}"
    path = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\bin\\ExSetup.exe"
    props = "\n".join(
        [
            _s("Comments", "Cumulative Update 14"),
            _s("CompanyName", "Microsoft Corporation"),
            f'      <I32 N="FileBuildPart">{build}</I32>',
            f'      <I32 N="FileMajorPart">{major}</I32>',
            f'      <I32 N="FileMinorPart">{minor}</I32>',
            _s("FileName", path),
            f'      <I32 N="FilePrivatePart">{revision}</I32>',
            _s("FileVersion", padded),
            _s("InternalName", "ExSetup.exe"),
            _s("OriginalFilename", "ExSetup.exe"),
            _s("ProductName", "Microsoft® Exchange"),
            _s("ProductVersion", padded),
        ]
    )
    version = ".".join(str(part) for part in BUILD)
    return _file(
        [
            '  <Obj RefId="0">\n'
            + _tn(0, ("System.Diagnostics.FileVersionInfo", "System.Object"), "    ")
            + f"\n    <ToString>File:             {path}</ToString>\n    <Props>\n{props}\n"
            f'    </Props>\n    <MS>\n      <Version N="FileVersionRaw">{version}</Version>\n'
            f'      <Version N="ProductVersionRaw">{version}</Version>\n    </MS>\n  </Obj>\n'
        ]
    )


def exchange_certificates_clixml() -> str:
    """`Get-ExchangeCertificate -Server <server>` as the collection's view (the auth
    certificate, deployed on every server)."""
    der = auth_certificate()
    names = (
        "Selected.Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate",
        "System.Management.Automation.PSCustomObject",
        "System.Object",
    )
    subject = f"CN={AUTH_SUBJECT}"
    members = "\n".join(
        [
            _s("Thumbprint", auth_thumbprint()),
            _s("Subject", subject),
            _s("Issuer", subject),
            '      <DT N="NotBefore">2025-03-12T10:00:00+01:00</DT>',
            '      <DT N="NotAfter">2045-03-12T10:00:00+01:00</DT>',
            _s("Services", "SMTP"),
            _s("Status", "Valid"),
            _b("HasPrivateKey", True),
            _b("PrivateKeyExportable", True),
            '      <I32 N="PublicKeySize">2048</I32>',
            f'      <BA N="RawData">{base64.b64encode(der).decode("ascii")}</BA>',
        ]
    )
    return _file(
        [f'  <Obj RefId="0">\n{_tn(0, names, "    ")}\n    <MS>\n{members}\n    </MS>\n  </Obj>\n']
    )


def variant_configuration_clixml(server: str) -> str:
    """`Get-ExchangeDiagnosticInfo -Server <server> -Process Microsoft.Exchange.Directory.
    TopologyService -Component VariantConfiguration -Argument Overrides`: the signing override
    in effect on the server."""
    version = ".".join(str(part) for part in BUILD)
    result = "\r\n".join(
        [
            "<Diagnostics>",
            "  <ProcessInfo>",
            f"    <serverName>{server}</serverName>",
            f"    <fastTrainExchangeVersion>{version}</fastTrainExchangeVersion>",
            "  </ProcessInfo>",
            "  <Components>",
            "    <VariantConfiguration>",
            '      <Overrides Updated="2025-06-18T09:31:12.4071953Z">',
            "        <SettingOverride>",
            "          <Name>EnableSigningVerification</Name>",
            "          <Reason>Enabling Signing Verification</Reason>",
            f"          <ModifiedBy>{DOMAIN}/Users/Administrator</ModifiedBy>",
            "          <ComponentName>Data</ComponentName>",
            "          <SectionName>EnableSerializationDataSigning</SectionName>",
            "          <Status>Accepted</Status>",
            "          <Parameters>",
            "            <Parameter>Enabled=true</Parameter>",
            "          </Parameters>",
            "        </SettingOverride>",
            "      </Overrides>",
            "    </VariantConfiguration>",
            "  </Components>",
            "</Diagnostics>",
        ]
    )
    text = escape(result, quote=False).replace("\r\n", "_x000D__x000A_")
    names = (
        "Microsoft.Exchange.Management.Powershell.Support.ExchangeDiagnosticInfoResult",
        "Microsoft.Exchange.Data.ConfigurableObject",
        "System.Object",
    )
    return _file(
        [
            f'  <Obj RefId="0">\n{_tn(0, names, "    ")}\n    <ToString>{text}</ToString>\n'
            f'    <Props>\n      <S N="Result">{text}</S>\n      <Nil N="Identity" />\n'
            f"{_b('IsValid', True)}\n    </Props>\n    <MS>\n"
            f'      <S N="PSComputerName">{server.lower()}.{DOMAIN}</S>\n'
            '      <B N="PSShowComputerName">false</B>\n    </MS>\n  </Obj>\n'
        ]
    )


def trust_files() -> dict[str, str]:
    """Every hybrid-trust export of the example by path below auditor/examples/ (text; the
    caller writes it as Export-Clixml does)."""
    files = {
        "EX01/AuthServer.xml": auth_servers_clixml(),
        "EX01/AuthConfig.xml": auth_config_clixml(),
        "EX01/SettingOverride.xml": setting_overrides_clixml(),
        "EX01/HybridConfiguration.xml": hybrid_configuration_clixml(),
        "EX01/IntraOrganizationConnector.xml": intra_organization_connector_clixml(),
        "EX01/OrganizationRelationship.xml": organization_relationship_clixml(),
        "EX01/OrganizationConfig.xml": organization_config_clixml(),
    }
    for server in SERVERS:
        files[f"{server}/ExSetup.xml"] = exsetup_clixml()
        files[f"{server}/ExchangeCertificate.xml"] = exchange_certificates_clixml()
        files[f"{server}/VariantConfigurationOverrides.xml"] = variant_configuration_clixml(server)
    return files
