"""Hostile hybrid-trust exports: every bad certificate, diagnostic, build or AuthServer a
compromised server could plant is a located problem (or a value marked incomplete), never a
traceback, and never a record that claims more than the export proves.
"""

from __future__ import annotations

import base64
import datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.model import ParseResult, ProblemCode
from auditor.parsers import clixml
from auditor.parsers.base import RawInput
from auditor.parsers.der import read_certificate

HEAD = '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
CERTIFICATE_TYPE = "Microsoft.Exchange.Management.SystemConfigurationTasks.ExchangeCertificate"


def _der() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Microsoft Exchange Server Auth")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC))
        .not_valid_after(datetime.datetime(2029, 1, 1, tzinfo=datetime.UTC))
        .sign(key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )


DER = _der()


def _parse(body: str, *, head: str = HEAD) -> ParseResult:
    data = (head + "\n" + body + "\n</Objs>").encode()
    return clixml.parse(RawInput(path="planted.xml", data=data, sha256="0" * 64))


def _certificate_object(raw_data: str) -> str:
    return f"""<Obj RefId="0"><TN RefId="0"><T>{CERTIFICATE_TYPE}</T></TN>
<Props>
<BA N="RawData">{raw_data}</BA>
</Props></Obj>"""


def test_a_truncated_certificate_is_refused_at_every_length() -> None:
    for length in range(len(DER)):
        facts = read_certificate(DER[:length])
        assert isinstance(facts, str), length


@pytest.mark.parametrize(
    ("der", "expected"),
    [
        (b"", "found the end"),
        (b"\x30\x80" + DER[2:], "indefinite length"),
        (b"\x30\x85\xff\xff\xff\xff\xff", "5 bytes is refused"),
        (b"\x30\x84\xff\xff\xff\xff" + DER[4:], "only"),
        (DER + b"\x00", "follow the certificate"),
        (b"\x1f\x01\x00", "high tag numbers"),
        (b"\x31\x00", "expected tag 0x30"),
        (b"\x30\x02\x30\x00", "at least serialNumber"),
    ],
    ids=[
        "empty",
        "indefinite",
        "five length bytes",
        "huge length",
        "trailing byte",
        "high tag",
        "a set",
        "empty tbs",
    ],
)
def test_hostile_der_says_what_was_expected(der: bytes, expected: str) -> None:
    facts = read_certificate(der)

    assert isinstance(facts, str)
    assert expected in facts


def test_every_single_byte_change_of_a_certificate_is_read_or_refused() -> None:
    for index in range(len(DER)):
        for byte in (0x00, 0x7F, 0x80, 0x84, 0xFF):
            mutated = DER[:index] + bytes([byte]) + DER[index + 1 :]
            read_certificate(mutated)  # a value either way: no exception escapes


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    facts = read_certificate(data)

    assert isinstance(facts, str) or len(facts.thumbprint) == 40


def test_bad_base64_rawdata_is_a_located_problem() -> None:
    result = _parse(_certificate_object("not*base64!"))

    assert result.trust.exchange_certificates == ()
    (problem,) = result.problems
    assert (problem.code, problem.line) == (ProblemCode.MALFORMED, 4)
    assert "not Base64" in problem.message


def test_rawdata_that_is_not_a_certificate_is_a_located_problem() -> None:
    result = _parse(_certificate_object(base64.b64encode(b"\x30\x03\x02\x01\x01").decode()))

    assert result.trust.exchange_certificates == ()
    (problem,) = result.problems
    assert problem.code is ProblemCode.MALFORMED and problem.line == 4
    assert "DER could not be read" in problem.message and "offset" in problem.message


def test_a_certificate_without_rawdata_or_thumbprint_is_incomplete() -> None:
    result = _parse(f'<Obj RefId="0"><TN RefId="0"><T>{CERTIFICATE_TYPE}</T></TN></Obj>')

    (problem,) = result.problems
    assert problem.code is ProblemCode.INCOMPLETE_EVIDENCE and problem.line == 2


def _diagnostic(result: str) -> str:
    return f"""<Obj RefId="0"><TN RefId="0">
<T>Microsoft.Exchange.Management.Powershell.Support.ExchangeDiagnosticInfoResult</T></TN>
<Props>
<S N="Result">{result}</S>
</Props></Obj>"""


def test_a_diagnostic_with_a_dtd_is_refused_at_its_result() -> None:
    planted = (
        "&lt;!DOCTYPE d [&lt;!ENTITY x SYSTEM 'file:///etc/passwd'&gt;]&gt;"
        "&lt;Diagnostics&gt;&lt;VariantConfiguration&gt;&amp;x;&lt;/VariantConfiguration&gt;"
        "&lt;/Diagnostics&gt;"
    )
    result = _parse(_diagnostic(planted))

    assert result.trust.variant_configurations == ()
    (problem,) = result.problems
    assert (problem.code, problem.line) == (ProblemCode.HOSTILE, 5)
    assert "VariantConfiguration diagnostic" in problem.message


def test_a_malformed_diagnostic_is_a_located_problem() -> None:
    result = _parse(_diagnostic("&lt;Diagnostics&gt;&lt;VariantConfiguration&gt;"))

    (problem,) = result.problems
    assert (problem.code, problem.line) == (ProblemCode.MALFORMED, 5)


def test_too_many_effective_overrides_leave_the_record_incomplete() -> None:
    count = clixml.MAX_ITEMS + 1
    overrides = "".join(
        f"&lt;SettingOverride&gt;&lt;Name&gt;o{index}&lt;/Name&gt;&lt;/SettingOverride&gt;"
        for index in range(count)
    )
    body = (
        "&lt;Diagnostics&gt;&lt;Components&gt;&lt;VariantConfiguration&gt;&lt;Overrides&gt;"
        f"{overrides}&lt;/Overrides&gt;&lt;/VariantConfiguration&gt;&lt;/Components&gt;"
        "&lt;/Diagnostics&gt;"
    )
    result = _parse(_diagnostic(body))

    (variant,) = result.trust.variant_configurations
    assert not variant.complete
    assert len(variant.overrides) == clixml.MAX_ITEMS


@pytest.mark.parametrize(
    "part",
    [
        "<S N='FileBuildPart'>1748</S>",
        "<I32 N='FileBuildPart'>-1</I32>",
        "<I32 N='FileBuildPart'>99999999999</I32>",
        "",
    ],
)
def test_an_exsetup_version_without_a_readable_part_is_no_build(part: str) -> None:
    body = f"""<Obj RefId="0"><TN RefId="0"><T>System.Diagnostics.FileVersionInfo</T></TN>
<Props><I32 N="FileMajorPart">15</I32><I32 N="FileMinorPart">2</I32>{part}
<I32 N="FilePrivatePart">24</I32><S N="InternalName">ExSetup.exe</S></Props></Obj>"""

    result = _parse(body)

    assert result.trust.exsetup_versions == ()
    (problem,) = result.problems
    assert problem.code is ProblemCode.INCOMPLETE_EVIDENCE and problem.line == 2
    assert "FileBuildPart" in problem.message


AUTH_SERVER = "Microsoft.Exchange.Data.Directory.SystemConfiguration.AuthServer"


def test_an_auth_server_with_an_unreadable_type_says_so() -> None:
    body = f"""<Obj RefId="0"><TN RefId="0"><T>{AUTH_SERVER}</T></TN>
<Props><BA N="Type">AAAA</BA><Ref N="Realm" RefId="9" /><B N="Enabled">true</B></Props></Obj>"""

    result = _parse(body)

    (server,) = result.trust.auth_servers
    assert (server.type, server.realm, server.enabled) == (None, None, True)
    codes = sorted(problem.code.value for problem in result.problems)
    assert codes == ["incomplete-evidence", "malformed"]  # the unreadable values; the dangling Ref
    (unreadable,) = (p for p in result.problems if p.code is ProblemCode.INCOMPLETE_EVIDENCE)
    assert "Realm, Type" in unreadable.message and unreadable.line == 2


def test_an_auth_server_with_a_property_given_twice_is_not_read() -> None:
    body = f"""<Obj RefId="0"><TN RefId="0"><T>{AUTH_SERVER}</T></TN>
<Props><B N="Enabled">false</B><B N="enabled">true</B></Props></Obj>"""

    result = _parse(body)

    assert result.trust.auth_servers == ()
    (problem,) = result.problems
    assert problem.code is ProblemCode.MALFORMED and "more than once" in problem.message


def test_an_auth_server_list_holding_unreadable_items_is_incomplete() -> None:
    body = f"""<Obj RefId="0"><TN RefId="0"><T>{AUTH_SERVER}</T></TN>
<Props><Obj N="DomainName" RefId="1"><LST><S>contoso.com</S><BA>AAAA</BA></LST></Obj>
</Props></Obj>"""

    (server,) = _parse(body).trust.auth_servers

    assert server.domain_names is not None
    assert server.domain_names.values == ("contoso.com",)
    assert not server.domain_names.complete
