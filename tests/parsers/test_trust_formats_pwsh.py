"""The synthetic trust exports of `data/trust/formats` are what PowerShell writes.

The real pwsh runs `make_formats.ps1` on every CLIXML those files were made from, once as they
were made and once keeping every `SerializationData` (what a remote Exchange Management Shell
really gives, hundreds of numbers a property in JSON): each output reads into the same
records, and the same kinds of problems, as the file in the test data.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import conftest
import pytest
from parser_helpers import DATA
from test_clixml_differential import _pwsh

from auditor.model import Inventory, TrustEvidence
from auditor.parsers import read_inventory

FORMATS = DATA / "trust" / "formats"
SOURCES = {
    "setting-override": "css:E19/Exchange/GetSettingOverride2.xml",
    "auth-config": "css:AuthCertificate/GetAuthConfig.xml",
    "hybrid-configuration": "css:E19/Exchange/GetHybridConfiguration.xml",
    "organization-config": "css:E16/Exchange/GetOrganizationConfig.xml",
    "exchange-certificates": "css:AuthCertificate/GetExchangeCertificate.xml",
    "auth-servers": "data:auth-servers.xml",
    "intra-organization-connector": "data:intra-organization-connector.xml",
}
EXTENSIONS = ("fl.txt", "json", "csv")


def _shown(inventory: Inventory) -> tuple[dict[str, list[object]], list[str]]:
    records = {
        kind: [{**r.to_json(), "source": None} for r in getattr(inventory.trust, kind)]
        for kind in TrustEvidence.__slots__
    }
    codes = sorted(p.code.value for p in inventory.problems if p.subject != "inputs")
    return records, codes


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    corpus = conftest.CSS_EXCHANGE
    if not corpus.is_dir():
        conftest.skip_or_fail(f"reference corpus not found at {corpus}")
    work = tmp_path_factory.mktemp("formats")
    script = FORMATS / "make_formats.ps1"
    commands = []
    for base, origin in SOURCES.items():
        where, name = origin.split(":", 1)
        source = corpus / name if where == "css" else DATA / "trust" / name
        for keep, folder in (("", "as-made"), (" -KeepSerializationData", "whole")):
            (work / folder).mkdir(exist_ok=True)
            commands.append(
                f"Set-Location -LiteralPath '{work / folder}'; "
                f"& '{script}' -Clixml '{source}' -Name '{base}'{keep}"
            )
    completed = subprocess.run(
        [str(_pwsh()), "-NoProfile", "-NonInteractive", "-Command", "; ".join(commands)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "TZ": "UTC"},
    )
    assert completed.returncode == 0, completed.stderr
    return work


@pytest.mark.pwsh
@pytest.mark.corpus
@pytest.mark.parametrize("folder", ["as-made", "whole"])
@pytest.mark.parametrize("base", sorted(SOURCES))
def test_what_powershell_writes_reads_as_the_test_data(
    written: Path, folder: str, base: str
) -> None:
    for extension in EXTENSIONS:
        name = f"{base}.{extension}"

        fresh = _shown(read_inventory([written / folder / name]))
        kept = _shown(read_inventory([FORMATS / name]))

        assert fresh == kept, name
