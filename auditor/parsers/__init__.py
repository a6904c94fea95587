"""The parse stage: every input read into one `Inventory` (`read_inventory`).

The stages, one module each:

1. `discover`: the files the arguments stand for, what is skipped (and listed), display paths
   relative to the common root of the inputs.
2. Reading (`reading`): the size is checked before reading (over `max_bytes` is TOO_LARGE and the
   file is not read); the bytes are hashed (SHA-256); `auditor.layout.identify` gives server and
   vdir from the folder layout; `--server` names the server of inputs whose layout names none.
   A file whose content is a zip archive is opened in memory (`archive`) and its members are
   read as the files of a walked folder (`discover.list_members`), shown `<zip>!/<member>`;
   an archive inside an archive is refused.
3. `sniff`: the format, by content, never by name.
   With several worker processes (`parallel`, `--jobs`), each reads a run of the files in
   order and the parent adds their results up in that order: the same inventory.
4. Dispatch (`reading._parse`): one parser per format, an explicit `match`; the XML parsers are
   imported only when needed. A parser (or anything else) that fails unexpectedly on one file
   yields a MALFORMED problem naming the file and the internal error instead of stopping the run.
5. `collected`: the files read are held against the hash lists and transcripts `auditor
   collect` wrote beside them (each file is hashed once, here).
6. `fold`: one deterministic `Inventory`; copies of one application merged, disagreements and an
   audit that read nothing reported as problems.

Nothing here raises for bad input; `ServerOptionError` is the one refusal of an argument.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from auditor.heap import heap_frozen
from auditor.layout import Placement, identify
from auditor.model import Inventory
from auditor.parsers.collected import check_collection
from auditor.parsers.discover import discover as _discover
from auditor.parsers.fold import fold as _fold
from auditor.parsers.ignore import Exclusions
from auditor.parsers.reading import Reader, read_bytes

__all__ = ["DEFAULT_MAX_BYTES", "ServerOptionError", "read_inventory"]

DEFAULT_MAX_BYTES = 64 * 1024 * 1024


# Two forked workers' worth of files (`parallel.MIN_FILES_PER_WORKER`), and for the default
# `parallel.MIN_FILES_FOR_DEFAULT`: below it `parallel` is not even imported, so a small audit
# (the bundled example) runs as it did before `--jobs`.
FEWEST_FILES_FOR_WORKERS = 400
FEWEST_FILES_FOR_DEFAULT = 1000


class ServerOptionError(ValueError):
    """`--server` was given for inputs whose folder layout already names several servers."""


def read_inventory(
    paths: Sequence[Path],
    *,
    server: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    csv_list_separator: str | None = ";",
    jobs: int | None = 1,
    start_method: str | None = None,
    exclusions: Exclusions | None = None,
) -> Inventory:
    """Read every file under `paths` (and in every zip archive among them) into one
    deterministic `Inventory`, checked against the companions of `auditor collect`.

    `jobs` is the most worker processes to read with (None: as many as the machine has idle
    cores, `auditor.parsers.parallel.choose_workers`); 1 reads in this process. Workers start
    only for enough files; the inventory is the same whatever the number. `start_method` is
    the multiprocessing start method of the workers (None: the platform's default).

    Never raises for bad input; raises `ServerOptionError` when `server` is given for a tree
    whose layout names two or more servers (the option cannot say which files it means).
    """
    with heap_frozen():  # what was imported before: not walked by the reading's collections
        return _read_inventory(
            paths,
            server=server,
            max_bytes=max_bytes,
            csv_list_separator=csv_list_separator,
            jobs=jobs,
            start_method=start_method,
            exclusions=exclusions,
        )


def _read_inventory(
    paths: Sequence[Path],
    *,
    server: str | None,
    max_bytes: int,
    csv_list_separator: str | None,
    jobs: int | None,
    start_method: str | None,
    exclusions: Exclusions | None,
) -> Inventory:
    watched = None
    if jobs is None:  # what other processes use while this one finds its files
        from auditor.parsers import busy

        watched = busy.watch()
    found = _discover(paths, exclusions)
    placements = [identify(item.path, server_folder=item.server_folder) for item in found.files]
    if server is not None:
        _check_server_option(server, placements)
    reader = Reader(server=server, max_bytes=max_bytes, separator=csv_list_separator)
    workers = 1
    fewest = FEWEST_FILES_FOR_DEFAULT if jobs is None else FEWEST_FILES_FOR_WORKERS
    if jobs != 1 and len(found.files) >= fewest:
        from auditor.parsers import parallel

        workers = parallel.choose_workers(jobs, len(found.files), start_method, watched)
    if workers > 1:
        parallel.read_files(reader, found.files, placements, workers, start_method)
    else:
        for item, placement in zip(found.files, placements, strict=True):
            reader.read_file(item, placement)
    for item in found.companions:
        reader.read_companion(item, read_bytes(item, max_bytes))
    if server is not None:
        _check_server_option(server, reader.member_placements)
    skipped = [*found.skipped, *reader.skipped]
    present = {display: None for display in skipped} | reader.others
    problems = [*found.problems, *check_collection(reader.companions, reader.inputs, present)]
    inventory = _fold(
        reader.results,
        problems,
        skipped=skipped,
        looked_at=found.looked_at,
    )
    excluded = tuple(sorted((*found.excluded, *reader.excluded), key=lambda item: item.path))
    return dataclasses.replace(inventory, excluded=excluded) if excluded else inventory


def _check_server_option(server: str, placements: Sequence[Placement]) -> None:
    named = sorted({placement.server for placement in placements if placement.server})
    if len(named) >= 2:
        shown = ", ".join(named[:5]) + (", ..." if len(named) > 5 else "")
        raise ServerOptionError(
            f"--server {server} cannot apply: the folder layout already names "
            f"{len(named)} servers ({shown}); --server is only for inputs whose layout "
            "names no server: audit them without it"
        )
