"""Hostile hybrid-trust exports in Format-List, ConvertTo-Json and Export-Csv: huge lines,
control characters and values of the wrong type are located problems (file, line, what was
expected) or values marked missing or incomplete, never a traceback and never a record that
claims more than the export shows.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.model import ExportedList, ParseResult, ProblemCode
from auditor.parsers import csv_, formatlist, json_
from auditor.parsers.base import RawInput
from auditor.parsers.properties import MAX_RAW
from auditor.parsers.sniff import sniff

OVERRIDE = {
    "ComponentName": "Global",
    "SectionName": "ExchangeOnpremAsThirdPartyAppId",
    "Parameters": ["Enabled=true"],
    "Server": None,
    "Status": {"value": 3, "Value": "Accepted"},
    "Name": "EnableExchangeHybrid3PAppFeature",
}
AUTH_SERVER = {
    "Name": "EvoSts",
    "Type": {"value": 1, "Value": "AzureAD"},
    "Enabled": True,
    "AuthMetadataUrl": "https://login.windows.net/contoso.com/federationmetadata.xml",
    "TokenIssuingEndpoint": "https://login.windows.net/common/oauth2/token",
    "DomainName": ["contoso.mail.onmicrosoft.com"],
}


def _raw(data: bytes, path: str = "planted.txt") -> RawInput:
    return RawInput(path=path, data=data, sha256="0" * 64)


def _json(value: Any) -> ParseResult:
    return json_.parse(_raw(json.dumps(value, indent=2).encode()))


def _format_list(lines: list[str]) -> ParseResult:
    return formatlist.parse(_raw(("\r\n".join(lines) + "\r\n").encode()))


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("Parameters", 5, "Parameters"),
        ("Parameters", "Enabled=true", "Parameters"),  # -Depth cut the list to text
        ("Parameters", {"Enabled": True}, "Parameters"),
        ("Parameters", [1, "Enabled=true"], "Parameters"),
        ("Status", 3, "Status"),  # a live enum's integer: never read
        ("Status", {"value": 3}, "Status"),
        ("Name", ["a", "b"], "Name"),
        ("ComponentName", 7, "ComponentName"),
    ],
)
def test_a_json_value_of_the_wrong_type_is_a_located_problem(
    key: str, value: Any, named: str
) -> None:
    result = _json([{**OVERRIDE, key: value}])

    (override,) = result.trust.setting_overrides
    (problem,) = result.problems
    assert (problem.code, problem.path, problem.line) == (
        ProblemCode.INCOMPLETE_EVIDENCE,
        "planted.txt",
        2,
    )
    assert f"has {named} in a shape" in problem.message
    parameters = override.parameters
    if key == "Parameters":  # never a list the export did not hold whole
        assert parameters is not None and parameters.complete is False
    else:
        assert getattr(override, {"ComponentName": "component"}.get(key, key.lower())) is None


def test_wrong_flags_and_integers_are_problems_not_guesses() -> None:
    result = _json({**AUTH_SERVER, "Enabled": "yes", "IsDefaultAuthorizationEndpoint": 1})

    (server,) = result.trust.auth_servers
    assert (server.enabled, server.is_default_authorization_endpoint) == (None, None)
    (problem,) = result.problems
    assert "Enabled, IsDefaultAuthorizationEndpoint" in problem.message
    assert problem.line == 1


@pytest.mark.parametrize(
    "date", ["/Date(99999999999999999)/", "/Date(-99999999999999)/", "tomorrow", 12, None]
)
def test_an_unreadable_date_is_missing_never_guessed(date: Any) -> None:
    config = {"CurrentCertificateThumbprint": "AB" * 20, "NextCertificateEffectiveDate": date}

    result = _json(config)

    (record,) = result.trust.auth_configs
    assert record.next_certificate_effective_date is None
    assert ("NextCertificateEffectiveDate" in record.missing) is (date is not None)


def test_a_repeated_key_of_a_trust_object_is_ambiguous_and_skipped() -> None:
    text = '[\n{"ComponentName": "Global", "SectionName": "X",\n"Parameters": [],\n'
    text += '"Parameters": ["Enabled=true"]}\n]'

    result = json_.parse(_raw(text.encode()))

    assert result.trust.setting_overrides == ()
    (problem,) = result.problems
    assert (problem.code, problem.line) == (ProblemCode.MALFORMED, 4)
    assert "'Parameters' more than once" in problem.message


@pytest.mark.parametrize(
    ("shown", "expected", "lost"),
    [
        ("{Enabled=true}", ExportedList(("Enabled=true",), True), False),
        ("{}", ExportedList((), True), False),
        ("", None, False),
        ("Enabled=true", ExportedList((), False), True),  # a list is shown in braces
        ("{Enabled=true, Other=1", ExportedList(("Enabled=true",), False), True),
        ("{a, b, c, d...}", ExportedList(("a", "b", "c", "d"), False), True),
        ("{a, b, c, d\u2026}", ExportedList(("a", "b", "c", "d"), False), True),
    ],
)
def test_format_list_lists_are_whole_or_marked(
    shown: str, expected: ExportedList | None, lost: bool
) -> None:
    result = _format_list(
        [
            "ComponentName : Global",
            "SectionName   : ExchangeOnpremAsThirdPartyAppId",
            f"Parameters    : {shown}",
            "Enabled       : maybe",
        ]
    )

    (override,) = result.trust.setting_overrides
    assert override.parameters == expected
    assert [problem.line for problem in result.problems] == ([1] if lost else [])


def test_a_huge_line_is_read_with_bounded_evidence() -> None:
    parameters = ", ".join(f"P{index}=x" for index in range(200_000))
    reason = "r" * 3_000_000
    result = _format_list(
        [
            "ComponentName : Global",
            "SectionName   : ExchangeOnpremAsThirdPartyAppId",
            f"Parameters    : {{{parameters}}}",
            f"Reason        : {reason}",
        ]
    )

    (override,) = result.trust.setting_overrides
    assert override.parameters is not None
    assert len(override.parameters.values) <= 100_000
    assert override.parameters.complete is False  # more names than any export has
    assert override.reason == reason
    assert len(override.source.raw) <= MAX_RAW


def test_control_characters_stay_in_the_text_they_came_in() -> None:
    result = _json({**OVERRIDE, "Name": "a\u0007b\u001b[31m\u2028c", "SectionName": "S\u0000"})

    (override,) = result.trust.setting_overrides
    assert override.name == "a\u0007b\u001b[31m\u2028c"
    assert override.section == "S\u0000"  # never matches the dedicated app's section
    assert result.problems == ()


def test_a_csv_record_of_the_wrong_width_is_skipped_where_it_is() -> None:
    text = '"ComponentName","SectionName","Parameters","Name"\r\n'
    text += '"Global","ExchangeOnpremAsThirdPartyAppId","","A"\r\n"Global","X"\r\n'
    data = text.encode()

    assert sniff(data) is not None
    result = csv_.parse(_raw(data))

    assert [override.name for override in result.trust.setting_overrides] == ["A"]
    (problem,) = result.problems
    assert (problem.code, problem.line) == (ProblemCode.MALFORMED, 3)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["value", "Value", "Count", "x"]), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(
    st.sampled_from([OVERRIDE, AUTH_SERVER]),
    st.dictionaries(st.sampled_from(sorted({*OVERRIDE, *AUTH_SERVER})), json_values, max_size=6),
)
def test_any_json_values_never_raise_and_every_problem_is_located(
    base: dict[str, Any], planted: dict[str, Any]
) -> None:
    result = _json([{**base, **planted}])

    for problem in result.problems:
        assert problem.path == "planted.txt" and problem.line is not None


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.lists(st.text(max_size=40), min_size=1, max_size=5))
def test_any_format_list_values_never_raise_and_every_problem_is_located(
    values: list[str],
) -> None:
    lines = ["ComponentName : Global", "SectionName   : S"]
    lines += [
        f"Parameters    : {value}" if i == 0 else f"Reason        : {value}"
        for i, value in enumerate(values[:2])
    ]

    result = formatlist.parse(_raw("\n".join(lines).encode("utf-8", "surrogatepass")))

    for problem in result.problems:
        assert problem.path == "planted.txt"


@pytest.mark.parametrize(
    ("raw_data", "code", "said"),
    [
        ([48, 256, 1], ProblemCode.INCOMPLETE_EVIDENCE, "has no RawData"),
        ([48, -1], ProblemCode.INCOMPLETE_EVIDENCE, "has no RawData"),
        ([48, 1.5], ProblemCode.INCOMPLETE_EVIDENCE, "has no RawData"),
        ([True, 1], ProblemCode.INCOMPLETE_EVIDENCE, "has no RawData"),
        ("MIIB", ProblemCode.INCOMPLETE_EVIDENCE, "has no RawData"),
        ([0] * 70_000, ProblemCode.INCOMPLETE_EVIDENCE, "has no RawData"),
        ([48, 3, 2, 1, 0], ProblemCode.MALFORMED, "the RawData of the certificate at line 2"),
    ],
)
def test_a_json_certificate_without_readable_der_is_refused_where_it_is(
    raw_data: Any, code: ProblemCode, said: str
) -> None:
    certificate = {"Thumbprint": "AB" * 20, "NotAfter": "2030-01-01T00:00:00Z"}

    result = _json([{**certificate, "RawData": raw_data}])

    assert result.trust.exchange_certificates == ()
    (problem,) = result.problems
    assert (problem.code, problem.line) == (code, 2)
    assert said in problem.message
