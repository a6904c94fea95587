"""Rules EV001 (incomplete evidence) and EV002 (unreadable input): the audit's own limits.

Every `Problem` the parsers reported becomes a finding: `incomplete-evidence` problems are
EV001, every other code EV002. A partner application whose permission list is incomplete also
gets an EV001 of its own unless a parser problem already points at the same property, so that
no rule is ever evaluated on a guess without the report saying so.

A problem's severity carries through: the finding of a problem the parser graded below high
(a LOW `Enabled` value that is neither True nor False) has the problem's severity, never more
than the rule's; and only a problem that leaves evidence a rule needs not assessed makes the
audit incomplete (exit 2): every problem does, unless the parser graded it low or info and it is
not about incomplete evidence (`auditor.decisions.leaves_evidence_unassessed`: fail closed
when unsure).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from auditor.model import (
    Finding,
    Location,
    PartnerApplication,
    PermissionList,
    Problem,
    ProblemCode,
    RuleId,
    Severity,
)
from auditor.rules.context import RuleContext, new_finding


def problem_subject(problem: Problem) -> str:
    """The subject of a problem: what it is about, or the input itself."""
    return problem.subject or f"input:{problem.path}"


def check_ev001(context: RuleContext) -> Iterator[Finding]:
    """EV001: one finding per incomplete-evidence problem and per uncovered incomplete list."""
    covered_subjects: set[str] = set()
    covered_places: set[tuple[str, int | None]] = set()
    for problem in context.inventory.problems:
        if problem.code is not ProblemCode.INCOMPLETE_EVIDENCE:
            continue
        covered_subjects.add(problem_subject(problem))
        covered_places.add((problem.path, problem.line))
        yield _problem_finding(context, RuleId.EV001, problem)
    for app in context.inventory.partner_applications:
        for label, permissions in _permission_lists(app):
            place = (permissions.evidence.path, permissions.evidence.line)
            if permissions.complete or place in covered_places:
                continue
            if app.subject in covered_subjects:
                continue
            yield _incomplete_list_finding(context, app, label, permissions)


def check_ev002(context: RuleContext) -> Iterator[Finding]:
    """EV002: one finding per problem that is not about incomplete evidence."""
    for problem in context.inventory.problems:
        if problem.code is not ProblemCode.INCOMPLETE_EVIDENCE:
            yield _problem_finding(context, RuleId.EV002, problem)


def _problem_finding(context: RuleContext, rule_id: RuleId, problem: Problem) -> Finding:
    place = problem.path if problem.line is None else f"{problem.path}, line {problem.line}"
    consequence = (
        "rules that need it were not evaluated"
        if rule_id is RuleId.EV001
        else "its content was not audited"
    )
    finding = new_finding(
        context,
        rule_id,
        subject=problem_subject(problem),
        message=f"{place}: {problem.message} ({problem.code.value}; {consequence}).",
        location=Location(problem.path, problem.line),
        discriminator=f"{problem.code.value}:{problem.message}",
        details={
            "code": problem.code.value,
            "path": problem.path,
            "line": problem.line,
            "problem": problem.message,
        },
    )
    if problem.severity.at_least(Severity.HIGH) or problem.severity.at_least(finding.severity):
        return finding
    return dataclasses.replace(finding, severity=problem.severity)


def _permission_lists(app: PartnerApplication) -> tuple[tuple[str, PermissionList], ...]:
    return (
        ("ActAsPermissions", app.act_as_permissions),
        ("AppOnlyPermissions", app.app_only_permissions),
    )


def _incomplete_list_finding(
    context: RuleContext, app: PartnerApplication, label: str, permissions: PermissionList
) -> Finding:
    evidence = permissions.evidence
    return new_finding(
        context,
        RuleId.EV001,
        subject=app.subject,
        message=(
            f"Partner application '{app.name}' ({app.application_identifier}): {label} is "
            f"incomplete in {evidence.path} ({evidence.raw!r}); the partner-application rules "
            "were not evaluated on it. Export it again with Export-Clixml."
        ),
        location=Location(evidence.path, evidence.line),
        evidence=(evidence,),
        discriminator=f"incomplete-evidence:{label}",
        details={
            "code": ProblemCode.INCOMPLETE_EVIDENCE.value,
            "property": label,
            "shown": list(permissions.values),
        },
    )
