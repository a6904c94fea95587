"""Data-driven parser cases: an input file and `<input file name>.expected.json` beside it.

The expected file holds what a reviewer checks in `auditor parse --json`: every partner
application (`to_json()`, with `source` reduced to line and format, plus the lines of the two
permission properties) and every problem (code, severity, line, and optionally phrases its message
must contain), and every web.config record (settings, effective profiles; file names only).
Paths and hashes are left out so the cases do not depend on where the tree is.

`AUDITOR_UPDATE_CASES=1 pytest tests/parsers` rewrites the expected files from the parser's
output, keeping each problem's `message_contains`; review the diff before keeping it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from auditor.model import InputFormat, ParseResult, WebConfig

SUFFIX = ".expected.json"


def cases(folder: Path) -> list[Path]:
    """The input files of `folder` that have an expected file, sorted."""
    return sorted(
        path.with_name(path.name[: -len(SUFFIX)])
        for path in folder.iterdir()
        if path.name.endswith(SUFFIX)
    )


def nested_cases(folder: Path) -> list[Path]:
    """The input files below `folder`, at any depth, that have an expected file, sorted."""
    return sorted(path.with_name(path.name[: -len(SUFFIX)]) for path in folder.rglob("*" + SUFFIX))


def _web_config(config: WebConfig) -> dict[str, Any]:
    """A web.config record as `auditor parse --json` shows it, paths reduced to file names."""
    settings = []
    for setting in config.app_settings:
        data = setting.to_json()
        if setting.path is not None:
            data["path"] = Path(setting.path).name
        settings.append(data)
    profiles = config.oauth_profiles
    return {
        "server": config.server,
        "vdir": config.vdir,
        "app_settings": settings,
        "oauth_profiles": None
        if profiles is None
        else {
            "tokens": list(profiles.tokens),
            "line": profiles.line,
            "evidence_file": Path(profiles.evidence.path).name,
        },
    }


def summary(result: ParseResult) -> dict[str, Any]:
    applications = []
    for app in result.partner_applications:
        data = app.to_json()
        data["source"] = {"line": app.source.line, "format": app.source.format.value}
        if app.source.format is InputFormat.CLIXML:
            data["source"]["raw"] = app.source.raw  # names the type the object was read from
        data["evidence_lines"] = {
            "act_as": app.act_as_permissions.evidence.line,
            "app_only": app.app_only_permissions.evidence.line,
        }
        applications.append(data)
    problems = [
        {"code": problem.code.value, "severity": problem.severity.value, "line": problem.line}
        for problem in result.problems
    ]
    data: dict[str, Any] = {
        "format": result.source.format.value if result.source.format else None,
        "partner_applications": applications,
        "problems": problems,
    }
    if result.web_configs:
        data["web_configs"] = [_web_config(config) for config in result.web_configs]
    return data


def check(result: ParseResult, input_path: Path) -> None:
    """Assert that `result` matches the expected file of `input_path`."""
    expected_path = input_path.with_name(input_path.name + SUFFIX)
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    actual = summary(result)
    phrases = [problem.pop("message_contains", []) for problem in expected["problems"]]
    if os.environ.get("AUDITOR_UPDATE_CASES") == "1":
        for problem, wanted in zip(actual["problems"], phrases, strict=False):
            if wanted:
                problem["message_contains"] = wanted
        expected_path.write_text(json.dumps(actual, indent=2) + "\n", encoding="utf-8")
        return
    assert actual == expected
    for problem, wanted in zip(result.problems, phrases, strict=True):
        for phrase in wanted:
            assert phrase in problem.message, f"{phrase!r} not in {problem.message!r}"
