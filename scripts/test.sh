#!/usr/bin/env bash
# The project's one test command (README, .ci/run): creates .venv, installs auditor with its test
# extras, installs PowerShell 7.6.9 as a .NET tool when dotnet exists, then runs pytest.
# pip honours PIP_NO_INDEX and PIP_FIND_LINKS, so an air-gapped machine installs from a wheelhouse.
# Extra arguments go to pytest. AUDITOR_SETUP_ONLY=1 installs and stops before pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

if command -v dotnet >/dev/null 2>&1 && [ ! -x .tools/pwsh/pwsh ]; then
  echo "installing PowerShell 7.6.9 into .tools/pwsh (dotnet tool)"
  dotnet tool install --tool-path .tools/pwsh PowerShell --version 7.6.9 >/dev/null
fi
if [ -x .tools/pwsh/pwsh ]; then
  echo "PowerShell: $(.tools/pwsh/pwsh -NoProfile -NonInteractive -Command '$PSVersionTable.PSVersion.ToString()')"
else
  echo "PowerShell: not available (dotnet missing); PowerShell tests will be skipped"
fi

if [ "${AUDITOR_SETUP_ONLY:-}" = 1 ]; then
  exit 0
fi
exec .venv/bin/python -m pytest "$@"
