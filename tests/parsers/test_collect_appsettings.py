"""`auditor collect` copies the files a web.config's appSettings take settings from.

The collection script runs in the real pwsh against the stand-in Exchange server of tests/pwsh
(its harness and scenarios are reused as they are). The Rest web.config takes its Profiles from
`oauth.config` (`<appSettings file=...>`): the copy must hold that file, hashed, and auditor must
read the merged value from it. A `configSource` outside the web.config's folder is not copied
and the script says so.
"""

from __future__ import annotations

import hashlib
import socket
import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pwsh"))

import harness  # tests/pwsh helpers
import scenarios

from auditor.model import Inventory, Problem, Severity
from auditor.parsers import read_inventory

REST_WEB_CONFIG = (
    b'<?xml version="1.0" encoding="utf-8"?>\r\n<configuration>\r\n'
    b'  <appSettings file="oauth.config">\r\n'
    b'    <add key="HttpProxy.ProtocolType" value="Rest" />\r\n'
    b"  </appSettings>\r\n</configuration>\r\n"
)
OAUTH_CONFIG = (
    b"<appSettings>\r\n"
    b'  <add key="OAuthHttpModule.Profiles" value="S2SAppActAs|V1S2SAppOnly" />\r\n'
    b"</appSettings>\r\n"
)
EWS_WEB_CONFIG = (
    b'<configuration>\r\n  <appSettings configSource="..\\shared\\appSettings.config" />\r\n'
    b"</configuration>\r\n"
)


def _collect(tmp_path: Path, files: dict[str, bytes]) -> tuple[harness.Run, Path, str]:
    """Run the real collect script on a stand-in server (named as this machine, as .NET's
    MachineName is) that holds `files`: the run, the output folder, the machine name."""
    harness.require_pwsh()
    state = scenarios.state_from_inventory(scenarios.example_report().inventory)
    standin = harness.StandIn(tmp_path / "server", state)
    machine = socket.gethostname().split(".")[0]  # .NET's MachineName on Linux
    state["servers"][0]["Name"] = machine
    standin.write_state(state)
    scenarios.lay_out(standin, files)
    script = scenarios.write_script(tmp_path / "scripts", "collect.ps1", scenarios.render_collect())
    out = tmp_path / "out"
    return standin.run(script, "-OutDir", harness.ps_quote(str(out))), out, machine


@pytest.mark.pwsh
def test_collect_copies_appsettings_files(tmp_path: Path) -> None:
    run, out, machine = _collect(
        tmp_path,
        {
            "FrontEnd\\HttpProxy\\Rest\\web.config": REST_WEB_CONFIG,
            "FrontEnd\\HttpProxy\\Rest\\oauth.config": OAUTH_CONFIG,
            "FrontEnd\\HttpProxy\\EWS\\web.config": EWS_WEB_CONFIG,
        },
    )

    assert run.exit_code == 0, run.describe()
    assert "AUDITOR-NOT-COPIED" in run.stdout and "configSource=" in run.stdout
    server = out / machine
    copy = server / "FrontEnd" / "HttpProxy" / "Rest" / "oauth.config"
    assert copy.read_bytes() == OAUTH_CONFIG
    sums = (server / ".sha256sums").read_text(encoding="utf-8").splitlines()
    digest = hashlib.sha256(OAUTH_CONFIG).hexdigest()
    assert f"{digest}  FrontEnd/HttpProxy/Rest/oauth.config" in sums

    inventory = read_inventory([out])
    rest = next(c for c in inventory.web_configs if c.vdir == "Default Web Site/API")
    assert rest.oauth_profiles is not None
    assert rest.oauth_profiles.tokens == ("S2SAppActAs", "V1S2SAppOnly")
    assert Path(rest.oauth_profiles.evidence.path).name == "oauth.config"
    ews = [p for p in inventory.problems if p.path.endswith("EWS/web.config")]
    assert [(p.code.value, p.line) for p in ews] == [("incomplete-evidence", 2)]


def collection_problems(inventory: Inventory) -> list[Problem]:
    """The problems of `inventory` but the low hybrid-trust gaps of a stand-in without those
    commands (asserted low here)."""
    gaps = [p for p in inventory.problems if "could not take a hybrid-trust export" in p.message]
    assert all(gap.severity is Severity.LOW for gap in gaps), gaps
    return [p for p in inventory.problems if p not in gaps]


@pytest.mark.pwsh
def test_a_real_collection_is_checked_against_its_hash_list_and_transcript(
    tmp_path: Path,
) -> None:
    """The hash list and transcript the real script writes: an untouched collection (as a
    folder and as a zip) has no collection problem; a warning, a changed file and a file
    added afterwards are each located."""
    run, out, machine = _collect(
        tmp_path,
        {
            "FrontEnd\\HttpProxy\\Rest\\web.config": REST_WEB_CONFIG,
            "FrontEnd\\HttpProxy\\Rest\\oauth.config": OAUTH_CONFIG,
        },
    )
    assert run.exit_code == 0, run.describe()
    (log,) = out.glob(".auditor-collect-*.log")
    with zipfile.ZipFile(tmp_path / "out.zip", "w", zipfile.ZIP_DEFLATED) as writer:
        for path in sorted(out.rglob("*")):
            if path.is_file():
                writer.write(path, path.relative_to(out).as_posix())

    # This stand-in has none of the hybrid-trust commands: each is a low gap, nothing more.
    assert collection_problems(read_inventory([out])) == []
    assert collection_problems(read_inventory([tmp_path / "out.zip"])) == []

    server = out / machine
    rest = server / "FrontEnd" / "HttpProxy" / "Rest" / "web.config"
    rest.write_bytes(REST_WEB_CONFIG.replace(b"Rest", b"Rest "))
    (server / "extra.xml").write_bytes((server / "PartnerApplication.xml").read_bytes())
    log.write_bytes(log.read_bytes().replace(b"AUDITOR-DONE: ", b""))

    inventory = read_inventory([out])
    problems = collection_problems(inventory)
    assert sorted((p.path.split("/", 1)[1], p.code.value) for p in problems) == [
        (log.name, "incomplete-evidence"),  # no AUDITOR-DONE
        (f"{machine}/.sha256sums", "incomplete-evidence"),  # not assessed
        (f"{machine}/FrontEnd/HttpProxy/Rest/web.config", "incomplete-evidence"),  # changed
        (f"{machine}/extra.xml", "incomplete-evidence"),  # added
    ]
