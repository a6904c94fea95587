"""Everything a renderer may show about the audit as a whole: scope, baseline, verdict, `Report`.

Owns what a complete audit needs and what this one assessed (`EvidenceClass`, `EvidenceState`,
`ExpectedEvidence`, `Scope`), the comparison with an earlier audit (`BaselineState`,
`FixedFinding`, `BaselineComparison`), the `Verdict` and the `Report` that carries every earlier
stage to the renderers. The highest stage of the model: it imports every other.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from auditor.model.decision import Decisions, Verdict
from auditor.model.inventory import Inventory
from auditor.model.judgement import Finding, Judgements, NotApplied
from auditor.model.plan import ChangeSet, ManualStep, PlanItem, Script, Skipped
from auditor.model.policy import Policy
from auditor.model.severity import Severity


class EvidenceClass(StrEnum):
    """A kind of evidence a complete audit assesses; each feeds a family of rules."""

    PARTNER_APPLICATIONS = "partner-applications"  # the Get-PartnerApplication export (PA rules)
    WEB_CONFIG = "web-config"  # every Client Access server's judged web.configs (WC, FL rules)
    # The hybrid OAuth trust: the org-wide trust exports and every Client Access server's
    # ExSetup version and certificates (issue 24; HT rules).
    HYBRID_TRUST = "hybrid-trust"

    @property
    def label(self) -> str:
        if self is EvidenceClass.PARTNER_APPLICATIONS:
            return "partner applications"
        if self is EvidenceClass.HYBRID_TRUST:
            return "hybrid trust"
        return "web.config"


# The classes rules assess: what `--scope` and the policy's `scope.assess` choose among.
RULED_CLASSES = (
    EvidenceClass.PARTNER_APPLICATIONS,
    EvidenceClass.WEB_CONFIG,
    EvidenceClass.HYBRID_TRUST,
)
# The classes an audit assesses unless narrowed on purpose (the policy's default
# `scope.assess`), and what an audit that leaves one out names as not assessed: every ruled
# class, so that whatever a complete audit needs and was not given is named in the verdict.
DEFAULT_CLASSES = RULED_CLASSES


class EvidenceState(StrEnum):
    """What became of one piece of expected evidence."""

    READ = "read"  # read and assessed
    MISSING = "missing"  # expected and not given
    NOT_READ = "not read"  # given, but it could not be read or was refused (EV002)
    INHERITED = "inherited"  # the judged setting comes from a parent configuration not given
    NOT_IN_SCOPE = "not in scope"  # left out of the audit on purpose (--scope, policy scope)


@dataclass(frozen=True, slots=True)
class ExpectedEvidence:
    """One piece of evidence a complete audit needs: the export, or one server's web.config.

    `path` is the file that was read, or where the collection layout puts the missing one;
    `server` and `vdir` are None for organisation-wide evidence.
    """

    evidence_class: EvidenceClass
    server: str | None
    vdir: str | None
    state: EvidenceState
    path: str
    note: str = ""
    export: str = ""  # hybrid trust: the export's file name in the collection layout

    @property
    def assessed(self) -> bool:
        return self.state is EvidenceState.READ

    @property
    def what(self) -> str:
        """How a reader names it: `the partner-application export`, `EX02 Default Web Site/API`."""
        if self.evidence_class is EvidenceClass.HYBRID_TRUST:
            export = self.path.rsplit("/", 1)[-1]
            return f"the {export} export" if self.server is None else f"{self.server} {export}"
        if self.server is None:
            if self.evidence_class is EvidenceClass.PARTNER_APPLICATIONS:
                return "the partner-application export"
            return "the web.config files (no server known)"
        return f"{self.server} {self.vdir} web.config"

    def to_json(self) -> dict[str, Any]:
        return {
            "class": self.evidence_class.value,
            "server": self.server,
            "vdir": self.vdir,
            "state": self.state.value,
            "path": self.path,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Scope:
    """What a complete audit of the organisation needs, and what this audit assessed.

    Decided once by `auditor.scope.assess_scope`; every output shows `describe()` beside its
    verdict and renderers never recount. `servers` are the Client Access servers the evidence
    names (`servers_from` says which evidence named them); `excluded` the servers not expected
    to hold the judged web.configs, with why (an Edge Transport server).
    """

    classes: tuple[EvidenceClass, ...]  # in scope
    narrowed: tuple[EvidenceClass, ...] = ()  # left out on purpose
    narrowed_by: str | None = None  # `--scope web-config`, or `policy contoso.yaml`
    servers: tuple[str, ...] = ()
    servers_from: tuple[str, ...] = ()
    excluded: tuple[tuple[str, str], ...] = ()
    vdirs: tuple[str, ...] = ()
    expected: tuple[ExpectedEvidence, ...] = ()
    # Whether any cloud evidence (a Graph or ScubaGear export) was given: without it the
    # hybrid trust is assessed on its on-premises side only, and the verdict says so.
    cloud_evidence: bool = False

    def items(self, evidence_class: EvidenceClass) -> tuple[ExpectedEvidence, ...]:
        return tuple(item for item in self.expected if item.evidence_class is evidence_class)

    @property
    def servers_assessed(self) -> tuple[str, ...]:
        """Servers whose every judged web.config was read and assessed."""
        unassessed = {
            item.server for item in self.items(EvidenceClass.WEB_CONFIG) if not item.assessed
        }
        return tuple(server for server in self.servers if server not in unassessed)

    @property
    def classes_read(self) -> tuple[EvidenceClass, ...]:
        """Classes in scope whose expected evidence was all read."""
        return tuple(
            evidence_class
            for evidence_class in self.classes
            if self.items(evidence_class)
            and all(item.assessed for item in self.items(evidence_class))
        )

    @property
    def classes_missing(self) -> tuple[EvidenceClass, ...]:
        """Classes in scope with expected evidence that was not read."""
        return tuple(c for c in self.classes if c not in self.classes_read)

    @property
    def not_assessed(self) -> tuple[ExpectedEvidence, ...]:
        """Expected evidence in scope that was not assessed, in scope order."""
        return tuple(
            item
            for item in self.expected
            if not item.assessed and item.state is not EvidenceState.NOT_IN_SCOPE
        )

    def assessed_text(self) -> str:
        """`partner applications and web.config of 2 of 2 servers` (what was assessed)."""
        parts: list[str] = []
        for evidence_class in self.classes:
            if evidence_class is EvidenceClass.WEB_CONFIG:
                parts.append(
                    f"web.config of {len(self.servers_assessed)} of {len(self.servers)} "
                    f"server{'' if len(self.servers) == 1 else 's'}"
                )
            elif evidence_class in self.classes_read:
                if evidence_class is EvidenceClass.HYBRID_TRUST and not self.cloud_evidence:
                    parts.append(f"the on-premises {evidence_class.label}")
                else:
                    parts.append(evidence_class.label)
        return " and ".join(parts) if parts else "nothing"

    def gaps_text(self) -> str:
        """What was not assessed: left out on purpose, then a class none of whose evidence was
        given (the hybrid trust without any of its exports, said once), then missing (at most
        three named)."""
        parts: list[str] = []
        if self.narrowed:
            labels = " and ".join(c.label for c in self.narrowed)
            by = f" ({self.narrowed_by})" if self.narrowed_by else ""
            parts.append(f"{labels} not assessed{by}")
        missing = self.not_assessed
        trust = self.items(EvidenceClass.HYBRID_TRUST)
        if trust and all(item.state is EvidenceState.MISSING for item in trust):
            parts.append(self._no_trust_text())
            missing = tuple(item for item in missing if item not in trust)
        if EvidenceClass.HYBRID_TRUST in self.classes_read and not self.cloud_evidence:
            parts.append("its cloud side not assessed: no cloud evidence given")
        if missing:
            named = ", ".join(f"{item.what} ({item.state.value})" for item in missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            parts.append(f"not assessed: {named}{more}")
        return "; ".join(parts)

    def _no_trust_text(self) -> str:
        """The hybrid trust in scope without any of its exports, in one clause: what is
        missing, where it comes from, how to leave it out on purpose."""
        items = self.items(EvidenceClass.HYBRID_TRUST)
        org = list(dict.fromkeys(item.export for item in items if item.server is None))
        per = list(dict.fromkeys(item.export for item in items if item.server is not None))
        named = ", ".join(org)
        if per:
            named += f", and each server's {' and '.join(per)}"
        rest = ",".join(c.value for c in self.classes if c is not EvidenceClass.HYBRID_TRUST)
        narrow = f", or leave it out on purpose with --scope {rest}" if rest else ""
        return (
            f"hybrid trust not assessed: no hybrid-trust export was given ({named}); "
            f"`auditor collect` writes them{narrow}"
        )

    def describe(self) -> str:
        """The scope as one clause for a verdict line: assessed, then the gaps."""
        text = self.assessed_text()
        gaps = self.gaps_text()
        return f"{text}; {gaps}" if gaps else text

    def servers_text(self) -> str:
        """Where the server list came from, for the scope box."""
        if not self.servers_from:
            return "no server is known (no Get-ExchangeServer export, no server folder)"
        return "servers known from " + " and ".join(self.servers_from)

    def to_json(self) -> dict[str, Any]:
        return {
            "assessed": self.assessed_text(),
            "not_assessed": self.gaps_text(),
            "classes": [c.value for c in self.classes],
            "classes_read": [c.value for c in self.classes_read],
            "classes_missing": [c.value for c in self.classes_missing],
            "narrowed": [c.value for c in self.narrowed],
            "narrowed_by": self.narrowed_by,
            "cloud_evidence": self.cloud_evidence,
            "servers_known": list(self.servers),
            "servers_assessed": list(self.servers_assessed),
            "servers_from": list(self.servers_from),
            "servers_excluded": [{"server": s, "why": why} for s, why in self.excluded],
            "vdirs": list(self.vdirs),
            "evidence": [item.to_json() for item in self.expected],
        }


class BaselineState(StrEnum):
    """A finding against an earlier audit (`--baseline`), in SARIF's words (`baselineState`)."""

    NEW = "new"  # the baseline lacks its fingerprint
    UNCHANGED = "unchanged"  # the baseline has it
    ABSENT = "absent"  # a baseline finding no longer found (fixed)


@dataclass(frozen=True, slots=True)
class FixedFinding:
    """A finding of the baseline that the audit no longer finds."""

    fingerprint: str
    rule_id: str
    severity: str
    subject: str

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "rule_id": self.rule_id,
            "severity": self.severity,
            "subject": self.subject,
            "baseline": BaselineState.ABSENT.value,
        }


@dataclass(frozen=True, slots=True)
class BaselineComparison:
    """The audit against an earlier `findings.json`, decided once by fingerprint
    (`auditor.package.compare`): which findings are new, which unchanged, which fixed."""

    file: str  # the baseline's file name (never a path: the package stays machine-free)
    new: frozenset[str]  # fingerprints of findings the baseline lacks
    fixed: tuple[FixedFinding, ...] = ()

    def state(self, finding: Finding) -> BaselineState:
        return BaselineState.NEW if finding.fingerprint in self.new else BaselineState.UNCHANGED


@dataclass(frozen=True, slots=True)
class Report:
    """Everything a renderer may show. Built once by the audit; renderers never add facts."""

    tool_version: str
    as_of: datetime.date  # the date the audit was judged against
    change_id: str
    fail_on: Severity
    policy: Policy
    inventory: Inventory
    findings: tuple[Finding, ...]
    not_applied: tuple[NotApplied, ...] = ()
    change_sets: tuple[ChangeSet, ...] = ()
    scripts: tuple[Script, ...] = ()
    complete: bool = True  # False when evidence a rule needed was missing (exit 2)
    requester: str = ""  # printed in the approval block; blank lines when empty
    reviewers: tuple[str, ...] = ()
    judgements: Judgements = field(default_factory=Judgements)
    skipped: tuple[Skipped, ...] = ()  # remediable findings no script fixes, with the reason
    manual_steps: tuple[ManualStep, ...] = ()  # runbook-only steps (auditor.remediation_manual)
    scope: Scope = field(default_factory=lambda: Scope(classes=DEFAULT_CLASSES))
    # SHA-256 of the package's plan.json: every state record the scripts write carries it
    package_id: str = ""
    baseline: BaselineComparison | None = None  # set by `audit --baseline`
    # The folder SARIF locations are relative to (`--sarif-root`, `%SRCROOT%`) lies on the path
    # of the inputs' common root: below it (`repo/` when `.` is audited: `sarif_strip`, taken
    # off every display path) or at or above it (`sec/exchange/`: `sarif_prefix`, put before).
    sarif_strip: str = ""
    sarif_prefix: str = ""
    decisions: Decisions | None = None  # every fact the outputs state, decided once (audit.py)

    @property
    def manual_changes(self) -> tuple[ManualStep, ...]:
        """The runbook-only steps that change something (proposed, approved), in run order."""
        return tuple(step for step in self.manual_steps if step.changes)

    def artifact_path(self, path: str) -> str:
        """A display path (relative to the inputs' common root) relative to the SARIF root."""
        return self.sarif_prefix + path.removeprefix(self.sarif_strip)

    def baseline_state(self, finding: Finding) -> BaselineState | None:
        """NEW or UNCHANGED against the baseline; None when the audit has no baseline."""
        return None if self.baseline is None else self.baseline.state(finding)

    @property
    def new_findings(self) -> tuple[Finding, ...]:
        """Findings the baseline lacks (waived ones included); none without a baseline."""
        if self.baseline is None:
            return ()
        return tuple(f for f in self.findings if f.fingerprint in self.baseline.new)

    def new_failing(self) -> tuple[Finding, ...]:
        """New unwaived findings at or above `fail_on`: what `--fail-on-new` fails on."""
        return tuple(
            finding
            for finding in self.new_findings
            if not finding.suppressed and finding.severity.at_least(self.fail_on)
        )

    def plan_items(self) -> tuple[PlanItem, ...]:
        """Every planned change beside its change set, in plan order."""
        return tuple(
            PlanItem(change_set, change)
            for change_set in self.change_sets
            for change in change_set.changes
        )

    def plan_items_by_fix(self) -> dict[str, tuple[PlanItem, ...]]:
        """The planned changes that fix each finding, by the finding's fingerprint.

        Usually one; a fleet finding (FL001) that the changes on several servers resolve
        together lists each of them.
        """
        found: dict[str, list[PlanItem]] = {}
        for item in self.plan_items():
            for fingerprint in dict.fromkeys(item.change.fixes):
                found.setdefault(fingerprint, []).append(item)
        return {fingerprint: tuple(items) for fingerprint, items in found.items()}

    @property
    def active_findings(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if not finding.suppressed)

    def counts(self) -> dict[Severity, int]:
        """Unsuppressed findings per severity, every severity present."""
        counts = dict.fromkeys(Severity, 0)
        for finding in self.active_findings:
            counts[finding.severity] += 1
        return counts

    def failing(self) -> bool:
        return any(f.severity.at_least(self.fail_on) for f in self.active_findings)

    @property
    def verdict(self) -> Verdict:
        """INCOMPLETE when evidence was missing, else FAIL at or above `fail_on`, else PASS."""
        if not self.complete:
            return Verdict.INCOMPLETE
        return Verdict.FAIL if self.failing() else Verdict.PASS

    @property
    def verdict_line(self) -> str:
        """The verdict with its scope, as every output leads with it:
        `PASS for web.config of 2 of 2 servers; partner applications not assessed (--scope ...)`.
        """
        return f"{self.verdict.value.upper()} for {self.scope.describe()}"
