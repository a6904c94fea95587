"""A 60-server fleet (the CSS-Exchange E19 web.config files copied per server, 10 with the
recipe's `|V1S2SAppOnly`): small per-server scripts that name only their own inputs, and a
runbook that names the servers to change."""

from __future__ import annotations

import datetime
import re
import sys
from pathlib import Path

import pytest
from conftest import CSS_EXCHANGE, skip_or_fail

from auditor.audit import AuditRequest, run_audit
from auditor.model import ChangeKind, EvidenceClass, Report
from auditor.render.runbook import render_runbook

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pwsh"))
import scenarios

SERVERS = [f"EX{index:02d}" for index in range(1, 61)]
TO_FIX = SERVERS[::6]  # 10 servers
# issue 21: the .NET appSettings selection added 8 KB of functions; issue 22: the package id,
# the setting-level rollback, -WhatIfLog and the pool check about 4 KB more
MAX_SCRIPT_BYTES = 56 * 1024


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Report:
    folder = CSS_EXCHANGE / "E19" / "IIS"
    if not folder.is_dir():
        skip_or_fail(f"reference corpus not found at {CSS_EXCHANGE}")
    root = tmp_path_factory.mktemp("fleet")
    files = []
    for path in sorted(folder.glob("*_web.config")):
        try:
            vdir = scenarios.vdir_for_healthchecker_name(path.name)
        except KeyError:
            continue
        if vdir.install_path is not None:
            files.append((vdir, path.read_bytes()))
    for server in SERVERS:
        for vdir, data in files:
            if server in TO_FIX and vdir.id == "Default Web Site/API":
                data = scenarios.inject_profile(data)
            target = root / server / Path(*vdir.install_path.split("\\"))  # type: ignore[union-attr]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    # Only web.config files: the audit is of them, by choice (the partner applications and the
    # hybrid trust are left out on purpose rather than reported as missing on 60 servers).
    return run_audit(
        AuditRequest(
            paths=(root,),
            as_of=datetime.date(2025, 1, 15),
            change_id="CHG-FLEET",
            scope=(EvidenceClass.WEB_CONFIG,),
        )
    )


def test_each_server_to_fix_gets_one_small_script_with_only_its_inputs(fleet: Report) -> None:
    servers = [cs.server for cs in fleet.change_sets if cs.kind is ChangeKind.WEB_CONFIG_PROFILES]
    assert servers == TO_FIX
    scripts = [s for s in fleet.scripts if "web-config-" in s.name]
    assert len(scripts) == 2 * len(TO_FIX)
    for script in scripts:
        assert len(script.content.encode("ascii")) < MAX_SCRIPT_BYTES, script.name
        server = script.name.removesuffix(".ps1").rsplit("-", 1)[1].upper()
        paths = re.findall(r"Path = '([^']*)'; Sha256", script.content)
        assert paths and all(path.startswith(f"{server}/") for path in paths), script.name
        assert len(paths) == len({p for p in paths})
        # Every web.config read from that server, in the inventory's order (by path).
        assert paths == sorted(paths)
        expected = sorted(
            config.path for config in fleet.inventory.web_configs if config.server == server
        )
        assert len(paths) == len(expected) > 20
        # No path of the auditor's machine.
        assert str(Path.cwd()) not in script.content and "/tmp" not in script.content


def test_runbook_names_the_ten_servers(fleet: Report) -> None:
    runbook = render_runbook(fleet)
    (line,) = [line for line in runbook.splitlines() if line.startswith("10 server(s): ")]
    assert line.removeprefix("10 server(s): ").split(", ") == TO_FIX
    for server in TO_FIX:
        assert f"remediation/web-config-{server.lower()}.ps1: on the server {server}" in runbook
        assert f"rollback/web-config-{server.lower()}.ps1: on the server {server} itself" in runbook
        assert f"Run: `.\\rollback\\web-config-{server.lower()}.ps1`." in runbook
    others = set(SERVERS) - set(TO_FIX)
    assert not any(re.search(rf"\b{server}\b", runbook) for server in others)
