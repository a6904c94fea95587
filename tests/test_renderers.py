"""Snapshots of every machine-readable renderer on the bundled example, and their contracts.

The audit runs on paths relative to the package folder so the snapshots do not depend on where
the project is checked out.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from conftest import SARIF_SCHEMA, skip_or_fail
from lxml import etree
from syrupy.assertion import SnapshotAssertion

from auditor.attest import AttestError, attest, plan_schema, validate_plan
from auditor.audit import AuditRequest, run_audit
from auditor.model import Report, Severity
from auditor.render.json_ import render_findings, render_plan
from auditor.render.junit import render_junit, xml_text
from auditor.render.markdown import md_cell, render_markdown
from auditor.render.sarif import render_sarif
from auditor.resources import examples_dir


@pytest.fixture(scope="module")
def report() -> Report:
    import os

    previous = Path.cwd()
    os.chdir(examples_dir().parent)
    try:
        return run_audit(
            AuditRequest(
                paths=(Path("examples"),),
                as_of=datetime.date(2026, 11, 26),
                change_id="CHG-1",
                fail_on=Severity.HIGH,
            )
        )
    finally:
        os.chdir(previous)


def test_findings_json_snapshot(report: Report, snapshot: SnapshotAssertion) -> None:
    assert render_findings(report) == snapshot


def test_plan_json_snapshot(report: Report, snapshot: SnapshotAssertion) -> None:
    assert render_plan(report) == snapshot


def test_sarif_snapshot(report: Report, snapshot: SnapshotAssertion) -> None:
    assert render_sarif(report) == snapshot


def test_junit_snapshot(report: Report, snapshot: SnapshotAssertion) -> None:
    assert render_junit(report) == snapshot


def test_markdown_snapshot(report: Report, snapshot: SnapshotAssertion) -> None:
    assert render_markdown(report) == snapshot


def test_findings_json_contract(report: Report) -> None:
    document = json.loads(render_findings(report))
    assert document["schema_version"] == 1
    assert set(document["policy"]) >= {"name", "sha256"}
    assert all(set(item) >= {"path", "sha256", "format"} for item in document["inputs"])
    keys = {
        "rule_id",
        "severity",
        "title",
        "message",
        "subject",
        "location",
        "evidence",
        "suppressed",
        "waiver",
        "fingerprint",
        "remediation",
    }
    assert document["findings"]
    for finding in document["findings"]:
        assert keys <= set(finding)
        assert finding["severity"] in {s.value for s in Severity}
    assert document["verdict"] == "fail"


def test_sarif_validates_against_the_official_schema(report: Report) -> None:
    if not SARIF_SCHEMA.is_file():
        skip_or_fail(f"SARIF schema not found at {SARIF_SCHEMA}")
    schema = json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))
    log = json.loads(render_sarif(report))
    jsonschema.Draft4Validator(schema).validate(log)
    results = log["runs"][0]["results"]
    assert all(result["partialFingerprints"] for result in results)
    rule_ids = [rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]]
    assert {"PA001", "WC001", "EV001"} <= set(rule_ids)
    for result in results:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]


def test_junit_counts_match_findings(report: Report) -> None:
    root = etree.fromstring(render_junit(report).encode("utf-8"))
    suite = root.find("testsuite")
    assert suite is not None
    active = [f for f in report.findings if not f.suppressed]
    assert int(suite.get("failures", "-1")) == len(active)
    assert len(suite.findall("testcase/failure")) == len(active)


@pytest.mark.parametrize(
    "hostile",
    ["\x00NUL", "a\x1bb", "<script>", "]]>", "\ud800lone", "tab\tok"],
)
def test_xml_text_keeps_junit_well_formed(hostile: str) -> None:
    element = etree.Element("x", attr=xml_text(hostile))
    element.text = xml_text(hostile)
    parsed = etree.fromstring(etree.tostring(element))
    assert parsed.text is not None


@pytest.mark.parametrize(
    ("value", "forbidden"),
    [("a|b", "a|b"), ("line\nbreak", "\n"), ("<img src=x>", "<img"), ("`code`", "`")],
)
def test_md_cell_neutralises_markdown(value: str, forbidden: str) -> None:
    assert forbidden not in md_cell(value)


def test_plan_json_follows_its_schema(report: Report) -> None:
    plan = json.loads(render_plan(report))
    jsonschema.Draft202012Validator.check_schema(plan_schema())
    jsonschema.Draft202012Validator(plan_schema()).validate(plan)
    validate_plan(plan)
    (web_config,) = plan["change_sets"][1]["web_configs"]
    assert web_config["removes"] == ["V1S2SAppOnly"]
    assert web_config["enables"] == []


@pytest.mark.parametrize(
    ("damage", "where"),
    [
        (lambda plan: plan.pop("change_sets"), "(the document)"),
        (
            lambda plan: plan["change_sets"][0].update(kind="delete-everything"),
            "change_sets/0/kind",
        ),
        (
            lambda plan: plan["change_sets"][1]["web_configs"][0].update(target_value=None),
            "change_sets/1/web_configs/0/target_value",
        ),
        (lambda plan: plan.update(schema_version=2), "schema_version"),
    ],
)
def test_attest_refuses_a_plan_outside_the_schema_naming_the_place(
    report: Report, damage: Callable[[dict[str, Any]], object], where: str
) -> None:
    plan = json.loads(render_plan(report))
    damage(plan)
    with pytest.raises(AttestError, match=f"at {re.escape(where)}: "):
        attest(report.inventory, report.inventory, json.dumps(plan))


def test_findings_json_carries_each_findings_plan_and_the_skipped(report: Report) -> None:
    document = json.loads(render_findings(report))
    assert document["skipped"] == []
    by_rule = {finding["rule_id"]: finding for finding in document["findings"]}
    (plan,) = by_rule["WC002"]["plans"]
    assert plan["target"] == "web-config:EX02:Default Web Site/API"
    assert plan["before"].endswith("| V1S2SAppOnly")
    assert plan["after"] == plan["before"].removesuffix("| V1S2SAppOnly")
    assert plan["removes"] == [" V1S2SAppOnly"]
    assert plan["remediation"] == "remediation/web-config-ex02.ps1"
    (graph,) = by_rule["PA001"]["plans"]
    assert (len(graph["before"]), len(graph["after"])) == (29, 0)
    # FL001 has no script of its own: the two servers' changes make them agree
    assert [p["target"] for p in by_rule["FL001"]["plans"]] == [
        "web-config:EX01:Default Web Site/API",
        "web-config:EX02:Default Web Site/API",
    ]
    assert [change["target"] for change in document["changes"]] == [
        "partner-application:00000003-0000-0000-c000-000000000000",
        "web-config:EX01:Default Web Site/API",
        "web-config:EX02:Default Web Site/API",
        "hybrid-trust:dedicated-app",  # the example lacks the dedicated-app override (HT001)
    ]


def test_attest_matches_applications_whatever_the_case_of_their_identifier(
    report: Report,
) -> None:
    upper = tuple(
        dataclasses.replace(app, application_identifier=app.application_identifier.upper())
        for app in report.inventory.partner_applications
    )
    before = dataclasses.replace(report.inventory, partner_applications=upper)
    result = attest(before, before, render_plan(report))
    graph = "00000003-0000-0000-c000-000000000000"
    assert not [d for d in result.differences if "missing before or after" in d]
    assert any(c.startswith(f"{graph}: before, AppOnlyPermissions equal") for c in result.checks)
    assert [d for d in result.differences if d.startswith(f"{graph}: after,")]
