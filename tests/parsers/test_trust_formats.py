"""The hybrid-trust exports in Format-List, ConvertTo-Json and Export-Csv against CLIXML.

Each file of `data/trust/formats` (synthetic: see its README; made by PowerShell 7 from the
CLIXML, or written by hand in Windows PowerShell 5.1's shapes) is read through the whole
reading pipeline beside the CLIXML it was made from: both give the same records, but for what
the format cannot carry, which is missing or incomplete (and named in a located problem),
never guessed. The CLIXML of four of them are the real samples of `../shared/reference`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from parser_helpers import DATA

from auditor.model import ExportedList, Inventory, Problem, ProblemCode, TrustEvidence
from auditor.parsers import read_inventory

FORMATS = DATA / "trust" / "formats"
# base name -> (the TrustEvidence field, the CLIXML it was made from: corpus path or test data)
SOURCES: dict[str, tuple[str, str]] = {
    "setting-override": ("setting_overrides", "css:E19/Exchange/GetSettingOverride2.xml"),
    "auth-config": ("auth_configs", "css:AuthCertificate/GetAuthConfig.xml"),
    "hybrid-configuration": (
        "hybrid_configurations",
        "css:E19/Exchange/GetHybridConfiguration.xml",
    ),
    "organization-config": ("organization_configs", "css:E16/Exchange/GetOrganizationConfig.xml"),
    "auth-servers": ("auth_servers", "data:auth-servers.xml"),
    "intra-organization-connector": (
        "intra_organization_connectors",
        "data:intra-organization-connector.xml",
    ),
    # (Get-Command ExSetup.exe).FileVersionInfo: the build from the four File*Part numbers.
    "exsetup": ("exsetup_versions", "css:E19/Exchange/ExSetup.xml"),
}
INCOMPLETE = {"values": [], "complete": False}


def _read(path: Path) -> tuple[TrustEvidence, list[Problem]]:
    inventory: Inventory = read_inventory([path])
    problems = [problem for problem in inventory.problems if problem.subject != "inputs"]
    return inventory.trust, problems


def _values(trust: TrustEvidence, kind: str) -> list[dict[str, Any]]:
    """Each record of `kind` as `auditor parse --json` shows it, without where it was read."""
    found = []
    for record in getattr(trust, kind):
        shown = record.to_json()
        del shown["source"]
        found.append(shown)
    return found


@pytest.fixture
def clixml(request: pytest.FixtureRequest) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """Every base name's kind and the records its CLIXML gives."""
    found = {}
    for base, (kind, origin) in SOURCES.items():
        where, name = origin.split(":", 1)
        if where == "css":
            path = request.getfixturevalue("css_exchange") / name
        else:
            path = DATA / "trust" / name
        trust, problems = _read(path)
        assert problems == [], (base, problems)
        found[base] = (kind, _values(trust, kind))
    return found


def _text_view(records: list[dict[str, Any]], *, csv: bool) -> list[dict[str, Any]]:
    """What Format-List (or CSV) can show of CLIXML records: "" and None alike; with `csv`,
    no list but as no items (an empty cell: None) or incomplete, and no property missing
    (Export-Csv writes the first object's columns for every object, empty where one lacks
    the property)."""
    shown = []
    for record in records:
        view = {}
        for name, value in record.items():
            if value == "":
                value = None
            elif csv and isinstance(value, dict):
                value = None if not value["values"] else INCOMPLETE
            elif csv and name == "missing":
                value = []
            view[name] = value
        shown.append(view)
    return shown


def _without_date(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The AuthConfig as a format that shows its date culture-formatted: the date missing."""
    return [
        {
            **record,
            "next_certificate_effective_date": None,
            "missing": [*record["missing"], "NextCertificateEffectiveDate"],
        }
        for record in records
    ]


def _named(problems: list[Problem]) -> list[tuple[ProblemCode, int | None, str]]:
    return [(problem.code, problem.line, problem.message) for problem in problems]


@pytest.mark.corpus
@pytest.mark.parametrize("base", sorted(set(SOURCES) - {"hybrid-configuration"}))
def test_powershell_7_json_gives_the_clixml_records(base: str, clixml: Any) -> None:
    kind, expected = clixml[base]

    trust, problems = _read(FORMATS / f"{base}.json")

    assert problems == []
    assert _values(trust, kind) == expected


@pytest.mark.corpus
def test_json_of_a_hybrid_configuration_leaves_out_what_it_writes_without_a_name(
    clixml: Any,
) -> None:
    kind, expected = clixml["hybrid-configuration"]

    trust, problems = _read(FORMATS / "hybrid-configuration.json")

    # ConvertTo-Json writes the deserialised SmtpDomain / SmtpX509Identifier / Fqdn objects as
    # their properties, without the text they stand for: not evidence, never guessed.
    (record,) = _values(trust, kind)
    assert record == {
        **expected[0],
        "domains": INCOMPLETE,
        "on_premises_smart_host": None,
        "tls_certificate_name": None,
    }
    ((code, line, message),) = _named(problems)
    assert (code, line) == (ProblemCode.INCOMPLETE_EVIDENCE, 1)
    assert "Domains, OnPremisesSmartHost, TlsCertificateName" in message
    assert "Export-Clixml" in message


@pytest.mark.corpus
@pytest.mark.parametrize("base", sorted(SOURCES))
def test_format_list_gives_the_clixml_records_but_what_it_cannot_show(
    base: str, clixml: Any
) -> None:
    kind, expected = clixml[base]

    trust, problems = _read(FORMATS / f"{base}.fl.txt")

    expected = _text_view(expected, csv=False)
    if base == "auth-config":  # `02/03/2023 14:16:02`: month or day first?
        expected = _without_date(expected)
    if base == "hybrid-configuration":  # {FreeBusy, MoveMailbox, Mailtips, MessageTracking…}
        expected[0]["features"] = {
            "values": expected[0]["features"]["values"][:4],
            "complete": False,
        }
        ((code, line, message),) = _named(problems)
        assert (code, line) == (ProblemCode.INCOMPLETE_EVIDENCE, 2)
        assert "has Features in a shape" in message
    else:
        assert problems == []
    assert _values(trust, kind) == expected


@pytest.mark.corpus
@pytest.mark.parametrize("base", sorted(SOURCES))
def test_csv_gives_the_clixml_records_but_no_list(base: str, clixml: Any) -> None:
    kind, expected = clixml[base]

    trust, problems = _read(FORMATS / f"{base}.csv")

    expected = _text_view(expected, csv=True)
    if base == "auth-config":
        expected = _without_date(expected)
    assert _values(trust, kind) == expected
    lists = [
        (index, name)
        for index, record in enumerate(expected)
        for name, value in record.items()
        if value == INCOMPLETE
    ]
    # Each record with a list is named in one problem at its own line (line 1 is the header).
    assert sorted(problem.line or 0 for problem in problems) == sorted(
        {index + 2 for index, _ in lists}
    )
    assert all(problem.code is ProblemCode.INCOMPLETE_EVIDENCE for problem in problems)


@pytest.mark.corpus
def test_windows_powershell_json_reads_its_dates_and_never_an_enum_integer(clixml: Any) -> None:
    _, overrides = clixml["setting-override"]
    _, configs = clixml["auth-config"]

    override_trust, override_problems = _read(FORMATS / "setting-override.ps51.json")
    config_trust, config_problems = _read(FORMATS / "auth-config.ps51.json")

    # \/Date(1675433762000)\/ is the instant the CLIXML writes as 2023-02-03T14:16:02+00:00.
    assert config_problems == []
    assert _values(config_trust, "auth_configs") == configs
    # The live object's Status is the integer 3: an enum is read by its name only.
    assert _values(override_trust, "setting_overrides") == [{**overrides[0], "status": None}]
    ((code, line, message),) = _named(override_problems)
    assert (code, line) == (ProblemCode.INCOMPLETE_EVIDENCE, 3)
    assert "has Status in a shape" in message


@pytest.mark.corpus
def test_windows_powershell_csv_and_format_list(clixml: Any) -> None:
    _, overrides = clixml["setting-override"]
    _, hybrid = clixml["hybrid-configuration"]

    csv_trust, csv_problems = _read(FORMATS / "setting-override.ps51.csv")
    fl_trust, fl_problems = _read(FORMATS / "hybrid-configuration.ps51.fl.txt")

    # The #TYPE line is skipped; Parameters is a type name: no list, never an empty one.
    (override,) = _values(csv_trust, "setting_overrides")
    assert override == {**_text_view(overrides, csv=True)[0], "parameters": INCOMPLETE}
    assert [(problem.line, "Parameters" in problem.message) for problem in csv_problems] == [
        (3, True)
    ]
    # UTF-16LE, "..." after the fourth feature; the wrapped TlsCertificateName re-joined.
    (configuration,) = _values(fl_trust, "hybrid_configurations")
    assert configuration["features"] == {
        "values": ["FreeBusy", "MoveMailbox", "Mailtips", "MessageTracking"],
        "complete": False,
    }
    assert configuration["tls_certificate_name"] == hybrid[0]["tls_certificate_name"]
    assert [problem.line for problem in fl_problems] == [3]


@pytest.mark.parametrize(
    "name", ["setting-override.fl.txt", "auth-config.csv", "auth-servers.json"]
)
def test_trust_exports_are_sniffed_by_content_whatever_their_name(
    tmp_path: Path, name: str
) -> None:
    renamed = tmp_path / "notes"
    shutil.copy(FORMATS / name, renamed)

    trust, _ = _read(renamed)
    original, _ = _read(FORMATS / name)

    assert trust  # something was read
    for kind in TrustEvidence.__slots__:
        assert _values(trust, kind) == _values(original, kind)


def test_an_organization_relationship_is_read_with_every_property() -> None:
    trust, problems = _read(FORMATS / "organization-relationship.fl.txt")

    assert problems == []
    (relationship,) = trust.organization_relationships
    assert (relationship.name, relationship.enabled, relationship.domain_names) == (
        "O365 to On-premises - 6b1e4d2a-7c3f-4e59-9a1d-2f8e5c7b9a10",
        True,
        ExportedList(("contoso.mail.onmicrosoft.com",), True),
    )
    assert relationship.source.line == 3
    # Every exported property, for `auditor attest`: a list as its items.
    assert dict(relationship.properties)["DomainNames"] == '["contoso.mail.onmicrosoft.com"]'
    assert dict(relationship.properties)["TargetApplicationUri"] == "outlook.com"


@pytest.mark.corpus
def test_json_certificates_are_read_from_their_der_as_from_clixml(css_exchange: Path) -> None:
    clixml, clixml_problems = _read(css_exchange / "AuthCertificate" / "GetExchangeCertificate.xml")

    trust, problems = _read(FORMATS / "exchange-certificates.json")

    assert problems == clixml_problems == []
    assert len(trust.exchange_certificates) == 8
    assert _values(trust, "exchange_certificates") == _values(clixml, "exchange_certificates")


@pytest.mark.parametrize("name", ["exchange-certificates.fl.txt", "exchange-certificates.csv"])
def test_certificates_of_format_list_and_csv_are_refused_one_by_one(name: str) -> None:
    trust, problems = _read(FORMATS / name)

    assert trust.exchange_certificates == ()
    assert len(problems) == 8
    assert all("Export-Clixml" in problem.message and problem.line for problem in problems)


def test_a_certificate_without_its_der_is_refused_with_where_and_how_to_export() -> None:
    trust, problems = _read(FORMATS / "exchange-certificate.fl.txt")

    assert not trust
    ((code, line, message),) = _named(problems)
    assert (code, line) == (ProblemCode.INCOMPLETE_EVIDENCE, 3)
    assert "carries no certificate (RawData)" in message
    assert "Export-Clixml" in message


@pytest.mark.parametrize("name", ["setting-override.json", "setting-override.fl.txt"])
def test_text_records_keep_every_exported_property_for_attest(name: str) -> None:
    trust, _ = _read(FORMATS / name)

    (override,) = trust.setting_overrides
    properties = dict(override.properties)
    assert properties["Status"] == "Accepted"  # JSON: the enum by its name
    assert properties["Parameters"] == '["Enabled=true"]'
    assert properties["Name"] == "EnableExchangeHybrid3PAppFeature"
    assert "PSComputerName" in properties  # the read context is kept (the fold skips it)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("ExSetup.exe", "Setup.exe"), "is not that of ExSetup.exe"),
        (('"FileBuildPart": 986', '"FileBuildPart": "986"'), "no readable FileBuildPart"),
        (('"FilePrivatePart": 5', '"FilePrivatePart": 70000'), "no readable FilePrivatePart"),
    ],
)
def test_a_file_version_that_gives_no_exsetup_build_is_a_located_problem(
    tmp_path: Path, edit: tuple[str, str], expected: str
) -> None:
    path = tmp_path / "ExSetup.json"
    text = (FORMATS / "exsetup.json").read_text(encoding="utf-8")
    path.write_text(text.replace(*edit), encoding="utf-8")

    trust, problems = _read(path)

    assert trust.exsetup_versions == ()  # never a build guessed from FileVersion's text
    ((code, line, message),) = _named(problems)
    assert (code, line) == (ProblemCode.INCOMPLETE_EVIDENCE, 1)
    assert expected in message
    assert "Export-Clixml" in message


def test_an_exsetup_version_in_format_list_names_its_server_and_keeps_its_properties(
    tmp_path: Path,
) -> None:
    path = tmp_path / "exsetup.txt"
    text = (FORMATS / "exsetup.fl.txt").read_text(encoding="utf-8")
    path.write_text(text.replace("Comments ", "PSComputerName    : EX02\nComments "), "utf-8")

    trust, problems = _read(path)

    assert problems == []
    (version,) = trust.exsetup_versions
    assert (version.server, version.build, version.parts) == ("EX02", "15.2.986.5", (15, 2, 986, 5))
    assert dict(version.properties)["FileVersion"] == "15.02.0986.005"


def _servers(path: Path) -> tuple[list[dict[str, Any]], list[Problem]]:
    inventory = read_inventory([path])
    problems = [problem for problem in inventory.problems if problem.subject != "inputs"]
    shown = [
        {key: value for key, value in server.to_json().items() if key not in ("path", "line")}
        for server in inventory.exchange_servers
    ]
    return shown, problems


EXCHANGE_SERVER_XML = (
    Path(__file__).parents[2] / "auditor" / "examples" / "EX01" / "ExchangeServer.xml"
)


@pytest.mark.parametrize("name", ["exchange-servers.fl.txt", "exchange-servers.csv"])
def test_format_list_and_csv_of_get_exchange_server_give_the_clixml_servers(name: str) -> None:
    expected, clixml_problems = _servers(EXCHANGE_SERVER_XML)

    servers, problems = _servers(FORMATS / name)

    assert clixml_problems == problems == []
    assert [server["name"] for server in servers] == ["EX01", "EX02"]
    assert servers == expected


def test_json_of_get_exchange_server_reads_the_role_by_name_and_never_rebuilds_the_version() -> (
    None
):
    expected, _ = _servers(EXCHANGE_SERVER_XML)

    servers, problems = _servers(FORMATS / "exchange-servers.json")

    # ServerRole {"value": 2, "Value": "Mailbox"} is no repeated key; AdminDisplayVersion is
    # its numbers without the text: missing, and said at each server's line.
    assert servers == [{**server, "version": None} for server in expected]
    assert [(problem.code, problem.line) for problem in problems] == [
        (ProblemCode.INCOMPLETE_EVIDENCE, 2),
        (ProblemCode.INCOMPLETE_EVIDENCE, 23),
    ]
    assert all("AdminDisplayVersion" in problem.message for problem in problems)


def test_a_server_role_alone_says_whether_a_server_serves_clients(tmp_path: Path) -> None:
    path = tmp_path / "servers.json"
    path.write_text(
        '[{"Name": "EDGE1", "Fqdn": "edge1.contoso.com", "AdminDisplayVersion": "Version 15.2",'
        ' "ServerRole": {"value": 64, "Value": "Edge"}},'
        ' {"Fqdn": "x.contoso.com", "AdminDisplayVersion": null, "ServerRole": "Mailbox"}]',
        encoding="utf-8",
    )

    servers, problems = _servers(path)

    assert servers == [
        {
            "name": "EDGE1",
            "fqdn": "edge1.contoso.com",
            "client_access": False,
            "edge": True,
            "version": "Version 15.2",
        }
    ]
    ((code, line, message),) = _named(problems)  # the second has no Name: skipped, said
    assert (code, line) == (ProblemCode.INCOMPLETE_EVIDENCE, 1)
    assert "has Name" in message


def _variants(path: Path) -> tuple[list[dict[str, Any]], list[Problem]]:
    trust, problems = _read(path)
    shown = _values(trust, "variant_configurations")
    for record in shown:
        del record["server"]  # the layout's server folder, else the export's PSComputerName
    return shown, problems


@pytest.mark.parametrize("name", ["variant-configuration.json", "variant-configuration.csv"])
def test_json_and_csv_of_the_variant_configuration_diagnostic_give_the_clixml_overrides(
    name: str,
) -> None:
    expected, clixml_problems = _variants(
        EXCHANGE_SERVER_XML.with_name("VariantConfigurationOverrides.xml")
    )

    overrides, problems = _variants(FORMATS / name)
    trust, _ = _read(FORMATS / name)

    assert clixml_problems == problems == []
    assert overrides == expected
    assert [record["overrides"][0]["name"] for record in overrides] == ["EnableSigningVerification"]
    assert trust.variant_configurations[0].server == "ex01.fabrikam.lab"


def test_the_variant_configuration_diagnostic_is_refused_where_its_result_is_not_whole(
    tmp_path: Path,
) -> None:
    other = tmp_path / "other.json"
    text = (FORMATS / "variant-configuration.json").read_text(encoding="utf-8")
    other.write_text(text.replace("VariantConfiguration", "ClientAccessRules"), encoding="utf-8")

    # Format-List wraps the Result at the console width; the other is no VariantConfiguration.
    for path, at in ((FORMATS / "variant-configuration.fl.txt", 2), (other, 1)):
        overrides, problems = _variants(path)

        assert overrides == []
        ((code, line, message),) = _named(problems)
        assert (code, line) == (ProblemCode.INCOMPLETE_EVIDENCE, at)
        assert "was not read" in message
        assert "Export-Clixml" in message
