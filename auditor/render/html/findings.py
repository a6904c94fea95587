"""The findings section (`partials/findings.html.j2`): findings grouped by rule and severity,
active and waived, each with its message, evidence variants (FL001's from its `FleetJudgement`)
and the script that fixes it (or the decided `Resolution`: what resolves it, why none does);
the same finding on several servers collapsed into one row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from auditor.model import (
    BaselineState,
    Evidence,
    Finding,
    Report,
    RuleInfo,
    Severity,
)
from auditor.render.html.context import FindingRef, ScriptRef, _Context
from auditor.render.html.text import _relative, _shown, inline_code, plural, visible
from auditor.render.story import ranges


@dataclass(frozen=True, slots=True)
class Variant:
    """Evidence items with the same text: where they are, and the text (or its diff)."""

    places: str
    raw: str
    diff: tuple[str, ...] | None  # tokens added (+) and missing (-) against the first variant


@dataclass(frozen=True, slots=True)
class FindingRow:
    finding: Finding
    anchor: str
    target: str
    where: str
    variants: tuple[Variant, ...]
    same_as: FindingRef | None  # the evidence is the same as that finding's, shown there
    script: ScriptRef | None
    resolved_by: str  # "resolved by <scripts>" when scripts made for others fix it, else ""
    skipped: str | None  # why the planner left it without a change (report.skipped)
    message: Markup  # the message, the tool's own `code` spans as code
    servers: tuple[str, ...] = ()  # the same finding and value on several servers: one row
    also: tuple[str, ...] = ()  # anchors of the findings this row stands for besides its own
    new: bool = False  # new against `--baseline`


@dataclass(frozen=True, slots=True)
class RuleGroup:
    rule: RuleInfo
    severity: Severity
    anchor: str
    scope: str  # "on 10 servers", "on the organisation", ""
    rows: tuple[FindingRow, ...]

    @property
    def findings(self) -> int:
        """How many findings the rows stand for (a collapsed row stands for several)."""
        return sum(1 + len(row.also) for row in self.rows)


def _groups(report: Report, context: _Context, suppressed: bool) -> tuple[RuleGroup, ...]:
    chosen = [f for f in report.findings if f.suppressed == suppressed]
    by_rule: dict[tuple[Severity, str], list[Finding]] = {}
    for finding in chosen:
        by_rule.setdefault((finding.severity, finding.rule_id), []).append(finding)
    ordered = sorted(by_rule.items(), key=lambda item: (-item[0][0].rank, item[0][1]))
    prefix = "waived" if suppressed else "rule"
    groups = []
    shown: dict[tuple[tuple[str, int | None, str], ...], FindingRef] = {}
    for (severity, rule_id), findings in ordered:
        rows = _collapsed([_finding_row(finding, context, shown) for finding in findings], context)
        servers: dict[str, None] = {}
        organisation = False
        for finding in findings:
            judgement = context.profiles.get(finding.subject)
            if judgement is not None:
                servers[judgement.server] = None
            elif finding.subject in context.app_names:
                organisation = True
            else:
                for item in finding.evidence:
                    server = context.server_of_path.get(item.path)
                    if server:
                        servers[server] = None
        if servers:
            scope = f"on {plural(len(servers), 'server')}"
        elif organisation:
            scope = "on the organisation"
        else:
            scope = ""
        groups.append(
            RuleGroup(
                rule=report.policy.rule(rule_id),
                severity=severity,
                anchor=f"{prefix}-{rule_id.lower()}-{severity.value}",
                scope=scope,
                rows=rows,
            )
        )
    return tuple(groups)


def _collapsed(rows: Sequence[FindingRow], context: _Context) -> tuple[FindingRow, ...]:
    """One row per rule and value: the same finding with the same evidence text on several
    servers (each with its own script, or the same reason for none) is one row naming them."""
    groups: dict[tuple[object, ...], list[FindingRow]] = {}
    for row in rows:
        judgement = context.profiles.get(row.finding.subject)
        if judgement is None or row.same_as is not None:
            key: tuple[object, ...] = ("row", id(row))
        else:
            key = (
                judgement.vdir,
                tuple(item.raw for item in row.finding.evidence),
                row.skipped,
                row.resolved_by,
                row.finding.waiver,
                row.script is None,
            )
        groups.setdefault(key, []).append(row)
    out: list[FindingRow] = []
    for same in groups.values():
        first = same[0]
        servers = [context.profiles[row.finding.subject].server for row in same[1:]]
        if not servers:
            out.append(first)
            continue
        servers.insert(0, context.profiles[first.finding.subject].server)
        vdir = context.profiles[first.finding.subject].vdir
        out.append(
            dataclasses.replace(
                first,
                target=f"{len(servers)} servers: {ranges(servers)}, {vdir}",
                where=f"{first.where} and {len(servers) - 1} more (the same value in each)",
                servers=tuple(servers),
                also=tuple(row.anchor for row in same[1:]),
            )
        )
    return tuple(out)


def _finding_row(
    finding: Finding,
    context: _Context,
    shown: dict[tuple[tuple[str, int | None, str], ...], FindingRef],
) -> FindingRow:
    resolved_by = context.resolved_by(finding)
    script = (
        context.script_ref(finding.remediation) if finding.remediation and not resolved_by else None
    )
    line = f":{finding.location.line}" if finding.location.line is not None else ""
    key = tuple((item.path, item.line, item.raw) for item in finding.evidence)
    same_as = shown.get(key) if key else None
    if key and same_as is None:
        shown[key] = context.ref(finding)
    return FindingRow(
        finding=finding,
        message=_message(finding, context),
        anchor=context.anchors[id(finding)],
        target=context.target(finding),
        where=_relative(finding.location.path, context.root) + line,
        variants=()
        if same_as
        else (_rule_variants(finding, context) or _variants(finding.evidence, context)),
        same_as=same_as,
        script=script,
        resolved_by=resolved_by,
        skipped=context.skipped(finding),
        new=context.report.baseline_state(finding) is BaselineState.NEW,
    )


_HELD = "\ue000"  # stands in for a value from the exports while the message's code is marked


def _message(finding: Finding, context: _Context) -> Markup:
    """The finding's message with the backticked spans the tool wrote shown as code.

    A value from the exports (an application or server name, a path, the evidence text) that
    holds a backtick is held out first and put back escaped, so it never opens a code span.
    """
    values = {
        *context.app_names.values(),
        *context.servers,
        finding.subject,
        finding.location.path,
        *(item.path for item in finding.evidence),
        *(item.raw for item in finding.evidence),
    }
    held: list[str] = []
    text = finding.message.replace(_HELD, "?")
    for value in sorted((v for v in values if "`" in v), key=len, reverse=True):
        if value in text:
            held.append(value)
            text = text.replace(value, f"{_HELD}{len(held) - 1}{_HELD}")
    marked = str(inline_code(text))
    for index, value in enumerate(held):
        marked = marked.replace(f"{_HELD}{index}{_HELD}", str(escape(visible(value))))
    return Markup(marked)


def _rule_variants(finding: Finding, context: _Context) -> tuple[Variant, ...]:
    """FL001's variants (`FleetJudgement`): each distinct Profiles value and every server that
    has it, the first in full and the others as the token diff the judgement holds."""
    fleet = context.decisions.fleet(finding.subject)
    if fleet is None or fleet.agree or any(v.profiles is None for v in fleet.variants):
        return ()
    variants = []
    for index, variant in enumerate(fleet.variants):
        place = f"{plural(len(variant.servers), 'server')} ({ranges(variant.servers)})"
        diff = (
            (*(f"+{_shown(t)}" for t in variant.added), *(f"-{_shown(t)}" for t in variant.missing))
            if index
            else None
        )
        variants.append(Variant(place, "|".join(variant.profiles or ()), diff))
    return tuple(variants)


def _variants(evidence: Sequence[Evidence], context: _Context) -> tuple[Variant, ...]:
    groups: dict[str, list[Evidence]] = {}
    for item in evidence:
        groups.setdefault(item.raw, []).append(item)
    ordered = sorted(groups.values(), key=lambda items: -len(items))
    root = context.root
    base_tokens = context.tokens_of_path.get(ordered[0][0].path) if ordered else None
    variants = []
    for index, items in enumerate(ordered):
        places = [
            context.server_of_path.get(item.path)
            or _relative(item.path, root) + (f":{item.line}" if item.line is not None else "")
            for item in items
        ]
        if len(evidence) == 1:
            place = _relative(items[0].path, root) + (
                f":{items[0].line}" if items[0].line is not None else ""
            )
            places = [place]
        tokens = context.tokens_of_path.get(items[0].path)
        diff: tuple[str, ...] | None = None
        if index and tokens is not None and base_tokens is not None:
            diff = tuple(
                [*(f"+{_shown(t)}" for t in tokens if t not in base_tokens)]
                + [f"-{_shown(t)}" for t in base_tokens if t not in tokens]
            )
        variants.append(Variant(ranges(places), items[0].raw, diff))
    return tuple(variants)
