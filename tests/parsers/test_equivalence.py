"""One partner application, exported every way an admin might: the same inventory record.

The model is the real "Microsoft Graph" application of an Exchange 2019 organisation (CSS-Exchange
HealthChecker test data, `E19/GetPartnerApplication.xml`): 29 ActAsPermissions in stored order,
AppOnlyPermissions and LinkedAccount `$null`. The fixtures are our own exports of a stand-in
object with the same shape (see data/mixed/README.md); the CLIXML one is written by hand after
the real file.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import GRAPH_ACT_AS
from parser_helpers import DATA

from auditor.model import InputFormat
from auditor.parsers import read_inventory

EQUIVALENCE = DATA / "mixed" / "equivalence"

EXPECTED: dict[str, Any] = {
    "name": "Microsoft Graph",
    "application_identifier": "00000003-0000-0000-c000-000000000000",
    "enabled": True,
    "act_as_permissions": list(GRAPH_ACT_AS),
    "act_as_complete": True,
    "app_only_permissions": [],
    "app_only_complete": True,
    "linked_account": None,
    "server": "mbx2.fabrikam.test",  # PSComputerName, present in every export
}

EXPORTS = {
    "graph-formatlist-utf16le.txt": InputFormat.FORMAT_LIST,  # pwsh 7, UTF-16LE, cut at 80
    "graph-formatlist-ps51-wordwrap.txt": InputFormat.FORMAT_LIST,  # 5.1 word wrap at 80
    "graph.json": InputFormat.JSON,
    "graph-joined.csv": InputFormat.CSV,
    "graph.xml": InputFormat.CLIXML,
}


@pytest.mark.parametrize("file", sorted(EXPORTS), ids=str)
def test_every_export_gives_the_same_application(file: str) -> None:
    inventory = read_inventory([EQUIVALENCE / file])

    assert inventory.problems == ()
    (app,) = inventory.partner_applications
    data = app.to_json()
    source = data.pop("source")
    assert data == EXPECTED
    assert source["format"] == EXPORTS[file].value
    assert [item.format for item in inventory.inputs] == [EXPORTS[file]]


def test_the_folder_reads_as_one_application_with_every_export_as_a_source() -> None:
    inventory = read_inventory([EQUIVALENCE])

    assert inventory.problems == ()
    (app,) = inventory.partner_applications
    sources = [app.source, *app.also_in]
    assert sorted(source.path for source in sources) == sorted(
        f"equivalence/{file}" for file in EXPORTS
    )
    record = app.to_json()
    record.pop("source")
    assert record == EXPECTED
