"""ConvertTo-Json parser: one object, arrays, 5.1 wrappers, depth truncation, hostile JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from parser_helpers import DATA, raw_input

from auditor.model import ProblemCode
from auditor.parsers import json_

JSON = DATA / "json"
GRAPH = "00000003-0000-0000-c000-000000000000"


def test_both_date_forms_and_numeric_enums_are_read() -> None:
    ps51 = json_.parse(raw_input(JSON / "graph-ps51-single.json"))  # "\/Date(ms)\/", enum 1
    pwsh7 = json_.parse(raw_input(JSON / "two-apps-pwsh7-array.json"))  # ISO 8601, enum text

    assert ps51.problems == () and pwsh7.problems == ()
    (graph51,) = ps51.partner_applications
    assert len(graph51.act_as_permissions.values) == 29 and graph51.act_as_permissions.complete
    assert [app.application_identifier for app in pwsh7.partner_applications] == [
        "00000002-0000-0ff1-ce00-000000000000",
        GRAPH,
    ]


def test_linked_account_object_becomes_its_canonical_name() -> None:
    exo, _graph = json_.parse(raw_input(JSON / "two-apps-pwsh7-array.json")).partner_applications
    assert exo.linked_account == "fabrikam.test/Users/Exchange Online-ApplicationAccount"


def test_text_where_a_list_belongs_is_incomplete_never_a_permission() -> None:
    result = json_.parse(raw_input(JSON / "pwsh7-depth1-array.json"))

    for app in result.partner_applications:
        assert app.act_as_permissions.values == ()
        assert app.act_as_permissions.complete is False
    messages = [p.message for p in result.problems if p.code is ProblemCode.INCOMPLETE_EVIDENCE]
    assert len(messages) == 2
    assert all("-Depth 4" in message and "Export-Clixml" in message for message in messages)


def test_property_evidence_points_at_the_key_and_shows_its_value() -> None:
    (_exo, graph) = json_.parse(raw_input(JSON / "two-apps-pwsh7-array.json")).partner_applications
    evidence = graph.app_only_permissions.evidence

    lines = (JSON / "two-apps-pwsh7-array.json").read_text().splitlines()
    assert lines[evidence.line - 1].strip().startswith('"AppOnlyPermissions"')
    assert evidence.raw.startswith('"AppOnlyPermissions": [')
    assert evidence.raw.endswith("]")
    assert graph.source.line == lines.index("  {", 20) + 1


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_deep_nesting_is_a_problem_not_a_crash(depth: int) -> None:
    data = b'{"ApplicationIdentifier": "x", "Deep": ' + b"[" * depth + b"]" * depth + b"}"
    result = json_.parse(raw_input(Path("deep.json"), data=data))

    assert result.partner_applications == ()
    assert [problem.code for problem in result.problems] == [ProblemCode.MALFORMED]
    assert "nested too deeply" in result.problems[0].message


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"", None),
        (b"[\n]\n", None),
        (b'"just text"', 1),
        (b'{"ApplicationIdentifier": "a"}\n\n{"ApplicationIdentifier": "b",\n', 4),
    ],
    ids=["empty", "empty-array", "scalar", "second-document-cut"],
)
def test_unusable_json_is_a_located_problem(data: bytes, line: int | None) -> None:
    result = json_.parse(raw_input(Path("bad.json"), data=data))

    assert ProblemCode.MALFORMED in [problem.code for problem in result.problems]
    assert [p.line for p in result.problems if p.code is ProblemCode.MALFORMED] == [line]


def test_concatenated_documents_are_all_read() -> None:
    data = b'{"ApplicationIdentifier": "A", "ActAsPermissions": [], "AppOnlyPermissions": null}\r\n'
    data += b'[{"ApplicationIdentifier": "b", "ActAsPermissions": ["Mail.Read"], '
    data += b'"AppOnlyPermissions": []}]\r\n'
    result = json_.parse(raw_input(Path("appended.json"), data=data))

    assert result.problems == ()
    assert [
        (app.application_identifier, app.source.line) for app in result.partner_applications
    ] == [
        ("a", 1),
        ("b", 2),
    ]
