"""The proposed change in the summary (`partials/summary.html.j2`): what changes where and the
scripts that do it, the impact, back-out and verification lines, and what the change leaves open
(findings it does not fix, evidence not assessed), each finding worded by its decided
`Resolution` ("resolved by remediation/<slug>.ps1", "remains: ..."). The runbook-only steps
(`Report.manual_steps`, told by `auditor.render.story_trust`) are rows of the same table,
marked as manual steps with no generated script, with their back-out and proof lines. The
safety line says where each script runs, as decided (`Decisions.reach`): a per-server script
only on its own server, an organisation-wide one once for the organisation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.decisions import ResolutionKind
from auditor.model import (
    Report,
    ScriptReach,
    WebConfigChange,
)
from auditor.profiles import target_segments
from auditor.render.html.context import CellKind, FindingRef, ScriptRef, _Context
from auditor.render.html.text import _shown
from auditor.render.story import Step, change_story, code_text
from auditor.render.story_trust import ManualText, manual_story


@dataclass(frozen=True, slots=True)
class Segment:
    text: str  # as written, spaces shown as U+2423, "(empty)" for an empty segment
    kind: CellKind


@dataclass(frozen=True, slots=True)
class AppChangeRow:
    name: str
    application_identifier: str
    before: int
    after: int
    removes: tuple[str, ...]
    adds: tuple[str, ...]
    remediation: ScriptRef
    rollback: ScriptRef | None


@dataclass(frozen=True, slots=True)
class ConfigChangeRow:
    """One web.config change, or the same change on several servers."""

    servers: tuple[str, ...]
    vdir: str
    relative_path: str
    segments: tuple[Segment, ...]
    app_pool: str | None
    remediation: tuple[ScriptRef, ...]
    rollback: tuple[ScriptRef, ...]


@dataclass(frozen=True, slots=True)
class ManualRow:
    """A runbook-only step in the plan table: Microsoft's command, no generated script."""

    label: str  # M1, M2, ... as the runbook numbers it
    title: str
    target: str
    place: str
    effect: str
    restart: str
    findings: tuple[FindingRef, ...]


@dataclass(frozen=True, slots=True)
class AuthServerRow:
    """One EvoSTS AuthServer property the change sets; `manual`: its rollback is a manual step."""

    name: str
    realm: str
    setting: str
    before: str  # "(empty)" for an empty ApplicationIdentifier
    after: str
    manual: bool
    remediation: ScriptRef
    rollback: ScriptRef | None


@dataclass(frozen=True, slots=True)
class OverrideRow:
    """The dedicated-app setting override the change creates (`before` None) or sets."""

    name: str
    component: str
    section: str
    before: str | None  # the audited Parameters, "(empty)" when it has none
    after: str
    remediation: ScriptRef
    rollback: ScriptRef | None
    sets_parameters: bool = True
    scope: tuple[tuple[str, str, str], ...] = ()  # (property, audited, after) each cleared


@dataclass(frozen=True, slots=True)
class Remains:
    rule_id: str
    anchor: str
    target: str
    text: str  # "resolved by web-config-ex01, web-config-ex02", or why nothing changes


@dataclass(frozen=True, slots=True)
class NotPlanned:
    """Something the package leaves open: a finding without a change, or evidence not read."""

    what: str
    why: str
    anchor: str | None  # the finding on the page, when it is one


@dataclass(frozen=True, slots=True)
class Plan:
    apps: tuple[AppChangeRow, ...]
    configs: tuple[ConfigChangeRow, ...]
    auth_servers: tuple[AuthServerRow, ...]
    overrides: tuple[OverrideRow, ...]
    changing_servers: tuple[str, ...]
    all_servers: tuple[str, ...]
    impact: tuple[str, ...]  # what users notice, step by step (the runbook's words)
    back_out: tuple[str, ...]  # each rollback command, where it runs and what it restores
    verification: tuple[str, ...]
    safety: str
    remains: tuple[Remains, ...]
    enabling_servers: tuple[str, ...]
    not_planned: tuple[NotPlanned, ...]  # what stays open after the change, and why
    manual: tuple[ManualRow, ...] = ()  # runbook-only steps, in run order

    @property
    def resolved(self) -> tuple[Remains, ...]:
        """Findings no script of their own fixes that the plan resolves (FL001, a waiver)."""
        return tuple(item for item in self.remains if item.text.startswith("resolved by "))


def _plan(report: Report, context: _Context) -> Plan:
    apps: list[AppChangeRow] = []
    grouped: dict[tuple[object, ...], list[tuple[str, WebConfigChange, str]]] = {}
    for change_set in report.change_sets:
        remediation = context.remediation_of[change_set.slug]
        rollback = context.rollback_of[change_set.slug]
        for app_change in change_set.partner_applications:
            apps.append(
                AppChangeRow(
                    name=app_change.name,
                    application_identifier=app_change.application_identifier,
                    before=len(app_change.audited_app_only),
                    after=len(app_change.target_app_only),
                    removes=app_change.removes,
                    adds=app_change.adds,
                    remediation=context.script_ref(remediation or change_set.slug),
                    rollback=context.script_ref(rollback) if rollback else None,
                )
            )
        for change in change_set.web_configs:
            key = (
                change.vdir,
                change.relative_path,
                change.audited_value,
                change.target_value,
                change.removes,
                change.enables,
                change.app_pool,
            )
            grouped.setdefault(key, []).append((change_set.server or "", change, change_set.slug))
    configs = tuple(_config_row(items, context) for items in grouped.values())
    auth_servers = _auth_server_rows(report, context)
    changing = tuple(dict.fromkeys(cs.server for cs in report.change_sets if cs.server))
    story = change_story(report, _plain_value)
    manual = manual_story(report, _plain_value, changes_only=True)
    back_out = (_back_out_line(story.grouped_back_out),) if story.grouped_back_out else ()
    safety = _safety(context.decisions.reach, bool(manual))
    return Plan(
        apps=tuple(apps),
        configs=configs,
        auth_servers=auth_servers,
        overrides=_override_rows(report, context),
        changing_servers=changing,
        all_servers=context.servers,
        impact=story.brief_notice,
        back_out=back_out + tuple(f"{step.label} (manual): {step.back_out}" for step in manual),
        verification=story.brief_verify
        + tuple(f"{step.label} (manual): {step.proof}" for step in manual),
        enabling_servers=story.enabling_servers,
        safety=safety,
        remains=_remains(context, manual),
        not_planned=_not_planned(report, context, manual),
        manual=_manual_rows(report, context, manual),
    )


def _safety(reach: ScriptReach, manual: bool) -> str:
    """The safety line, from where the plan's scripts run (decided: `Decisions.reach`); scripts
    by file name (the plan table above gives their folders)."""
    if not reach.per_server and not reach.organisation:
        return _MANUAL_SAFETY
    where: list[str] = []
    servers = [(_file(script), server) for script, server in reach.per_server]
    if len(servers) == 1:
        where.append(f"{servers[0][0]} runs only on {servers[0][1]}")
    elif len(servers) > 3:
        where.append(f"the {len(servers)} per-server scripts each run only on their own server")
    elif servers:
        where.append(f"{_joined([s for s, _ in servers])} each run only on their own server")
    wide = [_file(script) for script in reach.organisation]
    if wide:
        # After a per-server clause the verb is shared: "..., partner-applications.ps1 once".
        verb = "" if servers else ("runs " if len(wide) == 1 else "each run ")
        where.append(f"{_joined(wide)} {verb}once for the organisation")
    return (
        "Each script changes nothing where a live value differs from the audited one (drift"
        " guard), backs up first, asks for confirmation and honours -WhatIf; "
        f"{', '.join(where)}." + (f" {_MANUAL_SAFETY}" if manual else "")
    )


def _file(script: str) -> str:
    return script.rpartition("/")[2]


def _joined(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


_MANUAL_SAFETY = (
    "A manual step has no generated script: it is Microsoft's own command, run by hand as the "
    "runbook says, with the proof it names."
)


def _manual_rows(
    report: Report, context: _Context, manual: tuple[ManualText, ...]
) -> tuple[ManualRow, ...]:
    by_fingerprint = {finding.fingerprint: finding for finding in report.findings}
    return tuple(
        ManualRow(
            step.label,
            step.title,
            step.target,
            step.place,
            step.effect,
            step.restart,
            tuple(context.ref(by_fingerprint[fp]) for fp in step.fixes if fp in by_fingerprint),
        )
        for step in manual
    )


def _config_row(
    items: list[tuple[str, WebConfigChange, str]], context: _Context
) -> ConfigChangeRow:
    first = items[0][1]
    enables = set(first.enables)
    # The value after the change, then what it takes out; an emptied value shows only that.
    kept = target_segments(first)
    segments = [
        Segment(_shown(seg), CellKind.ENABLE if seg in enables else CellKind.KEEP) for seg in kept
    ]
    segments.extend(Segment(_shown(seg), CellKind.REMOVE) for seg in first.removes)
    remediation: list[ScriptRef] = []
    rollback: list[ScriptRef] = []
    for _, _, slug in items:
        name = context.remediation_of.get(slug)
        if name:
            remediation.append(context.script_ref(name))
        back = context.rollback_of.get(slug)
        if back:
            rollback.append(context.script_ref(back))
    return ConfigChangeRow(
        servers=tuple(server for server, _, _ in items),
        vdir=first.vdir,
        relative_path=first.relative_path,
        segments=tuple(segments),
        app_pool=first.app_pool,
        remediation=tuple(remediation),
        rollback=tuple(rollback),
    )


def _auth_server_rows(report: Report, context: _Context) -> tuple[AuthServerRow, ...]:
    rows: list[AuthServerRow] = []
    for change_set in report.change_sets:
        remediation = context.remediation_of[change_set.slug]
        rollback = context.rollback_of[change_set.slug]
        for change in change_set.auth_servers:
            rows.append(
                AuthServerRow(
                    name=change.name,
                    realm=change.realm,
                    setting=change.setting.value,
                    before=change.audited_value or "(empty)",
                    after=change.target_value,
                    manual=not change.restorable,
                    remediation=context.script_ref(remediation or change_set.slug),
                    rollback=context.script_ref(rollback) if rollback else None,
                )
            )
    return tuple(rows)


def _override_rows(report: Report, context: _Context) -> tuple[OverrideRow, ...]:
    rows: list[OverrideRow] = []
    for change_set in report.change_sets:
        remediation = context.remediation_of[change_set.slug]
        rollback = context.rollback_of[change_set.slug]
        for change in change_set.setting_overrides:
            audited = change.audited_parameters
            rows.append(
                OverrideRow(
                    name=change.name,
                    component=change.component,
                    section=change.section,
                    before=None if audited is None else (", ".join(audited) or "(empty)"),
                    after=", ".join(change.target_parameters),
                    remediation=context.script_ref(remediation or change_set.slug),
                    rollback=context.script_ref(rollback) if rollback else None,
                    sets_parameters=change.sets_parameters,
                    scope=tuple(
                        (label, audited, "(all servers)" if label == "Server" else "(none)")
                        for label, audited in change.scope_changes
                    ),
                )
            )
    return tuple(rows)


def _back_out_line(steps: Sequence[Step]) -> str:
    """The rollback commands in back-out order, each with where it runs, on one line."""
    parts = []
    for step in steps:
        if len(step.servers) > 3:
            host = f"on each of the {len(step.servers)} servers"
        elif step.servers:
            host = "on " + ", ".join(code_text(server) for server in step.servers)
        else:
            host = step.where  # an org-wide step: where its own remediation step ran
        parts.append(f"`{step.command}` {host}")
    return "In this order: " + "; then ".join(parts) + "."


def _not_planned(
    report: Report, context: _Context, manual: tuple[ManualText, ...]
) -> tuple[NotPlanned, ...]:
    """Findings the change leaves open (with the planner's reason) and evidence not assessed."""
    rows: list[NotPlanned] = []
    for item in _remains(context, manual):
        if item.text.startswith("resolved by "):
            continue
        rows.append(
            NotPlanned(
                f"{item.rule_id} {item.target}", item.text.removeprefix("remains: "), item.anchor
            )
        )
    for evidence in report.scope.not_assessed:
        note = f": {evidence.note}" if evidence.note else ""
        rows.append(
            NotPlanned(
                evidence.what,
                f"not assessed ({evidence.state.value}{note}): nothing about it can be fixed "
                "until it is supplied and audited",
                None,
            )
        )
    return tuple(rows)


def _plain_value(value: str | None) -> str:
    """A value from the exports in prose the template escapes: one line, no backtick."""
    return code_text(value)


def _remains(context: _Context, manual: tuple[ManualText, ...]) -> tuple[Remains, ...]:
    """The active findings no script of their own fixes, each with its decided resolution, or
    the manual step of the runbook that answers it."""
    by_step = {fp: step.label for step in manual for fp in step.fixes}
    out: list[Remains] = []
    for finding in context.verdict.active:
        resolution = context.decisions.resolution(finding)
        if resolution.kind is ResolutionKind.SCRIPT:
            continue
        text = resolution.text
        if finding.fingerprint in by_step and not resolution.resolved:
            text = (
                f"remains: manual step {by_step[finding.fingerprint]} of the runbook "
                "(Microsoft's command, no generated script)"
            )
        out.append(
            Remains(finding.rule_id, context.anchors[id(finding)], context.target(finding), text)
        )
    return tuple(out)
