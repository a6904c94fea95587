"""Rules PA001-PA005: a partner application's AppOnlyPermissions against the policy.

The decisions are made once, per permission, in `auditor.rules.judge` (`ApplicationJudgement`);
these rules only raise findings from them. A permission list that the export truncated is not
compared (EV001 reports it instead); only a forbidden name it does show is reported (PA003),
because that name is certainly granted. Approved names match exactly; forbidden patterns match
case-insensitively and against each space-separated part of a name, so a mis-cased `mail.send`
or a `Mail.Send` glued into one string is still forbidden (both choices fail closed).

`details` of PA001-PA004 findings (`app_only`, `act_as`, `approved`, `excess`, `forbidden`,
`forbidden_patterns`, `not_in_act_as`) is a JSON copy of the judgement for `findings.json`
readers; the planner and the renderers read `Report.judgements`, not these details.

A finding's fingerprint covers what it is about: the application (its subject) and the set of
permissions it names (`permission_set`: sorted, duplicates once). A later grant of one more
forbidden or unapproved permission is therefore a new finding against a baseline, never
"unchanged"; the same names in another order are the same finding. PA005 is about the
application alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from auditor.model import (
    ApplicationJudgement,
    Evidence,
    Finding,
    Location,
    PartnerApplication,
    PermissionJudgement,
    PermissionMark,
    Severity,
)
from auditor.rules.context import RuleContext, listing, new_finding, permission_set
from auditor.rules.declaration import Needs, Remediation, rule


@dataclass(frozen=True, slots=True)
class _Judged:
    """One application record beside its judgement."""

    app: PartnerApplication
    judgement: ApplicationJudgement

    @property
    def label(self) -> str:
        return f"Partner application '{self.app.name}' ({self.app.application_identifier})"

    def marked(self, mark: PermissionMark) -> tuple[PermissionJudgement, ...]:
        """The judged permissions carrying `mark`, in the order AppOnlyPermissions list them."""
        rows = {row.name: row for row in self.judgement.permissions if mark in row.marks}
        order = dict.fromkeys(self.app.app_only_permissions.values)
        return tuple(rows[name] for name in order if name in rows)

    @property
    def excess(self) -> tuple[str, ...]:
        return tuple(row.name for row in self.marked(PermissionMark.EXCESS))

    @property
    def not_in_act_as(self) -> tuple[str, ...]:
        return tuple(row.name for row in self.marked(PermissionMark.NOT_IN_ACT_AS))

    @property
    def forbidden(self) -> tuple[tuple[str, str], ...]:
        return tuple(
            (row.name, row.forbidden_by)
            for row in self.marked(PermissionMark.FORBIDDEN)
            if row.forbidden_by is not None
        )

    def details(self) -> dict[str, Any]:
        return {
            "application_identifier": self.judgement.application_identifier,
            "name": self.app.name,
            "app_only": list(dict.fromkeys(self.app.app_only_permissions.values)),
            "act_as": list(self.app.act_as_permissions.values),
            "approved": list(self.judgement.approved),
            "excess": list(self.excess),
            "forbidden": [permission for permission, _ in self.forbidden],
            "forbidden_patterns": dict(self.forbidden),
            "not_in_act_as": list(self.not_in_act_as),
        }

    def location(self) -> Location:
        evidence = self.app.app_only_permissions.evidence
        return Location(evidence.path, evidence.line)

    def evidence(self) -> tuple[Evidence, ...]:
        return (self.app.app_only_permissions.evidence, self.app.act_as_permissions.evidence)

    def finding(
        self, context: RuleContext, rule_id: str, message: str, names: Iterable[str]
    ) -> Finding:
        """A finding of `rule_id` about this application and the permission `names` it names."""
        return new_finding(
            context,
            rule_id,
            subject=self.app.subject,
            message=message,
            location=self.location(),
            evidence=self.evidence(),
            details=self.details(),
            discriminator=permission_set(names),
        )


def _judged(context: RuleContext, *, complete_only: bool = True) -> Iterator[_Judged]:
    """Every application with app-only permissions, beside its judgement."""
    records = context.inventory.partner_applications
    for app, judgement in zip(records, context.judgements.applications, strict=True):
        if not app.app_only_permissions.values:
            continue
        if complete_only and not judgement.judged:
            continue
        yield _Judged(app, judgement)


@rule(
    "PA001",
    title="AppOnlyPermissions are a wholesale copy of ActAsPermissions",
    severity=Severity.CRITICAL,
    needs=Needs.PARTNER_APPLICATIONS,
    remediation=Remediation.PARTNER_APPLICATION_APP_ONLY,
    fires_when=(
        "An application's AppOnlyPermissions hold the same names as its ActAsPermissions (the "
        "wholesale copy of the recipe), both lists complete and not empty."
    ),
    rationale=(
        "A widely copied recipe runs `Set-PartnerApplication -AppOnlyPermissions "
        "$apps[1].ActAsPermissions`, which turns every delegated permission of the application "
        "into an app-only grant; for Microsoft Graph that is 29 permissions including Mail.Send, "
        "Mail.ReadWrite and Privilege.SkipClientAccessRules. On-premises Exchange has no "
        "application access policies or RBAC for Applications, so whoever holds the application's "
        "credentials can then act on every on-premises mailbox. Microsoft documents "
        "-AppOnlyPermissions as reserved for internal Microsoft use, and hybrid REST, the only "
        "reason for the recipe, is blocked since March 2023."
    ),
    references=(
        "https://learn.microsoft.com/powershell/module/exchangepowershell/set-partnerapplication",
        "https://blog.thenetw.org/2019/05/13/using-client_credentials-with-microsoft-graph-in-hybrid-exchange-setup/",
        "https://github.com/microsoftgraph/microsoft-graph-docs-contrib/blob/main/concepts/hybrid-rest-support.md",
        "https://learn.microsoft.com/en-us/graph/auth-limit-mailbox-access",
    ),
)
def check_pa001(context: RuleContext) -> Iterator[Finding]:
    """PA001: AppOnlyPermissions equal ActAsPermissions (as sets, non-empty)."""
    for judgement in _judged(context):
        app = judgement.app
        if not app.act_as_permissions.complete:
            continue
        if set(app.app_only_permissions.values) != set(app.act_as_permissions.values):
            continue
        count = len(set(app.act_as_permissions.values))
        yield judgement.finding(
            context,
            "PA001",
            (
                f"{judgement.label} has AppOnlyPermissions identical to its ActAsPermissions: "
                f"all {count} delegated permissions are granted app-only, for every mailbox."
            ),
            app.app_only_permissions.values,
        )


@rule(
    "PA002",
    title="AppOnlyPermissions hold permissions the policy does not approve",
    severity=Severity.HIGH,
    needs=Needs.PARTNER_APPLICATIONS,
    remediation=Remediation.PARTNER_APPLICATION_APP_ONLY,
    fires_when=(
        "An application's AppOnlyPermissions hold a name the policy does not approve for that "
        "application (by default no app-only permission is approved for any application)."
    ),
    rationale=(
        "An app-only permission lets the application act without a signed-in user on every "
        "mailbox of the organisation; Microsoft's Graph documentation calls such grants "
        "tenant-wide, and the scoping tools Exchange Online offers (application access policies, "
        "RBAC for Applications) do not exist on-premises. Each app-only permission therefore "
        "needs an explicit approval in the organisation policy; by default none is approved."
    ),
    references=(
        "https://learn.microsoft.com/en-us/graph/auth-limit-mailbox-access",
        "https://learn.microsoft.com/en-us/exchange/permissions-exo/application-rbac",
        "https://learn.microsoft.com/powershell/module/exchangepowershell/set-partnerapplication",
    ),
)
def check_pa002(context: RuleContext) -> Iterator[Finding]:
    """PA002: AppOnlyPermissions hold names the policy does not approve for the application."""
    for judgement in _judged(context):
        excess = judgement.excess
        if not excess:
            continue
        approved = judgement.judgement.approved
        approved_text = listing(approved) if approved else "none"
        yield judgement.finding(
            context,
            "PA002",
            (
                f"{judgement.label} holds {len(excess)} app-only permission(s) the "
                f"policy does not approve: {listing(excess)} (approved: {approved_text})."
            ),
            excess,
        )


@rule(
    "PA003",
    title="AppOnlyPermissions hold a permission that is forbidden outright",
    severity=Severity.CRITICAL,
    needs=Needs.PARTNER_APPLICATIONS,
    remediation=Remediation.PARTNER_APPLICATION_APP_ONLY,
    fires_when=(
        "An application's AppOnlyPermissions hold a name matching a pattern the policy forbids "
        "outright (for example `Mail.Send*`, `*.ReadWrite*`, `Privilege.*`), in any letter case, "
        "also inside a glued list item."
    ),
    rationale=(
        "Some permissions must never be granted app-only on-premises, approval or not: sending "
        "mail as any user (Mail.Send), writing any mailbox, calendar, contact, user, group or "
        "site data (*.ReadWrite*, *.Write*), privileges such as Privilege.SkipClientAccessRules, "
        "and full mailbox access (full_access_as_app). With no mailbox scoping on-premises, one "
        "leaked credential would let an attacker read, change and send from every mailbox."
    ),
    references=(
        "https://learn.microsoft.com/en-us/graph/auth-limit-mailbox-access",
        "https://learn.microsoft.com/powershell/module/exchangepowershell/set-partnerapplication",
        "https://blog.thenetw.org/2019/05/13/using-client_credentials-with-microsoft-graph-in-hybrid-exchange-setup/",
    ),
)
def check_pa003(context: RuleContext) -> Iterator[Finding]:
    """PA003: AppOnlyPermissions hold permissions forbidden outright (one finding per app).

    Evaluated on incomplete lists too: a forbidden name the export shows is granted.
    """
    for judgement in _judged(context, complete_only=False):
        if not judgement.forbidden:
            continue
        named = [f"{permission} ({pattern})" for permission, pattern in judgement.forbidden]
        yield judgement.finding(
            context,
            "PA003",
            (
                f"{judgement.label} holds {len(named)} app-only permission(s) forbidden "
                f"outright: {listing(named)}."
            ),
            (permission for permission, _ in judgement.forbidden),
        )


@rule(
    "PA004",
    title="AppOnlyPermissions hold a name that is not among the ActAsPermissions",
    severity=Severity.MEDIUM,
    needs=Needs.PARTNER_APPLICATIONS,
    remediation=Remediation.PARTNER_APPLICATION_APP_ONLY,
    fires_when=(
        "An application's AppOnlyPermissions hold a name that is not among its ActAsPermissions."
    ),
    rationale=(
        "Exchange writes -AppOnlyPermissions through without validating the names, so a typo or a "
        "permission the application was never given for delegated use ends up stored as an "
        "app-only grant. Such a grant was not reviewed with the application and may be a "
        "misspelling that hides the permission someone meant to grant."
    ),
    references=(
        "https://learn.microsoft.com/powershell/module/exchangepowershell/set-partnerapplication",
    ),
)
def check_pa004(context: RuleContext) -> Iterator[Finding]:
    """PA004: AppOnlyPermissions hold names that are not among the ActAsPermissions."""
    for judgement in _judged(context):
        if not judgement.not_in_act_as:
            continue
        yield judgement.finding(
            context,
            "PA004",
            (
                f"{judgement.label} holds app-only permission(s) that are not among its "
                f"ActAsPermissions: {listing(judgement.not_in_act_as)}."
            ),
            judgement.not_in_act_as,
        )


@rule(
    "PA005",
    title="Partner application is not known to the policy",
    severity=Severity.MEDIUM,
    needs=Needs.PARTNER_APPLICATIONS,
    remediation=None,
    fires_when=(
        "A partner application's ApplicationIdentifier is not known to the policy (`applications`)."
    ),
    rationale=(
        "A hybrid organisation normally holds a handful of partner applications created by "
        "Exchange, the Hybrid Configuration Wizard or the Teams/Skype integration (Exchange "
        "Online, Microsoft Graph, TeamsScheduler, CloudVoicemail, SfBLegacy). Any other "
        "application can obtain OAuth tokens for Exchange and must be identified and recorded in "
        "the organisation policy, matched by ApplicationIdentifier rather than by position."
    ),
    references=(
        "https://learn.microsoft.com/powershell/module/exchangepowershell/get-partnerapplication",
        "https://learn.microsoft.com/powershell/module/exchange/test-oauthconnectivity",
        "https://learn.microsoft.com/skypeforbusiness/deploy/integrate-with-exchange-server/oauth-with-online-and-on-premises",
    ),
)
def check_pa005(context: RuleContext) -> Iterator[Finding]:
    """PA005: a partner application whose ApplicationIdentifier the policy does not know."""
    for app in context.inventory.partner_applications:
        if context.policy.application(app.application_identifier) is not None:
            continue
        yield new_finding(
            context,
            "PA005",
            subject=app.subject,
            message=(
                f"Partner application '{app.name}' ({app.application_identifier}) is not known "
                "to the policy; identify it and record it under `applications`."
            ),
            location=Location(app.source.path, app.source.line),
            evidence=(app.source,),
            details={
                "application_identifier": app.application_identifier.lower(),
                "name": app.name,
                "enabled": app.enabled,
                "linked_account": app.linked_account,
            },
        )


RULES = (check_pa001, check_pa002, check_pa003, check_pa004, check_pa005)
