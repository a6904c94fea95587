"""`--format github` and `--format gitlab`: hostile text stays inside one workflow command, the
code-quality report is what GitLab reads, waived findings are left out."""

from __future__ import annotations

import json
from pathlib import Path

import html_scenarios as scenarios

from auditor.render.ci import render_github, render_gitlab


def test_github_annotations_keep_hostile_text_inside_one_command(tmp_path: Path) -> None:
    report = scenarios.audit(*scenarios.write_hostile(tmp_path))

    lines = render_github(report).splitlines()

    assert len(lines) == len(report.active_findings) + len(report.inventory.problems) + 1
    for line in lines:
        assert line.startswith(("::error ", "::warning ", "::notice "))
        command, _, message = line[2:].partition("::")
        assert "\r" not in line and "\n" not in line
        assert ":" not in command.split(" ", 1)[1].replace("%3A", "")  # properties escaped
        assert message


def test_gitlab_code_quality_lists_each_active_finding_once(tmp_path: Path) -> None:
    report = scenarios.audit(*scenarios.write_recipe(tmp_path))

    issues = json.loads(render_gitlab(report))

    assert [issue["fingerprint"] for issue in issues] == [
        finding.fingerprint for finding in report.active_findings
    ]
    for issue in issues:
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert issue["location"]["lines"]["begin"] >= 1
        assert issue["location"]["path"]
        assert issue["check_name"] and issue["description"]
