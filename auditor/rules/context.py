"""What every rule receives (`RuleContext`) and how every rule builds a `Finding`.

The context is computed once per evaluation (the policy's vdir table and the judgement of every
permission and profile token, `auditor.rules.judge`) so that rules stay single passes over the
inventory.
`new_finding` is the one place where a finding gets its title and severity (from the rule's
declaration, after the policy's overrides) and its fingerprint: SHA-256 of rule id, subject and the
rule's discriminator, which names what the finding is about beyond its subject (the permission
set of a PA finding, `permission_set`; the token of a WC finding, whose subject names the
server and vdir).
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from auditor.model import (
    Evidence,
    Finding,
    Inventory,
    Judgements,
    Location,
    Policy,
    RuleId,
    VdirPolicy,
)
from auditor.rules.judge import judge


@dataclass(frozen=True, slots=True)
class RuleContext:
    """The inventory, the policy and the facts derived from them that several rules share."""

    inventory: Inventory
    policy: Policy
    as_of: datetime.date
    vdir_policies: Mapping[str, VdirPolicy]  # keyed by casefolded vdir id
    judgements: Judgements  # per permission and per token, aligned with the inventory

    @classmethod
    def build(cls, inventory: Inventory, policy: Policy, as_of: datetime.date) -> RuleContext:
        """Derive the shared facts once."""
        return cls(
            inventory=inventory,
            policy=policy,
            as_of=as_of,
            vdir_policies={vdir.vdir.casefold(): vdir for vdir in policy.vdirs},
            judgements=judge(inventory, policy),
        )

    def vdir_policy(self, vdir: str) -> VdirPolicy | None:
        return self.vdir_policies.get(vdir.casefold())


def fingerprint(rule_id: str, subject: str, discriminator: str) -> str:
    """A finding's stable identity: SHA-256 of rule id, subject and a rule-defined value."""
    text = "\x1f".join((rule_id, subject, discriminator))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def permission_set(names: Iterable[str]) -> str:
    """The discriminator of a finding about permission names: each once, sorted, one line."""
    return "\x1e".join(sorted(set(names)))


def new_finding(
    context: RuleContext,
    rule_id: RuleId,
    *,
    subject: str,
    message: str,
    location: Location,
    evidence: Sequence[Evidence] = (),
    discriminator: str = "",
    details: dict[str, Any] | None = None,
) -> Finding:
    """A finding of `rule_id`, titled and graded by the rule's effective settings."""
    info = context.policy.rule(rule_id)
    return Finding(
        rule_id=rule_id,
        severity=info.severity,
        title=info.title,
        message=message,
        subject=subject,
        location=location,
        evidence=tuple(evidence),
        fingerprint=fingerprint(rule_id, subject, discriminator),
        details=details or {},
    )


def listing(names: Sequence[str], limit: int = 0) -> str:
    """Names joined for a message; with `limit`, the rest are counted instead of listed."""
    if limit and len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names)
