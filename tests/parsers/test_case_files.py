"""Each parser against its case files: every input in `data/<format>/` that has an
`.expected.json` beside it reads as that file says (`case_files.check`; README.md files in the
folders say where the inputs come from). Web.config cases sit in the collect layout
(`data/webconfig/cases/<case>/EX01/FrontEnd/HttpProxy/<folder>/`): server and vdir come from it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from case_files import cases, check, nested_cases
from parser_helpers import DATA, raw_input

from auditor.layout import identify
from auditor.model import ParseResult
from auditor.parsers import clixml, csv_, formatlist, json_, webconfig

WEBCONFIG_CASES = DATA / "webconfig" / "cases"


def _web_config(path: Path) -> ParseResult:
    placement = identify(path)
    return webconfig.parse(raw_input(path, server=placement.server, vdir=placement.vdir))


PARSERS: dict[str, tuple[list[Path], Callable[[Path], ParseResult]]] = {
    "clixml": (cases(DATA / "clixml"), lambda path: clixml.parse(raw_input(path))),
    "csv": (cases(DATA / "csv"), lambda path: csv_.parse(raw_input(path))),
    "formatlist": (cases(DATA / "formatlist"), lambda path: formatlist.parse(raw_input(path))),
    "json": (cases(DATA / "json"), lambda path: json_.parse(raw_input(path))),
    "webconfig": (nested_cases(WEBCONFIG_CASES), _web_config),
}


@pytest.mark.parametrize(
    ("parser", "path"),
    [
        pytest.param(name, path, id=f"{name}/{path.relative_to(DATA / name).as_posix()}")
        for name, (paths, _) in PARSERS.items()
        for path in paths
    ],
)
def test_case_file(parser: str, path: Path) -> None:
    check(PARSERS[parser][1](path), path)
