"""The test tools themselves: the 5.1 lint must reject what it claims to, the stand-ins must look
like the real Exchange and IIS commands. Without these, every other test in tests/pwsh could pass
vacuously."""

from __future__ import annotations

import json
from pathlib import Path

import harness
import pytest

pytestmark = pytest.mark.pwsh


@pytest.fixture(autouse=True, scope="module")
def _report_powershell_time(pytestconfig: pytest.Config) -> None:
    harness.register_time_report(pytestconfig)


# (snippet, the rule lint51.ps1 must report). Each is valid PowerShell 7 that 5.1 cannot run, or
# a command the generated scripts must never call.
BAD_SNIPPETS = {
    "pipeline-chain-and": (
        "Get-Item -LiteralPath 'a' && Get-Item -LiteralPath 'b'",
        "pipeline-chain",
    ),
    "pipeline-chain-or": ("Get-Item -LiteralPath 'a' || Write-Output 'x'", "pipeline-chain"),
    "ternary": ("$x = $true ? 'a' : 'b'", "ternary"),
    "null-coalescing": ("$x = $null ?? 'a'", "null-coalescing"),
    "null-coalescing-assignment": ("$x ??= 'a'", "null-coalescing"),
    "null-conditional-member": ("$x = ${y}?.Name", "null-conditional"),
    "null-conditional-index": ("$x = ${y}?[0]", "null-conditional"),
    "null-conditional-method": ("$x = ${y}?.ToString()", "null-conditional"),
    "clean-block": ("function f { process { 'a' } clean { 'b' } }", "clean-block"),
    "background": ("Get-Item -LiteralPath 'a' &", "background"),
    "escape-e": ('Write-Output "`e[0m"', "escape-7"),
    "escape-u": ('Write-Output "`u{2018}"', "escape-7"),
    "as-hashtable": (
        "ConvertTo-Json -InputObject 1 | ConvertFrom-Json -AsHashtable",
        "parameter-7",
    ),
    "foreach-parallel": ("1 | ForEach-Object -Parallel { $_ }", "parameter-7"),
    "encoding-utf8nobom": (
        "Set-Content -LiteralPath 'a' -Value 'b' -Encoding utf8NoBOM",
        "encoding-7",
    ),
    "invoke-expression": ("Invoke-Expression -Command 'Get-Date'", "command-not-allowed"),
    "stop-computer": ("Stop-Computer -Force", "command-not-allowed"),
    "alias": ("iex 'Get-Date'", "command-not-allowed"),
    "dynamic-command": ("& $command", "dynamic-command"),
    "dot-source-dynamic": (". $path", "dynamic-command"),
}

GOOD_SNIPPET = "\r\n".join(
    [
        "[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]",
        "param([string] $BackupDirectory = '')",
        "Set-StrictMode -Version 3.0",
        "$ErrorActionPreference = 'Stop'",
        "$name = ('a''b' + [char]0x000A + 'c')",
        "if ($null -eq $name) { $name = 'x' } else { $name = 'y' }",
        "$app = Get-PartnerApplication -Identity '00000003-0000-0000-c000-000000000000' "
        "-ErrorAction Stop",
        "if ($PSCmdlet.ShouldProcess($name, 'Set')) {",
        "    Set-PartnerApplication -Identity $app.ApplicationIdentifier -AppOnlyPermissions $null "
        "-Confirm:$false -ErrorAction Stop",
        "}",
        'Write-Output "done `n $name"',
        "",
    ]
)


@pytest.fixture(scope="module")
def lint_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, harness.LintResult]:
    workdir = tmp_path_factory.mktemp("lint-self-test")
    files: list[tuple[str, Path, str]] = []
    for snippet_id, (snippet, _rule) in BAD_SNIPPETS.items():
        path = workdir / f"{snippet_id}.ps1"
        path.write_text(snippet + "\r\n", encoding="ascii")
        files.append((snippet_id, path, "script"))
    good = workdir / "good.ps1"
    good.write_text(GOOD_SNIPPET, encoding="ascii")
    files.append(("good", good, "script"))
    for values_id, text in {
        "values-good": (
            "$values = @(\r\n    'a',\r\n    ('' + [char]0x000A + 'b''c'),\r\n    ''\r\n)\r\n"
        ),
        "values-command": "$values = @(\r\n    'a',\r\n    (Get-Date)\r\n)\r\n",
        "values-subexpression": '$values = @(\r\n    "$(Get-Date)"\r\n)\r\n',
        "values-variable": "$values = @(\r\n    $env:PATH\r\n)\r\n",
        "values-broken-quote": "$values = @(\r\n    'a\u2019; Stop-Computer; \u2018'\r\n)\r\n",
    }.items():
        path = workdir / f"{values_id}.ps1"
        path.write_text(text, encoding="utf-8-sig")
        files.append((values_id, path, "values"))
    return harness.lint(files, workdir, allowed_commands=harness.ALLOWED_COMMANDS, shape=True)


@pytest.mark.parametrize("snippet_id", sorted(BAD_SNIPPETS))
def test_lint_rejects_what_windows_powershell_51_cannot_run(
    lint_results: dict[str, harness.LintResult], snippet_id: str
) -> None:
    result = lint_results[snippet_id]
    expected_rule = BAD_SNIPPETS[snippet_id][1]
    assert result.parse_errors == (), result.parse_errors  # valid PowerShell 7 ...
    assert expected_rule in result.rules(), result.violations  # ... that the lint rejects


def test_lint_accepts_a_clean_51_script_and_lists_its_commands(
    lint_results: dict[str, harness.LintResult],
) -> None:
    result = lint_results["good"]
    assert result.parse_errors == ()
    assert result.violations == ()
    assert result.command_names() == [
        "Set-StrictMode",
        "Get-PartnerApplication",
        "Set-PartnerApplication",
        "Write-Output",
    ]
    assert result.commands[2]["parameters"] == [
        "Identity",
        "AppOnlyPermissions",
        "Confirm",
        "ErrorAction",
    ]
    assert [command["guarded"] for command in result.commands] == [False, False, True, False]
    # The literal ('a''b' + [char]0x000A + 'c') is one VALUE in the shape.
    assert result.shape.count("VALUE") >= 1
    assert "ConvertExpressionAst" not in result.shape


def test_lint_values_mode_accepts_only_literals(
    lint_results: dict[str, harness.LintResult],
) -> None:
    assert lint_results["values-good"].violations == ()
    assert lint_results["values-good"].parse_errors == ()
    for values_id in ("values-command", "values-subexpression", "values-variable"):
        assert lint_results[values_id].violations, values_id
    # A curly quote ends a single-quoted string in PowerShell: the rest is code, and either the
    # parser or the literal check must say so.
    broken = lint_results["values-broken-quote"]
    assert broken.parse_errors or broken.violations


@pytest.mark.parametrize("omit_app_only", [False, True], ids=["full", "without-app-only"])
def test_stand_in_module_matches_the_documented_commands(
    tmp_path: Path, omit_app_only: bool
) -> None:
    state = harness.default_state(
        [
            {
                "Name": "Microsoft Graph",
                "ApplicationIdentifier": harness.GRAPH_APP_ID,
                "ActAsPermissions": ["Mail.Read", "Mail.Send"],
                "AppOnlyPermissions": ["Mail.Read", "Mail.Send"],
                "LinkedAccount": None,
                "Enabled": True,
            },
            {
                "Name": "Exchange Online",
                "ApplicationIdentifier": harness.EXCHANGE_ONLINE_APP_ID,
                "ActAsPermissions": None,
                "AppOnlyPermissions": None,
                "LinkedAccount": "contoso.com/Users/Exchange Online-ApplicationAccount",
                "Enabled": True,
            },
            {
                "Name": "Empty List",
                "ApplicationIdentifier": harness.SKYPE_APP_ID,
                "ActAsPermissions": [],
                "AppOnlyPermissions": [],
                "LinkedAccount": None,
                "Enabled": False,
            },
        ]
    )
    state["omit_app_only_parameter"] = omit_app_only
    standin = harness.StandIn(tmp_path, state)
    completed = harness.run_pwsh(
        [
            "-File",
            str(harness.PWSH_TESTS / "probe_standin.ps1"),
            str(harness.STAND_IN_MODULE),
            str(tmp_path / "app.xml"),
        ],
        env=standin.environment(),
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout[completed.stdout.index("{") :])
    expected_parameters = {
        "Identity": "PartnerApplicationIdParameter",
        "ActAsPermissions": "String[]",
        "Enabled": "Boolean",
        "LinkedAccount": "UserIdParameter",
        "WhatIf": "SwitchParameter",
        "Confirm": "SwitchParameter",
    }
    if not omit_app_only:
        expected_parameters["AppOnlyPermissions"] = "String[]"
    assert report["set_parameters"] == expected_parameters
    assert report["get_identity_position"] == 0
    assert report["set_supports_should_process"] is True
    assert report["restart_parameters"] == ["System.String"]
    assert report["exchange_server_sets"] == ["Domain", "Identity"]
    assert report["app_only_type"] == "System.String[]"
    assert report["application_identifier_type"] == "System.String"
    assert report["type_name"].endswith("SystemConfiguration.PartnerApplication")
    assert report["null_app_only"] is True
    assert report["all_count"] == 3
    assert report["empty_app_only"] == "count 0"  # an empty list stays a list, $null stays $null
    assert report["clixml_app_only"] == ["Mail.Read", "Mail.Send"]
    assert "couldn't be found" in report["missing"]
    # -WhatIf reached the stand-in: logged, nothing changed.
    assert standin.read_state()["applications"][0]["AppOnlyPermissions"] == [
        "Mail.Read",
        "Mail.Send",
    ]
    set_calls = [c for c in standin.all_calls() if c["command"] == "Set-PartnerApplication"]
    if omit_app_only:
        assert set_calls == []  # the parameter does not exist: binding fails before the call
    else:
        assert [c["outcome"] for c in set_calls] == ["whatif"]
