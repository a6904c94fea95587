"""The report shows the package's runbook: every line of RUNBOOK.md's sections, as text."""

from __future__ import annotations

import datetime
import html
import re

from auditor.audit import AuditRequest, run_audit
from auditor.render.html import render_html
from auditor.render.runbook import render_runbook, runbook_sections
from auditor.resources import examples_dir

AS_OF = datetime.date(2026, 11, 26)


def _text(page: str) -> str:
    """The page's runbook section as plain text (tags dropped, entities decoded)."""
    section = page[page.index('<section id="runbook"') :]
    section = section[: section.index("</section>")]
    return html.unescape(re.sub(r"<[^>]+>", "", section))


def test_the_report_carries_every_runbook_line_of_the_package() -> None:
    report = run_audit(AuditRequest(paths=(examples_dir(),), as_of=AS_OF))
    shown = _text(render_html(report))
    runbook = render_runbook(report)

    sections = runbook_sections(report, in_report=True)
    # The example gives no cloud export: the manual step that takes it follows the scripts.
    assert [title for title, _ in sections][:3] == [
        "Which script runs where, in this order",
        "Manual steps: Microsoft's commands, run by hand (no generated script)",
        "Before the change",
    ]
    for title, lines in sections:
        assert title in shown and f"## {title}" in runbook
        for line in lines:
            # The report renders `code` spans; the text is the same word for word.
            assert line.replace("`", "") in shown
            assert line in runbook
    # Back-out names every rollback script, the partner one with its explicit switch.
    assert "Run: .\\rollback\\web-config-ex02.ps1." in shown
    assert "on the server EX02 itself" in shown
    assert "Run: .\\rollback\\partner-applications.ps1 -ConfirmRegrant." in shown


def test_a_pass_report_says_there_is_nothing_to_run() -> None:
    # EX01's EWS web.config alone: nothing to change.
    ews = examples_dir() / "EX01" / "FrontEnd" / "HttpProxy" / "EWS"
    report = run_audit(AuditRequest(paths=(ews,), as_of=AS_OF))
    assert not report.change_sets
    assert "This package holds no remediation script" in _text(render_html(report))
