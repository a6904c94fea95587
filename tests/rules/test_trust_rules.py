"""The hybrid-trust rules as a user runs them: `auditor audit --scope hybrid-trust` on a
hybrid organisation built from the real CSS-Exchange samples (see trust_cases/README.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rule_case_loader import build_organisation
from typer.testing import CliRunner

from auditor.cli import app

runner = CliRunner()
HT_RULES = [f"HT00{number}" for number in range(1, 10)]


# These tests are about the override, AuthServer and AuthConfig rules (HT001-HT009); the real
# E19 sample runs an old build (15.2.986.5) whose auth certificate expired before the audit
# date, which HT101 and HT111 rightly report (tests/rules/test_trust_evidence_rules.py): here
# the build, certificate and cloud rules are switched off by the policy.
OTHER_TRUST_RULES = ("HT101", "HT111", "HT112", "HT113", "HT114", "HT121", "HT122")
POLICY = "name: org\nversion: 1\nextends: default\nrule_overrides:\n" + "".join(
    f"  {rule_id}:\n    enabled: false\n" for rule_id in OTHER_TRUST_RULES
)


def _audit(root: Path, out: Path, *args: str) -> tuple[int, str, dict[str, Any]]:
    if "--policy" not in args:
        Path("ht0.yaml").write_text(POLICY, encoding="utf-8")
        args = (*args, "--policy", "ht0.yaml")
    result = runner.invoke(
        app, ["audit", str(root), "--as-of", "2026-11-26", "--out", str(out), *args]
    )
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return result.exit_code, result.output, document


@pytest.fixture
def organisation(tmp_path: Path, css_exchange: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return build_organisation({}, Path(), css_exchange)


def test_the_real_dedicated_app_override_gives_no_finding(organisation: Path) -> None:
    code, output, document = _audit(organisation, Path("out"), "--scope", "hybrid-trust")

    assert code == 0, output
    assert "PASS for the on-premises hybrid trust" in output  # no cloud evidence given
    assert document["findings"] == []
    assert document["scope"]["classes_read"] == ["hybrid-trust"]
    junit = Path("out/junit.xml").read_text(encoding="utf-8")
    assert '<testcase classname="auditor.HT003"' in junit
    assert "HT003" not in {item["rule_id"] for item in document["rules_not_applied"]}


def test_the_policy_can_choose_the_hybrid_trust(organisation: Path) -> None:
    Path("org.yaml").write_text(POLICY + "scope:\n  assess: [hybrid-trust]\n", encoding="utf-8")

    code, output, document = _audit(organisation, Path("out"), "--policy", "org.yaml")

    assert code == 0, output
    assert document["scope"]["classes"] == ["hybrid-trust"]
    assert document["scope"]["narrowed_by"] == "policy org.yaml"


def test_a_finding_is_located_at_the_export_and_fails_the_audit(
    tmp_path: Path, css_exchange: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    edits = {"SettingOverride.xml": [["<S>Enabled=true</S>", "<S>Enabled=false</S>"]]}
    root = build_organisation({"edits": edits}, Path(), css_exchange)

    code, output, document = _audit(root, Path("out"), "--scope", "hybrid-trust")

    assert code == 1, output
    (finding,) = document["findings"]
    assert finding["rule_id"] == "HT003"
    assert finding["location"] == {"path": "org/SettingOverride.xml", "line": 2}


def test_a_missing_override_export_is_incomplete_never_a_verdict_on_the_app(
    tmp_path: Path, css_exchange: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    root = build_organisation({"drop": ["SettingOverride.xml"]}, Path(), css_exchange)

    code, output, document = _audit(root, Path("out"), "--scope", "hybrid-trust")

    assert code == 2, output
    rules = {(f["rule_id"], f["subject"]) for f in document["findings"]}
    assert rules == {("EV001", "hybrid-trust:organisation:SettingOverride.xml")}


def test_unknown_hybrid_scope_fires_no_dedicated_app_rule(
    tmp_path: Path, css_exchange: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    section = '<S N="SectionName">ExchangeOnpremAsThirdPartyAppId</S>'
    spec = {  # no dedicated-app override, and none of the exports that would show hybrid
        "drop": ["HybridConfiguration.xml", "IntraOrganizationConnector.xml", "AuthServer.xml"],
        "edits": {"SettingOverride.xml": [[section, '<S N="SectionName">Other</S>']]},
    }
    root = build_organisation(spec, Path(), css_exchange)

    code, output, document = _audit(root, Path("out"), "--scope", "hybrid-trust")

    assert code == 2, output  # the three exports that say whether it is hybrid are gaps
    assert {f["rule_id"] for f in document["findings"]} == {"EV001"}


def test_the_rules_are_listed_and_explained() -> None:
    listed = runner.invoke(app, ["rules"])
    assert listed.exit_code == 0
    for rule_id in HT_RULES:
        assert rule_id in listed.output
    explained = runner.invoke(app, ["rules", "explain", "HT003"])
    assert explained.exit_code == 0
    assert "The dedicated-app override does not enable the feature" in explained.output
    assert "Status is not Accepted" in explained.output.replace("\n", " ")


def test_without_the_server_list_the_audit_is_incomplete(
    tmp_path: Path, css_exchange: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    root = build_organisation({"drop": ["ExchangeServer.xml"]}, Path(), css_exchange)

    code, output, document = _audit(root, Path("out"), "--scope", "hybrid-trust")

    assert code == 2, output  # no server is known, so no server's build or certificates are
    subjects = {f["subject"] for f in document["findings"] if f["rule_id"] == "EV001"}
    assert "hybrid-trust:organisation:ExchangeServer.xml" in subjects
