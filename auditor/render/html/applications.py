"""The partner applications section (`partials/applications.html.j2`): each application once
however many exports hold it (with how the copies differ), its permission matrix as the rules
judged it (with what the change does to each permission, `auditor.decisions.permission_outcome`),
and its findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.decisions import permission_outcome, shows_app_only
from auditor.model import (
    ApplicationJudgement,
    PartnerApplication,
    PermissionJudgement,
    PermissionMark,
    Report,
)
from auditor.render.html.context import FindingRef, _Context
from auditor.render.html.text import _relative, plural
from auditor.render.story import ranges


@dataclass(frozen=True, slots=True)
class PermissionRow:
    judgement: PermissionJudgement
    css: str
    after: str


@dataclass(frozen=True, slots=True)
class ApplicationView:
    anchor: str
    record: PartnerApplication
    exports: int
    places: str  # where it was exported from, as server ranges or paths
    source: str  # the first export, relative to the audit root, with its line
    differences: tuple[str, ...]  # one sentence per export that differs from `record`
    judgement: ApplicationJudgement | None
    rows: tuple[PermissionRow, ...]  # empty: the one-line form
    summary: str  # the one line shown when there is no app-only permission
    findings: tuple[FindingRef, ...]


def _applications(report: Report, context: _Context) -> tuple[ApplicationView, ...]:
    by_id: dict[str, list[PartnerApplication]] = {}
    for app in report.inventory.partner_applications:
        by_id.setdefault(app.application_identifier.lower(), []).append(app)
    findings_of: dict[str, list[FindingRef]] = {}
    for finding in report.findings:
        findings_of.setdefault(finding.subject, []).append(context.ref(finding))
    views: list[ApplicationView] = []
    for index, records in enumerate(by_id.values(), 1):
        variants: dict[tuple[object, ...], list[PartnerApplication]] = {}
        for record in records:
            variants.setdefault(tuple(record.exported_properties().values()), []).append(record)
        groups = list(variants.values())
        first = groups[0][0]
        exports_of = [_exports(group, context) for group in groups]
        differences = tuple(
            f"{ranges(exports_of[i])}: {_app_diff(first, group[0])}"
            for i, group in enumerate(groups[1:], 1)
        )
        judgement = report.judgements.application(first.subject)
        rows = _permission_rows(judgement)
        views.append(
            ApplicationView(
                anchor=f"app-{index}",
                record=first,
                exports=sum(len(places) for places in exports_of),
                places=ranges(exports_of[0]),
                source=_relative(first.source.path, context.root)
                + (f":{first.source.line}" if first.source.line is not None else ""),
                differences=differences,
                judgement=judgement,
                rows=rows,
                summary=_app_summary(first, judgement),
                findings=tuple(findings_of.get(first.subject, ())),
            )
        )
    return tuple(views)


def _exports(records: Sequence[PartnerApplication], context: _Context) -> list[str]:
    """Where each copy of these records was read: the server if known, else the file."""
    places: list[str] = []
    for record in records:
        for evidence in (record.source, *record.also_in):
            server = record.server if evidence is record.source else evidence.server
            places.append(server or context.server_of_path.get(evidence.path) or evidence.path)
    return places


def _app_diff(first: PartnerApplication, other: PartnerApplication) -> str:
    parts: list[str] = []
    for label, left, right in (
        ("ActAs", first.act_as_permissions.values, other.act_as_permissions.values),
        ("AppOnly", first.app_only_permissions.values, other.app_only_permissions.values),
    ):
        added = [name for name in right if name not in left]
        missing = [name for name in left if name not in right]
        if added or missing:
            parts.append(
                f"{label} " + " ".join([*(f"+{n}" for n in added), *(f"-{n}" for n in missing)])
            )
    if first.enabled != other.enabled:
        parts.append(f"Enabled {other.enabled}")
    if first.linked_account != other.linked_account:
        parts.append(f"LinkedAccount {other.linked_account}")
    if first.name != other.name:
        parts.append(f"Name {other.name}")
    if not parts:
        parts.append("lists complete in one export and incomplete in another")
    return "; ".join(parts)


_ROW_ORDER = (
    PermissionMark.FORBIDDEN,
    PermissionMark.EXCESS,
    PermissionMark.NOT_IN_ACT_AS,
    PermissionMark.APPROVED,
    PermissionMark.NOT_GRANTED,
)


def _row_rank(judgement: PermissionJudgement) -> int:
    for rank, mark in enumerate(_ROW_ORDER):
        if mark in judgement.marks:
            return rank
    return len(_ROW_ORDER)


def _permission_rows(judgement: ApplicationJudgement | None) -> tuple[PermissionRow, ...]:
    if judgement is None or not shows_app_only(judgement):
        return ()
    ordered = sorted(judgement.permissions, key=_row_rank)  # stable: stored order within a rank
    rows = []
    for permission in ordered:
        if PermissionMark.FORBIDDEN in permission.marks:
            css = "forbidden"
        elif PermissionMark.EXCESS in permission.marks:
            css = "excess"
        else:
            css = ""
        rows.append(PermissionRow(permission, css, _after(permission)))
    return tuple(rows)


def _after(permission: PermissionJudgement) -> str:
    return permission_outcome(permission).value


def _app_summary(app: PartnerApplication, judgement: ApplicationJudgement | None) -> str:
    act_as = len(app.act_as_permissions.values)
    if judgement is None:
        return (
            f"Not judged by the rules (AppOnly {len(app.app_only_permissions.values)},"
            f" ActAs {act_as})."
        )
    approved = len(judgement.approved)
    text = f"no app-only permission; {plural(act_as, 'delegated (ActAs) permission')}"
    if approved:
        text += f"; {approved} approved for app-only use, none granted"
    return text + "."
