"""A throwaway rule in a package of its own, registered the documented way.

`fixture_rule_pkg-1.0.dist-info/entry_points.txt` beside this package names it in the
`auditor.rules` entry-point group, as a package's `pyproject.toml` would
(`[project.entry-points."auditor.rules"] fixture = "fixture_rule_pkg"`). The module declares
one rule beside its check and lists it in `RULES`; nothing in auditor names it.
tests/rules/test_rule_plugin.py puts this folder on `sys.path` and checks that the rule reaches
every output that lists rules.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Location, Severity
from auditor.rules import Needs, rule
from auditor.rules.context import RuleContext, new_finding


@rule(
    "XT001",
    title="Partner application is enabled (fixture rule)",
    severity=Severity.INFO,
    needs=Needs.PARTNER_APPLICATIONS,
    remediation=None,
    fires_when="A partner application is enabled.",
    rationale="A fixture rule: it shows that a rule of another package reaches every output.",
    references=("https://example.org/auditor/fixture-rule",),
    example="`Get-PartnerApplication | Format-List Name, Enabled` shows `Enabled : True`.",
)
def check_xt001(context: RuleContext) -> Iterator[Finding]:
    for app in context.inventory.partner_applications:
        if app.enabled:
            yield new_finding(
                context,
                "XT001",
                subject=app.subject,
                message=f"Partner application '{app.name}' is enabled.",
                location=Location(app.source.path, app.source.line),
                evidence=(app.source,),
            )


RULES = (check_xt001,)
