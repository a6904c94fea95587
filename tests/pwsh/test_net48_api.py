"""Windows PowerShell 5.1 cannot run here, so its API is proven statically: every .NET type and
member the generated scripts use exists in the .NET Framework 4.8 reference assemblies, every
PowerShell engine type and member in the System.Management.Automation 3.0.0.0 reference assembly
of PowerShellStandard.Library 5.1.1 (the API Windows PowerShell 5.1 shares with PowerShell 6+),
every cmdlet parameter in Microsoft's 5.1 reference (ps51_api.json); check_net48.ps1 does the work
in one pwsh process. Templates broken on purpose (Join-Path -AdditionalChildPath,
[System.IO.Path]::GetRelativePath, [System.Management.Automation.Platform]::IsWindows, all
PowerShell 6+/.NET Core only) must fail it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import conftest
import harness
import pytest
import scenarios
from test_static import generated_scripts

pytestmark = pytest.mark.pwsh

PACKAGE = "Microsoft.NETFramework.ReferenceAssemblies.net48"
VERSION = "1.0.3"
ENGINE_PACKAGE = "PowerShellStandard.Library"
ENGINE_VERSION = "5.1.1"
PACKAGES = harness.PROJECT_ROOT / ".tools" / "nuget"
REFERENCE_DIR = PACKAGES / PACKAGE.lower() / VERSION / "build" / ".NETFramework" / "v4.8"
ENGINE_ASSEMBLY = (
    PACKAGES
    / ENGINE_PACKAGE.lower()
    / ENGINE_VERSION
    / "lib"
    / "net452"
    / "System.Management.Automation.dll"
)
CHECK_SCRIPT = harness.PWSH_TESTS / "check_net48.ps1"
API_TABLE = harness.PWSH_TESTS / "ps51_api.json"
BROKEN = {
    "additional-child-path": (
        "$AuditorProbe = Join-Path -Path 'a' -ChildPath 'b' -AdditionalChildPath 'c'"
    ),
    "get-relative-path": "$AuditorProbe = [System.IO.Path]::GetRelativePath('a', 'b')",
    "platform-is-windows": "$AuditorProbe = [System.Management.Automation.Platform]::IsWindows",
    "null-string-member": (
        "$AuditorProbe = [System.Management.Automation.Language.NullString]::Empty"
    ),
}


def reference_assemblies(workdir: Path) -> Path:
    """The net48 reference assemblies and the 5.1 engine reference assembly; `dotnet restore`
    puts both packages in .tools/nuget if missing."""
    if (REFERENCE_DIR / "mscorlib.dll").is_file() and ENGINE_ASSEMBLY.is_file():
        return REFERENCE_DIR
    dotnet = shutil.which("dotnet")
    if dotnet is None:
        conftest.skip_or_fail(
            f"{PACKAGE} {VERSION} or {ENGINE_PACKAGE} {ENGINE_VERSION} is not in {PACKAGES}"
            " and dotnet is not installed"
        )
    project = workdir / "refasm.csproj"
    project.write_text(
        '<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>net8.0</TargetFramework>'
        f'</PropertyGroup><ItemGroup><PackageDownload Include="{PACKAGE}" Version="[{VERSION}]" />'
        f'<PackageDownload Include="{ENGINE_PACKAGE}" Version="[{ENGINE_VERSION}]" />'
        "</ItemGroup></Project>",
        encoding="utf-8",
    )
    completed = subprocess.run(
        [str(dotnet), "restore", str(project), "--packages", str(PACKAGES)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0 or not (
        (REFERENCE_DIR / "mscorlib.dll").is_file() and ENGINE_ASSEMBLY.is_file()
    ):
        conftest.skip_or_fail(
            f"dotnet restore of {PACKAGE} {VERSION} and {ENGINE_PACKAGE} {ENGINE_VERSION}"
            f" failed: {completed.stdout[-500:]}"
        )
    return REFERENCE_DIR


def _broken_renders(root: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    texts = {}
    for label, line in BROKEN.items():
        folder = root / label
        shutil.copytree(harness.PROJECT_ROOT / "templates" / "ps1", folder)
        functions = folder / "_common_functions.ps1.j2"
        functions.write_text(functions.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
        monkeypatch.setenv(scenarios.TEMPLATES_OVERRIDE_VARIABLE, str(folder))
        texts[label] = scenarios.render(scenarios.PARTNER_CHANGE_SET)[0]
    monkeypatch.delenv(scenarios.TEMPLATES_OVERRIDE_VARIABLE)
    return texts


@pytest.fixture(scope="module")
def violations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, str]]]:
    harness.require_pwsh()
    root = tmp_path_factory.mktemp("net48")
    reference = reference_assemblies(root)
    # The collection script (collect.ps1.j2) belongs to the parsers; the change scripts here.
    scripts = {k: v for k, v in generated_scripts().items() if k != "collect"}
    with pytest.MonkeyPatch.context() as monkeypatch:
        scripts.update({f"broken:{k}": v for k, v in _broken_renders(root, monkeypatch).items()})
    manifest = []
    for index, (script_id, text) in enumerate(sorted(scripts.items())):
        path = scenarios.write_script(root / "scripts", f"{index:02d}.ps1", text)
        manifest.append({"id": script_id, "path": str(path)})
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    output = root / "violations.json"
    completed = harness.run_pwsh(
        [
            "-File",
            str(CHECK_SCRIPT),
            "-ApiPath",
            str(API_TABLE),
            "-ReferenceDir",
            str(reference),
            "-EngineAssembly",
            str(ENGINE_ASSEMBLY),
            "-ManifestPath",
            str(root / "manifest.json"),
            "-OutputPath",
            str(output),
        ]
    )
    assert completed.returncode == 0, completed.stderr
    found: dict[str, list[dict[str, str]]] = {script_id: [] for script_id in scripts}
    found["table"] = []
    for item in harness._as_list(json.loads(output.read_text(encoding="utf-8"))):
        found[item["id"]].append(item)
    return found


def test_every_generated_script_uses_only_the_51_api(
    violations: dict[str, list[dict[str, str]]],
) -> None:
    for script_id, found in violations.items():
        if not script_id.startswith("broken:"):
            assert found == [], script_id


def test_a_powershell_7_parameter_fails_the_check(
    violations: dict[str, list[dict[str, str]]],
) -> None:
    assert {
        "id": "broken:additional-child-path",
        "rule": "unknown-cmdlet-parameter",
        "text": "Join-Path -AdditionalChildPath",
    } in violations["broken:additional-child-path"]


def test_a_dotnet_core_member_fails_the_check(
    violations: dict[str, list[dict[str, str]]],
) -> None:
    assert {
        "id": "broken:get-relative-path",
        "rule": "unknown-static-member",
        "text": "[System.IO.Path]::GetRelativePath",
    } in violations["broken:get-relative-path"]


def test_a_powershell_6_engine_type_fails_the_check(
    violations: dict[str, list[dict[str, str]]],
) -> None:
    assert {
        "id": "broken:platform-is-windows",
        "rule": "unknown-type",
        "text": "System.Management.Automation.Platform",
    } in violations["broken:platform-is-windows"]


def test_an_engine_member_outside_the_51_assembly_fails_the_check(
    violations: dict[str, list[dict[str, str]]],
) -> None:
    assert violations["broken:null-string-member"] == [
        {
            "id": "broken:null-string-member",
            "rule": "unknown-static-member",
            "text": "[System.Management.Automation.Language.NullString]::Empty",
        }
    ]


def test_the_common_parameters_are_the_engines(
    violations: dict[str, list[dict[str, str]]],
) -> None:
    assert violations["table"] == []


def test_the_table_cites_microsofts_51_reference() -> None:
    table = json.loads(API_TABLE.read_text(encoding="utf-8"))
    for name, entry in table["cmdlets"].items():
        assert entry["source"] == f"reference/5.1/{entry['source'].split('/')[2]}/{name}.md"
        assert len(entry["commit"]) == 40
    for name, entry in table["module_cmdlets"].items():
        assert entry["repository"] in {
            "MicrosoftDocs/office-docs-powershell",
            "MicrosoftDocs/windows-powershell-docs",
        }
        assert entry["source"].endswith(f"/{name}.md")
        assert len(entry["commit"]) == 40
