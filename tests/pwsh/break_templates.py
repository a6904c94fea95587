"""Make a broken copy of templates/ps1 to prove that the tests in tests/pwsh catch real breakage.

    .venv/bin/python tests/pwsh/break_templates.py double-quoted /tmp/broken-templates
    AUDITOR_TEST_PS1_TEMPLATES=/tmp/broken-templates .venv/bin/pytest tests/pwsh -m pwsh

The copy is written to the given folder; templates/ps1 itself is never modified. Breakages:

  double-quoted     the partner application's name is put in a double-quoted string
                    (`Name = "{{ app.name }}"`), where `$(...)` in a name would run.
  set-before-guard  the Set-PartnerApplication calls are moved before the drift guard (still
                    inside ShouldProcess, so a -WhatIf review would not notice).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "ps1"
PARTNER_REMEDIATION = "partner-applications.remediation.ps1.j2"


def _double_quoted(text: str) -> str:
    old = "        Name = {{ app.name }}\n"
    if old not in text:
        raise SystemExit(f"marker not found: {old!r}")
    return text.replace(old, '        Name = "{{ app.name }}"\n', 1)


def _set_before_guard(text: str) -> str:
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if "if ($app.Target.Length -eq 0) {" in line)
    block = lines[start : start + 6]
    if "Set-PartnerApplication" not in block[1] or "Set-PartnerApplication" not in block[4]:
        raise SystemExit("the Set-PartnerApplication block is not where it was expected")
    del lines[start : start + 6]
    guard = next(i for i, line in enumerate(lines) if "# Drift guard" in line)
    indent = " " * (len(block[0]) - len(block[0].lstrip()))
    moved = [
        "    foreach ($app in $AuditorApplications) {\n",
        "        if ($PSCmdlet.ShouldProcess($app.Name, 'Set AppOnlyPermissions')) {\n",
        *("            " + line.removeprefix(indent) for line in block),
        "        }\n",
        "    }\n",
        "\n",
    ]
    lines[guard:guard] = moved
    return "".join(lines)


BREAKAGES = {"double-quoted": _double_quoted, "set-before-guard": _set_before_guard}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in BREAKAGES:
        print(__doc__)
        return 2
    destination = Path(argv[1])
    if destination.exists():
        shutil.rmtree(destination)
    shutil.copytree(TEMPLATES, destination)
    target = destination / PARTNER_REMEDIATION
    target.write_text(BREAKAGES[argv[0]](target.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"broken copy ({argv[0]}) written to {destination}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
