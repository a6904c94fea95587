"""The scripts section (`partials/scripts.html.j2`, also read by `partials/approval.html.j2`):
each script's facts, its data table (audited and new values), the functions it defines beyond
those all scripts share, and its source while within the embedding budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.model import (
    ChangeKind,
    ChangeSet,
    Report,
    Script,
    ScriptKind,
)
from auditor.render.html.context import ScriptRef, _Context, _script_of
from auditor.render.html.text import _line_endings, numbered_source

# Script source is embedded (in a closed <details>) only while it stays this small: per script,
# and for all embedded scripts together. Above it the page names the file and its hash.
SOURCE_BUDGET_PER_SCRIPT = 64_000


SOURCE_BUDGET_TOTAL = 160_000


# Up to this many scripts each gets its own block (facts, data table); more share one table.
SCRIPT_BLOCKS_UP_TO = 4


_FUNCTION = re.compile(r"^function\s+([A-Za-z][A-Za-z0-9-]*)", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class DataRow:
    target: str
    audited: str
    new: str


@dataclass(frozen=True, slots=True)
class ScriptView:
    script: Script
    anchor: str
    lines: int
    line_endings: str
    fixes: tuple[str, ...]  # rule ids, in order
    unknown_fixes: tuple[str, ...]
    pair: ScriptRef | None
    data: tuple[DataRow, ...]
    own_functions: tuple[str, ...]  # helper functions no earlier script defines
    functions_as_in: ScriptRef | None  # an earlier script that defines the same helpers
    code: str | None  # the numbered source; None: over the source budget


def _scripts(report: Report, context: _Context) -> tuple[tuple[ScriptView, ...], tuple[str, ...]]:
    functions = {
        script.name: tuple(dict.fromkeys(_FUNCTION.findall(script.content)))
        for script in report.scripts
    }
    common: tuple[str, ...] = ()
    if len(report.scripts) > 1:
        shared = set.intersection(*(set(names) for names in functions.values()))
        first = functions[report.scripts[0].name]
        common = tuple(name for name in first if name in shared)
    rule_of = {finding.fingerprint: finding.rule_id for finding in report.findings}
    data_of: dict[str, tuple[DataRow, ...]] = {}
    for change_set in report.change_sets:
        rows = _data_rows(change_set)
        for kind in ("remediation", "rollback"):
            name = _script_of(report, change_set, kind)
            if name is not None:
                data_of[name] = rows if kind == "remediation" else ()
    embedded = 0
    views = []
    seen: set[str] = set(common)
    first_with: dict[tuple[str, ...], str] = {}
    for index, script in enumerate(report.scripts, 1):
        names = tuple(n for n in functions[script.name] if n not in common)
        own = tuple(n for n in names if n not in seen)
        seen.update(names)
        same = first_with.get(tuple(sorted(names))) if names and not own else None
        first_with.setdefault(tuple(sorted(names)), script.name)
        size = len(script.content)
        remedies = script.fixes if script.kind is ScriptKind.REMEDIATION else ()
        code: str | None = None
        if size <= SOURCE_BUDGET_PER_SCRIPT and embedded + size <= SOURCE_BUDGET_TOTAL:
            code = numbered_source(script.content)
            embedded += size
        views.append(
            ScriptView(
                script=script,
                anchor=f"script-{index}",
                lines=len(script.content.splitlines()),
                line_endings=_line_endings(script.content),
                # A rollback fixes nothing: it puts back what its remediation replaced.
                fixes=tuple(dict.fromkeys(rule_of[fp] for fp in remedies if fp in rule_of)),
                unknown_fixes=tuple(fp for fp in remedies if fp not in rule_of),
                pair=context.script_ref(script.pair) if script.pair else None,
                data=data_of.get(script.name, ()),
                own_functions=own,
                functions_as_in=context.script_ref(same) if same else None,
                code=code,
            )
        )
    return tuple(views), common


def _data_rows(change_set: ChangeSet) -> tuple[DataRow, ...]:
    rows: list[DataRow] = []
    if change_set.kind is ChangeKind.PARTNER_APPLICATIONS:
        for app in change_set.partner_applications:
            rows.append(
                DataRow(
                    target=f"{app.name} ({app.application_identifier}) AppOnlyPermissions",
                    audited=", ".join(app.audited_app_only) or "(empty)",
                    new=", ".join(app.target_app_only) or "(empty)",
                )
            )
    for change in change_set.web_configs:
        rows.append(
            DataRow(
                target=(
                    f"{change_set.server} {change.relative_path} ({change.vdir})"
                    f" OAuthHttpModule.Profiles; audited SHA-256 {change.audited_sha256}"
                ),
                audited=change.audited_value,
                new=change.target_value,
            )
        )
    for override in change_set.setting_overrides:
        rows.append(
            DataRow(
                target=(
                    f"setting override {override.name} ({override.component} / "
                    f"{override.section}) Parameters, organisation-wide"
                ),
                audited=(
                    "(no such override)"
                    if override.audited_parameters is None
                    else ", ".join(override.audited_parameters) or "(empty)"
                ),
                new=", ".join(override.target_parameters),
            )
        )
        for label, audited in override.scope_changes:
            rows.append(
                DataRow(
                    target=f"setting override {override.name} {label}, organisation-wide",
                    audited=audited,
                    new="(all servers)" if label == "Server" else "(none)",
                )
            )
    for server in change_set.auth_servers:
        rows.append(
            DataRow(
                target=(
                    f"AuthServer {server.name} (Realm {server.realm}) {server.setting.value}, "
                    f"organisation-wide; read from {server.source}"
                ),
                audited=server.audited_value or "(empty)",
                new=server.target_value,
            )
        )
    return tuple(rows)
