"""The bundled example: what `scripts/make_examples.py` writes, byte for byte, and what a first
`auditor audit` (no path) finds in it, whatever the day it runs on."""

from __future__ import annotations

import json
import sys

import pytest
from conftest import PROJECT_ROOT
from typer.testing import CliRunner

from auditor.cli import app
from auditor.resources import examples_dir

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
from make_examples import example_files

# The recipe's findings and the hybrid trust's one (no dedicated-app override).
EXPECTED_RULES = ["FL001", "HT001", "PA001", "PA002", "PA003", "WC001", "WC001", "WC002"]


def test_the_committed_example_is_what_make_examples_writes() -> None:
    root = examples_dir()
    committed = {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }

    generated = example_files()

    assert sorted(committed) == sorted(generated)
    for name, data in generated.items():
        assert committed[name] == data, f"{name}: run scripts/make_examples.py"
    assert example_files() == generated  # deterministic


@pytest.mark.parametrize("as_of", ["2026-12-07", "2040-06-01", "2044-12-31"])
def test_a_first_audit_of_the_example_finds_the_recipe_and_the_missing_dedicated_app(
    as_of: str,
) -> None:
    result = CliRunner().invoke(
        app, ["audit", "--no-package", "--format", "json", "--as-of", as_of]
    )

    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    assert sorted(f["rule_id"] for f in document["findings"]) == EXPECTED_RULES
    assert document["problems"] == []
    assert document["verdict_line"] == (
        "FAIL for partner applications and web.config of 2 of 2 servers and the on-premises"
        " hybrid trust; its cloud side not assessed: no cloud evidence given"
    )
    scope = document["scope"]
    assert scope["classes_read"] == ["partner-applications", "web-config", "hybrid-trust"]
    # no cloud export is bundled: the cloud rules are not assessed, and say so
    not_applied = {item["rule_id"]: item["reason"] for item in document["rules_not_applied"]}
    assert not_applied == {"HT121": "no cloud evidence given", "HT122": "no cloud evidence given"}
