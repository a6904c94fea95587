r"""Renders the read-only collection script that `auditor collect` writes.

The collection script (`render_collect_script`) takes `-OutDir` (mandatory), runs in the Exchange
Management Shell on each server, changes nothing on Exchange and writes `<OutDir>\<server>\`
`PartnerApplication.xml`, `ExchangeServer.xml` and the hybrid-trust exports named in
`auditor.layout` (c) (`Export-Clixml -Depth 4`, object counts as AUDITOR-INFO), byte copies of
`FrontEnd\HttpProxy\<folder>\web.config` and `ClientAccess\...\web.config` at the same
relative paths, and `.sha256sums` (`<hex>  <relative/path>`, LF); its transcript is
`<OutDir>\.auditor-collect-<server>-<time>.log`. Both side files start with a dot so that
discovery skips them.

It follows the rules of every generated script (`auditor.render.ps1`: ASCII, CRLF, values
quoted by the template environment).
"""

from __future__ import annotations

from auditor.render.cloud_export import help_text
from auditor.render.ps1 import TrustedCode, environment, finish

COLLECT_TEMPLATE = "collect.ps1.j2"


def render_collect_script(tool_version: str) -> str:
    """The read-only collection script that `auditor collect` writes."""
    values = {"tool_version": tool_version, "cloud_export_help": TrustedCode(help_text())}
    return finish(environment().get_template(COLLECT_TEMPLATE).render(values))
