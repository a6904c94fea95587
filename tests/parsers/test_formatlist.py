"""Format-List parser: `Get-PartnerApplication | Format-List *` text as admins save it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from case_files import cases
from parser_helpers import DATA, raw_input

from auditor.model import ProblemCode
from auditor.parsers import formatlist

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))

from fuzz_targets import wrap  # the ListWriter model the fuzz targets write with

FORMAT_LIST = DATA / "formatlist"
EQUIVALENCE = DATA / "mixed" / "equivalence"
GRAPH = "00000003-0000-0000-c000-000000000000"


def test_article_sample_is_graph_with_truncated_act_as(article_sample: Path) -> None:
    result = formatlist.parse(raw_input(article_sample))

    (graph,) = result.partner_applications
    assert graph.application_identifier == GRAPH
    assert graph.name == "Microsoft Graph"
    assert graph.act_as_permissions.values == ("Mail.Read", "Mail.Write")  # no "Mail.Write…"
    assert graph.act_as_permissions.complete is False
    assert graph.act_as_permissions.evidence.line == 14
    assert graph.act_as_permissions.evidence.raw.endswith("{Mail.Read, Mail.Write…}")
    assert graph.app_only_permissions.values == ()
    assert graph.app_only_permissions.complete is True  # `AppOnlyPermissions :` is $null
    assert graph.linked_account is None
    assert graph.server == "ex01.exlab.labs.tntg.cz"  # OriginatingServer, nothing better known
    (problem,) = result.problems
    assert problem.code is ProblemCode.INCOMPLETE_EVIDENCE
    assert (problem.path, problem.line) == (str(article_sample), 14)
    assert problem.subject == f"partner-application:{GRAPH}"
    for advice in ("$FormatEnumerationLimit = -1", "Export-Clixml", "auditor collect"):
        assert advice in problem.message


def test_no_permission_name_keeps_an_ellipsis() -> None:
    for path in cases(FORMAT_LIST):
        for app in formatlist.parse(raw_input(path)).partner_applications:
            for permissions in (app.act_as_permissions, app.app_only_permissions):
                assert not any(name.endswith(("...", "…")) for name in permissions.values)


@pytest.mark.parametrize(
    "path",
    [
        FORMAT_LIST / "graph-pwsh7-width120-utf8.txt",
        EQUIVALENCE / "graph-formatlist-utf16le.txt",  # pwsh 7: cut at column 80
        EQUIVALENCE / "graph-formatlist-ps51-wordwrap.txt",  # 5.1: broken after spaces
    ],
    ids=lambda path: path.name,
)
def test_wrapped_lists_rejoin_to_the_same_29_permissions(path: Path) -> None:
    (graph,) = formatlist.parse(raw_input(path)).partner_applications
    assert graph.act_as_permissions.complete
    assert len(graph.act_as_permissions.values) == 29
    assert graph.act_as_permissions.values[26] == "Privilege.SkipClientAccessRules"
    assert all(" " not in name for name in graph.act_as_permissions.values)


def _render(label_width: int, props: list[tuple[str, str]], width: int, word_wrap: bool) -> str:
    """A Format-List block the way ListWriter lays it out (hard cut or 5.1 word wrap)."""
    lines = []
    for label, value in props:
        head = label.ljust(label_width) + " : "
        field = width - 1 - len(head)
        chunks = wrap(value, field, word_wrap)
        lines.append(head + chunks[0])
        lines.extend(" " * len(head) + chunk for chunk in chunks[1:])
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize("width", [64, 80, 120, 250])
@pytest.mark.parametrize("label_width", [21, 35, 50])
@pytest.mark.parametrize("word_wrap", [True, False], ids=["ps51-word-wrap", "pwsh7-cut"])
def test_any_wrap_width_and_label_width_round_trips(
    width: int, label_width: int, word_wrap: bool
) -> None:
    names = [f"Scope{i}.ReadWrite.All" for i in range(12)] + ["X" * 70]
    props = [
        ("Name", "Contoso : Payroll : App"),  # values may contain " : "
        ("ApplicationIdentifier", "11111111-2222-3333-4444-555555555555"),
        ("ActAsPermissions", "{" + ", ".join(names) + "}"),
        ("AppOnlyPermissions", "{}"),
        ("LinkedAccount", "contoso.test/Service Accounts/Payroll App Account With A Long Name"),
    ]
    text = _render(label_width, props, width, word_wrap)
    result = formatlist.parse(raw_input(Path("wrap.txt"), data=text.encode()))

    assert result.problems == ()
    (app,) = result.partner_applications
    assert app.name == "Contoso : Payroll : App"
    assert app.act_as_permissions.values == tuple(names)
    assert app.act_as_permissions.complete
    assert app.app_only_permissions.values == () and app.app_only_permissions.complete
    assert (
        app.linked_account == "contoso.test/Service Accounts/Payroll App Account With A Long Name"
    )


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"], ids=["crlf", "lf", "cr"])
@pytest.mark.parametrize(
    "encode",
    [
        lambda text: b"\xff\xfe" + text.encode("utf-16-le"),
        lambda text: b"\xef\xbb\xbf" + text.encode(),
        lambda text: text.encode(),
    ],
    ids=["utf16le-bom", "utf8-bom", "utf8"],
)
def test_line_endings_and_encodings_do_not_change_the_result(newline: str, encode: object) -> None:
    text = newline.join(
        [
            "",
            "Name                  : Microsoft Graph",
            "ApplicationIdentifier : 00000003-0000-0000-c000-000000000000",
            "AppOnlyPermissions    : {Mail.Read, Mail.Send…}",
            "ActAsPermissions      : {Mail.Read, Mail.Send, User.Read.All,",
            "                         Mail.ReadWrite}",
            "",
        ]
    )
    assert callable(encode)
    result = formatlist.parse(raw_input(Path("x.txt"), data=encode(text)))

    (app,) = result.partner_applications
    assert app.act_as_permissions.values == (
        "Mail.Read",
        "Mail.Send",
        "User.Read.All",
        "Mail.ReadWrite",
    )
    assert app.app_only_permissions.values == ("Mail.Read", "Mail.Send")
    assert not app.app_only_permissions.complete
    assert [(p.code, p.line) for p in result.problems] == [(ProblemCode.INCOMPLETE_EVIDENCE, 4)]


def test_truncated_list_problem_names_the_fix() -> None:
    text = (
        "ApplicationIdentifier : 00000003-0000-0000-c000-000000000000\n"
        "ActAsPermissions      : {Mail.Read...}\n"
        "AppOnlyPermissions    :\n"
    )
    result = formatlist.parse(raw_input(Path("t.txt"), data=text.encode()))

    (problem,) = result.problems
    assert problem.code is ProblemCode.INCOMPLETE_EVIDENCE
    assert problem.line == 2
    assert "`...`" in problem.message
    assert "$FormatEnumerationLimit = -1" in problem.message
    assert "Export-Clixml -Depth 4" in problem.message


def test_a_file_that_is_not_utf8_gives_a_located_encoding_problem() -> None:
    data = (
        b"Name                  : Contoso\r\n"
        b"ApplicationIdentifier : 1\r\n"
        b"LinkedAccount         : \x9a\xe8\r\n"
    )
    result = formatlist.parse(raw_input(Path("legacy.txt"), data=data))

    assert result.partner_applications == ()
    (problem,) = result.problems
    assert (problem.code, problem.line) == (ProblemCode.BAD_ENCODING, 3)
