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
