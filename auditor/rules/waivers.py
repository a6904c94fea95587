"""Rule WV001 and waiver application: accepted risk, judged against the audit date.

A waiver applies to a finding when the rule ids are equal and the subject matches: equal
ignoring case (server names are case-insensitive), or, when the waiver's subject ends with `*`,
the finding's subject starts with the rest. A waiver is in force up to and including its
`expires` date; the suppressed finding stays in every output with `suppressed=True` and the
waiver attached. An expired or malformed waiver suppresses nothing and is reported by WV001 at
its line in the policy file. A waiver in force that matches no finding is unused
(`unused_waivers`): `audit` warns of it (an error with `--strict`), since a typo in its subject
waives nothing; `policy validate` warns of a waiver whose subject cannot name a finding of its
rule (`impossible_subject`).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Collection, Iterable, Iterator

from auditor.decisions import WaiverState, waiver_state
from auditor.model import Finding, Location, Policy, Severity, Waiver
from auditor.rules.context import RuleContext, new_finding
from auditor.rules.declaration import Needs, rule


def in_force(waiver: Waiver, as_of: datetime.date) -> bool:
    """True when the waiver has not expired on `as_of` (`auditor.decisions.waiver_state`)."""
    return waiver_state(waiver, as_of)[0] is not WaiverState.EXPIRED


def waivable(policy: Policy, rule_id: str) -> bool:
    """True when a waiver may suppress findings of `rule_id` (the policy has it, waivable)."""
    return any(info.id == rule_id and info.waivable for info in policy.rules)


def subject_matches(pattern: str, subject: str) -> bool:
    """A waiver subject against a finding subject: exact (case-insensitive) or trailing `*`."""
    if pattern.endswith("*"):
        return subject.casefold().startswith(pattern[:-1].casefold())
    return subject.casefold() == pattern.casefold()


# The subject every finding of a rule family names, by rule-id prefix (`Finding.subject`).
_SUBJECT_PREFIX = {"PA": "partner-application:", "WC": "web-config:", "FL": "fleet:"}


def impossible_subject(waiver: Waiver) -> str | None:
    """Why no finding of the waiver's rule can have its subject, or None when one can."""
    prefix = _SUBJECT_PREFIX.get(waiver.rule[:2])
    if prefix is None or waiver.subject.casefold().startswith(prefix):
        return None
    if waiver.subject.endswith("*") and prefix.startswith(waiver.subject[:-1].casefold()):
        return None
    return f"every {waiver.rule} finding's subject starts with {prefix!r}"


def unused_waivers(
    findings: Iterable[Finding],
    policy: Policy,
    as_of: datetime.date,
    *,
    not_applied: Collection[str] = (),
) -> tuple[Waiver, ...]:
    """The waivers in force that waived no finding: a typo here silently waives nothing.

    A waiver of a rule the audit did not apply (`not_applied`: out of scope, disabled, no
    input for it) is not unused: there was nothing for it to match.
    """
    used = {finding.waiver for finding in findings if finding.waiver is not None}
    return tuple(
        waiver
        for waiver in policy.waivers
        if in_force(waiver, as_of)
        and waivable(policy, waiver.rule)
        and waiver.rule not in not_applied
        and waiver not in used
    )


def apply_waivers(
    findings: Iterable[Finding], policy: Policy, as_of: datetime.date
) -> list[Finding]:
    """The findings, each one a waiver in force covers marked suppressed with that waiver."""
    exact: dict[tuple[str, str], Waiver] = {}
    prefixed: dict[str, list[Waiver]] = {}
    for waiver in policy.waivers:
        if not waivable(policy, waiver.rule) or not in_force(waiver, as_of):
            continue
        if waiver.subject.endswith("*"):
            prefixed.setdefault(waiver.rule, []).append(waiver)
        else:
            exact.setdefault((waiver.rule, waiver.subject.casefold()), waiver)
    result: list[Finding] = []
    for finding in findings:
        match = exact.get((finding.rule_id, finding.subject.casefold()))
        if match is None:
            for candidate in prefixed.get(finding.rule_id, ()):
                if subject_matches(candidate.subject, finding.subject):
                    match = candidate
                    break
        if match is not None and waivable(policy, finding.rule_id):
            finding = dataclasses.replace(finding, suppressed=True, waiver=match)
        result.append(finding)
    return result


@rule(
    "WV001",
    title="A waiver has expired or is malformed",
    severity=Severity.MEDIUM,
    needs=Needs.NOTHING,
    remediation=None,
    fires_when=(
        "A waiver has expired on the audit date (`--as-of`) or is malformed; it then suppresses "
        "nothing."
    ),
    rationale=(
        "A waiver records a risk that someone accepted for a limited time, with a reason, a "
        "ticket, an owner and an approver. An expired or incomplete waiver suppresses nothing: "
        "the finding it covered is reported again until the waiver is renewed or the risk is "
        "removed."
    ),
    references=(
        "https://learn.microsoft.com/powershell/module/exchangepowershell/set-partnerapplication",
    ),
    waivable=False,
)
def check_wv001(context: RuleContext) -> Iterator[Finding]:
    """WV001: every expired waiver and every malformed one."""
    policy = context.policy
    for waiver in policy.waivers:
        if in_force(waiver, context.as_of):
            continue
        yield new_finding(
            context,
            "WV001",
            subject=f"waiver:{waiver.rule}:{waiver.subject}",
            message=(
                f"The waiver of {waiver.rule} for {waiver.subject} (ticket {waiver.ticket}, "
                f"owner {waiver.owner}) expired on {waiver.expires}; as of "
                f"{context.as_of.isoformat()} it suppresses nothing."
            ),
            location=Location(waiver.source or "policy", waiver.line),
            discriminator=f"expired:{waiver.ticket}:{waiver.expires}",
            details={
                "reason": "expired",
                "waiver": waiver.to_json(),
                "as_of": context.as_of.isoformat(),
            },
        )
    sources = (*policy.malformed_waiver_sources, *(["policy"] * len(policy.malformed_waivers)))
    for (line, why), source in zip(policy.malformed_waivers, sources, strict=False):
        yield new_finding(
            context,
            "WV001",
            subject="waiver:malformed",
            message=f"A waiver in {source} is malformed and suppresses nothing: {why}.",
            location=Location(source, line),
            discriminator=f"malformed:{why}",
            details={"reason": "malformed", "problem": why},
        )


RULES = (check_wv001,)
