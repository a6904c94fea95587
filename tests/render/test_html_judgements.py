"""Every mark the HTML report prints is the judgement the rules (and the planner) produced.

The judge's matrix of cases (tests/rules/test_judgement_matrix.py: case variants of forbidden
names, tokens allowed or forbidden per vdir, padded tokens the change ENABLES or removes, waived
findings) is audited for real and rendered; the permission matrices, the server grid and the
proposed-change table are parsed back and compared with `Report.judgements` and the plan. The
two cases the review reproduced are among them: an app-only `mail.send` is FORBIDDEN, and a
`V1S2SAppOnly` the policy allows on the vdir is not.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from html_page import Page

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "rules"))
from test_judgement_matrix import CASES, Case, _report

from auditor.model import (
    Presence,
    Report,
    TokenAction,
    TokenMark,
)
from auditor.render.html import render_html

PLAN = "What changes, where, and the scripts that do it"


def _grid(page: Page) -> dict[str, dict[str, str]]:
    table = next(
        (t for t in page.tables if str(t["caption"]).startswith("Servers that deviate")), None
    )
    if table is None:
        return {}
    rows = table["rows"]
    assert isinstance(rows, list)
    header = rows[0][1:]
    return {row[0]: dict(zip(header, row[1:], strict=True)) for row in rows[1:]}


def _check_permissions(report: Report, page: Page) -> None:
    captions = {str(t["caption"]) for t in page.tables}
    for judgement in report.judgements.applications:
        caption = f"{judgement.name}: permission matrix"
        granted = [p for p in judgement.permissions if p.app_only is not Presence.NO]
        if not granted:
            assert caption not in captions
            continue
        rows = {row[0]: row for row in page.table(caption)[1:]}
        assert set(rows) == {p.name for p in judgement.permissions}
        for permission in judgement.permissions:
            status = " ".join(mark.value for mark in permission.marks)
            if permission.forbidden_by is not None:
                status += f" ({permission.forbidden_by})"
            assert rows[permission.name][4] == status, permission.name
            after = rows[permission.name][5]
            if permission.app_only is Presence.YES and permission.after is Presence.NO:
                assert after == "removed"
            elif permission.after is Presence.YES:
                assert after in ("kept", "granted")


def _check_tokens(report: Report, page: Page) -> None:
    grid = _grid(page)
    shown = " ".join(" ".join(cells.values()) for cells in grid.values())
    forbidden = sum(
        TokenMark.FORBIDDEN in token.marks
        for judgement in report.judgements.profiles
        for token in judgement.tokens
    )
    assert shown.count("FORBIDDEN") == forbidden
    for judgement in report.judgements.profiles:
        if judgement.matches_default:
            assert judgement.vdir not in grid.get(judgement.server, {}) or (
                grid[judgement.server][judgement.vdir] == "default"
            )
            continue
        cell = grid.get(judgement.server, {}).get(judgement.vdir)
        marked = [t for t in judgement.tokens if t.marks != (TokenMark.HONOURED,)]
        if cell is None:
            assert not marked and not judgement.missing_default
            continue
        for token in marked:
            words = [m.value for m in token.marks if m not in (TokenMark.HONOURED, TokenMark.ADDED)]
            assert " ".join(words) in cell, (token, cell)
            if token.action is TokenAction.REMOVE:
                assert "the change removes it" in cell
            if token.action is TokenAction.ENABLE:
                assert "the change ENABLES it" in cell


def _check_plan(report: Report, page: Page) -> None:
    if not report.change_sets:
        assert PLAN not in {str(t["caption"]) for t in page.tables}
        return
    rows = page.table(PLAN)[1:]
    for change_set in report.change_sets:
        for app in change_set.partner_applications:
            (row,) = [r for r in rows if app.application_identifier in r[0]]
            judgement = report.judgements.application(
                f"partner-application:{app.application_identifier.lower()}"
            )
            assert judgement is not None
            removed = [
                p.name
                for p in judgement.permissions
                if p.app_only is Presence.YES and p.after is Presence.NO
            ]
            assert set(app.removes) == set(removed)
            cell = row[2]
            assert f"AppOnly before ({len(app.audited_app_only)})" in cell
            if removed:
                assert cell.split("removes ", 1)[1].split(": ", 1)[1].split(", ") == list(
                    app.removes
                )
        for change in change_set.web_configs:
            (row,) = [r for r in rows if (change_set.server or "") in r[0] and change.vdir in r[1]]
            cell = row[2]
            assert cell.count("|- ") + cell.startswith("Profiles: - ") == len(change.removes)
            assert cell.count(" ENABLES") == len(change.enables)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_html_marks_are_the_judgements(case: Case, tmp_path: Path) -> None:
    report = _report(case, tmp_path)
    page = Page(render_html(report))
    _check_permissions(report, page)
    _check_tokens(report, page)
    _check_plan(report, page)


def test_the_two_reproduced_cases(tmp_path: Path) -> None:
    by_name = {case.name: case for case in CASES}
    page = Page(render_html(_report(by_name["app-only-mail-send-lower-case"], tmp_path)))
    row = next(r for r in page.table("Microsoft Graph: permission matrix") if r[0] == "mail.send")
    assert row[4].startswith("FORBIDDEN")
    allowed = _report(by_name["v1s2sapponly-allowed-on-api-by-the-organisation"], tmp_path)
    grid = _grid(Page(render_html(allowed)))
    assert "FORBIDDEN" not in " ".join(
        cells.get("Default Web Site/API", "") for cells in grid.values()
    )
