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
    Severity,
)
from auditor.rules.context import RuleContext, new_finding
from auditor.rules.declaration import Needs, rule


def problem_subject(problem: Problem) -> str:
    """The subject of a problem: what it is about, or the input itself."""
    return problem.subject or f"input:{problem.path}"


@rule(
    "EV001",
    title="Evidence is incomplete",
    severity=Severity.HIGH,
    needs=Needs.NOTHING,
    remediation=None,
    fires_when=(
        "Evidence a rule needs is incomplete: a Format-List list cut at $FormatEnumerationLimit, "
        "a list ConvertTo-Json flattened to a string, a CSV column holding a type name, a list "
        "item no permission name could be, an appSettings file that was not supplied. The rules "
        "that need it are not evaluated on a guess."
    ),
    rationale=(
        "The export lost data before auditor saw it: Format-List shows only the first "
        '$FormatEnumerationLimit (default 4) values of a list and ends it with "..." or "…", '
        "ConvertTo-Json silently replaces lists deeper than -Depth 2 with a string in Windows "
        "PowerShell 5.1, and Export-Csv writes a type name such as System.String[] instead of the "
        "permissions. No rule is evaluated on such a guess, so the audit is not complete until a "
        "complete export (e.g. `auditor collect`, which uses Export-Clixml) is supplied."
    ),
    references=(
        "https://github.com/MicrosoftDocs/PowerShell-Docs/blob/main/reference/5.1/Microsoft.PowerShell.Core/About/about_Preference_Variables.md",
        "https://github.com/MicrosoftDocs/PowerShell-Docs/blob/main/reference/5.1/Microsoft.PowerShell.Utility/ConvertTo-Json.md",
        "https://github.com/MicrosoftDocs/PowerShell-Docs/blob/main/reference/5.1/Microsoft.PowerShell.Utility/Export-Csv.md",
    ),
)
def check_ev001(context: RuleContext) -> Iterator[Finding]:
    """EV001: one finding per incomplete-evidence problem and per uncovered incomplete list."""
    covered_subjects: set[str] = set()
    covered_places: set[tuple[str, int | None]] = set()
    for problem in context.inventory.problems:
        if problem.code is not ProblemCode.INCOMPLETE_EVIDENCE:
            continue
        covered_subjects.add(problem_subject(problem))
        covered_places.add((problem.path, problem.line))
        yield _problem_finding(context, "EV001", problem)
    for app in context.inventory.partner_applications:
        for label, permissions in _permission_lists(app):
            place = (permissions.evidence.path, permissions.evidence.line)
            if permissions.complete or place in covered_places:
                continue
            if app.subject in covered_subjects:
                continue
            yield _incomplete_list_finding(context, app, label, permissions)


@rule(
    "EV002",
    title="Input could not be read",
    severity=Severity.HIGH,
    needs=Needs.NOTHING,
    remediation=None,
    fires_when=(
        "An input cannot be read or parsed, or is refused as hostile (a DTD or entity "
        "declaration, an oversize or binary file), or two inputs disagree in a way no rule can "
        "judge."
    ),
    rationale=(
        "An input file could not be read, was not in a format auditor understands, or was refused "
        "as hostile (a DTD or entity declaration, an oversize or binary file). Whatever that file "
        "held was not audited, so the result cannot be called clean. Re-export the file with the "
        "collection script and audit again."
    ),
    references=(
        "https://learn.microsoft.com/powershell/module/exchangepowershell/get-partnerapplication",
    ),
)
def check_ev002(context: RuleContext) -> Iterator[Finding]:
    """EV002: one finding per problem that is not about incomplete evidence."""
    for problem in context.inventory.problems:
        if problem.code is not ProblemCode.INCOMPLETE_EVIDENCE:
            yield _problem_finding(context, "EV002", problem)


def _problem_finding(context: RuleContext, rule_id: str, problem: Problem) -> Finding:
    place = problem.path if problem.line is None else f"{problem.path}, line {problem.line}"
    consequence = (
        "rules that need it were not evaluated"
        if rule_id == "EV001"
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
        "EV001",
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


RULES = (check_ev001, check_ev002)
