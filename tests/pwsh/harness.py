"""Runs PowerShell for the tests in tests/pwsh: locating pwsh, stand-in servers, batched checks.

`StandIn` is one fake Exchange server in a temporary folder: the JSON state the stand-in module
`ExchangeStandIn.psm1` reads and writes (partner applications, servers, app pools), its call log,
an `$env:ExchangeInstallPath` tree for web.config files and a backup folder. `StandIn.run` runs
a generated script in a fresh `pwsh -NoProfile -NonInteractive` with the stand-in module imported
first, the way an operator runs it in the Exchange Management Shell, and returns what happened.

Batched checks keep the suite fast: `lint` parses and lints any number of files in one pwsh
process (`lint51.ps1`), `evaluate_literals` evaluates any number of `ps_literal` expressions in
one process. `POWERSHELL_TIME` adds up the wall time of every pwsh process the tests start.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TypeVar

import conftest
import pytest

PWSH_TESTS = Path(__file__).resolve().parent
PROJECT_ROOT = PWSH_TESTS.parent.parent
STAND_IN_MODULE = PWSH_TESTS / "ExchangeStandIn.psm1"
LINT_SCRIPT = PWSH_TESTS / "lint51.ps1"
EVALUATE_SCRIPT = PWSH_TESTS / "evaluate_literals.ps1"
RUN_STEPS_SCRIPT = PWSH_TESTS / "run_steps.ps1"
BUNDLED_PWSH = PROJECT_ROOT / ".tools" / "pwsh" / "pwsh"
PWSH_TIMEOUT = 120

# The commands generated scripts may call: the Exchange and IIS commands the stand-in module
# provides, and the core cmdlets a remediation, rollback or collection script legitimately needs.
EXCHANGE_AND_IIS_COMMANDS = (
    "Get-PartnerApplication",
    "Set-PartnerApplication",
    "Get-ExchangeServer",
    "Get-ManagementRole",
    "Restart-WebAppPool",
    "Get-WebAppPoolState",
    # The hybrid OAuth trust, read by the collection script.
    "Get-AuthServer",
    "Get-AuthConfig",
    "Get-SettingOverride",
    # The dedicated-app override, changed by its remediation and rollback scripts.
    "New-SettingOverride",
    "Set-SettingOverride",
    "Remove-SettingOverride",
    # The EvoSTS AuthServers, changed by their remediation and rollback scripts.
    "Set-AuthServer",
    "Get-HybridConfiguration",
    "Get-IntraOrganizationConnector",
    "Get-OrganizationRelationship",
    "Get-OrganizationConfig",
    "Get-ExchangeCertificate",
    "Get-ExchangeDiagnosticInfo",
)
CORE_COMMANDS = (
    "Add-Content",
    "Compare-Object",
    "ConvertTo-Json",
    "Copy-Item",
    "Export-Clixml",
    "Export-Csv",
    "ForEach-Object",
    "Format-List",
    "Get-ChildItem",
    "Get-Command",
    "Get-Content",
    "Get-Date",
    "Get-FileHash",
    "Get-Item",
    "Import-Clixml",
    "Import-Module",
    "Join-Path",
    "Measure-Object",
    "New-Item",
    "New-Object",
    "Out-File",
    "Out-Null",
    "Out-String",
    "Remove-Item",
    "Resolve-Path",
    "Select-Object",
    "Set-Content",
    "Set-StrictMode",
    "Sort-Object",
    "Split-Path",
    "Start-Transcript",
    "Stop-Transcript",
    "Test-Path",
    "Where-Object",
    "Write-Error",
    "Write-Host",
    "Write-Information",
    "Write-Output",
    "Write-Verbose",
    "Write-Warning",
)
ALLOWED_COMMANDS = EXCHANGE_AND_IIS_COMMANDS + CORE_COMMANDS


@dataclass
class _Clock:
    """Wall time and count of the pwsh processes this test session started."""

    seconds: float = 0.0
    processes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float) -> None:
        with self.lock:
            self.seconds += seconds
            self.processes += 1


POWERSHELL_TIME = _Clock()
_TIME_REPORT_PLUGIN = "auditor-powershell-time"


class _TimeReport:
    """A pytest plugin that prints POWERSHELL_TIME in the terminal summary."""

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if POWERSHELL_TIME.processes:
            terminalreporter.write_line(
                f"PowerShell: {POWERSHELL_TIME.processes} pwsh processes, "
                f"{POWERSHELL_TIME.seconds:.1f} s of pwsh wall time "
                "(summed; stories run concurrently)"
            )


def register_time_report(config: pytest.Config) -> None:
    """Make the session end with a line saying how much time PowerShell took (once)."""
    if not config.pluginmanager.has_plugin(_TIME_REPORT_PLUGIN):
        config.pluginmanager.register(_TimeReport(), _TIME_REPORT_PLUGIN)


def find_pwsh() -> Path | None:
    """The project's pwsh (`<root>/.tools/pwsh/pwsh`), else `pwsh` on PATH, else None."""
    if BUNDLED_PWSH.is_file() and os.access(BUNDLED_PWSH, os.X_OK):
        return BUNDLED_PWSH
    found = shutil.which("pwsh")
    return Path(found) if found else None


def require_pwsh() -> Path:
    """pwsh, or skip the test (fail under AUDITOR_REQUIRE_ALL=1) when it is not installed."""
    pwsh = find_pwsh()
    if pwsh is None:
        conftest.skip_or_fail(
            f"PowerShell not found at {BUNDLED_PWSH} or on PATH "
            "(scripts/test.sh installs it with dotnet)"
        )
        raise AssertionError("unreachable")  # skip_or_fail raises
    return pwsh


def _environment(extra: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "NO_COLOR": "1",
            "TERM": "dumb",
            "POWERSHELL_TELEMETRY_OPTOUT": "1",
            "POWERSHELL_UPDATECHECK": "Off",
            "DOTNET_CLI_TELEMETRY_OPTOUT": "1",
            "DOTNET_NOLOGO": "1",
        }
    )
    env.update(extra)
    return env


def run_pwsh(
    arguments: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `pwsh -NoProfile -NonInteractive <arguments>`, timed into POWERSHELL_TIME."""
    pwsh = require_pwsh()
    started = time.perf_counter()
    try:
        return subprocess.run(
            [str(pwsh), "-NoProfile", "-NonInteractive", *arguments],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=_environment(env or {}),
            cwd=cwd,
            timeout=PWSH_TIMEOUT,
            check=False,
        )
    finally:
        POWERSHELL_TIME.add(time.perf_counter() - started)


def ps_quote(text: str) -> str:
    """A single-quoted PowerShell literal for a harness-made value (paths, switches' values)."""
    return "'" + "".join(c * 2 if c in "'\u2018\u2019\u201a\u201b" else c for c in text) + "'"


# --- stand-in servers ---------------------------------------------------------------------------

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
EXCHANGE_ONLINE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
SKYPE_APP_ID = "00000004-0000-0ff1-ce00-000000000000"
REST_APP_POOL = "MSExchangeRestFrontEndAppPool"

# Every app pool the layout table names, so a script recycling any of them finds it.
APP_POOLS = (
    "MSExchangeRestFrontEndAppPool",
    "MSExchangePowerShellFrontEndAppPool",
    "MSExchangeMapiFrontEndAppPool",
    "MSExchangeRpcProxyFrontEndAppPool",
    "MSExchangeRestAppPool",
    "MSExchangeServicesAppPool",
    "MSExchangeOWAAppPool",
    "MSExchangeECPAppPool",
)


def default_state(applications: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """A stand-in state with one Exchange 2019 server, every app pool started, no recycle."""
    return {
        "applications": [dict(app) for app in applications],
        "servers": [
            {
                "Name": "EX01",
                "Fqdn": "ex01.contoso.com",
                "AdminDisplayVersion": "Version 15.2 (Build 1544.4)",
                "ServerRole": "Mailbox",
                "Edition": "Enterprise",
            }
        ],
        "app_pools": {name: {"state": "Started", "recycles": 0} for name in APP_POOLS},
        "omit_app_only_parameter": False,
    }


@dataclass(frozen=True, slots=True)
class Run:
    """One script run: exit code, output, the stand-in calls it made and the state after it.

    Runs made by `StandIn.run_steps` also carry what the watched files, the stand-in state and
    the backup folder (without transcripts) held before and after the run.
    """

    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    calls: tuple[dict[str, Any], ...]
    state: dict[str, Any]
    files_before: dict[str, bytes | None] = field(default_factory=dict)
    files_after: dict[str, bytes | None] = field(default_factory=dict)
    state_before: bytes = b""
    state_after: bytes = b""
    backups_after: dict[str, bytes] = field(default_factory=dict)

    @property
    def output(self) -> str:
        """stdout and stderr together, for messages that may go to either stream."""
        return self.stdout + "\n" + self.stderr

    def changing_calls(self) -> list[dict[str, Any]]:
        """Calls of Set-* / Restart-* commands, whatever their outcome."""
        return [
            call
            for call in self.calls
            if str(call["command"]).split("-", 1)[0] in {"Set", "Restart", "New", "Remove"}
        ]

    def describe(self) -> str:
        """Everything about the run, for assertion messages."""
        return (
            f"exit code {self.exit_code}\n--- stdout ---\n{self.stdout}\n--- stderr ---\n"
            f"{self.stderr}\n--- calls ---\n" + "\n".join(json.dumps(call) for call in self.calls)
        )


@dataclass(frozen=True, slots=True)
class Step:
    """One script run of a story: parameters are splatted (True/False for switches).

    `env` changes environment variables from this step on; `before` prepares files first:
    `("write", path, bytes)`, `("remove", path, None)`, `("mkdir", path, None)`.
    """

    label: str
    script: Path
    parameters: Mapping[str, str | bool] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    before: tuple[tuple[str, Path, bytes | None], ...] = ()


class StandIn:
    """One fake Exchange server in `root`: state, call log, install folder, backup folder.

    `computer_name` is `$env:COMPUTERNAME` for the scripts (a per-server script refuses to run
    anywhere but on its server).
    """

    def __init__(
        self, root: Path, state: Mapping[str, Any] | None = None, computer_name: str = "EX01"
    ) -> None:
        self.computer_name = computer_name
        self.root = root
        self.state_path = root / "standin-state.json"
        self.log_path = root / "standin-calls.jsonl"
        self.install_path = root / "Exchange Server" / "V15"
        self.backup_dir = root / "backup"
        self.work_dir = root / "work"
        for folder in (self.install_path, self.backup_dir, self.work_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.write_state(state if state is not None else default_state())
        self._calls_seen = 0

    def write_state(self, state: Mapping[str, Any]) -> None:
        self.state_path.write_text(json.dumps(state, indent=2), encoding="utf-8")

    def read_state(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.state_path.read_text(encoding="utf-8"))
        return loaded

    def state_bytes(self) -> bytes:
        return self.state_path.read_bytes()

    def all_calls(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]

    def install_file(self, relative_path: str) -> Path:
        """Where `$env:ExchangeInstallPath` + `relative_path` (backslashes) lives here."""
        return self.install_path.joinpath(*relative_path.split("\\"))

    def place(self, relative_path: str, content: bytes) -> Path:
        target = self.install_file(relative_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        return target

    def command(self, script: Path, arguments: Sequence[str], prelude: str = "") -> str:
        """The `-Command` text: import the stand-in module, run the script, pass its exit code.

        A terminating error that leaves the script ends the process with exit code 1, as pwsh
        does, but its message is written to stderr on one line (pwsh's own error view wraps
        long messages at the console width, which would split the words tests look for).
        """
        return "\n".join(
            [
                "$PSStyle.OutputRendering = 'PlainText'",
                f"Import-Module -Name {ps_quote(str(STAND_IN_MODULE))} -ErrorAction Stop",
                "try {",
                f"    {prelude}",
                f"    & {ps_quote(str(script))} {' '.join(arguments)}",
                "} catch {",
                "    $message = 'TERMINATING-ERROR: ' + $_.Exception.Message",
                "    # ConstrainedLanguage allows no [Console] call: stdout then.",
                "    if ($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage') {",
                "        Write-Output $message",
                "    } else {",
                "        [Console]::Error.WriteLine($message)",
                "    }",
                "    exit 1",
                "}",
                "if ($LASTEXITCODE) { exit $LASTEXITCODE } else { exit 0 }",
            ]
        )

    def environment(self) -> dict[str, str]:
        return {
            "AUDITOR_STANDIN_STATE": str(self.state_path),
            "AUDITOR_STANDIN_LOG": str(self.log_path),
            # On Windows the variable ends with a backslash; here with the platform separator.
            "ExchangeInstallPath": str(self.install_path) + os.sep,
            "COMPUTERNAME": self.computer_name,
        }

    def run_steps(self, steps: Sequence[Step], watch: Sequence[Path] = ()) -> dict[str, Run]:
        """Run every step in ONE pwsh process (`run_steps.ps1`); each step's Run by label.

        Output is the host transcript of the step (stdout); a terminating error is stderr,
        `TERMINATING-ERROR: <message>`, and exit code 1, as with `run`.
        """
        manifest = self.root / "steps-manifest.json"
        output = self.root / "steps-output.json"
        manifest.write_text(
            json.dumps(
                {
                    "module": str(STAND_IN_MODULE),
                    "state_path": str(self.state_path),
                    "log_path": str(self.log_path),
                    "backup_dir": str(self.backup_dir),
                    "watch": [str(path) for path in watch],
                    "steps": [
                        {
                            "label": step.label,
                            "script": str(step.script),
                            "parameters": dict(step.parameters),
                            "env": {**self.environment(), **step.env},
                            "before": [
                                {
                                    "op": op,
                                    "path": str(path),
                                    "base64": base64.b64encode(data or b"").decode("ascii"),
                                }
                                for op, path, data in step.before
                            ],
                        }
                        for step in steps
                    ],
                }
            ),
            encoding="utf-8",
        )
        started = time.perf_counter()
        completed = run_pwsh(
            [
                "-File",
                str(RUN_STEPS_SCRIPT),
                "-ManifestPath",
                str(manifest),
                "-OutputPath",
                str(output),
            ],
            env=self.environment(),
            cwd=self.work_dir,
        )
        seconds = time.perf_counter() - started
        if completed.returncode != 0 or not output.exists():
            raise AssertionError(
                f"run_steps.ps1 failed (exit {completed.returncode}):\n{completed.stdout}\n"
                f"{completed.stderr}"
            )
        runs: dict[str, Run] = {}
        for record in _as_list(json.loads(output.read_text(encoding="utf-8"))):
            error = str(record["error"] or "")
            runs[record["label"]] = Run(
                exit_code=int(record["exit_code"]),
                stdout=str(record["output"] or ""),
                stderr=f"TERMINATING-ERROR: {error}" if error else "",
                seconds=seconds / max(1, len(steps)),
                calls=tuple(json.loads(line) for line in _as_list(record["calls"]) if line),
                state=json.loads(record["state_after"]),
                files_before=_decode_files(record["files_before"]),
                files_after=_decode_files(record["files_after"]),
                state_before=str(record["state_before"]).encode("utf-8"),
                state_after=str(record["state_after"]).encode("utf-8"),
                backups_after={
                    name: base64.b64decode(data)
                    for name, data in (record["backups_after"] or {}).items()
                },
            )
        return runs

    def run(self, script: Path, *arguments: str, prelude: str = "") -> Run:
        """Run `script` with `arguments` (PowerShell syntax, e.g. `-WhatIf`) in a fresh pwsh.

        `prelude` is PowerShell run first in the same session (e.g. setting the language mode).
        """
        before = len(self.all_calls())
        started = time.perf_counter()
        completed = run_pwsh(
            ["-Command", self.command(script, arguments, prelude)],
            env=self.environment(),
            cwd=self.work_dir,
        )
        seconds = time.perf_counter() - started
        calls = tuple(self.all_calls()[before:])
        return Run(
            exit_code=completed.returncode,
            stdout=completed.stdout,
            stderr=completed.stderr,
            seconds=seconds,
            calls=calls,
            state=self.read_state(),
        )


def _decode_files(snapshot: Mapping[str, str | None] | None) -> dict[str, bytes | None]:
    return {
        path: None if data is None else base64.b64decode(data)
        for path, data in (snapshot or {}).items()
    }


T = TypeVar("T")


def run_stories(makers: Mapping[str, Callable[[], T]]) -> dict[str, T]:
    """Run independent stories (each on its own stand-in) concurrently, one per CPU at most."""
    workers = max(1, min(len(makers), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(make) for name, make in makers.items()}
        return {name: future.result() for name, future in futures.items()}


# --- batched checks -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LintResult:
    """What lint51.ps1 found in one file."""

    id: str
    path: str
    parse_errors: tuple[dict[str, Any], ...]
    violations: tuple[dict[str, Any], ...]
    commands: tuple[dict[str, Any], ...]
    shape: tuple[str, ...]

    def command_names(self) -> list[str | None]:
        return [command["name"] for command in self.commands]

    def rules(self) -> set[str]:
        return {violation["rule"] for violation in self.violations}


def _as_list(value: Any) -> list[Any]:
    # ConvertTo-Json writes a one-element array as the element itself only for non-arrays;
    # empty arrays may come back as null. Normalise both.
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def lint(
    files: Sequence[tuple[str, Path, str]],
    workdir: Path,
    allowed_commands: Sequence[str] = ALLOWED_COMMANDS,
    *,
    shape: bool = False,
) -> dict[str, LintResult]:
    """Parse and lint (id, path, mode) files in ONE pwsh process; results by id.

    `shape=True` also computes each file's AST shape (slower; the hostile-value tests need it).
    """
    manifest = workdir / "lint-manifest.json"
    output = workdir / "lint-output.json"
    manifest.write_text(
        json.dumps(
            {
                "allowed_commands": list(allowed_commands),
                "files": [
                    {"id": file_id, "path": str(path), "mode": mode, "shape": shape}
                    for file_id, path, mode in files
                ],
            }
        ),
        encoding="utf-8",
    )
    completed = run_pwsh(
        ["-File", str(LINT_SCRIPT), "-ManifestPath", str(manifest), "-OutputPath", str(output)]
    )
    if completed.returncode != 0 or not output.exists():
        raise AssertionError(
            f"lint51.ps1 failed (exit {completed.returncode}):\n{completed.stdout}\n"
            f"{completed.stderr}"
        )
    results: dict[str, LintResult] = {}
    for item in _as_list(json.loads(output.read_text(encoding="utf-8"))):
        results[item["id"]] = LintResult(
            id=item["id"],
            path=item["path"],
            parse_errors=tuple(_as_list(item["parse_errors"])),
            violations=tuple(_as_list(item["violations"])),
            commands=tuple(
                {
                    "name": c["name"],
                    "parameters": _as_list(c["parameters"]),
                    "guarded": bool(c["guarded"]),
                }
                for c in _as_list(item["commands"])
            ),
            shape=tuple(_as_list(item["shape"])),
        )
    return results


def utf16_hex(value: str) -> str:
    """The UTF-16 code units of `value` as 4-digit lower-case hex, concatenated."""
    data = value.encode("utf-16-le", "surrogatepass")
    return "".join(
        f"{int.from_bytes(data[index : index + 2], 'little'):04x}"
        for index in range(0, len(data), 2)
    )


def values_file_text(literals: Sequence[str]) -> str:
    """A PowerShell file assigning the literals, one per line, to `$values` (CRLF, ASCII)."""
    body = ",\r\n".join("    " + literal for literal in literals)
    # The leading comma keeps a single value an array.
    return "$values = @(\r\n" + body + "\r\n)\r\n"


def evaluate_literals(literals: Sequence[str], workdir: Path) -> list[str]:
    """Evaluate every literal in ONE pwsh process; each value's UTF-16 code units as hex.

    The same process first lints the file in "values" mode (nothing but literals may be in it),
    so a broken literal cannot run code; a violation raises AssertionError with the findings.
    """
    values_path = workdir / "values.ps1"
    values_path.write_bytes(values_file_text(literals).encode("ascii"))
    manifest = workdir / "values-manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "allowed_commands": [],
                "files": [
                    {"id": "values", "path": str(values_path), "mode": "values", "shape": False}
                ],
            }
        ),
        encoding="utf-8",
    )
    lint_output = workdir / "values-lint.json"
    output = workdir / "values.json"
    completed = run_pwsh(
        [
            "-File",
            str(EVALUATE_SCRIPT),
            "-ManifestPath",
            str(manifest),
            "-LintOutputPath",
            str(lint_output),
            "-ValuesPath",
            str(values_path),
            "-OutputPath",
            str(output),
        ]
    )
    if completed.returncode == 3:
        raise AssertionError(
            "the literals file holds more than literals:\n"
            + lint_output.read_text(encoding="utf-8")[:4000]
        )
    if completed.returncode != 0:
        raise AssertionError(f"evaluating literals failed:\n{completed.stdout}\n{completed.stderr}")
    return [str(item) for item in _as_list(json.loads(output.read_text(encoding="utf-8")))]


DOTNET_APPSETTINGS_SCRIPT = PWSH_TESTS / "dotnet_appsettings.ps1"


def dotnet_profiles(paths: Sequence[Path], workdir: Path) -> dict[Path, str | None]:
    """The effective `OAuthHttpModule.Profiles` of each file as .NET's own configuration system
    reads it (`dotnet_appsettings.ps1`, one pwsh process for all of them)."""
    listing = workdir / "dotnet-paths.txt"
    output = workdir / "dotnet-profiles.json"
    listing.write_text("\n".join(str(path) for path in paths), encoding="utf-8")
    done = run_pwsh(
        [
            "-File",
            str(DOTNET_APPSETTINGS_SCRIPT),
            "-ListPath",
            str(listing),
            "-OutputPath",
            str(output),
        ]
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found: dict[str, str | None] = json.loads(output.read_text(encoding="utf-8"))
    return {Path(path): value for path, value in found.items()}


class ScriptStory:
    """One stand-in and the runs of generated scripts made on it, all in one pwsh process: each
    `play` adds its runs by label (a later run of a label replaces the earlier one)."""

    def __init__(self, root: Path, state: dict[str, Any]) -> None:
        self.standin = StandIn(root, state)
        self.runs: dict[str, Run] = {}

    def step(self, label: str, script: Path, **switches: bool) -> Step:
        parameters: dict[str, str | bool] = {"BackupDirectory": str(self.standin.backup_dir)}
        parameters.update(switches)
        return Step(label, script, parameters)

    def play(self, *steps: Step) -> Self:
        self.runs = {**self.runs, **self.standin.run_steps(steps)}
        return self
