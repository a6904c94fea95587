"""Every rule against its case file: firing and non-firing cases, driven by data."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import CSS_EXCHANGE
from rule_case_loader import (
    CASES_DIR,
    DEFAULT_AS_OF,
    build_inventory,
    build_organisation,
    load_case_files,
    write_policy,
)

from auditor.model import EvidenceClass, Scope
from auditor.parsers import read_inventory
from auditor.policy import load_policy
from auditor.rules import RULE_IDS, Rule, evaluate, registered_rules
from auditor.rules.registry import BUILTIN_MODULES
from auditor.scope import assess_scope, parse_scope_option

CASES = load_case_files()


def _as_of(case: dict[str, Any]) -> datetime.date:
    value = case.get("as_of", DEFAULT_AS_OF)
    return value if isinstance(value, datetime.date) else datetime.date.fromisoformat(value)


def _subset(expected: Any, actual: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and _subset(value, actual[key]) for key, value in expected.items()
        )
    return bool(expected == actual)


@pytest.mark.parametrize(
    ("rule_id", "case"), CASES, ids=[f"{rule}-{case['name']}" for rule, case in CASES]
)
def test_rule_case(
    rule_id: str, case: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    policy = load_policy(write_policy(case.get("policy"), Path()))
    if "organisation" in case:  # a hybrid-trust organisation, read through the real pipeline
        root = build_organisation(case["organisation"], Path(), CSS_EXCHANGE)
        chosen = parse_scope_option(case.get("scope", ["hybrid-trust"]))
        scope, inventory = assess_scope(read_inventory([root]), policy, chosen=chosen)
        evaluation = evaluate(inventory, policy, as_of=_as_of(case), scope=scope)
    else:
        inventory = build_inventory(case.get("inventory"))
        # A hybrid-trust rule runs only when its class is chosen (`--scope hybrid-trust`).
        trust = Scope(classes=(EvidenceClass.HYBRID_TRUST,)) if rule_id.startswith("HT") else None
        evaluation = evaluate(inventory, policy, as_of=_as_of(case), scope=trust)
    wanted_rules = set(case.get("rules", [rule_id]))
    findings = [f for f in evaluation.findings if f.rule_id in wanted_rules]
    expected = case["expect"]
    actual_summary = [(f.rule_id, f.subject, f.severity.value, f.suppressed) for f in findings]
    expected_summary = [
        (
            item.get("rule", rule_id),
            item["subject"],
            item.get("severity", policy.rule(item.get("rule", rule_id)).severity.value),
            item.get("suppressed", False),
        )
        for item in expected
    ]
    assert actual_summary == expected_summary
    for item, finding in zip(expected, findings, strict=True):
        assert _subset(item.get("details", {}), finding.details), finding.details
        if "location" in item:
            assert finding.location.to_json() == item["location"]
        for fragment in item.get("message_contains", []):
            assert fragment in finding.message
        if "ticket" in item:
            assert finding.waiver is not None
            assert finding.waiver.ticket == item["ticket"]
        assert finding.title == policy.rule(finding.rule_id).title
    if "complete" in case:
        assert evaluation.complete is case["complete"]
    for rule in case.get("not_applied", []):
        assert rule in {entry.rule_id for entry in evaluation.not_applied}


def test_every_rule_has_a_firing_and_a_quiet_case() -> None:
    fires: set[str] = set()
    quiet: set[str] = set()
    for rule_id, case in CASES:
        own = [item for item in case["expect"] if item.get("rule", rule_id) == rule_id]
        (fires if own else quiet).add(rule_id)
    assert sorted(fires) == sorted(RULE_IDS)
    assert sorted(quiet) == sorted(RULE_IDS)
    assert sorted(path.stem for path in CASES_DIR.glob("*.yaml")) == sorted(RULE_IDS)


def test_every_rule_a_module_declares_is_registered_in_catalogue_order() -> None:
    for module in BUILTIN_MODULES:
        declared = [value for value in vars(module).values() if isinstance(value, Rule)]
        assert tuple(declared) == module.RULES, module.__name__  # none forgotten in RULES
    assert registered_rules().ids == RULE_IDS  # no plugin installed in the test environment
    policy = load_policy()
    assert tuple(info.id for info in policy.rules) == RULE_IDS
