"""What the audit is judged against: rule ids, rule metadata, the merged policy, its waivers.

Owns `RuleId` (a registered rule's id), `RuleInfo` (a rule's declaration plus the policy's
overrides), `Waiver`, the per-application and per-vdir expectations
(`ApplicationPolicy`, `VdirPolicy`), the policy files (`PolicySource`), how a policy weakens the
shipped default (`WeakeningKind`, `PolicyWeakening`) and the merged `Policy`. Imports only
`auditor.model.severity`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from auditor.model.severity import Severity

# A rule's id, e.g. "PA001": the rules are those registered (`auditor.rules.registry`), each
# declared once beside its check, so the ids are not a closed enum here.
RuleId = str


@dataclass(frozen=True, slots=True)
class Waiver:
    """A policy waiver: accepted risk for one rule on one subject, until `expires`."""

    rule: str
    subject: str
    reason: str
    ticket: str
    owner: str
    approver: str
    expires: datetime.date  # the last day the waiver is in force
    line: int | None = None
    source: str | None = None  # the policy file that declares it (`PolicySource.name`), for WV001

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "subject": self.subject,
            "reason": self.reason,
            "ticket": self.ticket,
            "owner": self.owner,
            "approver": self.approver,
            "expires": self.expires.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A rule's effective settings: its declaration (`auditor.rules.declaration`) plus overrides."""

    id: RuleId
    title: str
    severity: Severity
    rationale: str
    references: tuple[str, ...]
    remediation: str | None  # remediation template id, e.g. "partner-application-app-only"
    enabled: bool = True
    fires_when: str = ""  # what triggers the rule (the catalogue requires it)
    how_to_fix: str = ""  # what fixes a finding, for readers (`rules explain`, docs, SARIF)
    example: str = ""  # an example for the docs, when the rule declares one
    waivable: bool = True  # False: no waiver suppresses it (WV001 reports the waivers)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "fires_when": self.fires_when,
            "severity": self.severity.value,
            "rationale": self.rationale,
            "references": list(self.references),
            "remediation": self.remediation,
            "enabled": self.enabled,
        }


@dataclass(frozen=True, slots=True)
class ApplicationPolicy:
    """What the policy says about one partner application (matched by ApplicationIdentifier)."""

    application_identifier: str  # lower-case GUID
    name: str
    approved_app_only: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VdirPolicy:
    """OAuth profile expectations for one vdir (canonical id, e.g. `Default Web Site/API`)."""

    vdir: str
    default_profiles: tuple[str, ...] | None = None  # the shipped default, for display/FL001
    allowed_profiles: tuple[str, ...] = ()
    forbidden_profiles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicySource:
    """One policy file as every output names it: never a path of the analyst's machine.

    `name` is `default` for the shipped default and the file name for any other policy;
    `sha256` is the hash of its text (UTF-8 without BOM, LF line endings), which tells two files
    of one name apart.
    """

    name: str
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256}


class WeakeningKind(StrEnum):
    """Every way an organisation policy can weaken the shipped default (`PolicyWeakening`)."""

    FORBIDDEN_PERMISSION_REMOVED = "forbidden-permission-removed"
    FORBIDDEN_PERMISSION_APPROVED = "forbidden-permission-approved"
    FORBIDDEN_TOKEN_REMOVED = "forbidden-token-removed"
    FORBIDDEN_TOKEN_ALLOWED = "forbidden-token-allowed"
    APP_ONLY_TOKEN_REMOVED = "app-only-token-removed"
    RULE_DISABLED = "rule-disabled"
    RULE_SEVERITY_LOWERED = "rule-severity-lowered"
    CRITICAL_RULE_WAIVED = "critical-rule-waived"


@dataclass(frozen=True, slots=True)
class PolicyWeakening:
    """One way the loaded policy weakens the shipped default, and the file that does it.

    `source` is the policy file as every output names it (`PolicySource.name`); `text` is one
    sentence for a reader ("policy contoso.yaml approves Mail.Send for Microsoft Graph
    (forbidden by default: Mail.Send*)"); `subject` is what is weakened (the pattern, token,
    rule id or permission). Computed once, when the policy is loaded
    (`auditor.policy.weakening`); outputs only display it.
    """

    source: str
    kind: WeakeningKind
    subject: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "kind": self.kind.value,
            "subject": self.subject,
            "text": self.text,
        }


# `hybrid_trust.certificate_warning_days` by default: MonitorExchangeAuthCertificate.ps1 asks
# for the next Auth Certificate when the current one has 60 days or fewer left (its
# `ConfigureNextAuthRequired`; hybrid-oauth-trust notes section 3.3).
CERTIFICATE_WARNING_DAYS = 60


@dataclass(frozen=True, slots=True)
class HybridTrustPolicy:
    """The policy's `hybrid_trust` section: what the HT rules compare the trust exports with.

    `tenant_id` / `expected_application_id` are lower-case GUIDs (None: not set, so the rules
    judge only what the exports themselves show); `build_floors` maps a major build line
    (`15.2.1544`) to the lowest full build (`15.2.1544.25`) over the shipped table, sorted.
    """

    tenant_id: str | None = None
    expected_application_id: str | None = None
    require_dedicated_app: bool = True
    build_floors: tuple[tuple[str, str], ...] = ()
    certificate_warning_days: int = CERTIFICATE_WARNING_DAYS


@dataclass(frozen=True, slots=True)
class Policy:
    """A validated, merged policy (an organisation policy on top of the shipped default)."""

    name: str
    sha256: str
    sources: tuple[str, ...]  # each file's `PolicySource.name`, in load order
    rules: tuple[RuleInfo, ...]
    applications: tuple[ApplicationPolicy, ...] = ()
    forbidden_app_only: tuple[str, ...] = ()  # fnmatch-style globs, case-sensitive
    known_profile_tokens: tuple[str, ...] = ()
    app_only_profile_tokens: tuple[str, ...] = ("V1S2SAppOnly",)
    vdirs: tuple[VdirPolicy, ...] = ()
    forbidden_profiles_everywhere: tuple[str, ...] = ()
    csv_list_separator: str | None = None
    docs_url: str | None = None  # where docs/rules/<ID>.md are published (SARIF `helpUri`)
    waivers: tuple[Waiver, ...] = ()
    malformed_waivers: tuple[tuple[int | None, str], ...] = ()  # (line, why) for WV001
    malformed_waiver_sources: tuple[str, ...] = ()  # policy file of each malformed waiver
    source_files: tuple[PolicySource, ...] = ()  # the files of `sources`, with their hashes
    # The evidence classes a complete audit assesses (`EvidenceClass` values), the policy file
    # that last set them (None: the shipped default), and the vdirs whose web.config every
    # Client Access server must supply.
    assess: tuple[str, ...] = ("hybrid-trust", "partner-applications", "web-config")
    assess_source: str | None = None
    judged_vdirs: tuple[str, ...] = ("Default Web Site/API",)
    hybrid_trust: HybridTrustPolicy = HybridTrustPolicy()
    # Every way this policy weakens the shipped default, sorted by (source, text); () for the
    # shipped default itself. Decided at load time; outputs display it beside the verdict.
    weakenings: tuple[PolicyWeakening, ...] = ()

    def rule(self, rule_id: RuleId | str) -> RuleInfo:
        """The metadata of `rule_id`; an unknown id is a programming error and raises."""
        for info in self.rules:
            if info.id == rule_id:
                return info
        raise KeyError(f"unknown rule id {rule_id!r}")

    def application(self, application_identifier: str) -> ApplicationPolicy | None:
        wanted = application_identifier.lower()
        for app in self.applications:
            if app.application_identifier == wanted:
                return app
        return None

    def vdir(self, vdir: str) -> VdirPolicy | None:
        for entry in self.vdirs:
            if entry.vdir.lower() == vdir.lower():
                return entry
        return None
