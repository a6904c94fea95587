#!/usr/bin/env bash
# The project's one test command (README, .ci/run): creates .venv, installs auditor with its test
# extras, installs PowerShell 7.6.9 as a .NET tool when dotnet and NuGet are reachable, then runs
# pytest. pip honours PIP_NO_INDEX and PIP_FIND_LINKS, so an air-gapped machine installs from a
# wheelhouse. Where PowerShell cannot be installed (no dotnet, NuGet unreachable), the PowerShell
# tests are skipped with one visible reason and the run still passes, unless
# AUDITOR_REQUIRE_ALL=1 (as .ci/run sets) makes that a failure.
# Extra arguments go to pytest. AUDITOR_SETUP_ONLY=1 installs and stops before pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

pwsh=.tools/pwsh/pwsh
why_not=""
if [ ! -x "$pwsh" ]; then
  if ! command -v dotnet >/dev/null 2>&1; then
    why_not="dotnet is not installed"
  else
    echo "installing PowerShell 7.6.9 into .tools/pwsh (dotnet tool, from NuGet)"
    if ! log=$(DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 \
      dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9 2>&1); then
      first=$(printf '%s\n' "$log" | grep -m1 -v '^[[:space:]]*$' || true)
      why_not="PowerShell 7.6.9 could not be installed from NuGet (offline?): ${first:-no output}"
    fi
  fi
fi
if [ -x "$pwsh" ]; then
  echo "PowerShell: $("$pwsh" -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()')"
elif [ "${AUDITOR_REQUIRE_ALL:-}" = 1 ]; then
  echo "error: PowerShell is required (AUDITOR_REQUIRE_ALL=1) and missing: $why_not" >&2
  exit 1
else
  echo "PowerShell tests skipped: $why_not"
fi

if [ "${AUDITOR_SETUP_ONLY:-}" = 1 ]; then
  exit 0
fi
exec .venv/bin/python -m pytest --all "$@"
