"""The report at fleet scale: real audits of generated fleets stay within their size budgets.

The fleets are the reference Exchange 2019 server copied per server (`fleet.build_fleet`), with
`|V1S2SAppOnly` appended on some. The 500-server audit takes minutes on a busy machine, so it is
marked slow; the 60-server one runs with the rest.
"""

from __future__ import annotations

from pathlib import Path

import fleet
import pytest
from conftest import CSS_EXCHANGE, skip_or_fail

from auditor.model import Report
from auditor.render.html import render_html

pytestmark = pytest.mark.corpus


def _fleet(tmp_path: Path, servers: int, changed: int) -> Report:
    e19 = CSS_EXCHANGE / "E19"
    if not e19.is_dir():
        skip_or_fail(f"reference corpus not found at {e19}")
    root = fleet.build_fleet(tmp_path / "fleet", e19, servers, fleet.spread(servers, changed))
    return fleet.fleet_report(root)


def _assert_fleet_page(html: str, servers: int, changed: int) -> None:
    names = [fleet.server_name(i) for i in fleet.spread(servers, changed)]
    line = (
        f"{changed} of {servers} servers change: {', '.join(names)}; {servers - changed} unchanged."
    )
    assert line in html
    # The organisation-wide applications are shown once each, whatever the number of exports.
    assert html.count(f"identical in {servers} exports, EX001-EX{servers:03d}") == 5
    # Only the servers that deviate get a grid row; the others are one sentence.
    assert f"No deviation on {servers - changed} servers:" in html
    # FL001 lists every server of each variant, the deviating ones as a token diff.
    assert f"{changed} servers ({', '.join(names)}):" in html
    assert "across servers" in html
    # Scripts share one table: name, SHA-256, fixes and the values each works with.
    assert (
        f"<caption>{2 * changed} scripts: what each changes, its SHA-256 and size</caption>" in html
    )
    grid = html[html.index("<caption>Servers that deviate") :]
    grid = grid[: grid.index("</table>")]
    assert f"Servers that deviate ({changed})" in grid
    assert grid.count('<tr><th scope="row">') == changed


def test_sixty_servers_under_one_megabyte(tmp_path: Path) -> None:
    html = render_html(_fleet(tmp_path, 60, 10))
    assert len(html.encode("utf-8")) < 1_000_000
    _assert_fleet_page(html, 60, 10)


@pytest.mark.slow
def test_five_hundred_servers_under_three_megabytes(tmp_path: Path) -> None:
    html = render_html(_fleet(tmp_path, 500, 50))
    assert len(html.encode("utf-8")) < 3_000_000
    _assert_fleet_page(html, 500, 50)


def test_a_fleet_of_different_files_gets_one_input_row_per_file_name(tmp_path: Path) -> None:
    """Above 200 rows (a file per server that differs), one row per file name: its servers
    folded when its copies' server lists make 12 parts or fewer, else the count alone, and
    for several copies their number instead of a hash."""
    from html_page import Page

    from auditor.render.story import ranges

    e19 = CSS_EXCHANGE / "E19"
    if not e19.is_dir():
        skip_or_fail(f"reference corpus not found at {e19}")
    servers, changed = 30, (4, 5, 6, 20)
    root = fleet.build_fleet(tmp_path / "fleet", e19, servers, changed)
    unique = sorted((root / "EX001" / "IIS").glob("ExchangeBackEnd-*_web.config"))[:8]
    for index in range(1, servers + 1):
        for source in unique:
            target = root / fleet.server_name(index) / "IIS" / source.name
            data = target.read_bytes() + f"<!-- {index} -->\n".encode()
            target.unlink()  # a hard link to the corpus: never written
            target.write_bytes(data)
    report = fleet.fleet_report(root)
    rows = {row[0]: row[1:] for row in Page(render_html(report)).table("Input files as read")[1:]}
    assert len(report.inventory.inputs) > 200
    every = fleet.server_name(1) + "-" + fleet.server_name(servers)
    different = "30 different files: each SHA-256 is in findings.json and plan.json (inputs)"
    assert rows[f"IIS/{unique[0].name}"] == ["30 servers", "web.config", different]
    owa = next(
        source
        for source in report.inventory.inputs
        if source.path.endswith("EX002/IIS/DefaultWebSite-OWA_web.config")
    )
    assert rows["IIS/DefaultWebSite-OWA_web.config"] == [f"{every} (30)", "web.config", owa.sha256]
    # The Rest web.config in two copies: each copy's servers folded, then the parts folded.
    names = [fleet.server_name(i) for i in range(1, servers + 1)]
    kept = ranges(name for i, name in enumerate(names, 1) if i not in changed)
    edited = ranges(fleet.server_name(i) for i in changed)
    shown = ranges([*kept.split(", "), *edited.split(", ")])
    two = "2 different files: each SHA-256 is in findings.json and plan.json (inputs)"
    assert rows["IIS/DefaultWebSite-Rest_web.config"] == [f"{shown} (30)", "web.config", two]
