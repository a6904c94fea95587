"""`evaluate`: from an inventory and a policy to ordered findings, by every registered rule.

Each rule is declared once, in its rule module beside its check (`@rule`, see
`auditor.rules.declaration`): id, default severity, title, when it fires, the evidence it needs,
its remediation kind and the text of its docs. `auditor.rules.registry` collects them (the
built-in modules, then rules of other packages registered through the `auditor.rules` entry
point group); the policy loader starts every rule's effective settings (`Policy.rule(id)`) from
its declaration. Rules are pure functions of a `RuleContext` (inventory, policy, the audit
date) and live one family per module: `evidence` (EV001, EV002), `partner_apps`
(PA001-PA005), `web_config` (WC001-WC003), `fleet` (FL001) and `waivers` (WV001, and applying
waivers to the other findings). The decision per permission and per profile token that
PA001-PA004 and WC001/WC002 rest on is made once, in `judge`, and returned with the findings.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from auditor.decisions import leaves_evidence_unassessed
from auditor.model import (
    Finding,
    Inventory,
    Judgements,
    NotApplied,
    Policy,
    Scope,
)
from auditor.rules import trust_common, waivers
from auditor.rules.context import RuleContext
from auditor.rules.declaration import Needs, Remediation, Rule, rule
from auditor.rules.registry import BUILTIN_RULES, registered_rules

__all__ = [
    "RULES",
    "RULE_IDS",
    "Evaluation",
    "Needs",
    "Remediation",
    "Rule",
    "evaluate",
    "registered_rules",
    "rule",
]

# The rules auditor itself ships, in catalogue order (`registered_rules()` adds the plugins').
RULES: tuple[Rule, ...] = BUILTIN_RULES
RULE_IDS: tuple[str, ...] = tuple(declared.id for declared in RULES)

_NOT_APPLIED_REASON = {
    Needs.PARTNER_APPLICATIONS: "no partner application was read (no usable export given)",
    Needs.WEB_CONFIGS: "no web.config was read",
    Needs.SEVERAL_SERVERS: "web.config files of fewer than two servers were read",
    Needs.HYBRID_TRUST: "no hybrid-trust export was read",
}


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
    for declared in registered_rules():
        reason = _not_applied(declared, policy, inventory, scope)
        if reason is not None:
            not_applied.append(NotApplied(declared.id, reason))
            continue
        findings.extend(declared.check(context))
    waived = waivers.apply_waivers(findings, policy, as_of)
    return Evaluation(
        findings=_ordered(waived),
        not_applied=tuple(not_applied),
        complete=allow_incomplete or not _evidence_missing(inventory),
        judgements=context.judgements,
    )


def _not_applied(
    declared: Rule, policy: Policy, inventory: Inventory, scope: Scope | None
) -> str | None:
    """Why `declared` is not applied to this audit, or None when it runs."""
    if not policy.rule(declared.id).enabled:
        return "disabled by the policy"
    evidence_class = declared.needs.evidence_class
    if scope is not None and evidence_class is not None and evidence_class in scope.narrowed:
        by = f" ({scope.narrowed_by})" if scope.narrowed_by else ""
        return f"{evidence_class.label} left out of the audit's scope{by}"
    unassessed = trust_common.not_assessed(declared.id, inventory)
    if unassessed is not None:
        return unassessed
    return _missing_input(declared.needs, inventory)


def _missing_input(needs: Needs, inventory: Inventory) -> str | None:
    if needs is Needs.PARTNER_APPLICATIONS and not inventory.partner_applications:
        return _NOT_APPLIED_REASON[needs]
    if needs is Needs.HYBRID_TRUST and not inventory.trust:
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
