"""Export-Clixml parser: partner applications as PowerShell serialised them."""

from __future__ import annotations

import pytest
from parser_helpers import DATA, raw_input

from auditor.model import PartnerApplication, ProblemCode
from auditor.parsers import clixml

CLIXML = DATA / "clixml"
GRAPH = "00000003-0000-0000-c000-000000000000"
EXO = "00000002-0000-0ff1-ce00-000000000000"


def _apps(result: object) -> dict[str, PartnerApplication]:
    assert hasattr(result, "partner_applications")
    return {app.application_identifier: app for app in result.partner_applications}


@pytest.mark.parametrize("file", ["two-apps-utf16.xml", "two-apps-utf8bom.xml"])
def test_export_clixml_in_both_encodings(file: str) -> None:
    result = clixml.parse(raw_input(CLIXML / file))

    assert result.problems == ()
    apps = _apps(result)
    assert list(apps) == [EXO, GRAPH]  # file order; identifiers lower-cased

    exo = apps[EXO]
    assert exo.name == "Exchange Online"
    assert exo.enabled is True
    assert exo.linked_account == "fabrikam.test/Users/Exchange Online-ApplicationAccount"
    assert exo.act_as_permissions.values == () and exo.act_as_permissions.complete
    assert exo.app_only_permissions.values == () and exo.app_only_permissions.complete
    assert exo.server == "mbx1.fabrikam.test"  # PSComputerName beats OriginatingServer

    graph = apps[GRAPH]
    assert graph.linked_account is None
    expected = ("Mail.Read", "Mail.Send", "User.ReadWrite.All")
    assert graph.act_as_permissions.values == expected
    assert graph.app_only_permissions.values == expected  # MultiValuedProperty`1[[...]]
    assert graph.act_as_permissions.complete and graph.app_only_permissions.complete
    assert graph.source.line == 36
    assert graph.act_as_permissions.evidence.line == 55
    assert graph.act_as_permissions.evidence.raw == '<Obj N="ActAsPermissions" RefId="4">'


def test_server_from_the_layout_wins() -> None:
    result = clixml.parse(raw_input(CLIXML / "two-apps-utf16.xml", server="EX-FOLDER"))

    assert {app.server for app in result.partner_applications} == {"EX-FOLDER"}


def test_remote_session_export() -> None:
    result = clixml.parse(raw_input(CLIXML / "remote-deserialized.xml"))
    apps = _apps(result)

    hr = apps["6a5e3c1b-0000-4000-8000-00000000ab01"]
    assert hr.name == "HR_x0020_Portal\nline2"  # _x005F_ is a literal underscore
    assert hr.enabled is False  # a "False" string
    assert hr.act_as_permissions.values == ("Calendars.Read", "Contacts_Read")  # ArrayList
    assert hr.app_only_permissions.values == hr.act_as_permissions.values  # via <Ref>
    assert hr.app_only_permissions.complete
    assert hr.server == "dc2.fabrikam.test"  # only OriginatingServer

    payroll = apps["7b000000-0000-4000-8000-0000000000c2"]  # Selected.* with MS properties
    assert payroll.act_as_permissions.values == () and payroll.act_as_permissions.complete
    assert payroll.app_only_permissions.complete is False  # "System.String[]": truncated
    assert payroll.server is None

    (problem,) = result.problems
    assert problem.code is ProblemCode.INCOMPLETE_EVIDENCE
    assert "AppOnlyPermissions" in problem.message
    assert problem.line == payroll.app_only_permissions.evidence.line


def test_exchange_server_export_is_not_a_problem() -> None:
    raw = raw_input(CLIXML / "exchange-server.xml")
    result = clixml.parse(raw)

    assert result.partner_applications == ()
    assert result.problems == ()
    (server,) = result.exchange_servers
    assert (server.name, server.version) == ("MBX1", "Version 15.1 (Build 1591.10)")


def test_object_without_identifier_is_skipped_with_a_problem() -> None:
    result = clixml.parse(raw_input(CLIXML / "no-identifier.xml"))

    assert result.partner_applications == ()
    (problem,) = result.problems
    assert problem.code is ProblemCode.MALFORMED
    assert problem.line == 2


@pytest.mark.parametrize(
    ("text", "decoded"),
    [
        ("plain", "plain"),
        ("a_x000A_b", "a\nb"),
        ("a_X000a_b", "a\nb"),  # case-insensitive
        ("_x005F_x0041_", "_x0041_"),  # escaped underscore, not an escape
        ("_xD83D__xDE00_", "\U0001f600"),  # surrogate pair recombined
        ("_x12_", "_x12_"),  # not four hex digits
        ("_xD800__xD800__xDC00_", "\ud800\U00010000"),  # a lone surrogate, then a pair
        ("_xDC00__xD800_", "\udc00\ud800"),  # wrong order: both stay lone
    ],
)
def test_string_escapes(text: str, decoded: str) -> None:
    assert clixml.decode_string(text) == decoded


@pytest.mark.parametrize(
    ("name", "stripped"),
    [
        ("Deserialized.System.Object", "System.Object"),
        ("Selected.Deserialized.X.PartnerApplication", "X.PartnerApplication"),
        ("System.String[]", "System.String[]"),
    ],
)
def test_type_prefixes(name: str, stripped: str) -> None:
    assert clixml.strip_type_prefix(name) == stripped


def test_wrong_root_is_malformed() -> None:
    data = b"<configuration><appSettings /></configuration>"
    result = clixml.parse(raw_input(CLIXML / "x.xml", data=data))

    assert [p.code for p in result.problems] == [ProblemCode.MALFORMED]
    assert "Objs" in result.problems[0].message


def test_a_list_of_objects_over_the_bound_is_too_large() -> None:
    items = "<S>x</S>" * (clixml.MAX_ITEMS + 1)
    data = (
        '<Objs xmlns="http://schemas.microsoft.com/powershell/2004/04">\n'
        f'<Obj RefId="0"><TN RefId="0"><T>System.Object[]</T></TN><LST>{items}</LST></Obj>'
        "</Objs>"
    ).encode()

    result = clixml.parse(raw_input(CLIXML / "big.xml", data=data))

    codes = [(problem.code, problem.line) for problem in result.problems]
    assert (ProblemCode.TOO_LARGE, 2) in codes
    assert f"more than {clixml.MAX_ITEMS} items" in result.problems[0].message


@pytest.mark.parametrize(
    ("text", "problem", "count"),
    [
        # A Ref inside an object that redefines the RefId means that object: a cycle.
        (
            '<Obj RefId="0"><MS><S N="Name">A</S></MS></Obj>'
            '<Obj RefId="0"><MS><S N="ApplicationIdentifier">x</S><Nil N="ActAsPermissions" />'
            '<Ref N="AppOnlyPermissions" RefId="0" /></MS></Obj>',
            "contains it",
            1,
        ),
        # A TN redefined: the later TNRef names the latest definition (a PartnerApplication), so
        # both objects named B and C are partner applications (without identifier).
        (
            '<Obj RefId="0"><TN RefId="0"><T>Other</T></TN></Obj>'
            '<Obj RefId="1"><TN RefId="0"><T>Microsoft.Exchange.Data.Directory.'
            'SystemConfiguration.PartnerApplication</T></TN><MS><S N="Name">B</S></MS></Obj>'
            '<Obj RefId="2"><TNRef RefId="0" /><MS><S N="Name">C</S></MS></Obj>',
            "no ApplicationIdentifier",
            2,
        ),
    ],
)
def test_redefined_refids_resolve_as_import_clixml(text: str, problem: str, count: int) -> None:
    """Checked with pwsh 7.6: Import-Clixml registers a RefId when the Obj or TN starts."""
    data = f'<Objs xmlns="http://schemas.microsoft.com/powershell/2004/04">{text}</Objs>'.encode()

    result = clixml.parse(raw_input(CLIXML / "refs.xml", data=data))

    assert sum(problem in found.message for found in result.problems) == count, result.problems


def test_type_names_are_compared_without_prefixes_and_white_space() -> None:
    assert clixml.strip_type_prefix("\n  Deserialized.Selected.X.PartnerApplication \n") == (
        "X.PartnerApplication"
    )


def test_the_deserialiser_reads_any_export_not_only_partner_applications() -> None:
    """The reusable piece: a Get-AuthServer object becomes a PSObject a mapping can read."""
    data = (
        b'<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\n'
        b'<Obj RefId="0"><TN RefId="0">'
        b"<T>Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.AuthServer</T>"
        b"<T>Deserialized.System.Object</T></TN>\n"
        b"<ToString>ACS</ToString><Props>\n"
        b'<S N="Name">ACS_x005F_1</S><B N="Enabled">true</B>\n'
        b'<Obj N="DomainName" RefId="1"><TN RefId="1"><T>System.String[]</T></TN>'
        b"<LST><S>contoso.com</S><S>fabrikam.com</S></LST></Obj>\n"
        b'<I32 N="Type">2</I32></Props></Obj>\n'
        b"</Objs>"
    )

    values, loaded, problems = clixml.deserialize(raw_input(CLIXML / "auth.xml", data=data))

    assert problems == [] and loaded is not None
    (server,) = values
    assert isinstance(server, clixml.PSObject)
    assert server.is_a("Microsoft.Exchange.Data.Directory.SystemConfiguration.AuthServer")
    assert server.line == 2 and server.to_string == "ACS"
    assert clixml.property_text(server.properties["Name"]) == "ACS_1"
    assert clixml.property_flag(server, "Enabled") is True
    assert clixml.property_flag(server, "Name") is None
    assert clixml.property_text(server.properties["Type"]) == "2"
    domains = server.properties["DomainName"].value
    assert isinstance(domains, clixml.PSObject)
    assert domains.items == ("contoso.com", "fabrikam.com")
    # Not a partner application and of a known unrelated type: no record, no problem.
    assert clixml.parse(raw_input(CLIXML / "auth.xml", data=data)).problems == ()
