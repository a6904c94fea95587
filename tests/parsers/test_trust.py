"""The hybrid OAuth trust exports read from CLIXML: what a reviewer relies on in each record.

The AuthServer and IntraOrganizationConnector files are synthetic (`data/trust/README.md`: no
real export is public); the real samples are read in `tests/test_corpus_trust.py`. The DER
reader is checked against `cryptography` (a test-only dependency) as the oracle.
"""

from __future__ import annotations

import base64
import datetime
import json
import shutil
from pathlib import Path

import pytest
from conftest import run_cli
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from parser_helpers import DATA, raw_input

from auditor.model import (
    AuthServer,
    Evidence,
    ExportedList,
    InputFormat,
    ParseResult,
    ProblemCode,
    SettingOverride,
    SourceFile,
    TrustEvidence,
)
from auditor.parsers import clixml, read_inventory
from auditor.parsers.base import RawInput
from auditor.parsers.der import read_certificate
from auditor.parsers.fold import fold
from auditor.parsers.reading import ReaderState
from auditor.parsers.transfer import from_plain, to_plain

TRUST = DATA / "trust"
TENANT = "6b1e4d2a-7c3f-4e59-9a1d-2f8e5c7b9a10"
CLIXML_HEAD = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'


def _parse(text: str, *, server: str | None = None) -> ParseResult:
    data = (CLIXML_HEAD + text + "</Objs>").encode()
    return clixml.parse(RawInput(path="export.xml", data=data, sha256="0" * 64, server=server))


def test_auth_servers_read_by_type_name_with_null_and_empty_apart() -> None:
    result = clixml.parse(raw_input(TRUST / "auth-servers.xml"))

    assert result.problems == ()
    assert result.partner_applications == ()
    evo, acs, legacy = result.trust.auth_servers
    assert (evo.name, evo.type, evo.enabled, evo.realm) == (
        f"EvoSts - {TENANT}",
        "AzureAD",
        True,
        TENANT,
    )
    assert evo.application_identifier == "3c9d5e7f-1a2b-4c6d-8e0f-a1b2c3d4e5f6"
    assert evo.domain_names == ExportedList(("contoso.mail.onmicrosoft.com",), True)
    assert evo.issuer_identifier == f"https://sts.windows.net/{TENANT}/"
    assert evo.is_default_authorization_endpoint is True
    assert evo.source.line == 2
    assert acs.type == "MicrosoftACS"  # by name: the enum's integer (0) is never read
    assert acs.application_identifier is None  # <Nil>
    assert acs.domain_names == ExportedList(("contoso.mail.onmicrosoft.com", "contoso.com"), True)
    # The legacy entry: Type $null, ApplicationIdentifier "" and two properties not given.
    assert (legacy.type, legacy.application_identifier, legacy.enabled) == (None, "", False)
    assert legacy.graph_base_url is None and legacy.domain_names is None
    assert legacy.missing == ("GraphBaseUrl", "DomainName")
    assert evo.missing == () and acs.missing == ()


def test_intra_organization_connector() -> None:
    result = clixml.parse(raw_input(TRUST / "intra-organization-connector.xml"))

    assert result.problems == ()
    (connector,) = result.trust.intra_organization_connectors
    assert connector.enabled is True
    assert connector.discovery_endpoint == (
        "https://autodiscover-s.outlook.com/autodiscover/autodiscover.svc"
    )
    assert connector.target_address_domains == ExportedList(("contoso.mail.onmicrosoft.com",), True)


def test_trust_exports_are_sniffed_by_content_whatever_their_name(tmp_path: Path) -> None:
    shutil.copy(TRUST / "auth-servers.xml", tmp_path / "notes.txt")

    inventory = read_inventory([tmp_path])

    assert [server.type for server in inventory.trust.auth_servers] == [
        "AzureAD",
        "MicrosoftACS",
        None,
    ]
    assert [source.format for source in inventory.inputs] == [InputFormat.CLIXML]
    # Only the "nothing to audit" problem: the file itself is a legitimate input.
    assert [problem.subject for problem in inventory.problems] == ["inputs"]


def _override(parameters: str, server: str = '<Nil N="Server" />') -> str:
    return f"""<Obj RefId="0"><TN RefId="0">
<T>Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.ConfigurationSettings.SettingOverride</T>
</TN><Props>
<S N="ComponentName">Global</S><S N="SectionName">ExchangeOnpremAsThirdPartyAppId</S>
<Obj N="Parameters" RefId="1"><TN RefId="1"><T>System.String[]</T></TN>{parameters}</Obj>
{server}
<S N="MinVersion">15.2.1544.25</S><Nil N="MaxVersion" />
<Obj N="Status" RefId="2"><TN RefId="2"><T>SettingOverrideStatus</T><T>System.Enum</T></TN>
<ToString>Accepted</ToString><I32>3</I32></Obj>
<S N="Name">EnableExchangeHybrid3PAppFeature</S></Props></Obj>"""


def test_setting_override_keeps_raw_parameters_and_server_scope() -> None:
    result = _parse(
        _override(
            "<LST><S> enabled = TRUE </S></LST>",
            '<Obj N="Server" RefId="3"><TNRef RefId="1" /><LST><S>EX0*</S></LST></Obj>',
        )
    )

    assert result.problems == ()
    (override,) = result.trust.setting_overrides
    assert override.parameters == ExportedList((" enabled = TRUE ",), True)  # judged later
    assert override.servers == ExportedList(("EX0*",), True)
    assert (override.min_version, override.max_version) == ("15.2.1544.25", None)
    assert override.status == "Accepted"
    assert override.missing == ("Reason",)


def test_a_truncated_parameter_list_is_flagged() -> None:
    items = "".join(f"<S>P{number}=1</S>" for number in range(clixml.MAX_ITEMS + 5))
    result = _parse(_override(f"<LST>{items}</LST>"))

    (override,) = result.trust.setting_overrides
    assert override.parameters is not None and not override.parameters.complete
    assert len(override.parameters.values) == clixml.MAX_ITEMS


def test_a_parameter_list_cut_by_depth_is_not_complete() -> None:
    result = _parse(_override("<ToString>Enabled=true</ToString>"))

    (override,) = result.trust.setting_overrides
    assert override.parameters == ExportedList(("Enabled=true",), False)


def test_per_server_facts_take_the_server_folder_before_pscomputername() -> None:
    exsetup = """<Obj RefId="0"><TN RefId="0"><T>System.Diagnostics.FileVersionInfo</T></TN>
<Props><I32 N="FileMajorPart">15</I32><I32 N="FileMinorPart">1</I32>
<I32 N="FileBuildPart">2507</I32><I32 N="FilePrivatePart">55</I32>
<S N="FileVersion">15.01.2507.055</S><S N="InternalName">ExSetup.exe</S></Props>
<MS><S N="PSComputerName">ex-02.contoso.lab</S></MS></Obj>"""

    from_layout = _parse(exsetup, server="EX01").trust.exsetup_versions
    from_export = _parse(exsetup).trust.exsetup_versions

    assert [(v.server, v.build, v.file_version) for v in from_layout] == [
        ("EX01", "15.1.2507.55", "15.01.2507.055")
    ]
    assert from_export[0].server == "ex-02.contoso.lab"
    assert from_export[0].parts == (15, 1, 2507, 55)


def test_a_file_version_of_another_file_stays_what_it_is() -> None:
    other = """<Obj RefId="0"><TN RefId="0"><T>System.Diagnostics.FileVersionInfo</T></TN>
<Props><I32 N="FileMajorPart">10</I32><S N="InternalName">notepad.exe</S></Props></Obj>"""

    result = _parse(other)

    assert not result.trust
    (problem,) = result.problems
    assert "holds no partner application" in problem.message


def test_a_diagnostic_of_another_component_stays_what_it_is() -> None:
    other = """<Obj RefId="0"><TN RefId="0">
<T>Microsoft.Exchange.Management.Powershell.Support.ExchangeDiagnosticInfoResult</T></TN>
<Props><S N="Result">&lt;Diagnostics&gt;&lt;Components&gt;&lt;Store/&gt;&lt;/Components&gt;
&lt;/Diagnostics&gt;</S></Props></Obj>"""

    result = _parse(other)

    assert not result.trust
    assert "holds no partner application" in result.problems[0].message


def _certificate(
    name: x509.Name, not_before: datetime.datetime, not_after: datetime.datetime
) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.DER)


UTC = datetime.UTC
NAMES = {
    "auth": x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Microsoft Exchange Server Auth")]),
    "unicode": x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso"),
            x509.NameAttribute(NameOID.COMMON_NAME, "mäil.contoso.lab ✓"),
        ]
    ),
    "printable": x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "mail", _type=x509.name._ASN1Type.PrintableString)]
    ),
    "bmp": x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, "Ωmega", _type=x509.name._ASN1Type.BMPString)]
    ),
    "no common name": x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Contoso")]),
}
VALIDITY = {
    "utc time": (datetime.datetime(2023, 1, 5, 9, 4, 48, tzinfo=UTC), 5),
    "generalized time after 2049": (datetime.datetime(2047, 6, 1, tzinfo=UTC), 10),
    "utc time of the 1950s": (datetime.datetime(1951, 2, 28, 23, 59, 59, tzinfo=UTC), 1),
}


@pytest.mark.parametrize("validity", VALIDITY, ids=list(VALIDITY))
@pytest.mark.parametrize("name", NAMES, ids=list(NAMES))
def test_der_reader_agrees_with_cryptography(name: str, validity: str) -> None:
    start, years = VALIDITY[validity]
    end = start.replace(year=start.year + years)
    der = _certificate(NAMES[name], start, end)
    oracle = x509.load_der_x509_certificate(der)

    facts = read_certificate(der)

    assert not isinstance(facts, str), facts
    assert facts.thumbprint == oracle.fingerprint(hashes.SHA1()).hex().upper()
    assert facts.not_before == oracle.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert facts.not_after == oracle.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    common = oracle.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert facts.subject == (str(common[0].value) if common else None)


def test_a_certificate_is_read_from_rawdata_and_its_thumbprint_checked() -> None:
    der = _certificate(NAMES["auth"], *_window())
    encoded = base64.b64encode(der).decode()
    thumbprint = x509.load_der_x509_certificate(der).fingerprint(hashes.SHA1()).hex().upper()
    projection = f"""<Obj RefId="0"><TN RefId="0">
<T>Selected.Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate</T></TN>
<Props><S N="Thumbprint">{"0" * 40}</S><BA N="RawData">{encoded}</BA></Props>
<MS><S N="PSComputerName">ex-01.contoso.lab</S></MS></Obj>"""

    result = _parse(projection)

    (certificate,) = result.trust.exchange_certificates
    assert certificate.thumbprint == thumbprint
    assert certificate.server == "ex-01.contoso.lab"
    (problem,) = result.problems
    assert problem.code is ProblemCode.INCOMPLETE_EVIDENCE
    assert thumbprint in problem.message and "0" * 40 in problem.message


def _window() -> tuple[datetime.datetime, datetime.datetime]:
    return datetime.datetime(2024, 1, 1, tzinfo=UTC), datetime.datetime(2029, 1, 1, tzinfo=UTC)


def _evidence(path: str, line: int) -> Evidence:
    return Evidence(path, line, "<Obj RefId='0'>", "0" * 64, InputFormat.CLIXML)


def _records() -> TrustEvidence:
    server = AuthServer(
        "EvoSts",
        "AzureAD",
        True,
        TENANT,
        None,
        "",
        None,
        None,
        None,
        ExportedList(("contoso.mail.onmicrosoft.com",), False),
        None,
        _evidence("b.xml", 2),
        ("GraphBaseUrl",),
    )
    override = SettingOverride(
        "o", "Global", "S", None, None, None, None, None, "Accepted", _evidence("a.xml", 9)
    )
    return TrustEvidence(auth_servers=(server,), setting_overrides=(override,))


def test_trust_records_travel_between_processes_unchanged() -> None:
    result = ParseResult(source=SourceFile("b.xml", "0" * 64, InputFormat.CLIXML), trust=_records())

    state = ReaderState([result], [], {}, {}, [], [], [])

    assert from_plain(to_plain(state)) == state


def test_the_fold_keeps_every_trust_record_in_order_and_parse_json_shows_them() -> None:
    exsetup = _parse(
        """<Obj RefId="0"><TN RefId="0"><T>System.Diagnostics.FileVersionInfo</T></TN>
<Props><I32 N="FileMajorPart">15</I32><I32 N="FileMinorPart">2</I32>
<I32 N="FileBuildPart">1748</I32><I32 N="FilePrivatePart">24</I32>
<S N="OriginalFilename">ExSetup.exe</S></Props></Obj>""",
        server="EX02",
    )
    first = ParseResult(source=SourceFile("a.xml", "1" * 64, InputFormat.CLIXML), trust=_records())

    inventory = fold([exsetup, first], [])

    assert inventory.trust.auth_servers == _records().auth_servers
    assert [v.server for v in inventory.trust.exsetup_versions] == ["EX02"]
    document = json.loads(json.dumps(inventory.to_json()))
    assert document["hybrid_trust"]["exsetup_versions"][0]["build"] == "15.2.1748.24"
    assert document["hybrid_trust"]["auth_servers"][0]["domain_names"] == {
        "values": ["contoso.mail.onmicrosoft.com"],
        "complete": False,
    }


def test_parse_json_has_no_trust_key_without_trust_records() -> None:
    inventory = fold([_parse("")], [])

    assert "hybrid_trust" not in inventory.to_json()


def test_copies_of_an_org_wide_export_in_every_server_folder_fold_into_one(
    tmp_path: Path,
) -> None:
    for server in ("EX01", "EX02", "EX03"):
        (tmp_path / server).mkdir()
        shutil.copy(TRUST / "auth-servers.xml", tmp_path / server / "AuthServer.xml")

    inventory = read_inventory([tmp_path])

    assert [(Path(s.source.path).parent.name, s.name) for s in inventory.trust.auth_servers] == [
        ("EX01", f"EvoSts - {TENANT}"),
        ("EX01", f"ACS - {TENANT}"),
        ("EX01", "evoSTS"),
    ]
    assert inventory.trust_disagreements == ()


def test_copies_that_disagree_are_a_located_problem_and_none_is_assessed(
    tmp_path: Path,
) -> None:
    for server in ("EX01", "EX02", "EX03"):
        (tmp_path / server).mkdir()
        shutil.copy(TRUST / "auth-servers.xml", tmp_path / server / "AuthServer.xml")
    changed = (tmp_path / "EX03" / "AuthServer.xml").read_bytes()
    (tmp_path / "EX03" / "AuthServer.xml").write_bytes(
        changed.replace(b'<B N="Enabled">false</B>', b'<B N="Enabled">true</B>')
    )

    inventory = read_inventory([tmp_path])

    # Which copy is current cannot be told: no AuthServer is judged on a guess.
    assert inventory.trust.auth_servers == ()
    assert inventory.trust_disagreements == ("auth_servers",)
    first, other = (f"{tmp_path.name}/{server}/AuthServer.xml" for server in ("EX01", "EX03"))
    (problem,) = [p for p in inventory.problems if p.subject != "inputs"]
    assert problem.code is ProblemCode.INCOMPLETE_EVIDENCE
    assert (problem.path, problem.line) == (other, 83)  # the legacy evoSTS of EX03
    assert problem.subject == "hybrid-trust:organisation:Get-AuthServer"
    assert f"the record 'evoSTS' at {first}:83 is not in {other}" in problem.message
    assert f"the record 'evoSTS' at {other}:83 is not in {first}" in problem.message


def test_an_export_split_over_files_of_one_folder_is_one_copy(tmp_path: Path) -> None:
    text = (TRUST / "auth-servers.xml").read_text(encoding="utf-8-sig")
    enabled = text.replace('<B N="Enabled">false</B>', '<B N="Enabled">true</B>')
    (tmp_path / "EX01").mkdir()
    (tmp_path / "EX01" / "AuthServer.xml").write_text(text, encoding="utf-8")
    (tmp_path / "EX01" / "AuthServer-more.xml").write_text(enabled, encoding="utf-8")
    (tmp_path / "EX02").mkdir()
    (tmp_path / "EX02" / "AuthServer.xml").write_text(text + "", encoding="utf-8")

    together = read_inventory([tmp_path / "EX01"])
    apart = read_inventory([tmp_path])

    # One folder: the files are parts of one export, every record is judged.
    assert len(together.trust.auth_servers) == 6 and together.trust_disagreements == ()
    # EX02's copy lacks the records of AuthServer-more.xml: the copies disagree.
    assert apart.trust.auth_servers == () and apart.trust_disagreements == ("auth_servers",)
    (problem,) = [p for p in apart.problems if p.subject != "inputs"]
    ex01 = f"{tmp_path.name}/EX01/AuthServer-more.xml and {tmp_path.name}/EX01/AuthServer.xml"
    ex02 = f"{tmp_path.name}/EX02/AuthServer.xml"
    assert f"disagree: {ex01} hold(s) 6 record(s), {ex02} 3;" in problem.message
    assert f"'evoSTS' at {tmp_path.name}/EX01/AuthServer-more.xml:83 is not in {ex02}" in (
        problem.message
    )
    assert (problem.path, problem.line) == (ex02, 2)


def test_auditor_parse_shows_the_trust_records(tmp_path: Path) -> None:
    (tmp_path / "EX01").mkdir()
    shutil.copy(TRUST / "auth-servers.xml", tmp_path / "EX01" / "AuthServer.xml")

    text = run_cli("parse", str(tmp_path), columns=200)
    document = json.loads(run_cli("parse", "--json", str(tmp_path), columns=200).stdout)

    assert "hybrid trust records (values: auditor parse --json)" in text.stdout
    assert "  auth servers: 3" in text.stdout
    assert [s["type"] for s in document["hybrid_trust"]["auth_servers"]] == [
        "AzureAD",
        "MicrosoftACS",
        None,
    ]
    assert document["hybrid_trust"]["auth_servers"][2]["missing"] == ["GraphBaseUrl", "DomainName"]


EMPTY_CLIXML = (
    '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\r\n</Objs>'
)


@pytest.mark.parametrize(
    ("name", "problems"),
    [
        ("SettingOverride.xml", []),  # no override in the organisation: nothing is lost
        ("AuthServer.xml", []),
        ("EX01/ExchangeCertificate.xml", []),
        ("PartnerApplication.xml", ["malformed"]),  # a partner-application export of nothing
    ],
)
def test_an_empty_hybrid_trust_export_is_no_problem(
    tmp_path: Path, name: str, problems: list[str]
) -> None:
    path = tmp_path / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xfe" + EMPTY_CLIXML.encode("utf-16-le"))

    inventory = read_inventory([tmp_path / "in"])

    assert [p.code.value for p in inventory.problems if p.path.endswith(name)] == problems


@pytest.mark.parametrize(
    "written", [b"231305090448Z", b"230230090448Z", b"230105240448Z", b"230105090460Z"]
)
def test_a_certificate_date_out_of_range_is_refused(written: bytes) -> None:
    """Month 13, February 30, hour 24, second 60: each field is checked as a date, never
    carried over into the next field or read as some other date."""
    start, years = VALIDITY["utc time"]
    der = _certificate(NAMES["auth"], start, start.replace(year=start.year + years))
    assert der.count(b"230105090448Z") == 1

    facts = read_certificate(der.replace(b"230105090448Z", written))

    assert isinstance(facts, str)
    assert written.decode() in facts and "not a date" in facts
