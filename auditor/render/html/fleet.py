"""The servers section (`partials/fleet.html.j2`): the servers x vdirs grid of Profiles values
that deviate from the shipped default or were not read; vdirs and servers that match the default
are folded into one sentence each.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.model import (
    EvidenceState,
    ProfilesJudgement,
    Report,
    TokenAction,
    TokenMark,
)
from auditor.render.html.context import FindingRef, _Context
from auditor.render.html.text import _shown
from auditor.render.story import ranges


@dataclass(frozen=True, slots=True)
class GridCell:
    text: tuple[str, ...]  # "default", "+V1S2SAppOnly", "- Callback", ...
    css: str
    finding: FindingRef | None


@dataclass(frozen=True, slots=True)
class GridRow:
    server: str
    cells: tuple[GridCell, ...]


@dataclass(frozen=True, slots=True)
class Grid:
    vdirs: tuple[str, ...]  # columns: vdirs that deviate somewhere
    rows: tuple[GridRow, ...]  # servers with a deviation
    matching: int  # vdirs that match the shipped default
    matching_servers: int
    quiet_vdirs: tuple[str, ...]  # vdirs that carry the key and match the default everywhere
    clean_servers: str  # servers without any deviation, as ranges
    clean_count: int
    not_compared: int  # vdirs with no shipped default in the policy
    judged: int


def _grid(report: Report, context: _Context) -> Grid:
    judgements = [j for j in report.judgements.profiles if j.raw is not None]
    finding_of: dict[str, FindingRef] = {}
    for finding in report.active_findings:
        finding_of.setdefault(finding.subject, context.ref(finding))
    deviating: dict[str, dict[str, ProfilesJudgement]] = {}
    carrying: dict[str, None] = {}
    deviating_vdirs: dict[str, None] = {}
    matching: list[ProfilesJudgement] = []
    not_compared = 0
    for judgement in judgements:
        carrying[judgement.vdir] = None
        if judgement.matches_default:
            matching.append(judgement)
            continue
        if judgement.default is None and _plain(judgement):
            not_compared += 1
            continue
        deviating.setdefault(judgement.server, {})[judgement.vdir] = judgement
        deviating_vdirs[judgement.vdir] = None
    unread = _unread(report)
    for server, vdir in unread:
        deviating.setdefault(server, {})
        deviating_vdirs[vdir] = None
    columns = tuple(
        dict.fromkeys((*(vdir for vdir in carrying if vdir in deviating_vdirs), *deviating_vdirs))
    )
    read = {(j.server, j.vdir) for j in judgements}
    rows = []
    for server in sorted(deviating):
        cells = []
        for vdir in columns:
            found = deviating[server].get(vdir)
            if (server, vdir) in unread:
                cells.append(GridCell((unread[server, vdir],), "unread", None))
            elif found is not None:
                cells.append(_cell(found, finding_of.get(found.subject)))
            elif (server, vdir) in read:
                cells.append(GridCell(("default",), "default", None))
            else:
                cells.append(GridCell(("not read",), "unread", None))
        rows.append(GridRow(server, tuple(cells)))
    all_servers = list(dict.fromkeys(j.server for j in judgements))
    clean = [server for server in all_servers if server not in deviating]
    return Grid(
        vdirs=columns,
        rows=tuple(rows),
        matching=len(matching),
        matching_servers=len({j.server for j in matching}),
        quiet_vdirs=tuple(vdir for vdir in carrying if vdir not in deviating_vdirs),
        clean_servers=ranges(sorted(clean)),
        clean_count=len(clean),
        not_compared=not_compared,
        judged=len(judgements),
    )


def _unread(report: Report) -> dict[tuple[str, str], str]:
    """The judged vdirs of the scope's servers that were not assessed, with what a cell says
    (`not read`, `not read (inherited)`): never a value auditor did not read."""
    unread: dict[tuple[str, str], str] = {}
    for item in report.scope.not_assessed:
        if item.server is None or item.vdir is None:
            continue
        state = "" if item.state is EvidenceState.MISSING else f" ({item.state.value})"
        unread[item.server, item.vdir] = f"not read{state}"
    return unread


def _plain(judgement: ProfilesJudgement) -> bool:
    """No mark other than HONOURED and no planned action on any token."""
    return all(
        token.marks == (TokenMark.HONOURED,) and token.action is TokenAction.KEEP
        for token in judgement.tokens
    )


def _cell(judgement: ProfilesJudgement, finding: FindingRef | None) -> GridCell:
    """What one vdir of one server shows: `default`, or each marked token and each default
    token Exchange does not honour here, as the rules marked them."""
    text: list[str] = []
    css = "changed"
    if judgement.default is None:
        text.append("no default known: " + "|".join(_shown(t.segment) for t in judgement.tokens))
    for token in judgement.tokens:
        marks = [mark for mark in token.marks if mark is not TokenMark.HONOURED]
        if not marks and token.action is TokenAction.KEEP:
            continue
        prefix = "+" if TokenMark.ADDED in marks else ""
        words = [prefix + _shown(token.segment)]
        words.extend(mark.value for mark in marks if mark is not TokenMark.ADDED)
        if token.action is TokenAction.REMOVE:
            words.append("(the change removes it)")
        elif token.action is TokenAction.ENABLE:
            words.append("(the change ENABLES it)")
            css = "enables" if css == "changed" else css
        if TokenMark.FORBIDDEN in marks:
            css = "forbidden"
        text.append(" ".join(words))
    text.extend(f"- {name}" for name in judgement.missing_default)
    if not text:
        text.append("default")
        css = "default"
    return GridCell(tuple(text), css, finding)
