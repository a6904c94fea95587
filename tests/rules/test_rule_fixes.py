"""The rule fixes of the trust issue that the case files cannot express on their own.

Lone surrogates (a file name that is not UTF-8, a hostile value) reach fingerprints, SARIF and
every machine-readable output without a traceback; the same application read from several
exports is reported once; two exports that disagree get no plan item but a reason naming both.
"""

from __future__ import annotations

import json
import re

from report_support import audit_report
from rule_case_loader import build_inventory

from auditor.model import Inventory, Report
from auditor.policy import load_policy
from auditor.render.json_ import render_findings, render_plan
from auditor.render.junit import render_junit
from auditor.render.markdown import render_markdown
from auditor.render.sarif import artifact_uri, render_sarif

GRAPH_SUBJECT = "partner-application:00000003-0000-0000-c000-000000000000"


def _report(inventory: Inventory) -> Report:
    return audit_report(inventory, load_policy(()))


def test_lone_surrogates_reach_every_output_without_a_traceback() -> None:
    inventory = build_inventory(
        {
            "partner_applications": [
                {
                    "name": "Graph\ud800",
                    "path": "exports/\udcffapps.xml",
                    "act_as": ["Mail.Send\udfff"],
                    "app_only": ["Mail.Send\udfff"],
                }
            ],
            "web_configs": [
                {
                    "server": "EX\udc81",
                    "path": "exports/\udcfe/web.config",
                    "profiles": "S2SAppActAs|V1S2SAppOnly|Bad\ud801",
                }
            ],
        }
    )
    report = _report(inventory)
    rules = {finding.rule_id for finding in report.findings}
    assert {"PA001", "PA002", "PA003", "WC001", "WC002"} <= rules
    assert len({finding.fingerprint for finding in report.findings}) == len(report.findings)
    for render in (render_findings, render_plan, render_sarif, render_junit, render_markdown):
        text = render(report)
        text.encode("utf-8")  # every output is encodable: no lone surrogate left in it
    sarif = json.loads(render_sarif(report))
    uris = {item["location"]["uri"] for item in sarif["runs"][0]["artifacts"]}
    assert "exports/%FFapps.xml" in uris  # the file's own byte, as on disk


def test_artifact_uri_of_any_lone_surrogate() -> None:
    assert artifact_uri("a\\\udcff.xml") == "a/%FF.xml"
    assert artifact_uri("a\ud800.xml") == "a%ED%A0%80.xml"


def test_the_same_application_in_two_exports_is_reported_once() -> None:
    spec = {"name": "Microsoft Graph", "act_as": "@graph-act-as", "app_only": "@graph-act-as"}
    inventory = build_inventory(
        {
            "partner_applications": [
                {**spec, "path": "EX01/apps.xml"},
                {**spec, "path": "EX02/apps.xml"},
            ]
        }
    )
    report = _report(inventory)
    per_rule = [f.rule_id for f in report.findings if f.subject == GRAPH_SUBJECT]
    assert sorted(per_rule) == ["PA001", "PA002", "PA003"]
    (change_set,) = report.change_sets
    assert len(change_set.partner_applications) == 1
    assert report.skipped == ()


def test_two_exports_that_disagree_are_skipped_naming_both_files() -> None:
    spec = {"name": "Microsoft Graph", "act_as": "@graph-act-as"}
    inventory = build_inventory(
        {
            "partner_applications": [
                {**spec, "path": "EX01/apps.xml", "app_only": "@graph-act-as"},
                {**spec, "path": "EX02/apps.xml", "app_only": ["Mail.Read"]},
            ]
        }
    )
    report = _report(inventory)
    assert report.change_sets == ()
    (skipped,) = report.skipped
    assert skipped.subject == GRAPH_SUBJECT
    assert "EX01/apps.xml" in skipped.reason and "EX02/apps.xml" in skipped.reason
    assert set(skipped.fixes) == {
        f.fingerprint for f in report.findings if f.subject == GRAPH_SUBJECT and f.rule_id < "PA005"
    }
    document = json.loads(render_findings(report))
    assert document["skipped"] == [skipped.to_json()]
    assert "EX01/apps.xml" in render_markdown(report)


def test_hostile_names_do_not_change_the_structure_of_the_summary() -> None:
    hostile = ["Mail.Send|x", "Mail.Read\n| injected | row |", "<b>`code`</b>"]
    inventory = build_inventory(
        {
            "partner_applications": [
                {"name": "Evil|App\n# heading", "act_as": hostile, "app_only": hostile}
            ],
            "web_configs": [{"server": "EX01", "profiles": "S2SAppActAs|V1S2SAppOnly\u202e"}],
        }
    )
    markdown = render_markdown(_report(inventory))
    for line in markdown.splitlines():
        if line.startswith("| "):
            assert len(re.findall(r"(?<!\\)\|", line)) in (3, 4, 6, 7), line
        assert not line.startswith("# heading")
        assert "<b>" not in line and "\u202e" not in line
