"""A generated fleet for the report's scale tests (test-only, no pytest import).

`build_fleet(root, servers, changed)` copies the real Exchange 2019 files of the reference
corpus (`reference/css-exchange/E19`: the web.config files as HealthChecker collects them and
the organisation's Get-PartnerApplication export) once per server, named EX001, EX002, ..., gives
the fleet a clean hybrid trust (the bundled example's trust exports with the dedicated hybrid
app enabled: the org-wide ones in EX001's folder, ExSetup, certificates and effective overrides
in every server's), and appends `|V1S2SAppOnly` to the front-end Rest (`Default Web Site/API`)
Profiles value on the servers in `changed`. `fleet_report` runs the real audit on it, so the
report carries what the parsers, rules and planner make of it.
"""

from __future__ import annotations

import datetime
import os
import shutil
from collections.abc import Collection
from pathlib import Path

from html_scenarios import with_dedicated_app

from auditor.audit import AuditRequest, run_audit
from auditor.layout import TRUST_EXPORT_FILES
from auditor.model import Report
from auditor.resources import examples_dir

REST_FILE = Path("IIS") / "DefaultWebSite-Rest_web.config"
REST_DEFAULT = b'value="S2SAppActAs|S2SAppOnly|V1AppActAs|V1AppOnly|Callback|V1S2SActAs|CallbackV2"'
AS_OF = datetime.date(2026, 12, 1)


def server_name(index: int) -> str:
    return f"EX{index:03d}"


def spread(servers: int, changed: int) -> tuple[int, ...]:
    """`changed` server numbers (1-based) spread evenly over `servers`, deterministic."""
    step = servers / changed
    return tuple(int(i * step + step / 2) + 1 for i in range(changed))


def build_fleet(root: Path, e19: Path, servers: int, changed: Collection[int]) -> Path:
    """The fleet under `root`; unchanged files are hard links to the corpus (never written)."""
    for index in range(1, servers + 1):
        target = root / server_name(index)
        # The web.configs and the partner-application export only: the corpus's hybrid-trust
        # exports and its Get-ExchangeServer (which names the lab's own server) are not a fleet's.
        shutil.copytree(e19 / "IIS", target / "IIS", copy_function=_link_or_copy)
        _link_or_copy(
            str(e19 / "GetPartnerApplication.xml"), str(target / "GetPartnerApplication.xml")
        )
        for name, data in _trust_exports(first=index == 1).items():
            (target / name).write_bytes(data)
        if index in changed:
            rest = target / REST_FILE
            text = rest.read_bytes()
            assert REST_DEFAULT in text, "the E19 Rest web.config no longer holds the default"
            rest.unlink()  # a hard link: write a new file, never the corpus
            rest.write_bytes(text.replace(REST_DEFAULT, REST_DEFAULT[:-1] + b'|V1S2SAppOnly"', 1))
    return root


_PER_SERVER = ("ExSetup.xml", "ExchangeCertificate.xml", "VariantConfigurationOverrides.xml")


def _trust_exports(*, first: bool) -> dict[str, bytes]:
    """The clean trust exports of one server folder (`first`: with the org-wide ones)."""
    source = examples_dir() / "EX01"
    names = [
        path.name
        for path in sorted(source.glob("*.xml"))
        if path.name.casefold() in TRUST_EXPORT_FILES and (first or path.name in _PER_SERVER)
    ]
    exports = {name: (source / name).read_bytes() for name in names}
    for name in ("SettingOverride.xml", "VariantConfigurationOverrides.xml"):
        if name in exports:
            exports[name] = with_dedicated_app(exports[name])
    return exports


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def fleet_report(root: Path, change_id: str = "CHG0042137") -> Report:
    return run_audit(AuditRequest(paths=(root,), as_of=AS_OF, change_id=change_id))
