"""The collection script gathers the hybrid OAuth trust, read-only, in real PowerShell.

Stand-ins (`ExchangeStandIn.psm1`) return objects of the documented shape (notes section 2):
every export lands in the server folder with its hash in `.sha256sums` and its object count in
the transcript; a failing or missing command is a warning in the transcript, its file is not
written and the rest of the collection goes on; nothing on Exchange changes, the
VariantConfiguration diagnostic is only ever read (`-Argument Overrides`, never `Refresh`) and
nothing is written outside -OutDir. The objects are synthetic (no real Get-AuthServer export
exists).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import socket
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import harness
import pytest
import scenarios
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from auditor.model import Severity
from auditor.parsers import read_inventory

pytestmark = pytest.mark.pwsh

PS = "{http://schemas.microsoft.com/powershell/2004/04}"
TENANT = "8c5f2a1e-0b6d-4f3a-9e7c-2d1b4a6f8e90"
DEDICATED_APP = "3f9d1c2b-6a4e-4b8f-9c1d-7e2a5b8c0d4f"
ORG_WIDE = {
    "AuthServer.xml": "Get-AuthServer",
    "AuthConfig.xml": "Get-AuthConfig",
    "SettingOverride.xml": "Get-SettingOverride",
    "HybridConfiguration.xml": "Get-HybridConfiguration",
    "IntraOrganizationConnector.xml": "Get-IntraOrganizationConnector",
    "OrganizationRelationship.xml": "Get-OrganizationRelationship",
    "OrganizationConfig.xml": "Get-OrganizationConfig",
}
PER_SERVER = {
    "ExSetup.xml": "Get-Item",
    "ExchangeCertificate.xml": "Get-ExchangeCertificate",
    "VariantConfigurationOverrides.xml": "Get-ExchangeDiagnosticInfo",
}


def _a_versioned_pe_file() -> bytes:
    """The ExSetup.exe stand-in: a real PE file with a version resource (the PowerShell engine
    of the pwsh that runs the tests)."""
    pwsh = harness.require_pwsh()
    engine = next(pwsh.resolve().parent.rglob("System.Management.Automation.dll"), None)
    assert engine is not None, f"no System.Management.Automation.dll below {pwsh.resolve().parent}"
    return engine.read_bytes()


@pytest.fixture(autouse=True, scope="module")
def _report_powershell_time(pytestconfig: pytest.Config) -> None:
    harness.register_time_report(pytestconfig)


def _auth_certificate() -> bytes:
    """A self-signed DER certificate shaped like the Exchange Server Auth Certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Microsoft Exchange Server Auth Certificate")]
    )
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x22AEC57F54869DBD)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=5 * 365))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


def _variant_overrides(server: str) -> str:
    """The `<Diagnostics>` text of the read-only VariantConfiguration diagnostic (real shape:
    HealthChecker's GetExchangeDiagnosticInfo_ADTopVariantConfiguration1.xml)."""
    return (
        f"<Diagnostics><ProcessInfo><serverName>{server}</serverName>"
        "<fastTrainExchangeVersion>15.2.1748.24</fastTrainExchangeVersion></ProcessInfo>"
        "<Components><VariantConfiguration><Overrides><SettingOverride>"
        "<Name>EnableExchangeHybrid3PAppFeature</Name><ComponentName>Global</ComponentName>"
        "<SectionName>ExchangeOnpremAsThirdPartyAppId</SectionName><Status>Accepted</Status>"
        "<Parameters><Parameter>Enabled=true</Parameter></Parameters>"
        "</SettingOverride></Overrides></VariantConfiguration></Components></Diagnostics>"
    )


def _trust_state(machine: str, der: bytes) -> dict[str, Any]:
    """A hybrid organisation with the dedicated app configured (synthetic, documented shape)."""
    state = harness.default_state()
    state["servers"][0]["Name"] = machine
    state["auth_servers"] = [
        {
            "Name": f"EvoSts - {TENANT}",
            "Type": "AzureAD",
            "Enabled": True,
            "Realm": TENANT,
            "ApplicationIdentifier": DEDICATED_APP,
            "DomainName": ["contoso.mail.onmicrosoft.com"],
            "IssuerIdentifier": f"https://sts.windows.net/{TENANT}/",
            "AuthMetadataUrl": f"https://login.windows.net/{TENANT}/federationmetadata/2007-06/federationmetadata.xml",
        },
        {
            "Name": f"ACS - {TENANT}",
            "Type": "MicrosoftACS",
            "Enabled": True,
            "Realm": TENANT,
            "ApplicationIdentifier": None,
            "DomainName": ["contoso.mail.onmicrosoft.com", "contoso.com"],
            "IssuerIdentifier": "00000001-0000-0000-c000-000000000000",
            "AuthMetadataUrl": f"https://accounts.accesscontrol.windows.net/{TENANT}/metadata/json/1",
        },
    ]
    state["auth_config"] = {
        "Name": "Auth Configuration",
        "CurrentCertificateThumbprint": hashlib.sha1(der).hexdigest().upper(),
        "PreviousCertificateThumbprint": "",
        "NextCertificateThumbprint": "",
        "NextCertificateEffectiveDate": None,
        "ServiceName": "00000002-0000-0ff1-ce00-000000000000",
        "Realm": "",
    }
    state["setting_overrides"] = [
        {
            "Name": "EnableExchangeHybrid3PAppFeature",
            "ComponentName": "Global",
            "SectionName": "ExchangeOnpremAsThirdPartyAppId",
            "Parameters": ["Enabled=true"],
            "Server": None,
            "MinVersion": None,
            "MaxVersion": None,
            "Status": "Accepted",
        }
    ]
    # No hybrid configuration object: an empty result, which must not read as a failure.
    state["hybrid_configuration"] = []
    state["intra_organization_connectors"] = [
        {
            "Name": "ExchangeHybridOnPremisesToOnline",
            "Enabled": True,
            "TargetAddressDomains": ["contoso.mail.onmicrosoft.com"],
            "DiscoveryEndpoint": "https://autodiscover-s.outlook.com/autodiscover/autodiscover.svc",
        }
    ]
    state["organization_relationships"] = []
    state["organization_config"] = {
        "Name": "Contoso",
        "Guid": "76fd9fb1-54f2-4fc8-8b04-97ca4824a55b",
        "DistinguishedName": (
            "CN=Contoso,CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=contoso,DC=com"
        ),
    }
    state["certificates"] = {
        machine: [
            {
                "RawData": base64.b64encode(der).decode("ascii"),
                "Services": "SMTP",
                "Status": "Valid",
                "PrivateKeyExportable": True,
                "PublicKeySize": 2048,
            }
        ]
    }
    state["variant_overrides"] = {machine: _variant_overrides(machine)}
    return state


def _collect(root: Path, state: dict[str, Any], *, exsetup: bytes | None) -> dict[str, Any]:
    standin = harness.StandIn(root / "server", state)
    if exsetup is not None:
        standin.place("Bin\\ExSetup.exe", exsetup)
    out = root / "out"
    script = scenarios.write_script(root / "scripts", "collect.ps1", scenarios.render_collect())
    state_before = standin.state_bytes()
    before = _tree(root, skip={out})
    run = standin.run(script, "-OutDir", harness.ps_quote(str(out)))
    after = _tree(root, skip={out, standin.log_path})
    before.pop(standin.log_path, None)
    return {
        "run": run,
        "out": out,
        "state_changed": standin.state_bytes() != state_before,
        "outside_changed": {
            path for path in before.keys() | after.keys() if before.get(path) != after.get(path)
        },
    }


def _tree(root: Path, skip: set[Path]) -> dict[Path, bytes]:
    return {
        path: path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and not any(path == s or s in path.parents for s in skip)
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    harness.require_pwsh()
    root = tmp_path_factory.mktemp("collect-trust")
    # .NET's Environment.MachineName on Linux/macOS: the host name up to the first dot.
    machine = socket.gethostname().split(".")[0]
    der = _auth_certificate()
    failing = _trust_state(machine, der)
    failing["fail_commands"] = ["Get-AuthServer"]
    failing["omit_commands"] = ["Get-SettingOverride"]
    results = harness.run_stories(
        {
            "complete": lambda: _collect(
                root / "complete", _trust_state(machine, der), exsetup=_a_versioned_pe_file()
            ),
            "gaps": lambda: _collect(root / "gaps", failing, exsetup=None),
        }
    )
    return {"machine": machine, "der": der, **results}


def _manifest(server_dir: Path) -> dict[str, str]:
    entries = {}
    for line in (server_dir / ".sha256sums").read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        entries[name] = digest
    return entries


def _objects(path: Path) -> list[ElementTree.Element]:
    return list(ElementTree.parse(path).getroot().findall(f"{PS}Obj"))


def _props(obj: ElementTree.Element) -> dict[str, ElementTree.Element]:
    found = {}
    for holder in (obj, obj.find(f"{PS}Props"), obj.find(f"{PS}MS")):
        if holder is None:
            continue
        for child in holder:
            if "N" in child.attrib:
                found[child.attrib["N"]] = child
    return found


def _transcript(out: Path) -> str:
    (log,) = out.glob(".auditor-collect-*.log")
    return log.read_text(encoding="utf-8-sig")


def test_every_trust_export_is_written_listed_and_hashed(runs: dict[str, Any]) -> None:
    result = runs["complete"]
    run: harness.Run = result["run"]
    assert run.exit_code == 0, run.describe()
    server_dir: Path = result["out"] / runs["machine"]
    manifest = _manifest(server_dir)
    for name in (*ORG_WIDE, *PER_SERVER):
        assert name in manifest, (name, sorted(manifest))
        assert hashlib.sha256((server_dir / name).read_bytes()).hexdigest() == manifest[name]
    transcript = _transcript(result["out"])
    assert not re.search(r"AUDITOR-(NO-COMMAND|EXPORT-FAILED):", transcript), transcript
    assert "AUDITOR-DONE:" in transcript
    # Every file's object count is in the transcript; an empty result says 0, not a failure.
    counts = dict(re.findall(r"AUDITOR-INFO: (\S+) holds (\d+) object\(s\) of ", transcript))
    assert counts["AuthServer.xml"] == "2"
    assert counts["HybridConfiguration.xml"] == "0"
    assert counts["OrganizationRelationship.xml"] == "0"
    assert _objects(server_dir / "HybridConfiguration.xml") == []
    for name in (*ORG_WIDE, *PER_SERVER):
        assert int(counts[name]) == len(_objects(server_dir / name)), name


def test_the_exports_keep_what_auditor_reads(runs: dict[str, Any]) -> None:
    server_dir: Path = runs["complete"]["out"] / runs["machine"]
    der: bytes = runs["der"]
    (certificate,) = _objects(server_dir / "ExchangeCertificate.xml")
    props = _props(certificate)
    assert base64.b64decode(props["RawData"].text or "") == der
    assert props["Thumbprint"].text == hashlib.sha1(der).hexdigest().upper()
    assert props["Services"].text == "SMTP" and props["Status"].text == "Valid"
    assert props["NotAfter"].tag == f"{PS}DT"
    (exsetup,) = _objects(server_dir / "ExSetup.xml")
    assert exsetup.find(f"{PS}TN/{PS}T").text == "System.Diagnostics.FileVersionInfo"  # type: ignore[union-attr]
    assert {"FileMajorPart", "FileMinorPart", "FileBuildPart", "FilePrivatePart"} <= set(
        _props(exsetup)
    )
    (diagnostic,) = _objects(server_dir / "VariantConfigurationOverrides.xml")
    assert "ExchangeOnpremAsThirdPartyAppId" in (_props(diagnostic)["Result"].text or "")
    (override,) = _objects(server_dir / "SettingOverride.xml")
    assert _props(override)["SectionName"].text == "ExchangeOnpremAsThirdPartyAppId"


def test_the_collection_reads_only(runs: dict[str, Any]) -> None:
    for label in ("complete", "gaps"):
        result = runs[label]
        run: harness.Run = result["run"]
        assert run.changing_calls() == [], label
        assert not result["state_changed"], label
        assert result["outside_changed"] == set(), (label, result["outside_changed"])
        for call in run.calls:
            assert call["parameters"].get("ErrorAction") == "Stop", call
    calls = runs["complete"]["run"].calls
    diagnostics = [c for c in calls if c["command"] == "Get-ExchangeDiagnosticInfo"]
    assert [c["parameters"]["Argument"] for c in diagnostics] == ["Overrides"]
    per_server = [c for c in calls if c["command"] in PER_SERVER.values()]
    assert per_server and all(c["parameters"]["Server"] == runs["machine"] for c in per_server)


def test_a_failing_or_missing_command_is_a_warning_and_the_rest_goes_on(
    runs: dict[str, Any],
) -> None:
    result = runs["gaps"]
    run: harness.Run = result["run"]
    assert run.exit_code == 0, run.describe()
    server_dir: Path = result["out"] / runs["machine"]
    manifest = _manifest(server_dir)
    missing = {"AuthServer.xml", "SettingOverride.xml", "ExSetup.xml"}
    for name in missing:
        assert not (server_dir / name).exists() and name not in manifest
    for name in (set(ORG_WIDE) | set(PER_SERVER)) - missing:
        assert name in manifest, name
    assert "FrontEnd/HttpProxy/Rest/web.config" not in manifest  # none laid out: still finished
    transcript = _transcript(result["out"])
    assert re.search(
        r"AUDITOR-EXPORT-FAILED: Get-AuthServer failed \(.+\); AuthServer\.xml", transcript
    )
    assert re.search(r"AUDITOR-NO-COMMAND: Get-SettingOverride is not available", transcript)
    assert re.search(r"AUDITOR-EXPORT-FAILED: Get-Item .*ExSetup\.exe failed", transcript)
    assert "AUDITOR-DONE:" in transcript
    # auditor holds the collection against its transcript: each gap is a low problem at its
    # line (only the hybrid-trust rules need it, not assessed by default), and the server's
    # other evidence stays whole.
    inventory = read_inventory([result["out"]])
    at_log = [problem for problem in inventory.problems if problem.path.endswith(".log")]
    said = " ".join(problem.message for problem in at_log)
    for code in ("AUDITOR-EXPORT-FAILED", "AUDITOR-NO-COMMAND"):
        assert code in said, said
    assert {problem.severity for problem in at_log} == {Severity.LOW}
    assert not [p for p in inventory.problems if p.path.endswith(".sha256sums")]
