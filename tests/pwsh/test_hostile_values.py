"""Hostile values through `ps_literal` and through whole scripts, judged by real PowerShell.

1. Every literal `ps_literal` emits, evaluated by PowerShell, gives back exactly the input's
   UTF-16 code units (curated hostile values plus a few hundred generated ones, ONE process).
2. Scripts rendered with (composite) hostile values in every field (through the renderer's test hook
   `allow_lists=False`) parse without error and have the same commands, in the same
   order with the same parameters, and the same AST shape as a render with harmless sentinels.
3. A remediation and its rollback, run against stand-ins holding hostile names and permission
   names, pass exactly those strings to Set-PartnerApplication.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import harness
import pytest
import scenarios
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.model import (
    ChangeKind,
    ChangeSet,
    PartnerApplicationChange,
    WebConfigChange,
)
from auditor.psquote import decode_ps_literal, ps_literal
from auditor.render import ps1

pytestmark = pytest.mark.pwsh


@pytest.fixture(autouse=True, scope="module")
def _report_powershell_time(pytestconfig: pytest.Config) -> None:
    harness.register_time_report(pytestconfig)


QUOTES = "'\u2018\u2019\u201a\u201b\"\u201c\u201d\u201e"
HOSTILE = (
    "",
    "'",
    "''",
    "a'b",
    *QUOTES,
    "x\u2019; Stop-Computer; \u2018",
    "x'; Stop-Computer; '",
    'x"; Stop-Computer; "',
    "x\u201d; Stop-Computer; \u201c",
    "$(Stop-Computer)",
    "$env:PATH",
    "${function:Stop-Computer}",
    "`$(Stop-Computer)`",
    "trailing backtick`",
    "#>",
    "<# comment #>",
    "'@",
    "\n'@\nStop-Computer\n'@",
    "\r\n\u2019@\r\nStop-Computer",
    '"@\n$(Stop-Computer)\n"@',
    "line1\rline2",
    "line1\nline2",
    "line1\r\nline2",
    "nul\x00inside",
    "\x00",
    "tab\there",
    "# SIG # Begin signature block",
    "\r\n# SIG # Begin signature block\r\nStop-Computer",
    "Caf\u00e9 \u0412\u0442\u043e\u0440\u043e\u0439 \u0151",
    "emoji \U0001f600 astral \U00010348",
    "\u2013WhatIf \u2014Confirm",
    "nbsp\u00a0and\u2028line\u2029sep\u0085",
    "-WhatIf",
    "--% stop parsing",
    "; | & > < @ { } ( ) [ ] ,",
    "\x7f\x1b[31mred",
    "x" * 600,
)
SENTINEL = "SENTINEL"
# Each rendered into every field of every script: together they hold every danger above.
RENDER_VALUES = (
    "",
    "a'b\u2018c\u2019d\u201ae\u201bf\"g\u201ch\u201di\u201ej''",
    "x'; Stop-Computer; 'y\u2019; Stop-Computer; \u2018z\"; Stop-Computer; \"",
    "$(Stop-Computer) ${env:PATH} $env:PATH `$x `n trailing backtick`",
    '#> <# x\n# SIG # Begin signature block\n\'@\nStop-Computer\n\u2019@\n"@\n$(Stop-Computer)\n"@',
    "\r\n\x00\t\x7f\x1b[31m\u2028\u2029\u0085\u00a0 end\r",
    "Caf\u00e9 \u0412\u0442\u043e\u0440\u043e\u0439 \u0151 \U0001f600 \U00010348"
    " \u2013WhatIf \u2014Confirm",
    "-WhatIf --% ; | & > < @ { } ( ) [ ] , -Confirm:$false",
)


def _generated_values() -> list[str]:
    """A few hundred generated strings, deterministic (derandomised hypothesis)."""
    collected: list[str] = []
    dangerous = st.sampled_from(list(QUOTES + "$`#<>@(){}\r\n\x00\t -\u2013;|&\u00e9\u0412"))
    alphabet = st.one_of(dangerous, st.characters(codec="utf-8"))

    @settings(
        max_examples=300,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.text(alphabet=alphabet, max_size=40))
    def collect(value: str) -> None:
        collected.append(value)

    collect()
    return list(dict.fromkeys(collected))


@pytest.fixture(scope="module")
def literal_values() -> list[str]:
    return list(dict.fromkeys([*HOSTILE, *_generated_values()]))


def test_ps_literal_output_is_ascii_and_reads_back_in_python(literal_values: list[str]) -> None:
    # The Python-side oracle; the PowerShell test below is the real judge.
    for value in literal_values:
        literal = ps_literal(value)
        assert literal.isascii(), value
        assert "\r" not in literal and "\n" not in literal, value
        assert decode_ps_literal(literal) == value


def test_powershell_evaluates_every_literal_to_its_input(
    literal_values: list[str], tmp_path: Path
) -> None:
    harness.require_pwsh()
    assert len(literal_values) >= 250
    literals = [ps_literal(value) for value in literal_values]
    evaluated = harness.evaluate_literals(literals, tmp_path)
    assert len(evaluated) == len(literal_values)
    mismatches = [
        (value, literal, got)
        for value, literal, got in zip(literal_values, literals, evaluated, strict=True)
        if got != harness.utf16_hex(value)
    ]
    assert mismatches == []


# --- hostile renders ----------------------------------------------------------------------------


def _header(value: str) -> ps1.ScriptHeader:
    return ps1.ScriptHeader(
        change_id=value,
        tool_version=value,
        policy_name=value,
        policy_sha256=value,
        input_hashes=((value, value),),
        finding_ids=(value, value),
        package_id=value,
    )


def _partner_change_set(value: str) -> ChangeSet:
    return ChangeSet(
        kind=ChangeKind.PARTNER_APPLICATIONS,
        slug="partner-applications",
        server=None,
        partner_applications=(
            PartnerApplicationChange(
                application_identifier=value,
                name=value,
                audited_app_only=(value, value, value),
                target_app_only=(value,),
                fixes=(value,),
            ),
            PartnerApplicationChange(
                application_identifier=value,
                name=value,
                audited_app_only=(value,),
                target_app_only=(),
                fixes=(value,),
            ),
        ),
    )


def _web_config_change_set(value: str) -> ChangeSet:
    segment = value.replace("\\", "/")  # the renderer splits the path on backslashes
    return ChangeSet(
        kind=ChangeKind.WEB_CONFIG_PROFILES,
        slug="web-config-ex01",
        server=value,
        web_configs=(
            WebConfigChange(
                vdir=value,
                relative_path=f"FrontEnd\\{segment}\\web.config",
                app_pool=value,
                audited_sha256=value,
                audited_value=value,
                target_value=value,
                fixes=(value,),
            ),
            WebConfigChange(
                vdir=value,
                relative_path=f"{segment}\\{segment}",
                app_pool=None,
                audited_sha256=value,
                audited_value=value,
                target_value=value,
                fixes=(value,),
            ),
        ),
    )


def _hostile_renders(value: str) -> dict[str, str]:
    partner = scenarios.render(_partner_change_set(value), _header(value), allow_lists=False)
    web = scenarios.render(_web_config_change_set(value), _header(value), allow_lists=False)
    return {
        "partner-remediation": partner[0],
        "partner-rollback": partner[1],
        "web-config-remediation": web[0],
        "web-config-rollback": web[1],
    }


@pytest.fixture(scope="module")
def hostile_lint(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, harness.LintResult], dict[str, str]]:
    harness.require_pwsh()
    folder = tmp_path_factory.mktemp("hostile-renders")
    files: list[tuple[str, Path, str]] = []
    texts: dict[str, str] = {}
    for index, value in enumerate((SENTINEL, *RENDER_VALUES)):
        for kind, text in _hostile_renders(value).items():
            file_id = f"{index}:{kind}"
            texts[file_id] = text
            files.append(
                (file_id, scenarios.write_script(folder, f"{index}-{kind}.ps1", text), "script")
            )
    return harness.lint(files, folder, shape=True), texts


@pytest.mark.parametrize("index", range(1, len(RENDER_VALUES) + 1), ids=lambda i: f"hostile{i}")
@pytest.mark.parametrize(
    "kind",
    ["partner-remediation", "partner-rollback", "web-config-remediation", "web-config-rollback"],
)
def test_hostile_values_do_not_change_the_script_structure(
    hostile_lint: tuple[dict[str, harness.LintResult], dict[str, str]], index: int, kind: str
) -> None:
    results, texts = hostile_lint
    result = results[f"{index}:{kind}"]
    sentinel = results[f"0:{kind}"]
    value = RENDER_VALUES[index - 1]
    text = texts[f"{index}:{kind}"]
    assert text.isascii() and "\n" not in text.replace("\r\n", ""), repr(value)
    assert result.parse_errors == (), (repr(value), result.parse_errors)
    assert result.violations == (), (repr(value), result.violations)
    assert result.commands == sentinel.commands, repr(value)
    assert result.shape == sentinel.shape, repr(value)


def test_sentinel_renders_are_clean(
    hostile_lint: tuple[dict[str, harness.LintResult], dict[str, str]],
) -> None:
    results, _ = hostile_lint
    for kind in ("partner-remediation", "web-config-rollback"):
        sentinel = results[f"0:{kind}"]
        assert sentinel.parse_errors == () and sentinel.violations == ()
        assert len(sentinel.commands) > 20  # the comparison above is not between empty lists


# --- hostile values in a real run ---------------------------------------------------------------

HOSTILE_RUNS = {
    "quotes-and-controls": {
        "name": "HR \u2019; Stop-Computer; \u2018 $(Get-Date) `\r\n'@ #> \x00",
        "audited": ["Mail.Read'; Stop-Computer; '", "Cal\u201cendars\u201d\n.Read", "\x00"],
        "target": ["x\u2019; Remove-Item -Recurse /; \u2018"],
    },
    "unicode-and-signature": {
        "name": "# SIG # Begin signature block \U0001f600 \u0412",
        "audited": ["Caf\u00e9.Read", "\U00010348.All"],
        "target": ["\r\n# SIG # Begin signature block\r\n", "\u2013WhatIf", "$env:PATH"],
    },
}


def _hostile_story(root: Path, case: dict[str, Any]) -> dict[str, Any]:
    app_id = scenarios.HR_APP_ID
    change_set = ChangeSet(
        kind=ChangeKind.PARTNER_APPLICATIONS,
        slug="partner-applications",
        server=None,
        partner_applications=(
            PartnerApplicationChange(
                application_identifier=app_id,
                name=case["name"],
                audited_app_only=tuple(case["audited"]),
                target_app_only=tuple(case["target"]),
                fixes=("f" * 64,),
            ),
        ),
    )
    remediation_text, rollback_text = scenarios.render(change_set, allow_lists=False)
    remediation = scenarios.write_script(root / "scripts", "remediation.ps1", remediation_text)
    rollback = scenarios.write_script(root / "scripts", "rollback.ps1", rollback_text)
    state = harness.default_state(
        [
            {
                "Name": case["name"],
                "ApplicationIdentifier": app_id,
                "ActAsPermissions": case["audited"],
                "AppOnlyPermissions": case["audited"],
                "LinkedAccount": None,
                "Enabled": True,
            }
        ]
    )
    standin = harness.StandIn(root, state)
    backup = ("-BackupDirectory", harness.ps_quote(str(standin.backup_dir)))
    remediated = standin.run(remediation, *backup, "-Confirm:$false")
    rolled_back = standin.run(rollback, *backup, "-Confirm:$false", "-ConfirmRegrant")
    return {"remediation": remediated, "rollback": rolled_back, "state": state}


@pytest.fixture(scope="module")
def hostile_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    harness.require_pwsh()
    root = tmp_path_factory.mktemp("hostile-runs")
    return harness.run_stories(
        {
            name: functools.partial(_hostile_story, root / name, case)
            for name, case in HOSTILE_RUNS.items()
        }
    )


@pytest.mark.parametrize("name", sorted(HOSTILE_RUNS))
def test_hostile_permission_names_reach_exchange_exactly(
    hostile_runs: dict[str, dict[str, Any]], name: str
) -> None:
    case = HOSTILE_RUNS[name]
    story = hostile_runs[name]
    remediated: harness.Run = story["remediation"]
    assert remediated.exit_code == 0, remediated.describe()
    sets = [c for c in remediated.calls if c["command"] == "Set-PartnerApplication"]
    assert [c["parameters"]["AppOnlyPermissions"] for c in sets] == [case["target"]]
    assert [c["command"] for c in remediated.changing_calls()] == ["Set-PartnerApplication"]
    assert remediated.state["applications"][0]["AppOnlyPermissions"] == case["target"]

    rolled_back: harness.Run = story["rollback"]
    assert rolled_back.exit_code == 0, rolled_back.describe()
    sets = [c for c in rolled_back.calls if c["command"] == "Set-PartnerApplication"]
    assert [c["parameters"]["AppOnlyPermissions"] for c in sets] == [case["audited"]]
    assert rolled_back.state == json.loads(json.dumps(story["state"]))
