"""Writes the fixture organisations of the hybrid-trust rule cases (HT1xx) beside this file.

Run from the repository root with the reference corpus present:

    .venv/bin/python tests/rules/trust_orgs/make_trust_orgs.py

The certificate organisations are the real MonitorExchangeAuthCertificate lab of
microsoft/CSS-Exchange (MIT; `../shared/reference/css-exchange/AuthCertificate`): its AuthConfig
and certificate exports copied, and for the second server (`E2k16-2`, which the real export
does not cover) the first server's export with `PSComputerName` changed and, where a case
needs it, one certificate object taken out. The ExSetup and Get-ExchangeServer exports of the
build organisations are synthetic (see README.md).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
from conftest import CSS_EXCHANGE  # noqa: E402

LAB = CSS_EXCHANGE / "AuthCertificate"
CURRENT = "E1BDF9AE58C93C75E76C9DD882138FB8FF0FA786"
NEXT = "BC6BF924D6EF046E64F8D1987DC1D7D2F4C0042A"
HEAD = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\n'

SERVER = """  <Obj RefId="{ref}">
    <TN RefId="{ref}">
      <T>Microsoft.Exchange.Data.Directory.Management.ExchangeServer</T>
      <T>System.Object</T>
    </TN>
    <ToString>{name}</ToString>
    <Props>
      <S N="Name">{name}</S>
      <S N="Fqdn">{name}.contoso.lab</S>
      <Obj N="AdminDisplayVersion" RefId="{version_ref}">
        <TN RefId="{version_ref}">
          <T>Microsoft.Exchange.Data.ServerVersion</T>
          <T>System.Object</T>
        </TN>
        <ToString>Version {major}.{minor} (Build {build}.{revision})</ToString>
        <Props>
          <I32 N="Major">{major}</I32>
          <I32 N="Minor">{minor}</I32>
          <I32 N="Build">{build}</I32>
          <I32 N="Revision">{revision}</I32>
        </Props>
      </Obj>
      <B N="IsClientAccessServer">{cas}</B>
      <B N="IsEdgeServer">{edge}</B>
    </Props>
  </Obj>
"""

EXSETUP = """  <Obj RefId="0">
    <TN RefId="0">
      <T>System.Diagnostics.FileVersionInfo</T>
      <T>System.Object</T>
    </TN>
    <ToString>File: C:\\Program Files\\Microsoft\\Exchange Server\\V15\\bin\\ExSetup.exe</ToString>
    <Props>
      <S N="FileVersion">{padded}</S>
      <I32 N="FileMajorPart">{major}</I32>
      <I32 N="FileMinorPart">{minor}</I32>
      <I32 N="FileBuildPart">{build}</I32>
      <I32 N="FilePrivatePart">{revision}</I32>
      <S N="InternalName">ExSetup.exe</S>
    </Props>
    <MS>
      <S N="PSComputerName">{server}.contoso.lab</S>
    </MS>
  </Obj>
"""


def server_export(*servers: tuple[str, str, bool, bool]) -> str:
    """Get-ExchangeServer of (name, AdminDisplayVersion build, client access, edge)."""
    objects = []
    for index, (name, version, cas, edge) in enumerate(servers):
        major, minor, build, revision = version.split(".")
        objects.append(
            SERVER.format(
                ref=2 * index,
                version_ref=2 * index + 1,
                name=name,
                major=major,
                minor=minor,
                build=build,
                revision=revision,
                cas=str(cas).lower(),
                edge=str(edge).lower(),
            )
        )
    return HEAD + "".join(objects) + "</Objs>\n"


def exsetup(server: str, version: str) -> str:
    major, minor, build, revision = version.split(".")
    padded = f"{int(major):02}.{int(minor):02}.{int(build):04}.{int(revision):03}"
    fields = {"major": major, "minor": minor, "build": build, "revision": revision}
    return HEAD + EXSETUP.format(server=server, padded=padded, **fields) + "</Objs>\n"


def certificates(server: str, *, without: str = "") -> str:
    """The lab's real certificate export, as if taken on `server`, less one certificate."""
    text = (LAB / "GetExchangeCertificate.xml").read_text(encoding="utf-8-sig")
    text = text.replace("e2k16-1.contoso.lab", f"{server.lower()}.contoso.lab")
    if without:
        objects = re.findall(r"  <Obj RefId=.*?\n  </Obj>\n", text, flags=re.S)
        kept = [obj for obj in objects if f"[Thumbprint]_x000D__x000A_  {without}" not in obj]
        assert len(kept) == len(objects) - 1, without
        text = HEAD + "".join(kept) + "</Objs>"
    return text


def der_of(thumbprint: str) -> str:
    """The base64 DER (RawData) of one of the lab's certificates."""
    text = (LAB / "GetExchangeCertificate.xml").read_text(encoding="utf-8-sig")
    for obj in re.findall(r"  <Obj RefId=.*?\n  </Obj>\n", text, flags=re.S):
        if f"[Thumbprint]_x000D__x000A_  {thumbprint}" in obj:
            found = re.search(r'<BA N="RawData">([^<]+)</BA>', obj)
            assert found is not None
            return str(found.group(1))
    raise AssertionError(thumbprint)


def graph(first_party_keys: list[dict[str, object]], app_keys: list[dict[str, object]]) -> str:
    """A Graph export (GET /servicePrincipals and GET /applications pages merged into one
    `value` list, as the collection script's help saves them)."""
    principals = [
        {
            "@odata.type": "#microsoft.graph.servicePrincipal",
            "id": "5f0e2c1a-9d8b-4c7e-a6f5-0b1c2d3e4f50",
            "appId": "00000002-0000-0ff1-ce00-000000000000",
            "displayName": "Office 365 Exchange Online",
            "servicePrincipalType": "Application",
            "keyCredentials": first_party_keys,
        },
        {
            "@odata.type": "#microsoft.graph.application",
            "id": "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
            "appId": "3c9d5e7f-1a2b-4c6d-8e0f-a1b2c3d4e5f6",
            "displayName": "ExchangeServerApp-76fd9fb1-54f2-4fc8-8b04-97ca4824a55b",
            "signInAudience": "AzureADMyOrg",
            "keyCredentials": app_keys,
        },
    ]
    document = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata", "value": principals}
    return json.dumps(document, indent=2) + "\n"


def key(thumbprint: str, *, with_der: bool) -> dict[str, object]:
    """A keyCredential: the DER as `key` (a single-object GET), else only the identifier."""
    return {
        "customKeyIdentifier": base64.b64encode(bytes.fromhex(thumbprint)).decode(),
        "displayName": "CN=Microsoft Exchange Server Auth Certificate",
        "endDateTime": "2027-12-30T16:55:13Z",
        "key": der_of(thumbprint) if with_der else None,
        "keyId": "0c9a8b7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d",
        "startDateTime": "2022-12-31T16:55:13Z",
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
    }


def scuba(has_keys: bool) -> str:
    """ScubaGear's ProviderSettingsExport.json, only the keys the hybrid trust reads."""
    credentials = [
        {
            "KeyId": "f724f499-b1fc-4915-b3c1-f0a219aa18ab",
            "DisplayName": "CN=Microsoft Exchange Server Auth Certificate",
            "StartDateTime": "2022-12-31T16:55:13Z",
            "EndDateTime": "2027-12-30T16:55:13Z",
            "IsFromApplication": False,
        }
    ]
    legacy = {
        "ObjectId": "f724f499-b1fc-4915-b3c1-f0a219aa18ab",
        "AppId": "00000002-0000-0ff1-ce00-000000000000",
        "DisplayName": "Office 365 Exchange Online",
        "SignInAudience": "AzureADMultipleOrgs",
        "HasKeyCredentials": has_keys,
        "KeyCredentials": credentials if has_keys else [],
        "PasswordCredentials": None,
        "FederatedCredentials": None,
        "AppOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
    }
    document = {
        "baseline_version": "1",
        "legacy_exchange_service_principal": [legacy],
        "dedicated_exchange_hybrid_applications": {
            "DedicatedHybridAppConfigured": True,
            "Apps": None,
        },
    }
    return json.dumps(document, indent=2) + "\n"


def write(folder: str, files: dict[str, str]) -> None:
    target = HERE / folder
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8", newline="\n")


def main() -> None:
    fleet = server_export(
        ("EX01", "15.2.1748.10", True, False),
        ("EX02", "15.1.2507.6", True, False),
        ("EDGE1", "15.2.1544.4", False, True),
    )
    ok = {"ExchangeServer.xml": fleet, "ExSetup-EX01.xml": exsetup("EX01", "15.2.1748.24")}
    write("builds-clean", {**ok, "ExSetup-EX02.xml": exsetup("EX02", "15.1.2507.55")})
    write("builds-below", {**ok, "ExSetup-EX02.xml": exsetup("EX02", "15.1.2507.44")})
    write("builds-missing", ok)
    write("builds-exchange-2013", {**ok, "ExSetup-EX02.xml": exsetup("EX02", "15.0.1497.48")})

    lab_servers = (LAB / "GetExchangeServer.xml").read_text(encoding="utf-8-sig")
    config = (LAB / "GetAuthConfig.xml").read_text(encoding="utf-8-sig")
    # The lab's AuthConfig with no next certificate (the real NoNextCert file is another state
    # of the lab, whose current certificate no certificate export holds).
    no_next = config.replace(f">{NEXT}</S>", "></S>")
    assert no_next != config
    broken = (LAB / "GetExchangeCertificateBroken.xml").read_text(encoding="utf-8-sig")
    first = certificates("E2k16-1")
    lab = {
        "ExchangeServer.xml": lab_servers,
        "ExchangeCertificate-1.xml": first,
        "ExSetup-1.xml": exsetup("E2k16-1", "15.1.2507.55"),
        "ExSetup-2.xml": exsetup("E2k16-2", "15.1.2507.55"),
    }
    write(
        "certs-clean",
        {**lab, "AuthConfig.xml": config, "ExchangeCertificate-2.xml": certificates("E2k16-2")},
    )
    write(
        "certs-no-current",
        {
            **lab,
            "AuthConfig.xml": config.replace(f">{CURRENT}</S>", "></S>"),
            "ExchangeCertificate-2.xml": certificates("E2k16-2"),
        },
    )
    write(
        "certs-current-absent",
        {
            **lab,
            "AuthConfig.xml": no_next,
            "ExchangeCertificate-2.xml": broken.replace("e2k16-1.contoso", "e2k16-2.contoso"),
        },
    )
    write("certs-export-missing", {**lab, "AuthConfig.xml": no_next})
    write(
        "certs-next-absent",
        {
            **lab,
            "AuthConfig.xml": config,
            "ExchangeCertificate-2.xml": certificates("E2k16-2", without=NEXT),
        },
    )

    clean = {
        **lab,
        "AuthConfig.xml": config,
        "ExchangeCertificate-2.xml": certificates("E2k16-2"),
    }
    current_key = key(CURRENT, with_der=True)
    write("cloud-clean", {**clean, "graph.json": graph([], [current_key])})
    write(
        "cloud-first-party-keys",
        {**clean, "graph.json": graph([key(CURRENT, with_der=False)], [current_key])},
    )
    write(
        "cloud-app-lacks-current",
        {**clean, "graph.json": graph([], [key(NEXT, with_der=False)])},
    )
    write("scuba-clean", {**clean, "ProviderSettingsExport.json": scuba(False)})
    write("scuba-first-party-keys", {**clean, "ProviderSettingsExport.json": scuba(True)})


if __name__ == "__main__":
    main()
