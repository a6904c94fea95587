"""`auditor collect`: the read-only collection script an Exchange admin runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor.cli.apps import app
from auditor.cli.options import refuse_dash, write_new_file
from auditor.cli.terminal import WordedCommand, say


@app.command(
    cls=WordedCommand, short_help="Write the read-only collection script an Exchange admin runs."
)
def collect(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="FILE", help="Write the script here instead of stdout."
        ),
    ] = None,
) -> None:
    """Write the read-only collection script an Exchange admin runs to produce complete exports.

    It collects partner applications, web.config files, server builds and the hybrid OAuth
    trust. The optional cloud export (Graph or ScubaGear) cannot be taken from Exchange: the
    script's help (Get-Help .\\collect.ps1 -Full, section NOTES) gives the exact commands.
    """
    from auditor import __version__
    from auditor.render.ps1_collect import render_collect_script

    refuse_dash(out)
    script = render_collect_script(__version__)
    if out is None:
        typer.echo(script, nl=False)
        return
    write_new_file(out, script.encode("ascii"))
    say(f"wrote {out}: run it in the Exchange Management Shell on each server")
