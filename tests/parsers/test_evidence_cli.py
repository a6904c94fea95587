"""Evidence that used to be read as nothing, through the command line: exit code, rule, file, line.

Each case is an input from tests/parsers/data (PowerShell-written where PowerShell writes it; see
the README beside the data) audited on its own with the default policy. Before these parser
changes every case below ended in a clean PASS (exit 0) or lost its critical finding.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from parser_helpers import DATA
from typer.testing import CliRunner

from auditor.cli import app
from auditor.parsers.clixml import MAX_ITEMS

AS_OF = "2026-11-26"
REST = Path("EX01") / "FrontEnd" / "HttpProxy" / "Rest"


@dataclass(frozen=True)
class Case:
    """An input (a file, or a web.config case folder), the exit code and the located results."""

    input: str
    exit_code: int
    # (rule id, file name, line) that must be among the findings
    findings: tuple[tuple[str, str, int | None], ...]


CASES = [
    # CLIXML objects that are partner applications whatever their type names: PA003 is found.
    Case("clixml/pwsh-selected-pscustomobject.xml", 1, (("PA003", "", 37),)),
    Case("clixml/pwsh-inputobject-object-array.xml", 1, (("PA003", "", 34),)),
    Case("clixml/pwsh-comma-object-array.xml", 1, (("PA003", "", 34),)),
    Case("clixml/pwsh-convertfrom-json.xml", 1, (("PA003", "", 22),)),
    Case("clixml/pwsh-hashtable-of-apps.xml", 1, (("PA003", "", 38),)),
    Case("clixml/pwsh-hashtables.xml", 1, (("PA003", "", 31),)),
    Case("clixml/psrpcore-pscustomobject.xml", 1, (("PA003", "", 1),)),
    # RefIds defined twice resolve to the latest definition, as Import-Clixml does.
    Case("clixml/pwsh-merged-exports-reused-refids.xml", 1, (("PA003", "", 62),)),
    # A file that holds no partner application, or nothing at all, is a problem.
    Case("clixml/pwsh-empty-objs.xml", 2, (("EV002", "", None),)),
    Case("clixml/pwsh-other-objects.xml", 2, (("EV002", "", 2),)),
    # A property given twice (any case) is ambiguous: PowerShell keeps the last one.
    Case("clixml/duplicate-property-any-case.xml", 2, (("EV002", "", 38),)),
    # White space around a type name does not hide a PartnerApplication.
    Case("clixml/type-name-whitespace.xml", 2, (("EV001", "", 2),)),
    # A key repeated in Windows PowerShell 5.1's JSON wrapper is ambiguous.
    Case("json/ps51-wrapper-duplicate-value.json", 2, (("EV002", "", 11),)),
    # Lists that look complete but are not: `…` saved as `?`, a list glued into one string.
    Case("formatlist/pwsh7-ascii-truncated.txt", 2, (("EV001", "", 12), ("EV001", "", 13))),
    Case("csv/pwsh7-export-csv-deserialized.csv", 2, (("EV001", "", 3),)),
    # web.config semantics .NET honours.
    Case(
        "webconfig/cases/appsettings-file-merged",
        1,
        (("WC001", "oauth.config", 3),),
    ),
    Case("webconfig/cases/appsettings-file-missing", 2, (("EV001", "web.config", 3),)),
    Case("webconfig/cases/appsettings-file-nobody-names", 2, (("EV002", "oauth.config", 2),)),
    Case("webconfig/cases/configsource-replaced", 1, (("WC001", "appSettings.config", 4),)),
    Case("webconfig/cases/configsource-outside-folder", 2, (("EV001", "web.config", 3),)),
    Case("webconfig/cases/location-profiles", 2, (("EV001", "web.config", 9),)),
    Case("webconfig/cases/keys-differing-in-case", 1, (("WC001", "web.config", 6),)),
    Case("webconfig/cases/two-appsettings-sections", 2, (("EV002", "web.config", 8),)),
    Case("webconfig/cases/vdir-disagrees-with-protocol-type", 2, (("EV002", "web.config", 4),)),
]


def _audit(target: Path, out: Path, scope: str) -> tuple[int, dict[str, Any]]:
    """Audit one kind of evidence, the other left out of the scope on purpose."""
    arguments = ["audit", str(target), "--out", str(out), "--as-of", AS_OF, "--scope", scope]
    result = CliRunner().invoke(app, arguments)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return result.exit_code, findings


def _scope_of(case_input: str) -> str:
    return "web-config" if case_input.startswith("webconfig/") else "partner-applications"


def _input(case_input: str, tmp_path: Path) -> Path:
    """A copy of the case's input without the expected-output files beside it."""
    source = DATA / case_input
    target = tmp_path / "in"
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.expected.json"))
    else:
        target.mkdir()
        shutil.copy2(source, target / source.name)
    return target


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.input)
def test_audit_reports_the_evidence(case: Case, tmp_path: Path) -> None:
    target = _input(case.input, tmp_path)
    exit_code, findings = _audit(target, tmp_path / "package", _scope_of(case.input))

    assert exit_code == case.exit_code
    found = set()
    for finding in findings["findings"]:
        location = finding["location"]
        found.add((finding["rule_id"], Path(location["path"] or "").name, location["line"]))
    default_name = Path(case.input).name
    for rule, name, line in case.findings:
        assert (rule, name or default_name, line) in found, sorted(found)


def test_add_without_value_is_the_empty_string(tmp_path: Path) -> None:
    """The last add of Profiles has no value: .NET reads "", so V1S2SAppOnly is not enabled."""
    target = _input("webconfig/cases/add-without-value", tmp_path)
    exit_code, findings = _audit(target, tmp_path / "package", "web-config")

    assert exit_code == 0
    rules = {finding["rule_id"] for finding in findings["findings"]}
    assert "WC001" not in rules


def test_clixml_list_over_the_bound_is_incomplete(tmp_path: Path) -> None:
    """A permission list longer than MAX_ITEMS is read up to the bound and is incomplete."""
    items = "".join(f"<S>P{i}.Read</S>" for i in range(MAX_ITEMS + 1))
    text = (
        '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\n'
        '<Obj RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN>\n'
        '<MS><S N="ApplicationIdentifier">00000003-0000-0000-c000-000000000000</S>\n'
        '<Nil N="ActAsPermissions" />\n'
        f'<Obj N="AppOnlyPermissions" RefId="1"><LST>{items}</LST></Obj>\n'
        "</MS></Obj></Objs>\n"
    )
    export = tmp_path / "in" / "PartnerApplication.xml"
    export.parent.mkdir()
    export.write_text(text, encoding="utf-8")

    result = CliRunner().invoke(app, ["parse", "--json", str(export)])

    assert result.exit_code == 2
    document = json.loads(result.stdout)
    (application,) = document["partner_applications"]
    assert len(application["app_only_permissions"]) == MAX_ITEMS
    assert application["app_only_complete"] is False
    (problem,) = document["problems"]
    assert (problem["code"], problem["line"]) == ("incomplete-evidence", 5)
    assert f"more than {MAX_ITEMS} names" in problem["message"]
