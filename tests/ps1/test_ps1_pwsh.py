"""The generated scripts read by real PowerShell's parser: no errors, and every literal means
what `decode_ps_literal` says it means (PowerShell's tokenizer, not a model of it, is the judge).

Nothing is executed: `literal_values.ps1` parses each file and computes literal values from the
AST. The behaviour of the scripts against Exchange stand-ins is tested in tests/pwsh.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, skip_or_fail
from ps1_support import HOSTILE_PIECES, analyse, render_unchecked
from test_ps1_render import ALL_SCRIPTS, _with_app, _with_file

from auditor.psquote import decode_ps_literal, ps_array
from auditor.render.ps1 import ScriptHeader

pytestmark = pytest.mark.pwsh

LITERAL_VALUES = Path(__file__).resolve().parent / "literal_values.ps1"


def _pwsh() -> str:
    bundled = PROJECT_ROOT / ".tools" / "pwsh" / "pwsh"
    if bundled.is_file():
        return str(bundled)
    found = shutil.which("pwsh")
    if found is None:
        skip_or_fail("PowerShell (pwsh) is not installed")
    return str(found)


def _units(value: str) -> str:
    """The UTF-16 code units of `value` as hex, the way literal_values.ps1 prints them."""
    data = value.encode("utf-16-le", "surrogatepass")
    units = (int.from_bytes(data[i : i + 2], "little") for i in range(0, len(data), 2))
    return " ".join(f"{unit:04X}" for unit in units)


def _powershell_view(files: dict[str, bytes], folder: Path) -> dict[str, dict[str, list[str]]]:
    paths = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(str(path))
    output = folder / "result.json"
    listing = folder / "paths.txt"
    listing.write_text("\n".join(paths), encoding="utf-8")
    command = [_pwsh(), "-NoProfile", "-NonInteractive", "-File", str(LITERAL_VALUES)]
    command += ["-ListPath", str(listing), "-OutputPath", str(output)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(output.read_text(encoding="utf-8-sig"))
    return {
        Path(item["path"]).name: {
            "errors": item["errors"] or [],
            "values": item["values"] or [],
            "commands": item["commands"] or [],
        }
        for item in results
    }


def _hostile_values() -> list[str]:
    """Every hostile piece at once, in a few deterministic orders."""
    rng = random.Random(20240501)
    values = ["".join(HOSTILE_PIECES), "".join(reversed(HOSTILE_PIECES))]
    for _ in range(2):
        pieces = list(HOSTILE_PIECES)
        rng.shuffle(pieces)
        values.append("".join(pieces))
    return values


def test_powershell_parses_every_script_and_agrees_on_every_literal(tmp_path: Path) -> None:
    files = {f"script{index}.ps1": param.values[1] for index, param in enumerate(ALL_SCRIPTS)}
    # Hostile values in every field a template renders (allow-lists bypassed on purpose).
    for index, value in enumerate(_hostile_values()):
        pa = _with_app(name=value, audited_app_only=(value, "Mail.Read"), target_app_only=(value,))
        wc = dataclasses.replace(
            _with_file(audited_value=value, target_value=value, vdir=value), server=value
        )
        header = ScriptHeader(value, value, value, value, ((value, value),), (value,), value)
        for kind, change_set in (("pa", pa), ("wc", wc)):
            remediation, rollback = render_unchecked(change_set, header)
            files[f"hostile{index}-{kind}-remediation.ps1"] = remediation
            files[f"hostile{index}-{kind}-rollback.ps1"] = rollback
    singles = [*HOSTILE_PIECES, "", "plain", *_hostile_values()]
    files["values.ps1"] = "$AuditorValues = " + ps_array(singles) + "\r\n"

    seen = _powershell_view({name: text.encode("ascii") for name, text in files.items()}, tmp_path)
    for name, text in files.items():
        assert seen[name]["errors"] == [], name
        python_side = sorted(_units(decode_ps_literal(value)) for value in analyse(text).values)
        assert sorted(seen[name]["values"]) == python_side, name
        assert "Stop-Computer" not in seen[name]["commands"], name
    assert sorted(seen["values.ps1"]["values"]) == sorted(_units(value) for value in singles)


def test_the_literal_probe_sees_an_injection(tmp_path: Path) -> None:
    # Control: doubling only the ASCII quote leaves U+2019 to end the string for PowerShell.
    value = "x\u2019; Stop-Computer; \u2018"
    naive = "$AuditorValue = '" + value.replace("'", "''") + "'\r\n"
    seen = _powershell_view({"naive.ps1": b"\xef\xbb\xbf" + naive.encode("utf-8")}, tmp_path)
    assert seen["naive.ps1"]["errors"] == []  # valid PowerShell: the injection is silent
    assert "Stop-Computer" in seen["naive.ps1"]["commands"]
