"""The inputs section (`partials/inputs.html.j2`): every file read, with its SHA-256, one row
for a file identical on many servers, and one row per file name above `INPUT_ROWS_UP_TO` rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model import (
    Report,
)
from auditor.render.html.context import _Context
from auditor.render.html.text import _relative
from auditor.render.story import ranges

# Tables longer than this start closed (and are left out of print, with a sentence saying so).
OPEN_ROWS_UP_TO = 40


# Above this many input rows (a fleet where every file differs), one row per file name: the
# 500-server unique fleet has 12,001 rows, 2.4 MB of the page; each SHA-256 stays in the JSON.
INPUT_ROWS_UP_TO = 200


@dataclass(frozen=True, slots=True)
class InputRow:
    path: str  # relative to the audit root; below the server folder when `servers` is set
    servers: str
    count: int
    format: str | None
    sha256: str  # empty when the row stands for several different files (`distinct`)
    distinct: int = 1


@dataclass(frozen=True, slots=True)
class Inputs:
    root: str
    rows: tuple[InputRow, ...]
    files: int
    open: bool


def _inputs_by_name(grouped: dict[tuple[str, str, str | None], list[str]]) -> tuple[InputRow, ...]:
    """One row per file name below the server folder, however many different copies it has:
    a fleet of unique files would otherwise need a row per file (their SHA-256 values are in
    findings.json and plan.json, `inputs`).

    The rows are what a row per copy, merged by name, would be, made without those rows: a row
    for every file of a fleet whose files all differ cost 0.1 s of the HTML at 500 servers.
    """
    by_name: dict[tuple[str, str | None], list[tuple[str, list[str]]]] = {}
    for (path, sha, fmt), servers in grouped.items():
        by_name.setdefault((path, fmt), []).append((sha, servers))
    merged: list[InputRow] = []
    for (path, fmt), same in by_name.items():
        # Each copy's servers folded as its own row would show them. A copy some server holds
        # gives at least one part: more than 12 such copies are more than 12 parts, shown as none.
        held = [servers for _, servers in same if servers]
        parts = (
            [part for servers in held for part in ranges(servers).split(", ")]
            if len(held) <= 12
            else []
        )
        merged.append(
            InputRow(
                path=path,
                servers=ranges(parts) if len(parts) <= 12 else "",
                count=sum(max(1, len(servers)) for _, servers in same),
                format=fmt,
                sha256=same[0][0] if len(same) == 1 else "",
                distinct=len(same),
            )
        )
    return tuple(merged)


def _inputs(report: Report, context: _Context) -> Inputs:
    root = context.root
    servers = set(context.servers)
    servers.update(app.server for app in report.inventory.partner_applications if app.server)
    grouped: dict[tuple[str, str, str | None], list[str]] = {}
    for source in report.inventory.inputs:
        relative = _relative(source.path, root)
        head, _, tail = relative.replace("\\", "/").partition("/")
        fmt = source.format.value if source.format else None
        if head in servers and tail:
            grouped.setdefault((tail, source.sha256, fmt), []).append(head)
        else:
            grouped.setdefault((relative, source.sha256, fmt), [])
    if len(grouped) > INPUT_ROWS_UP_TO:
        rows = _inputs_by_name(grouped)
    else:
        rows = tuple(
            InputRow(
                path=path,
                servers=ranges(servers),
                count=max(1, len(servers)),
                format=fmt,
                sha256=sha,
            )
            for (path, sha, fmt), servers in grouped.items()
        )
    return Inputs(
        root=root,
        rows=rows,
        files=len(report.inventory.inputs),
        open=len(rows) <= OPEN_ROWS_UP_TO,
    )
