"""The optional cloud evidence of the hybrid trust read from JSON: Graph exports (REST pages
and Get-MgServicePrincipal | ConvertTo-Json), ScubaGear's ProviderSettingsExport.json, and
hostile JSON (each a located problem, never a traceback, never a record claiming more than
the file proves). The shapes are the notes' sections 2.11 and 2.12 (synthetic values)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.model import InputFormat, ParseResult, ProblemCode
from auditor.parsers import json_, read_inventory
from auditor.parsers.base import RawInput
from auditor.parsers.properties import MAX_OBJECTS

EXO = "00000002-0000-0ff1-ce00-000000000000"
THUMBPRINT = "E1BDF9AE58C93C75E76C9DD882138FB8FF0FA786"


def _parse(text: str) -> ParseResult:
    return json_.parse(RawInput(path="cloud.json", data=text.encode(), sha256="0" * 64))


def _principal(keys: object) -> dict[str, object]:
    return {"appId": EXO, "displayName": "Office 365 Exchange Online", "keyCredentials": keys}


def test_a_graph_page_with_a_der_key_and_a_raw_identifier() -> None:
    der = b"0\x82\x01\x00not-really-a-certificate"
    key = {
        "customKeyIdentifier": base64.b64encode(bytes.fromhex(THUMBPRINT)).decode(),
        "key": base64.b64encode(der).decode(),
        "keyId": "k1",
        "endDateTime": "2027-12-30T16:55:13Z",
    }
    page = {"@odata.context": "x", "value": [{**_principal([key]), "servicePrincipalType": "A"}]}

    result = _parse(json.dumps(page, indent=2))

    assert result.problems == () and result.partner_applications == ()
    (principal,) = result.trust.cloud_principals
    assert (principal.kind, principal.origin, principal.app_id) == (
        "service-principal",
        "graph",
        EXO,
    )
    assert principal.source.line == 5 and principal.source.format is InputFormat.JSON
    (credential,) = principal.key_credentials or ()
    sha1_of_der = hashlib.sha1(der).hexdigest().upper()
    assert credential.thumbprints == (sha1_of_der, THUMBPRINT)  # the DER first, then the id
    assert (credential.key_id, credential.end) == ("k1", "2027-12-30T16:55:13Z")


@pytest.mark.parametrize(
    "identifier",
    [
        THUMBPRINT.lower(),  # the thumbprint as text (what CSS-Exchange compares)
        base64.b64encode(THUMBPRINT.encode()).decode(),  # hex text, base64-encoded
        list(bytes.fromhex(THUMBPRINT)),  # ConvertTo-Json of a byte[]
    ],
)
def test_a_powershell_export_matches_the_identifier_every_way(identifier: object) -> None:
    document = {
        "AppId": EXO,
        "DisplayName": "x",
        "KeyCredentials": [{"CustomKeyIdentifier": identifier}],
    }

    (principal,) = _parse(json.dumps(document)).trust.cloud_principals

    assert (principal.key_credentials or ())[0].thumbprints == (THUMBPRINT,)


def test_scubagear_null_is_not_given_and_empty_is_none() -> None:
    document = {
        "legacy_exchange_service_principal": [
            {"AppId": EXO, "HasKeyCredentials": True, "KeyCredentials": None},
        ],
        "dedicated_exchange_hybrid_applications": {
            "DedicatedHybridAppConfigured": False,
            "Apps": None,
        },
    }
    (legacy,) = _parse(json.dumps(document)).trust.cloud_principals
    assert (legacy.origin, legacy.key_credentials, legacy.has_key_credentials) == (
        "scubagear",
        None,
        True,
    )
    document["legacy_exchange_service_principal"] = [{"AppId": EXO, "KeyCredentials": []}]
    (legacy,) = _parse(json.dumps(document)).trust.cloud_principals
    assert legacy.key_credentials == ()


def test_a_partner_application_export_is_not_cloud_evidence() -> None:
    result = _parse(json.dumps({"Name": "App", "ApplicationIdentifier": EXO, "Enabled": True}))

    assert result.trust.cloud_principals == ()
    assert [app.application_identifier for app in result.partner_applications] == [EXO]


def test_cloud_evidence_is_read_from_a_folder(tmp_path: Path) -> None:
    (tmp_path / "graph.json").write_text(json.dumps({"value": [_principal([])]}), "utf-8")

    inventory = read_inventory([tmp_path])

    assert [p.app_id for p in inventory.trust.cloud_principals] == [EXO]
    assert inventory.trust.to_json()["cloud_principals"][0]["key_credentials"] == []


@pytest.mark.parametrize(
    ("text", "code", "line", "fragment"),
    [
        (
            '{"value": [\n{"appId": "a",\n "keyCredentials": [}\n]}',
            "malformed",
            3,
            "not valid JSON",
        ),
        ('{"keyCredentials": [],\n "KEYCREDENTIALS": [1]}', "malformed", 2, "more than once"),
        (
            '{"keyCredentials": []' + "," * 0 + ', "x": ' + "[" * 5000 + "]" * 5000 + "}",
            "malformed",
            None,
            "nested too deeply",
        ),
        (
            '[1, "keyCredentials", {"keyCredentials": 7, "appId": "a"}]',
            "malformed",
            None,
            "not an object",
        ),
    ],
)
def test_hostile_cloud_json_is_a_located_problem(
    text: str, code: str, line: int | None, fragment: str
) -> None:
    result = _parse(text)

    assert [p.code.value for p in result.problems][:1] == [code]
    assert result.problems[0].line == line
    assert fragment in result.problems[0].message


def test_key_credentials_that_are_not_a_list_are_incomplete_evidence() -> None:
    result = _parse(json.dumps({"appId": EXO, "keyCredentials": "System.Object[]"}))

    (principal,) = result.trust.cloud_principals
    assert principal.key_credentials is None  # not "no keys": HT121 fails closed on it
    assert [p.code for p in result.problems] == [ProblemCode.INCOMPLETE_EVIDENCE]


def test_too_many_principals_are_bounded() -> None:
    document = {"value": [{"appId": "a", "keyCredentials": []}] * (MAX_OBJECTS + 1)}

    result = _parse(json.dumps(document))

    assert len(result.trust.cloud_principals) == MAX_OBJECTS
    assert [p.code for p in result.problems] == [ProblemCode.INCOMPLETE_EVIDENCE]


@settings(max_examples=150, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "appId",
                        "keyCredentials",
                        "key",
                        "customKeyIdentifier",
                        "value",
                        "KeyCredentials",
                        "Apps",
                    ]
                ),
                inner,
                max_size=4,
            )
        ),
        max_leaves=20,
    )
)
def test_any_json_with_key_credentials_never_raises(value: object) -> None:
    result = _parse(json.dumps({"keyCredentials": [], "value": value}))

    assert isinstance(result, ParseResult)
