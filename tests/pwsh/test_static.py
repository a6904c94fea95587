"""Every script the project generates, checked by PowerShell's own parser and the 5.1 lint.

The scripts: the change package of the bundled example exports (`auditor.audit.run_audit`, the
same path as `auditor audit`), the partner-application and web.config change sets the other
tests in this folder run, and the collection script. All are linted in ONE pwsh process.
"""

from __future__ import annotations

import functools
from pathlib import Path

import conftest
import harness
import pytest
import scenarios

pytestmark = pytest.mark.pwsh


@pytest.fixture(autouse=True, scope="module")
def _report_powershell_time(pytestconfig: pytest.Config) -> None:
    harness.register_time_report(pytestconfig)


# The Exchange and IIS commands whose every call must carry `-ErrorAction Stop`: all the
# stand-in provides but Get-ManagementRole (only named in a message, never called) and
# Get-WebAppPoolState (left out of this check from the start).
EXCHANGE_COMMANDS_NEEDING_STOP = set(harness.EXCHANGE_AND_IIS_COMMANDS) - {
    "Get-ManagementRole",
    "Get-WebAppPoolState",
}
CHANGING_COMMANDS = {"Set-PartnerApplication", "Restart-WebAppPool"}


def _css_available() -> bool:
    return (conftest.CSS_EXCHANGE / "E16" / "IIS").is_dir()


@functools.cache
def generated_scripts() -> dict[str, str]:
    """Every generated script, by a readable id."""
    scripts: dict[str, str] = {}
    for script in scenarios.example_report().scripts:
        scripts[f"examples:{script.name}"] = script.content
    for script in scenarios.enabling_report().scripts:
        scripts[f"enabling:{script.name}"] = script.content
    remediation, rollback = scenarios.render(scenarios.PARTNER_CHANGE_SET)
    scripts["partner-applications:remediation"] = remediation
    scripts["partner-applications:rollback"] = rollback
    for label, audited in (("create", None), ("set", ("Enabled=false",))):
        remediation, rollback = scenarios.render(scenarios.override_change_set(audited))
        scripts[f"dedicated-app-override-{label}:remediation"] = remediation
        scripts[f"dedicated-app-override-{label}:rollback"] = rollback
    for label, audited in (("empty", ""), ("first-party", "00000002-0000-0ff1-ce00-000000000000")):
        remediation, rollback = scenarios.render(scenarios.auth_server_change_set(audited))
        scripts[f"evosts-auth-servers-{label}:remediation"] = remediation
        scripts[f"evosts-auth-servers-{label}:rollback"] = rollback
    sets = {"fixtures": scenarios.fixture_cases()}
    if _css_available():
        sets.update({name: scenarios.css_exchange_cases(name) for name in ("E16", "E19")})
    for name, cases in sets.items():
        remediation, rollback = scenarios.render(scenarios.web_config_change_set(name, cases))
        scripts[f"web-config-{name}:remediation"] = remediation
        scripts[f"web-config-{name}:rollback"] = rollback
    scripts["collect"] = scenarios.render_collect()
    return scripts


SCRIPT_IDS = sorted(generated_scripts())


@pytest.fixture(scope="module")
def linted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, harness.LintResult]:
    harness.require_pwsh()
    folder = tmp_path_factory.mktemp("generated")
    files: list[tuple[str, Path, str]] = []
    for index, (script_id, text) in enumerate(sorted(generated_scripts().items())):
        path = scenarios.write_script(folder, f"{index:02d}.ps1", text)
        files.append((script_id, path, "script"))
    return harness.lint(files, folder)


def test_every_script_kind_is_covered() -> None:
    ids = set(SCRIPT_IDS)
    for required in (
        "examples:remediation/partner-applications.ps1",
        "examples:rollback/partner-applications.ps1",
        "collect",
    ):
        assert required in ids
    assert any(i.startswith("examples:remediation/web-config-") for i in ids)
    assert any(i.startswith("examples:rollback/web-config-") for i in ids)
    if not _css_available():
        conftest.skip_or_fail(f"reference corpus not found at {conftest.CSS_EXCHANGE}")


@pytest.mark.parametrize("script_id", SCRIPT_IDS)
def test_parser_reports_no_error_and_lint_finds_nothing(
    linted: dict[str, harness.LintResult], script_id: str
) -> None:
    result = linted[script_id]
    assert result.parse_errors == ()
    assert result.violations == ()


@pytest.mark.parametrize("script_id", SCRIPT_IDS)
def test_script_is_ascii_with_crlf_and_requires_51(script_id: str) -> None:
    text = generated_scripts()[script_id]
    assert text.isascii()
    assert "\n" not in text.replace("\r\n", "") and "\r" not in text.replace("\r\n", "")
    assert text.startswith("#Requires -Version 5.1\r\n")


@pytest.mark.parametrize("script_id", SCRIPT_IDS)
def test_exchange_calls_stop_on_error_and_changes_sit_inside_should_process(
    linted: dict[str, harness.LintResult], script_id: str
) -> None:
    result = linted[script_id]
    for command in result.commands:
        if command["name"] in EXCHANGE_COMMANDS_NEEDING_STOP:
            assert "ErrorAction" in command["parameters"], command
        if command["name"] in CHANGING_COMMANDS:
            assert command["guarded"], f"{command['name']} outside $PSCmdlet.ShouldProcess"
    if script_id == "collect":
        assert not {c["name"] for c in result.commands} & CHANGING_COMMANDS  # read-only
