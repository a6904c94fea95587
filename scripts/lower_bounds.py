"""The lower bounds pyproject.toml declares, as a pip constraints file, and a check that an
environment holds exactly them.

Every runtime and test dependency is declared `name>=X`, X being a version the project was
tested with (the lowest the wheelhouse holds). `.ci/run` installs the project under these
constraints into a fresh environment and checks, here, that each dependency got exactly its
lower bound, so a bound that was never tested cannot stay in pyproject.toml.

    python scripts/lower_bounds.py                 # the constraints file, on stdout
    python scripts/lower_bounds.py --check PYTHON  # exit 1 unless PYTHON's environment holds
                                                   # exactly the lower bounds
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
# `name[extras]>=version` with an optional environment marker; nothing else is a lower bound.
BOUND = re.compile(
    r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*>=\s*([^\s,;]+)\s*(;.*)?$"
)
EXTRAS = ("test",)


def lower_bounds(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """Each runtime and test dependency's lower bound, by name as declared.

    A dependency declared without a lower bound (`name`, `name<2`, `name==1`) is an error: its
    tested version would not be written down.
    """
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    declared = list(project.get("dependencies", []))
    for extra in EXTRAS:
        declared += project.get("optional-dependencies", {}).get(extra, [])
    bounds: dict[str, str] = {}
    for requirement in declared:
        match = BOUND.match(requirement)
        if match is None:
            raise SystemExit(f"{pyproject}: {requirement!r} declares no lower bound (name>=X)")
        bounds[match.group(1)] = match.group(2)
    return bounds


def installed(python: str, names: list[str]) -> dict[str, str | None]:
    """The version of each distribution `names` in the environment of `python` (None: absent)."""
    probe = (
        "import json, sys\n"
        "from importlib import metadata\n"
        "found = {}\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        found[name] = metadata.version(name)\n"
        "    except metadata.PackageNotFoundError:\n"
        "        found[name] = None\n"
        "print(json.dumps(found))\n"
    )
    run = subprocess.run([python, "-c", probe, *names], capture_output=True, text=True, check=True)
    found: dict[str, str | None] = json.loads(run.stdout)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", metavar="PYTHON", help="check this Python's environment")
    args = parser.parse_args()
    bounds = lower_bounds()
    if args.check is None:
        for name, version in bounds.items():
            print(f"{name}=={version}")
        return 0
    found = installed(args.check, list(bounds))
    wrong = [
        f"{name}: {found[name] or 'not installed'}, the lower bound is {version}"
        for name, version in bounds.items()
        if found[name] != version
    ]
    for line in wrong:
        print(f"error: {line}", file=sys.stderr)
    if wrong:
        return 1
    print(f"lower bounds: all {len(bounds)} dependencies installed at exactly their lower bound")
    return 0


if __name__ == "__main__":
    sys.exit(main())
