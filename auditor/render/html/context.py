"""The lookups every section shares, built once per page (`_Context`): anchors of findings
and scripts, which server holds which file, the judgements by subject, the scripts of each
change set, and the audit's decisions (`Report.decisions`: the verdict, what resolves each
finding, the waivers' states, the fleet judgements), read, never re-made. Also the small view
values several sections show (`ScriptRef`, `FindingRef`, `Current`, `CellKind`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from auditor.decisions import Decisions, ResolutionKind, decided
from auditor.model import (
    ChangeSet,
    Finding,
    Report,
    Severity,
)
from auditor.model import Verdict as Decided
from auditor.render.html.text import _common_root


class Current(StrEnum):
    """The state of the audited configuration as the first line states it."""

    PASS = "PASS"
    NON_COMPLIANT = "NON-COMPLIANT"
    INCOMPLETE = "INCOMPLETE"


_CURRENT = {
    Decided.PASS: Current.PASS,
    Decided.FAIL: Current.NON_COMPLIANT,
    Decided.INCOMPLETE: Current.INCOMPLETE,
}


class CellKind(StrEnum):
    """How one segment of a proposed Profiles value is shown."""

    KEEP = "keep"
    REMOVE = "remove"
    ENABLE = "enable"


@dataclass(frozen=True, slots=True)
class ScriptRef:
    anchor: str | None  # None when the script is not part of this report
    name: str
    sha256: str | None


@dataclass(frozen=True, slots=True)
class FindingRef:
    """A link to a finding on the page."""

    anchor: str
    rule_id: str


_ScriptRefMaker = Callable[[str], ScriptRef]


class _Context:
    """Lookups every section shares, built once per page."""

    def __init__(
        self,
        report: Report,
        anchors: dict[int, str],
        script_ref: _ScriptRefMaker,
    ) -> None:
        self.report = report
        self.root = _common_root(source.path for source in report.inventory.inputs)
        self.anchors = anchors
        self.script_ref = script_ref
        self.server_of_path: dict[str, str] = {}
        self.tokens_of_path: dict[str, tuple[str, ...]] = {}
        for config in report.inventory.web_configs:
            self.server_of_path.setdefault(config.path, config.server)
            if config.oauth_profiles is not None:
                # The value may live in a file the web.config names (`file=`, `configSource=`).
                held_in = config.oauth_profiles.evidence.path or config.path
                self.server_of_path.setdefault(held_in, config.server)
                self.tokens_of_path[config.path] = config.oauth_profiles.tokens
                self.tokens_of_path.setdefault(held_in, config.oauth_profiles.tokens)
        self.profiles = {judgement.subject: judgement for judgement in report.judgements.profiles}
        self.app_names = {app.subject: app.name for app in report.inventory.partner_applications}
        self.servers = tuple(
            dict.fromkeys(config.server for config in report.inventory.web_configs)
        )
        self.decisions: Decisions = decided(report)
        self.remediation_of = {
            change_set.slug: _script_of(report, change_set, "remediation")
            for change_set in report.change_sets
        }
        self.rollback_of = {
            change_set.slug: _script_of(report, change_set, "rollback")
            for change_set in report.change_sets
        }
        self.verdict = self.decisions.verdict
        self.current = _CURRENT[self.verdict.current]

    def resolved_by(self, finding: Finding) -> str:
        """`resolved by <scripts>` when scripts made for other findings fix it (FL001), else ""."""
        resolution = self.decisions.resolution(finding)
        return resolution.text if resolution.kind is ResolutionKind.TOGETHER else ""

    def skipped(self, finding: Finding) -> str | None:
        """Why the planner left the finding without a change, if it did."""
        resolution = self.decisions.resolution(finding)
        return resolution.reason if resolution.kind is ResolutionKind.SKIPPED else None

    def ref(self, finding: Finding) -> FindingRef:
        return FindingRef(self.anchors[id(finding)], finding.rule_id)

    def target(self, finding: Finding) -> str:
        judgement = self.profiles.get(finding.subject)
        if judgement is not None:
            return f"{judgement.server} {judgement.vdir}"
        name = self.app_names.get(finding.subject)
        if name is not None:
            return name
        fleet = self.decisions.fleet(finding.subject)
        if fleet is not None and not fleet.agree:
            return f"{fleet.vdir}, across servers"
        return finding.subject


def _script_of(report: Report, change_set: ChangeSet, kind: str) -> str | None:
    """The package name of `change_set`'s script of `kind` (its file stem is the slug)."""
    suffix = f"/{change_set.slug}.ps1"
    for script in report.scripts:
        if script.kind == kind and script.name.endswith(suffix):
            return script.name
    return None


def _severities() -> tuple[Severity, ...]:
    return tuple(sorted(Severity, key=lambda severity: -severity.rank))
