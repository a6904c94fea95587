"""The rule registry and `evaluate`: from an inventory and a policy to ordered findings.

Every rule auditor implements is listed once in `RULES` with the kind of input it reads; its
metadata (title, severity, rationale, references, remediation template) is declared once in
`policies/default.yaml` and read through `Policy.rule(id)`. Rules are pure functions of a
`RuleContext` (inventory, policy, the audit date) and live one family per module:
`evidence` (EV001, EV002), `partner_apps` (PA001-PA005), `web_config` (WC001-WC003), `fleet`
(FL001) and `waivers` (WV001, and applying waivers to the other findings). The decision per
permission and per profile token that PA001-PA004 and WC001/WC002 rest on is made once, in
`judge`, and returned with the findings.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from auditor.decisions import leaves_evidence_unassessed
from auditor.model import (
    EvidenceClass,
    Finding,
    Inventory,
    Judgements,
    NotApplied,
    Policy,
    RuleId,
    Scope,
)
from auditor.rules import evidence, fleet, partner_apps, waivers, web_config
from auditor.rules.context import RuleContext


class Needs(StrEnum):
    """The input a rule reads; without it the rule is listed as not applied."""

    NOTHING = "nothing"
    PARTNER_APPLICATIONS = "partner-applications"
    WEB_CONFIGS = "web-configs"
    SEVERAL_SERVERS = "several-servers"


_EVIDENCE_CLASS = {
    Needs.PARTNER_APPLICATIONS: EvidenceClass.PARTNER_APPLICATIONS,
    Needs.WEB_CONFIGS: EvidenceClass.WEB_CONFIG,
    Needs.SEVERAL_SERVERS: EvidenceClass.WEB_CONFIG,
}

_NOT_APPLIED_REASON = {
    Needs.PARTNER_APPLICATIONS: "no partner application was read (no usable export given)",
    Needs.WEB_CONFIGS: "no web.config was read",
    Needs.SEVERAL_SERVERS: "web.config files of fewer than two servers were read",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its id, the input it needs and the pure function that checks it."""

    id: RuleId
    needs: Needs
    check: Callable[[RuleContext], Iterable[Finding]]


RULES: tuple[Rule, ...] = (
    Rule(RuleId.EV001, Needs.NOTHING, evidence.check_ev001),
    Rule(RuleId.EV002, Needs.NOTHING, evidence.check_ev002),
    Rule(RuleId.PA001, Needs.PARTNER_APPLICATIONS, partner_apps.check_pa001),
    Rule(RuleId.PA002, Needs.PARTNER_APPLICATIONS, partner_apps.check_pa002),
    Rule(RuleId.PA003, Needs.PARTNER_APPLICATIONS, partner_apps.check_pa003),
    Rule(RuleId.PA004, Needs.PARTNER_APPLICATIONS, partner_apps.check_pa004),
    Rule(RuleId.PA005, Needs.PARTNER_APPLICATIONS, partner_apps.check_pa005),
    Rule(RuleId.WC001, Needs.WEB_CONFIGS, web_config.check_wc001),
    Rule(RuleId.WC002, Needs.WEB_CONFIGS, web_config.check_wc002),
    Rule(RuleId.WC003, Needs.WEB_CONFIGS, web_config.check_wc003),
    Rule(RuleId.FL001, Needs.SEVERAL_SERVERS, fleet.check_fl001),
    Rule(RuleId.WV001, Needs.NOTHING, waivers.check_wv001),
)

RULE_IDS: tuple[RuleId, ...] = tuple(rule.id for rule in RULES)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What the rules made of an inventory.

    `findings` are ordered by severity (most severe first), rule id, subject, location;
    suppressed findings stay in the list. `not_applied` lists disabled rules and rules that
    had no input of their kind. `complete` is False when evidence was incomplete or an input
    could not be read (EV001/EV002), unless the caller allowed an incomplete audit.
    `judgements` holds the decision per permission and per profile token that the PA and WC
    findings were raised from (what a remediation would do, before any plan is made).
    """

    findings: tuple[Finding, ...]
    not_applied: tuple[NotApplied, ...]
    complete: bool
    judgements: Judgements


def evaluate(
    inventory: Inventory,
    policy: Policy,
    *,
    as_of: datetime.date,
    allow_incomplete: bool = False,
    scope: Scope | None = None,
) -> Evaluation:
    """Run every enabled rule that has input, apply the waivers in force on `as_of`, order.

    `allow_incomplete` only decides `Evaluation.complete`: no rule is ever evaluated on
    incomplete evidence, and EV001/EV002 findings are produced either way. A rule whose
    evidence class the `scope` leaves out is not applied, and says so.
    """
    context = RuleContext.build(inventory, policy, as_of)
    findings: list[Finding] = []
    not_applied: list[NotApplied] = []
    for rule in RULES:
        if not policy.rule(rule.id).enabled:
            not_applied.append(NotApplied(rule.id, "disabled by the policy"))
            continue
        evidence_class = _EVIDENCE_CLASS.get(rule.needs)
        if scope is not None and evidence_class is not None and evidence_class in scope.narrowed:
            by = f" ({scope.narrowed_by})" if scope.narrowed_by else ""
            reason = f"{evidence_class.label} are not in the audit's scope{by}"
            not_applied.append(NotApplied(rule.id, reason))
            continue
        missing = _missing_input(rule.needs, inventory)
        if missing is not None:
            not_applied.append(NotApplied(rule.id, missing))
            continue
        findings.extend(rule.check(context))
    waived = waivers.apply_waivers(findings, policy, as_of)
    return Evaluation(
        findings=_ordered(waived),
        not_applied=tuple(not_applied),
        complete=allow_incomplete or not _evidence_missing(inventory),
        judgements=context.judgements,
    )


def _missing_input(needs: Needs, inventory: Inventory) -> str | None:
    if needs is Needs.PARTNER_APPLICATIONS and not inventory.partner_applications:
        return _NOT_APPLIED_REASON[needs]
    if needs is Needs.WEB_CONFIGS and not inventory.web_configs:
        return _NOT_APPLIED_REASON[needs]
    if needs is Needs.SEVERAL_SERVERS:
        servers = {config.server.casefold() for config in inventory.web_configs}
        if len(servers) < 2:
            return _NOT_APPLIED_REASON[needs]
    return None


def _evidence_missing(inventory: Inventory) -> bool:
    if any(leaves_evidence_unassessed(problem) for problem in inventory.problems):
        return True
    return any(
        not (app.act_as_permissions.complete and app.app_only_permissions.complete)
        for app in inventory.partner_applications
    )


def _ordered(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Severity desc, rule id, subject, location; one finding per fingerprint.

    Findings with equal keys come from the same record and keep the order the rule found them
    in (document order: the sort is stable).
    """

    def key(finding: Finding) -> tuple[int, str, str, str, int]:
        line = finding.location.line if finding.location.line is not None else -1
        return (
            -finding.severity.rank,
            finding.rule_id,
            finding.subject,
            finding.location.path,
            line,
        )

    unique: dict[str, Finding] = {}
    for finding in sorted(findings, key=key):
        unique.setdefault(finding.fingerprint, finding)
    return tuple(unique.values())
