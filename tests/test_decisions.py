"""Facts decided once (`auditor.decisions`) read the same in every output of one audit.

Reports are built through the pipeline `auditor audit` runs (`run_audit`, which ends with
`attach_remediation`) from the bundled two-server example, where EX01 honours `V1S2SAppOnly`
and EX02 writes it padded (Exchange drops it): the servers disagree (FL001).
"""

from __future__ import annotations

import datetime
import json
import shutil
from pathlib import Path

import lxml.html
import pytest
from typer.testing import CliRunner

from auditor.audit import AuditRequest, run_audit
from auditor.cli import app
from auditor.cli.terminal import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK
from auditor.decisions import (
    EXIT_FINDINGS as DECIDED_FINDINGS,
)
from auditor.decisions import (
    EXIT_INCOMPLETE as DECIDED_INCOMPLETE,
)
from auditor.decisions import (
    EXIT_OK as DECIDED_OK,
)
from auditor.decisions import (
    ResolutionKind,
    WaiverState,
    exit_decision,
    waiver_state,
)
from auditor.model import Report, ScriptReach, Severity, Verdict, Waiver
from auditor.render.html import render_html
from auditor.render.json_ import render_findings
from auditor.render.markdown import render_markdown
from auditor.resources import examples_dir

AS_OF = datetime.date(2026, 11, 26)


@pytest.fixture(scope="module")
def report() -> Report:
    return run_audit(AuditRequest(paths=(examples_dir(),), as_of=AS_OF, change_id="CHG-1"))


def test_the_report_carries_its_decisions(report: Report) -> None:
    decisions = report.decisions
    assert decisions is not None
    assert decisions.verdict.current is Verdict.FAIL
    fleet = decisions.fleet("fleet:Default Web Site/API")
    assert fleet is not None and not fleet.agree
    # One server each: the one honouring the shipped default comes first, EX01 adds the token.
    assert [variant.servers for variant in fleet.variants] == [("EX02",), ("EX01",)]
    assert fleet.variants[1].added == ("V1S2SAppOnly",)


def test_fl001_is_resolved_by_the_same_script_paths_in_html_markdown_and_json(
    report: Report,
) -> None:
    assert report.decisions is not None
    fl001 = next(f for f in report.findings if f.rule_id == "FL001")
    resolution = report.decisions.resolution(fl001)
    assert resolution.kind is ResolutionKind.TOGETHER
    assert resolution.scripts
    assert all(s.startswith("remediation/web-config-") for s in resolution.scripts)
    wording = "resolved by " + ", ".join(resolution.scripts)
    assert resolution.text == wording

    findings = json.loads(render_findings(report))["findings"]
    document = next(f for f in findings if f["rule_id"] == "FL001")
    assert document["remediation"] == resolution.scripts[0]
    assert document["resolution"]["text"] == wording
    assert document["resolution"]["scripts"] == list(resolution.scripts)

    row = next(line for line in render_markdown(report).splitlines() if "| FL001 |" in line)
    assert row.endswith(f"| {wording} |")

    html = render_html(report)
    assert wording in html
    assert "resolved by web-config-" not in html


def test_a_finding_its_own_script_fixes_names_that_script(report: Report) -> None:
    assert report.decisions is not None
    wc001 = next(f for f in report.findings if f.rule_id == "WC001")
    resolution = report.decisions.resolution(wc001)
    assert resolution.kind is ResolutionKind.SCRIPT
    assert resolution.script == wc001.remediation
    assert resolution.text == wc001.remediation


def test_where_each_script_runs_is_decided_once_and_the_safety_line_tells_it(
    report: Report,
) -> None:
    """The example plans organisation-wide scripts (partner applications, the dedicated-app
    override) and one script per server: the report's safety line says which runs only on its
    own server and which once for the organisation."""
    assert report.decisions is not None
    reach = report.decisions.reach
    assert reach == ScriptReach(
        per_server=(
            ("remediation/web-config-ex01.ps1", "EX01"),
            ("remediation/web-config-ex02.ps1", "EX02"),
        ),
        organisation=(
            "remediation/partner-applications.ps1",
            "remediation/dedicated-app-override.ps1",
        ),
    )
    html = render_html(report)
    (safety,) = lxml.html.fromstring(html).xpath("//dt[.='Safety']/following-sibling::dd[1]")
    assert safety.text_content() == (
        "Each script changes nothing where a live value differs from the audited one (drift"
        " guard), backs up first, asks for confirmation and honours -WhatIf;"
        " web-config-ex01.ps1 and web-config-ex02.ps1 each run only on their own server,"
        " partner-applications.ps1 and dedicated-app-override.ps1 once for the organisation."
    )


# --- problem severity -------------------------------------------------------------------------

runner = CliRunner()


def _audit(inputs: Path, out: Path) -> tuple[int, dict[str, object], str]:
    result = runner.invoke(
        app,
        ["audit", str(inputs), "--out", str(out), "--as-of", AS_OF.isoformat(), "--change-id", "C"],
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return result.exit_code, document, result.output


def _example_with(tmp_path: Path, old: str, new: str) -> Path:
    """The bundled example with one replacement in EX01's partner-application export."""
    inputs = tmp_path / "inputs"
    shutil.copytree(examples_dir(), inputs)
    export = inputs / "EX01" / "PartnerApplication.xml"
    text = export.read_text(encoding="utf-16")
    assert old in text
    export.write_text(text.replace(old, new, 1), encoding="utf-16")
    return inputs


def test_a_low_problem_is_a_low_finding_and_not_exit_2(tmp_path: Path) -> None:
    inputs = _example_with(tmp_path, '<B N="Enabled">true</B>', '<S N="Enabled">sometimes</S>')
    code, document, output = _audit(inputs, tmp_path / "out")
    assert "warning: " in output and "neither True nor False" in output
    assert "error: " not in output
    problems = document["problems"]
    assert isinstance(problems, list)
    assert [p["severity"] for p in problems] == ["low"]
    findings = document["findings"]
    assert isinstance(findings, list)
    ev002 = [f for f in findings if f["rule_id"] == "EV002"]
    assert [f["severity"] for f in ev002] == ["low"]
    assert document["complete"] is True
    assert code == EXIT_FINDINGS  # the recipe's findings; never 2 for a low problem


def test_a_problem_that_loses_evidence_is_still_exit_2(tmp_path: Path) -> None:
    inputs = _example_with(tmp_path, '<B N="Enabled">true</B>', '<B N="Enabled">true</B><!DOCTYPE')
    code, document, output = _audit(inputs, tmp_path / "out")
    assert "error: " in output
    assert document["complete"] is False
    assert code == EXIT_INCOMPLETE


# --- waivers and the exit code ----------------------------------------------------------------


def _waiver(expires: datetime.date) -> Waiver:
    return Waiver("PA002", "partner-application:x", "why", "T-1", "owner", "approver", expires)


@pytest.mark.parametrize(
    ("days", "state"),
    [
        (-1, WaiverState.EXPIRED),
        (0, WaiverState.EXPIRES_SOON),  # the expiry day still counts
        (30, WaiverState.EXPIRES_SOON),
        (31, WaiverState.ACTIVE),
    ],
)
def test_waiver_state_on_as_of(days: int, state: WaiverState) -> None:
    expires = AS_OF + datetime.timedelta(days=days)
    assert waiver_state(_waiver(expires), AS_OF) == (state, days)


def test_the_exit_codes_are_the_cli_codes() -> None:
    assert (DECIDED_OK, DECIDED_FINDINGS, DECIDED_INCOMPLETE) == (
        EXIT_OK,
        EXIT_FINDINGS,
        EXIT_INCOMPLETE,
    )


def test_exit_decision(report: Report) -> None:
    def code(report: Report, **options: bool) -> tuple[int, str | None]:
        decided = exit_decision(
            report,
            allow_incomplete=options.get("allow_incomplete", False),
            fail_on_new=options.get("fail_on_new", False),
            exit_zero=options.get("exit_zero", False),
        )
        return decided.code, decided.gate

    assert code(report) == (EXIT_FINDINGS, None)
    assert code(report, exit_zero=True) == (EXIT_OK, "report only (--exit-zero: exit 0)")
    lenient = report.__class__(**{**_fields(report), "fail_on": Severity.CRITICAL})
    assert code(lenient)[0] == EXIT_FINDINGS  # PA001 is critical
    incomplete = report.__class__(**{**_fields(report), "complete": False})
    assert code(incomplete) == (EXIT_INCOMPLETE, None)
    assert code(incomplete, allow_incomplete=True)[0] == EXIT_FINDINGS


def _fields(report: Report) -> dict[str, object]:
    return {name: getattr(report, name) for name in report.__dataclass_fields__}
