"""`summary.md`: the short human summary of an audit (what a ticket or a PR comment shows).

It opens with the proposed change (what changes, where, before -> after, which scripts), built
from the plan items and the rules' judgements: per partner application AppOnlyPermissions
before (n) -> after (m) with the names removed or added, per server and file the Profiles value
with only the changed segments marked (`- token` removed, `ENABLES token` where a change makes a
token take effect), the dedicated-app setting override's Parameters (or "none: created") and
each EvoSTS AuthServer property set. Then what could not be planned and why, the judgements that
are not plain (forbidden, excess, dropped ...), the findings, scripts and problems. Every mark
printed here is a `PermissionMark`, `TokenMark` or `TokenAction` the rules and the planner
decided, and every fact about the whole (names removed and granted, what resolves a finding:
`resolved by remediation/<slug>.ps1`, the hybrid-trust checklist when the audit chose that
class) is read from `Report.decisions`; nothing is re-derived.
"""

from __future__ import annotations

import re

from auditor.decisions import AppOnlyChange, decided
from auditor.model import (
    ApplicationJudgement,
    AuthServerChange,
    BaselineState,
    PartnerApplicationChange,
    PermissionMark,
    PlanItem,
    ProfilesJudgement,
    Report,
    SettingOverrideChange,
    Severity,
    TokenAction,
    TokenJudgement,
    TokenMark,
    Verdict,
    WebConfigChange,
)
from auditor.render.story_trust import ManualText, manual_story

REMOVED = "-"  # printed before a removed permission name or profile segment
ADDED = "+"  # printed before a granted permission name
ENABLES = "ENABLES"  # printed before a profile token the change makes take effect


def md_cell(value: str) -> str:
    """A value made safe for one Markdown table cell: no pipes, newlines, HTML, links, emphasis.

    Backslashes, pipes and the characters that open a link, an image, emphasis or a
    strikethrough (`[ ] * _ ~`) are backslash-escaped, `<` and `>` written as entities and a
    backtick as a quote.
    """
    cleaned = "".join(ch if ch.isprintable() else " " for ch in value)
    cleaned = _CELL_SPECIAL.sub(r"\\\g<0>", cleaned)
    for raw, escaped in (("<", "&lt;"), (">", "&gt;"), ("`", "'")):
        cleaned = cleaned.replace(raw, escaped)
    return cleaned


_CELL_SPECIAL = re.compile(r"[\\|\[\]*_~]")


def shown_segment(segment: str) -> str:
    """A profile segment as written, with what Exchange trips over made visible.

    An empty segment is `(empty)`; a character outside printable ASCII is `[U+XXXX]`; a
    segment with a space at either end is quoted.
    """
    if segment == "":
        return "(empty)"
    text = "".join(ch if " " <= ch <= "~" else f"[U+{ord(ch):04X}]" for ch in segment)
    return f"'{text}'" if segment != segment.strip(" ") else text


def token_cell(token: TokenJudgement) -> str:
    """One segment of a Profiles value in the proposed change: marked only when it changes."""
    if token.action is TokenAction.REMOVE:
        return f"**{REMOVED} {md_cell(shown_segment(token.segment))}**"
    if token.action is TokenAction.ENABLE:
        was = md_cell(shown_segment(token.segment))
        return f"**{ENABLES} {md_cell(token.canonical or '')}** (was {was})"
    return md_cell(shown_segment(token.segment))


def _application_row(item: PlanItem, change: AppOnlyChange) -> str:
    assert isinstance(item.change, PartnerApplicationChange)
    parts = [f"AppOnlyPermissions ({change.before}) -> ({change.after})"]
    if change.removed:
        parts.append("removes " + ", ".join(f"{REMOVED} {md_cell(n)}" for n in change.removed))
    if change.granted:
        parts.append("grants " + ", ".join(f"{ADDED} {md_cell(n)}" for n in change.granted))
    name, identifier = item.change.name, item.change.application_identifier
    target = f"{md_cell(name)} ({md_cell(identifier)})"
    return _row(target, "organisation (partner application)", "; ".join(parts), "-", item)


def _web_config_row(item: PlanItem, judgement: ProfilesJudgement | None) -> str:
    change = item.change
    assert isinstance(change, WebConfigChange)
    if judgement is not None and judgement.tokens:
        value = "\\|".join(token_cell(token) for token in judgement.tokens)
    else:
        value = md_cell(change.audited_value)
    after = md_cell(change.target_value) if change.target_value else "(empty)"
    what = f"OAuthHttpModule.Profiles {value} -> {after}"
    target = f"{md_cell(item.change_set.server or '')} {md_cell(change.vdir)}"
    return _row(target, md_cell(change.path or change.relative_path), what, change.app_pool, item)


def _auth_server_row(item: PlanItem, change: AuthServerChange) -> str:
    before = md_cell(change.audited_value) if change.audited_value else "(empty)"
    what = f"{change.setting.value} {before} -> {md_cell(change.target_value)}"
    target = f"AuthServer {md_cell(change.name)} (Realm {md_cell(change.realm)})"
    return _row(target, "organisation (EvoSTS AuthServer)", what, "-", item)


def _override_row(item: PlanItem, change: SettingOverrideChange) -> str:
    if change.audited_parameters is None:
        before = "(none: created)"
    else:
        before = md_cell(", ".join(change.audited_parameters)) or "(empty)"
    after = md_cell(", ".join(change.target_parameters))
    parts = [f"Parameters {before} -> {after}"] if change.sets_parameters else []
    parts += [
        f"{label} {md_cell(audited)} -> {'(all servers)' if label == 'Server' else '(none)'}"
        for label, audited in change.scope_changes
    ]
    what = "; ".join(parts)
    target = f"setting override {md_cell(change.name)}"
    where = f"organisation ({md_cell(change.component)} / {md_cell(change.section)})"
    return _row(target, where, what, "-", item)


def _row(target: str, where: str, what: str, recycles: str | None, item: PlanItem) -> str:
    remediation, rollback = item.script_names
    scripts = f"{md_cell(remediation)}; {md_cell(rollback)}"
    return f"| {target} | {where} | {what} | {md_cell(recycles or '-')} | {scripts} |"


def _manual_row(step: ManualText) -> str:
    """A runbook-only step: Microsoft's command in RUNBOOK.md, no generated script."""
    what = md_cell(f"{step.title}: {step.effect}")
    scripts = f"MANUAL step {step.label}: no generated script (RUNBOOK.md)"
    where = f"{md_cell(step.target)} | {md_cell(step.place)}"
    return f"| {where} | {what} | {md_cell(step.restart)} | {scripts} |"


def proposed_change(report: Report) -> list[str]:
    """The proposed-change table (or the sentence saying there is none) and what was skipped."""
    lines = ["## Proposed change", ""]
    items = report.plan_items()
    manual = manual_story(report, str, changes_only=True)
    if items or manual:
        changes = decided(report).app_only_changes
        profiles = {j.subject: j for j in reversed(report.judgements.profiles)}
        lines += [
            "| target | where | before -> after | app pool recycled | remediation; rollback |",
            "|---|---|---|---|---|",
        ]
        for item in items:
            if isinstance(item.change, PartnerApplicationChange):
                lines.append(_application_row(item, changes[item.subject]))
            elif isinstance(item.change, AuthServerChange):
                lines.append(_auth_server_row(item, item.change))
            elif isinstance(item.change, SettingOverrideChange):
                lines.append(_override_row(item, item.change))
            else:
                lines.append(_web_config_row(item, profiles.get(item.subject)))
        lines += [_manual_row(step) for step in manual]
    elif report.verdict is Verdict.PASS and not report.active_findings:
        lines.append("No change required.")
    else:
        lines.append("No change is proposed.")
    lines.append("")
    if report.skipped:
        lines += [
            "### Not planned",
            "",
            "| subject | why no script | findings left |",
            "|---|---|---|",
        ]
        lines += [
            f"| {md_cell(item.subject)} | {md_cell(item.reason)} | {len(item.fixes)} |"
            for item in report.skipped
        ]
        lines.append("")
    return lines


_PERMISSION_MARKS = (
    PermissionMark.FORBIDDEN,
    PermissionMark.EXCESS,
    PermissionMark.NOT_IN_ACT_AS,
    PermissionMark.APPROVED,
    PermissionMark.NOT_GRANTED,
)


def application_line(judgement: ApplicationJudgement) -> str | None:
    """`- name (id): MARK: a, b; MARK: c`, or None when no permission carries a mark."""
    parts: list[str] = []
    for mark in _PERMISSION_MARKS:
        names = [row.name for row in judgement.permissions if mark in row.marks]
        if names:
            parts.append(f"{mark.value}: " + ", ".join(md_cell(name) for name in names))
    if not parts:
        return None
    status = "" if judgement.judged else " (AppOnlyPermissions incomplete: forbidden names only)"
    name = md_cell(judgement.name)
    identifier = md_cell(judgement.application_identifier)
    return f"- {name} ({identifier}){status}: " + "; ".join(parts)


def profiles_line(judgement: ProfilesJudgement) -> str | None:
    """`- server vdir (place): segment MARK, MARK -> action; ...` for the segments not plain."""
    parts: list[str] = []
    for token in judgement.tokens:
        if token.marks == (TokenMark.HONOURED,):
            continue
        marks = ", ".join(mark.value for mark in token.marks)
        parts.append(f"{md_cell(shown_segment(token.segment))} {marks} -> {token.action.value}")
    if not parts:
        return None
    where = f"{md_cell(judgement.server)} {md_cell(judgement.vdir)} ({md_cell(judgement.place)})"
    return f"- {where}: " + "; ".join(parts)


def scope_lines(report: Report) -> list[str]:
    """The verdict with its scope, and every piece of evidence not assessed."""
    scope = report.scope
    lines = [
        f"**{md_cell(report.verdict_line)}**",
        "",
        f"- {md_cell(scope.servers_text())}: "
        + (", ".join(md_cell(server) for server in scope.servers) or "none"),
        f"- judged vdirs: {', '.join(md_cell(vdir) for vdir in scope.vdirs)}",
    ]
    lines += [f"- excluded: {md_cell(name)} ({md_cell(why)})" for name, why in scope.excluded]
    lines += [
        f"- **weakens the shipped default**: {md_cell(weakening.text)}"
        for weakening in report.policy.weakenings
    ]
    for item in scope.not_assessed:
        lines.append(
            f"- not assessed: {md_cell(item.what)}, {item.state.value} "
            f"(`{md_cell(item.path)}`): {md_cell(item.note)}"
        )
    return [*lines, ""]


def render_markdown(report: Report) -> str:
    """The Markdown summary of one audit."""
    lines = [
        f"# auditor: Current configuration: {report.verdict.configuration}",
        "",
        *scope_lines(report),
        *proposed_change(report),
        *_overview(report),
        *_judgement_lines(report),
        *_trust_lines(report),
        *_findings(report),
        *_scripts_rules_problems(report),
    ]
    return "\n".join(lines)


def _overview(report: Report) -> list[str]:
    counts = report.counts()
    lines = [
        f"- change id: `{md_cell(report.change_id)}`",
        f"- judged as of: {report.as_of}",
        f"- policy: {md_cell(report.policy.name)} (sha256 `{report.policy.sha256}`)",
        f"- fails on: {report.fail_on.value} and above",
        f"- inputs: {len(report.inventory.inputs)} files, "
        f"{len(report.inventory.partner_applications)} partner applications, "
        f"{len(report.inventory.web_configs)} web.config files",
        "",
        "| severity | active findings |",
        "|---|---|",
        *(f"| {severity.value} | {counts[severity]} |" for severity in Severity),
        "",
    ]
    if not report.complete:
        lines += [
            "**The audit is incomplete**: evidence a rule needed could not be read. "
            "Fix the inputs listed under problems and audit again.",
            "",
        ]
    return lines


def _judgement_lines(report: Report) -> list[str]:
    judged = [
        line
        for line in (
            *(application_line(j) for j in report.judgements.applications),
            *(profiles_line(j) for j in report.judgements.profiles),
        )
        if line is not None
    ]
    return ["## Judgements", "", *judged, ""] if judged else []


def _trust_lines(report: Report) -> list[str]:
    """The hybrid-trust checklist as `Report.decisions.trust` decided it (only when chosen)."""
    checklist = decided(report).trust
    if checklist is None:
        return []
    lines = ["## Hybrid trust", ""]
    for check in checklist.checks:
        evidence = ", ".join(f"`{md_cell(path)}`" for path in check.evidence) or "none given"
        lines.append(
            f"- **{check.state.value.upper()}** {md_cell(check.item)} "
            f"({check.rules_text}): {md_cell(check.text.rstrip('.'))}; evidence: {evidence}"
        )
    return [*lines, ""]


def _findings(report: Report) -> list[str]:
    lines = ["## Findings", ""]
    if not report.findings:
        return [*lines, "No findings.", ""]
    lines += [
        "| rule | severity | subject | where | status | script |",
        "|---|---|---|---|---|---|",
    ]
    decisions = decided(report)
    for finding in report.findings:
        status = "active"
        new = "**NEW** " if report.baseline_state(finding) is BaselineState.NEW else ""
        if finding.suppressed and finding.waiver is not None:
            status = f"waived ({finding.waiver.ticket}, until {finding.waiver.expires})"
        resolution = decisions.resolution(finding)
        script = resolution.text if resolution.script else "-"
        lines.append(
            f"| {finding.rule_id} | {finding.severity.value} | {md_cell(finding.subject)} | "
            f"{md_cell(finding.location.place)} | {new}{md_cell(status)} | {md_cell(script)} |"
        )
    return [*lines, "", *_baseline_lines(report)]


def _baseline_lines(report: Report) -> list[str]:
    """With `--baseline`: how many findings are new, unchanged and fixed, and the fixed ones."""
    baseline = report.baseline
    if baseline is None:
        return []
    new = len(report.new_findings)
    lines = [
        f"Against the baseline {md_cell(baseline.file)}: **{new} new**, "
        f"{len(report.findings) - new} unchanged, {len(baseline.fixed)} fixed.",
        "",
    ]
    for fixed in baseline.fixed:
        lines.append(f"- FIXED {fixed.rule_id} {md_cell(fixed.subject)}")
    return [*lines, ""] if baseline.fixed else lines


def _scripts_rules_problems(report: Report) -> list[str]:
    lines: list[str] = []
    if report.scripts:
        lines += ["## Scripts", "", "| script | sha256 |", "|---|---|"]
        lines += [f"| {md_cell(script.name)} | `{script.sha256}` |" for script in report.scripts]
        lines.append("")
    if report.not_applied:
        lines += ["## Rules not applied", ""]
        lines += [f"- {item.rule_id}: {md_cell(item.reason)}" for item in report.not_applied]
        lines.append("")
    if report.inventory.problems:
        lines += ["## Problems", ""]
        for problem in report.inventory.problems:
            lines.append(
                f"- `{md_cell(problem.place)}` {problem.code.value}: {md_cell(problem.message)}"
            )
        lines.append("")
    return lines
