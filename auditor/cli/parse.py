"""`auditor parse`: show exactly what was read from the exports (the inventory), as text or
the `parse --json` document, so a reviewer can check the parser against the export."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from auditor.cli.apps import app, state
from auditor.cli.options import (
    ExcludeOption,
    JobsOption,
    PathsArgument,
    ServerOption,
    check_server,
    exclusions,
    policy_choice,
    require_paths,
)
from auditor.cli.terminal import EXIT_INCOMPLETE, WordedCommand, fail, paths_for


@app.command(
    cls=WordedCommand, short_help="Show exactly what was read from the exports (the inventory)."
)
def parse(
    paths: PathsArgument = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the inventory as JSON.")] = False,
    server: ServerOption = None,
    exclude: ExcludeOption = None,
    jobs: JobsOption = None,
) -> None:
    """Show exactly what was read from the exports (the inventory), to check the parser."""
    from auditor.audit import POLICY_IN_USE
    from auditor.cli.summary import print_inventory, print_problems
    from auditor.parsers import ServerOptionError, read_inventory
    from auditor.render.json_ import write_inventory

    if not paths:
        fail("give at least one export file or folder")
    check_server(server)
    require_paths(paths)
    state.doing = "reading " + ", ".join(str(path) for path in paths)
    try:
        # The policy `audit` would use is not evidence here either.
        policy_files = [(path, POLICY_IN_USE, False) for path in policy_choice(None).files]
        inventory = read_inventory(
            paths,
            server=server,
            exclusions=exclusions(exclude, paths, policy_files),
            jobs=jobs,
        )
    except ServerOptionError as error:
        fail(str(error))
    shown = paths_for(paths)
    if as_json:
        write_inventory(inventory, sys.stdout.write)
        sys.stdout.flush()
    else:
        print_inventory(inventory, shown)
    print_problems(inventory, shown)
    if inventory.problems:
        raise typer.Exit(EXIT_INCOMPLETE)
