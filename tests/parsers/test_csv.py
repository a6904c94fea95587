"""Export-Csv parser: type names are incomplete evidence, joined lists are read."""

from __future__ import annotations

from pathlib import Path

import pytest
from parser_helpers import DATA, raw_input

from auditor.model import ProblemCode
from auditor.parsers import csv_

CSV = DATA / "csv"
GRAPH = "00000003-0000-0000-c000-000000000000"


def test_type_names_are_incomplete_evidence_with_the_export_advice() -> None:
    result = csv_.parse(raw_input(CSV / "ps51-type-names.csv"))

    graph = next(app for app in result.partner_applications if app.application_identifier == GRAPH)
    assert graph.act_as_permissions.values == () and not graph.act_as_permissions.complete
    assert graph.app_only_permissions.values == () and not graph.app_only_permissions.complete
    assert graph.act_as_permissions.evidence.raw == '"System.String[]"'
    incomplete = [p for p in result.problems if p.code is ProblemCode.INCOMPLETE_EVIDENCE]
    assert incomplete
    for problem in incomplete:
        assert "Export-Clixml" in problem.message
        assert "-join ';'" in problem.message


def test_joined_lists_split_on_the_separator_and_trimmed() -> None:
    result = csv_.parse(raw_input(CSV / "joined-embedded-newline.csv"))

    graph, sfb = result.partner_applications
    assert graph.act_as_permissions.values == (
        "Mail.Read",
        "Mail.Write",
        "Mail.Send",
        "Calendars.Read",
    )
    assert graph.act_as_permissions.complete
    # The record starts on line 2; a quoted cell before the list holds a line break.
    assert graph.source.line == 2
    assert graph.act_as_permissions.evidence.line == 3
    assert sfb.source.line == 4
    assert sfb.act_as_permissions.values == () and sfb.act_as_permissions.complete  # empty cell


def test_without_a_separator_joined_text_is_not_guessed() -> None:
    result = csv_.parse(raw_input(CSV / "joined-embedded-newline.csv"), list_separator=None)

    graph, sfb = result.partner_applications
    assert graph.act_as_permissions.values == () and not graph.act_as_permissions.complete
    assert sfb.act_as_permissions.complete  # an empty cell is still $null
    assert any("csv_list_separator" in p.message for p in result.problems)


@pytest.mark.parametrize(
    ("cell", "is_type"),
    [
        ("System.String[]", True),
        ("System.Object[]", True),
        ("System.Collections.ArrayList", True),
        ("Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]", True),
        (
            "Deserialized.Microsoft.Exchange.Data.MultiValuedProperty`1[[System.String, mscorlib, "
            "Version=4.0.0.0, Culture=neutral, PublicKeyToken=b77a5c561934e089]]",
            True,
        ),
        ("Mail.Read", False),
        ("Mail.Read;Mail.Write", False),
        ("User.ReadWrite.All", False),
        ("", False),
    ],
)
def test_type_name_recognition(cell: str, is_type: bool) -> None:
    assert csv_.is_type_name(cell) is is_type


def test_bad_quoting_is_a_located_problem() -> None:
    data = b'"Name","ApplicationIdentifier"\r\n"Graph","0000"x"\r\n'
    result = csv_.parse(raw_input(Path("bad.csv"), data=data))

    assert [(p.code, p.line) for p in result.problems] == [(ProblemCode.MALFORMED, 2)]
