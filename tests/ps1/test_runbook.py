"""RUNBOOK.md: what the operator runs where, in what order, how to check and back out; and the
help of every script with its -WhatIf, confirmed and rollback examples."""

from __future__ import annotations

import datetime
import re

import pytest

from auditor.audit import AuditRequest, run_audit
from auditor.model import Report
from auditor.render.runbook import markdown_text, render_runbook, runbook_sections
from auditor.resources import examples_dir


@pytest.fixture(scope="module")
def report() -> Report:
    return run_audit(
        AuditRequest(
            paths=(examples_dir(),), as_of=datetime.date(2025, 1, 15), change_id="CHG-EXAMPLE-1"
        )
    )


def test_runbook_snapshot(report: Report, snapshot) -> None:  # type: ignore[no-untyped-def]
    assert render_runbook(report) == snapshot


def test_runbook_says_where_and_in_what_order(report: Report) -> None:
    runbook = render_runbook(report)
    order = runbook.split("## Which script runs where, in this order")[1].split("\n## ")[0]
    steps = re.findall(r"^\d+\. (\S+):", order, flags=re.M)
    assert steps[0] == "remediation/partner-applications.ps1"
    # then each server's web.config, then the organisation's dedicated-app override (HT001)
    assert steps[-1] == "remediation/dedicated-app-override.ps1"
    assert steps[1:-1] and all(step.startswith("remediation/web-config-") for step in steps[1:-1])
    assert "Exchange Management Shell" in order and "elevated" in order
    back_out = runbook.split("## Back-out, in this order")[1].split("\n## ")[0]
    rollbacks = re.findall(r"^\d+\. (\S+):", back_out, flags=re.M)
    assert rollbacks[-1] == "rollback/partner-applications.ps1"
    assert "-ConfirmRegrant" in back_out


@pytest.mark.parametrize(
    "needle",
    [
        "auditor verify",
        "-WhatIf",
        "change record",
        "MSExchangeRestFrontEndAppPool",
        "app-only",
        "How long it takes",
        "auditor attest",
        "Functional check",
        "Cumulative Update",
        "Set-AuthenticodeSignature",
        "AUDITOR-PARTIAL",
    ],
)
def test_runbook_covers(report: Report, needle: str) -> None:
    assert needle in render_runbook(report)


def test_runbook_sections_are_the_runbook(report: Report) -> None:
    runbook = render_runbook(report)
    for title, lines in runbook_sections(report, value=markdown_text):
        assert f"## {title}" in runbook
        for line in lines:
            assert line in runbook


def test_runbook_lists_every_script_with_its_hash(report: Report) -> None:
    runbook = render_runbook(report)
    for script in report.scripts:
        assert f"{script.name}  {script.sha256}" in runbook


def test_every_script_help_has_whatif_confirmed_and_rollback_examples(report: Report) -> None:
    for script in report.scripts:
        help_text = script.content.split("<#", 1)[1].split("#>", 1)[0]
        examples = help_text.split(".EXAMPLE")[1:]
        assert len(examples) == 3, script.name
        commands = [example.strip().splitlines()[0] for example in examples]
        assert commands[0].endswith(" -WhatIf"), script.name
        if script.kind == "remediation":
            assert "-WhatIf" not in commands[1] and commands[1].startswith(".\\remediation\\")
            assert commands[2].startswith(".\\rollback\\")
        else:
            assert commands[1].startswith(".\\rollback\\")
            assert commands[2].startswith(".\\remediation\\")
