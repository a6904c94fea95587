"""A rule of another package, registered the documented way, reaches every output listing rules.

`fixture_rule_site/` holds a package (`fixture_rule_pkg`, one rule XT001 beside its check) and
its installed metadata, whose entry point of the group `auditor.rules` names it: what
`pip install` of a package with `[project.entry-points."auditor.rules"]` leaves on `sys.path`.
Putting the folder on `sys.path` is the only step: no file of auditor names the rule, yet it
appears in `auditor rules`, `rules explain`, the SARIF rule help of an audit and the effective
default policy, and its check runs. Registration errors are loud and name the plugin.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_cli
from typer.testing import Result

from auditor.policy import PolicyError, load_policy, policy_as_yaml
from auditor.render.rule_doc import rule_markdown
from auditor.rules import RULE_IDS, registered_rules

SITE = Path(__file__).resolve().parent / "fixture_rule_site"
AS_OF = "2026-11-26"
XT001_LINE = "XT001  info      Partner application is enabled (fixture rule)"


def invoke(*args: str) -> Result:
    return run_cli(*args, columns=120)


@pytest.fixture(autouse=True)
def fresh_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A fresh command-line state in an empty folder; the registry is read again after."""
    monkeypatch.chdir(tmp_path)
    registered_rules.cache_clear()
    yield
    registered_rules.cache_clear()


@pytest.fixture
def plugin_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(SITE))
    registered_rules.cache_clear()


def _write_plugin(site: Path, name: str, module_text: str) -> None:
    """An installed distribution `name` whose `auditor.rules` entry point is module `name`."""
    (site / f"{name}.py").write_text(textwrap.dedent(module_text), encoding="utf-8")
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[auditor.rules]\n{name} = {name}\n")


@pytest.mark.usefixtures("plugin_installed")
def test_the_plugin_rule_is_registered_after_the_built_in_ones() -> None:
    assert registered_rules().ids == (*RULE_IDS, "XT001")


@pytest.mark.usefixtures("plugin_installed")
def test_auditor_rules_lists_the_plugin_rule() -> None:
    result = invoke("rules")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [*RULE_IDS, "XT001"]
    assert lines[-1] == XT001_LINE
    listed = json.loads(invoke("rules", "--format", "json").stdout)
    assert listed[-1]["id"] == "XT001"
    assert listed[-1]["fires_when"] == "A partner application is enabled."


@pytest.mark.usefixtures("plugin_installed")
def test_rules_explain_shows_the_plugin_rule_from_its_declaration() -> None:
    result = invoke("rules", "explain", "xt001")

    assert result.exit_code == 0, result.output
    assert result.stdout == rule_markdown(load_policy().rule("XT001"))
    assert result.stdout.startswith(
        "# XT001: Partner application is enabled (fixture rule)\n\nSeverity: **info**\n"
    )
    assert "## When it fires\n\nA partner application is enabled.\n" in result.stdout
    assert "## Remediation\n\nNo script is generated for this rule" in result.stdout
    assert "## Example\n\n`Get-PartnerApplication | Format-List Name, Enabled`" in result.stdout
    assert "  - rule: XT001\n" in result.stdout  # how to waive it
    assert "- <https://example.org/auditor/fixture-rule>\n" in result.stdout


@pytest.mark.usefixtures("plugin_installed")
def test_an_audit_runs_the_plugin_rule_and_carries_its_sarif_help(tmp_path: Path) -> None:
    policy = tmp_path / "org.yaml"
    policy.write_text(
        "name: org\nversion: 1\nextends: default\n"
        "docs_url: https://git.example/sec/auditor/blob/main/docs/rules\n"
    )
    result = invoke(
        "audit", "--no-package", "--as-of", AS_OF, "--policy", str(policy), "--format", "sarif"
    )

    run = json.loads(result.stdout)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == [*RULE_IDS, "XT001"]
    xt001 = rules[-1]
    assert xt001["shortDescription"] == {"text": "Partner application is enabled (fixture rule)"}
    assert xt001["fullDescription"]["text"].startswith("A fixture rule: it shows that")
    assert xt001["help"]["markdown"] == invoke("rules", "explain", "XT001").stdout
    assert xt001["helpUri"] == "https://git.example/sec/auditor/blob/main/docs/rules/XT001.md"
    assert xt001["defaultConfiguration"] == {"level": "note", "enabled": True}
    fired = [item for item in run["results"] if item["ruleId"] == "XT001"]
    assert fired, "the plugin's check did not run in the audit"
    assert all(item["ruleIndex"] == len(rules) - 1 for item in fired)
    assert all(item["message"]["text"].endswith("is enabled.") for item in fired)


@pytest.mark.usefixtures("plugin_installed")
def test_the_effective_default_policy_holds_the_plugin_rule(tmp_path: Path) -> None:
    info = load_policy().rule("XT001")
    assert (info.severity.value, info.enabled, info.remediation) == ("info", True, None)
    assert "  XT001:\n    severity: info\n    enabled: true\n" in policy_as_yaml(load_policy())

    policy = tmp_path / "org.yaml"
    policy.write_text(
        "name: org\nversion: 1\nextends: default\nrule_overrides:\n  XT001: {severity: high}\n"
    )
    assert load_policy([policy]).rule("XT001").severity.value == "high"


def test_without_the_plugin_its_rule_is_unknown(tmp_path: Path) -> None:
    assert "XT001" not in registered_rules().ids
    policy = tmp_path / "org.yaml"
    policy.write_text(
        "name: org\nversion: 1\nextends: default\nrule_overrides:\n  XT001: {enabled: false}\n"
    )
    with pytest.raises(PolicyError, match=r"org\.yaml:5:3: .*auditor has no rule XT001; known"):
        load_policy([policy])
    assert invoke("rules", "explain", "XT001").exit_code == 2


def test_a_plugin_that_redeclares_a_built_in_rule_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_plugin(
        tmp_path,
        "again_pa001",
        "from auditor.rules.partner_apps import check_pa001\nRULES = (check_pa001,)\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registered_rules.cache_clear()

    with pytest.raises(PolicyError, match="rule PA001 is registered twice"):
        load_policy()
    result = invoke("rules")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: the rules cannot be registered: rule PA001 is registered twice\n"
    )


@pytest.mark.parametrize(
    ("module_text", "expected"),
    [
        ("raise RuntimeError('boom')\n", "cannot be loaded: RuntimeError: boom"),
        ("RULES = ['not a rule']\n", "expected a module with a `RULES` tuple of @rule"),
    ],
    ids=["raises-on-import", "no-rules-tuple"],
)
def test_a_broken_plugin_is_named_in_one_line(
    module_text: str, expected: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_plugin(tmp_path, "broken_rules", module_text)
    monkeypatch.syspath_prepend(str(tmp_path))
    registered_rules.cache_clear()

    result = invoke("rules")

    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: the rules cannot be registered: entry point 'broken_rules' (broken_rules) "
        "of group 'auditor.rules'"
    )
    assert expected in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_malformed_declaration_names_the_rule() -> None:
    from auditor.model import Severity
    from auditor.rules import Needs, rule
    from auditor.rules.declaration import RuleDeclarationError

    with pytest.raises(RuleDeclarationError, match=r"rule 'PA01' \(.*\): the id must be"):
        rule(
            "PA01",
            title="t",
            severity=Severity.LOW,
            needs=Needs.NOTHING,
            remediation=None,
            fires_when="w",
            rationale="r",
            references=(),
        )(lambda context: ())
