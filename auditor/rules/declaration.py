"""How a rule is declared: once, in its rule module, beside its check (`@rule`).

A declaration holds everything auditor knows about a rule: its id, default severity, title,
when it fires, the evidence it needs (`Needs`, which names the scope's `EvidenceClass`), the
remediation kind that fixes its findings (`Remediation`, or None), and the text of its docs
(rationale, references, and optionally how to fix and an example). The check is the pure
function under the decorator:

    @rule("PA001", title="...", severity=Severity.CRITICAL, needs=Needs.PARTNER_APPLICATIONS,
          remediation=Remediation.PARTNER_APPLICATION_APP_ONLY, fires_when="...",
          rationale="...", references=("https://...",))
    def check_pa001(context: RuleContext) -> Iterator[Finding]: ...

The decorated name is the `Rule`. A rule module lists its rules, in catalogue order, in a
module-level `RULES` tuple; `auditor.rules.registry` collects those tuples. Everything else
derives from the declaration: the effective policy's `RuleInfo` (`Rule.info`, then the policy's
`rule_overrides`), `auditor rules` and `rules explain`, SARIF rule help, `docs/rules/`.
A declaration that is not well-formed raises `RuleDeclarationError` naming the rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

from auditor.model import EvidenceClass, Finding, RuleInfo, Severity
from auditor.rules.context import RuleContext

Check = Callable[[RuleContext], Iterable[Finding]]

RULE_ID = re.compile(r"[A-Z]{2}[0-9]{3}")


class RuleDeclarationError(ValueError):
    """A rule declaration that is not well-formed (the message names the rule)."""


class Needs(StrEnum):
    """The input a rule reads; without it the rule is listed as not applied."""

    NOTHING = "nothing"
    PARTNER_APPLICATIONS = "partner-applications"
    WEB_CONFIGS = "web-configs"
    SEVERAL_SERVERS = "several-servers"
    HYBRID_TRUST = "hybrid-trust"

    @property
    def evidence_class(self) -> EvidenceClass | None:
        """The scope's evidence class the rule judges (None: the audit itself, or a policy)."""
        return _EVIDENCE_CLASS.get(self)


_EVIDENCE_CLASS = {
    Needs.PARTNER_APPLICATIONS: EvidenceClass.PARTNER_APPLICATIONS,
    Needs.WEB_CONFIGS: EvidenceClass.WEB_CONFIG,
    Needs.SEVERAL_SERVERS: EvidenceClass.WEB_CONFIG,
    Needs.HYBRID_TRUST: EvidenceClass.HYBRID_TRUST,
}


class Remediation(StrEnum):
    """Every remediation kind a rule may name; the planner selects the change by it."""

    PARTNER_APPLICATION_APP_ONLY = "partner-application-app-only"
    WEB_CONFIG_OAUTH_PROFILES = "web-config-oauth-profiles"
    DEDICATED_APP_OVERRIDE = "dedicated-app-override"
    EVOSTS_APPLICATION_IDENTIFIER = "evosts-application-identifier"
    EVOSTS_DUPLICATE = "evosts-duplicate"

    @property
    def how_to_fix(self) -> str:
        """What the generated scripts do, for readers who do not read PowerShell."""
        return _HOW_TO_FIX[self]


_HOW_TO_FIX = {
    Remediation.PARTNER_APPLICATION_APP_ONLY: (
        "The change package holds `remediation/partner-applications.ps1`, run once in the "
        "Exchange Management Shell: it selects each application by its ApplicationIdentifier "
        "(never by position), checks that AppOnlyPermissions still hold the audited value, "
        "backs the object up and sets AppOnlyPermissions to what the policy approves (by "
        "default nothing). `rollback/partner-applications.ps1` restores the backup."
    ),
    Remediation.WEB_CONFIG_OAUTH_PROFILES: (
        "The change package holds one `remediation/web-config-<server>.ps1` per server, run on "
        "that server: it checks that OAuthHttpModule.Profiles still holds the audited value, backs "
        "the web.config up, removes the forbidden and dropped tokens through the XML DOM, "
        "verifies the result and recycles only the application pool of that vdir. The paired "
        "`rollback/web-config-<server>.ps1` restores the backup."
    ),
    Remediation.DEDICATED_APP_OVERRIDE: (
        "Only when the exports prove the preconditions (hybrid, every Client Access server at "
        "or above the build floor with its ExSetup read, a valid EvoSTS AuthServer for the "
        "dedicated app), the change package holds `remediation/dedicated-app-override.ps1`, "
        "run once in the Exchange Management Shell after the app's admin consent is checked: "
        "it checks that the dedicated-app overrides are still as audited, creates "
        "EnableExchangeHybrid3PAppFeature (Global / ExchangeOnpremAsThirdPartyAppId, "
        "Enabled=true) organisation-wide or sets the audited override's Parameters to "
        "Enabled=true and, for a scoped override (HT004), clears its Server, MinVersion and "
        "MaxVersion (-Server $null) in the same Set-SettingOverride call, refreshes the "
        "VariantConfiguration and reads the override back. "
        "`rollback/dedicated-app-override.ps1` removes the override it created or sets the "
        "audited Parameters and scope back (a state that cannot work since 2025-10-31). "
        "Otherwise the "
        "finding says which precondition is not shown and no script is generated."
    ),
    Remediation.EVOSTS_APPLICATION_IDENTIFIER: (
        "Only when the policy gives hybrid_trust.expected_application_id and tenant_id, every "
        "Client Access server is at or above the build floor with its ExSetup read (the "
        "parameter exists from the April 2025 hotfix) and exactly one enabled EvoSTS "
        "AuthServer has the tenant as Realm, the change package holds "
        "`remediation/evosts-auth-servers.ps1`, run once in the Exchange Management Shell: it "
        "checks that the AuthServer's ApplicationIdentifier and Realm are still as audited, "
        "runs Set-AuthServer -Identity <EvoSTS> -ApplicationIdentifier <appId> and reads it "
        "back. `rollback/evosts-auth-servers.ps1` sets the audited value back; when it was "
        "empty no documented command clears it, and the rollback and the runbook give the "
        "manual step instead. Otherwise the finding says which precondition is not shown and "
        "no script is generated: point the EvoSTS at the dedicated app by hand "
        "(ConfigureExchangeHybridApplication.ps1 -ConfigureAuthServer) and audit again."
    ),
    Remediation.EVOSTS_DUPLICATE: (
        "Only when exactly one of the realm's enabled EvoSTS AuthServers holds a valid "
        "dedicated ApplicationIdentifier (the policy's, when set), the change package holds "
        "`remediation/evosts-auth-servers.ps1`: it checks that each other one is still enabled "
        "with the audited Realm, runs Set-AuthServer -Identity <duplicate> -Enabled $false "
        "(never Remove-AuthServer) and reads it back; `rollback/evosts-auth-servers.ps1` sets "
        "Enabled back to $true. Otherwise the finding says why no script is generated: disable "
        "the duplicate by hand, or re-run the Hybrid Configuration Wizard, and audit again."
    ),
}
NO_SCRIPT = (
    "No script is generated for this rule: the fix is a decision or a new export, as the "
    "rationale says. Audit again once it is made."
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule as its module declares it, with the pure function that checks it.

    `how_to_fix` is the docs' remediation text when the remediation kind's own text (or, with
    no remediation, "no script") does not say enough; `example` is shown in the docs when set.
    `waivable` is False for a rule no waiver may suppress (WV001: it reports the waivers).
    """

    id: str
    title: str
    severity: Severity
    needs: Needs
    remediation: Remediation | None
    fires_when: str
    rationale: str
    references: tuple[str, ...]
    check: Check
    how_to_fix: str = ""
    example: str = ""
    waivable: bool = True

    def info(self) -> RuleInfo:
        """The rule's settings before any policy overrides them (enabled, declared severity)."""
        how_to_fix = self.how_to_fix
        if not how_to_fix:
            how_to_fix = self.remediation.how_to_fix if self.remediation else NO_SCRIPT
        return RuleInfo(
            id=self.id,
            title=self.title,
            severity=self.severity,
            rationale=self.rationale,
            references=self.references,
            remediation=self.remediation.value if self.remediation else None,
            fires_when=self.fires_when,
            how_to_fix=how_to_fix,
            example=self.example,
            waivable=self.waivable,
        )


def rule(
    rule_id: str,
    *,
    title: str,
    severity: Severity,
    needs: Needs,
    remediation: Remediation | None,
    fires_when: str,
    rationale: str,
    references: Iterable[str],
    how_to_fix: str = "",
    example: str = "",
    waivable: bool = True,
) -> Callable[[Check], Rule]:
    """Declare the rule whose check the decorated function is; the function becomes the `Rule`."""

    def declare(check: Check) -> Rule:
        declared = Rule(
            id=rule_id,
            title=title,
            severity=Severity(severity),
            needs=Needs(needs),
            remediation=None if remediation is None else Remediation(remediation),
            fires_when=fires_when,
            rationale=rationale,
            references=tuple(references),
            check=check,
            how_to_fix=how_to_fix,
            example=example,
            waivable=waivable,
        )
        problem = _declaration_problem(declared)
        if problem is not None:
            raise RuleDeclarationError(f"rule {rule_id!r} ({check.__qualname__}): {problem}")
        return declared

    return declare


def _declaration_problem(declared: Rule) -> str | None:
    if not RULE_ID.fullmatch(declared.id):
        return "the id must be two capital letters and three digits, e.g. PA001"
    for name in ("title", "fires_when", "rationale"):
        if not getattr(declared, name).strip():
            return f"{name} is empty"
    if "\n" in declared.title:
        return "the title must be one line"
    bad = [reference for reference in declared.references if not reference.startswith("https://")]
    if bad:
        return f"a reference must be an https:// URL, got {bad[0]!r}"
    return None
