"""The change-board HTML report: one self-contained page rendered from a `Report`.

This module shapes the report into what the page shows and hands it to the Jinja2 templates in
`templates/html/`, which build every piece of markup. It displays decisions and never makes them:
permission and token marks are the rules' judgements (`report.judgements`), the proposed change
is the plan (`report.change_sets`, `report.skipped`); nothing here reads the policy's patterns or
matches a name against one. What it does compute is arithmetic on those values (how many findings
the plan fixes, which servers change), grouping for scale (an application identical in 60 exports
shown once, vdirs that match the shipped default folded into one sentence, inputs identical on
many servers on one row) and text (a server list as ranges, a token list as a diff).

Jinja2 autoescaping is on for every template. The only `Markup` made here is rule texts with
their backticks turned into `<code>` (escaped first) and the running print header, whose only
report value (the change id) is CSS-escaped code point by code point. Script sources are plain
text with line numbers, escaped by the template like every other value. Before escaping, control,
bidirectional-override and zero-width characters are replaced by visible stand-ins, so a hostile
name can neither hide characters nor reorder what the board reads.

The page loads nothing: inline CSS only (allowed by its SHA-256 in the Content-Security-Policy
meta tag), no script, no URL that the browser fetches. Rendering is pure: the same `Report`
gives the same bytes; the only date on the page is `report.as_of`.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import jinja2
from markupsafe import Markup, escape

from auditor.decisions import (
    EXPIRY_WARNING_DAYS,
    Decisions,
    ResolutionKind,
    WaiverState,
    decided,
    permission_outcome,
    shows_app_only,
)
from auditor.model import (
    ApplicationJudgement,
    BaselineState,
    ChangeKind,
    ChangeSet,
    Evidence,
    EvidenceState,
    Finding,
    PartnerApplication,
    PermissionJudgement,
    PermissionMark,
    ProfilesJudgement,
    Report,
    RuleInfo,
    Script,
    ScriptKind,
    Severity,
    TokenAction,
    TokenMark,
    Waiver,
    WebConfigChange,
)
from auditor.model import (
    Verdict as Decided,
)
from auditor.profiles import target_segments
from auditor.render.runbook import runbook_sections
from auditor.render.story import Step, change_story, code_text, ranges
from auditor.resources import templates_dir

# Script source is embedded (in a closed <details>) only while it stays this small: per script,
# and for all embedded scripts together. Above it the page names the file and its hash.
SOURCE_BUDGET_PER_SCRIPT = 64_000
SOURCE_BUDGET_TOTAL = 160_000
# The approval block lists each script's SHA-256 up to this many scripts; above it, it points at
# the Scripts section (one row per script) so that the block stays on one printed page.
APPROVAL_SCRIPT_ROWS = 8
# Up to this many scripts each gets its own block (facts, data table); more share one table.
SCRIPT_BLOCKS_UP_TO = 4
# Tables longer than this start closed (and are left out of print, with a sentence saying so).
OPEN_ROWS_UP_TO = 40
# Above this many input rows (a fleet where every file differs), one row per file name: the
# 500-server unique fleet has 12,001 rows, 2.4 MB of the page; each SHA-256 stays in the JSON.
INPUT_ROWS_UP_TO = 200

_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069"
    "\ud800-\udfff\ufeff\ufff9-\ufffb\ufffe\uffff]"
)
_FUNCTION = re.compile(r"^function\s+([A-Za-z][A-Za-z0-9-]*)", re.MULTILINE)


WaiverStatus = WaiverState  # the page's name for `auditor.decisions.WaiverState`


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


# --- views -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeverityCount:
    severity: Severity
    active: int
    suppressed: int


@dataclass(frozen=True, slots=True)
class Verdict:
    current: Current
    sentence: str  # the first line of the page, word for word
    change_required: bool  # False: nothing to approve, no signature lines


@dataclass(frozen=True, slots=True)
class ScriptRef:
    anchor: str | None  # None when the script is not part of this report
    name: str
    sha256: str | None


@dataclass(frozen=True, slots=True)
class Segment:
    text: str  # as written, spaces shown as U+2423, "(empty)" for an empty segment
    kind: CellKind


@dataclass(frozen=True, slots=True)
class AppChangeRow:
    name: str
    application_identifier: str
    before: int
    after: int
    removes: tuple[str, ...]
    adds: tuple[str, ...]
    remediation: ScriptRef
    rollback: ScriptRef | None


@dataclass(frozen=True, slots=True)
class ConfigChangeRow:
    """One web.config change, or the same change on several servers."""

    servers: tuple[str, ...]
    vdir: str
    relative_path: str
    segments: tuple[Segment, ...]
    app_pool: str | None
    remediation: tuple[ScriptRef, ...]
    rollback: tuple[ScriptRef, ...]


@dataclass(frozen=True, slots=True)
class Remains:
    rule_id: str
    anchor: str
    target: str
    text: str  # "resolved by web-config-ex01, web-config-ex02", or why nothing changes


@dataclass(frozen=True, slots=True)
class NotPlanned:
    """Something the package leaves open: a finding without a change, or evidence not read."""

    what: str
    why: str
    anchor: str | None  # the finding on the page, when it is one


@dataclass(frozen=True, slots=True)
class Plan:
    apps: tuple[AppChangeRow, ...]
    configs: tuple[ConfigChangeRow, ...]
    changing_servers: tuple[str, ...]
    all_servers: tuple[str, ...]
    impact: tuple[str, ...]  # what users notice, step by step (the runbook's words)
    back_out: tuple[str, ...]  # each rollback command, where it runs and what it restores
    verification: tuple[str, ...]
    safety: str
    remains: tuple[Remains, ...]
    enabling_servers: tuple[str, ...]
    not_planned: tuple[NotPlanned, ...]  # what stays open after the change, and why

    @property
    def resolved(self) -> tuple[Remains, ...]:
        """Findings no script of their own fixes that the plan resolves (FL001, a waiver)."""
        return tuple(item for item in self.remains if item.text.startswith("resolved by "))


@dataclass(frozen=True, slots=True)
class FindingRef:
    """A link to a finding on the page."""

    anchor: str
    rule_id: str


@dataclass(frozen=True, slots=True)
class Variant:
    """Evidence items with the same text: where they are, and the text (or its diff)."""

    places: str
    raw: str
    diff: tuple[str, ...] | None  # tokens added (+) and missing (-) against the first variant


@dataclass(frozen=True, slots=True)
class FindingRow:
    finding: Finding
    anchor: str
    target: str
    where: str
    variants: tuple[Variant, ...]
    same_as: FindingRef | None  # the evidence is the same as that finding's, shown there
    script: ScriptRef | None
    resolved_by: str  # "resolved by <scripts>" when scripts made for others fix it, else ""
    skipped: str | None  # why the planner left it without a change (report.skipped)
    message: Markup  # the message, the tool's own `code` spans as code
    servers: tuple[str, ...] = ()  # the same finding and value on several servers: one row
    also: tuple[str, ...] = ()  # anchors of the findings this row stands for besides its own
    new: bool = False  # new against `--baseline`


@dataclass(frozen=True, slots=True)
class RuleGroup:
    rule: RuleInfo
    severity: Severity
    anchor: str
    scope: str  # "on 10 servers", "on the organisation", ""
    rows: tuple[FindingRow, ...]

    @property
    def findings(self) -> int:
        """How many findings the rows stand for (a collapsed row stands for several)."""
        return sum(1 + len(row.also) for row in self.rows)


@dataclass(frozen=True, slots=True)
class PermissionRow:
    judgement: PermissionJudgement
    css: str
    after: str


@dataclass(frozen=True, slots=True)
class ApplicationView:
    anchor: str
    record: PartnerApplication
    exports: int
    places: str  # where it was exported from, as server ranges or paths
    source: str  # the first export, relative to the audit root, with its line
    differences: tuple[str, ...]  # one sentence per export that differs from `record`
    judgement: ApplicationJudgement | None
    rows: tuple[PermissionRow, ...]  # empty: the one-line form
    summary: str  # the one line shown when there is no app-only permission
    findings: tuple[FindingRef, ...]


@dataclass(frozen=True, slots=True)
class GridCell:
    text: tuple[str, ...]  # "default", "+V1S2SAppOnly", "- Callback", ...
    css: str
    finding: FindingRef | None


@dataclass(frozen=True, slots=True)
class GridRow:
    server: str
    cells: tuple[GridCell, ...]


@dataclass(frozen=True, slots=True)
class Grid:
    vdirs: tuple[str, ...]  # columns: vdirs that deviate somewhere
    rows: tuple[GridRow, ...]  # servers with a deviation
    matching: int  # vdirs that match the shipped default
    matching_servers: int
    quiet_vdirs: tuple[str, ...]  # vdirs that carry the key and match the default everywhere
    clean_servers: str  # servers without any deviation, as ranges
    clean_count: int
    not_compared: int  # vdirs with no shipped default in the policy
    judged: int


@dataclass(frozen=True, slots=True)
class WaiverView:
    waiver: Waiver
    status: WaiverStatus
    days_left: int  # negative once expired
    suppresses: tuple[FindingRef, ...]
    fixed_by: tuple[str, ...] = ()  # change sets that change the waived subject anyway


@dataclass(frozen=True, slots=True)
class DataRow:
    target: str
    audited: str
    new: str


@dataclass(frozen=True, slots=True)
class ScriptView:
    script: Script
    anchor: str
    lines: int
    line_endings: str
    fixes: tuple[str, ...]  # rule ids, in order
    unknown_fixes: tuple[str, ...]
    pair: ScriptRef | None
    data: tuple[DataRow, ...]
    own_functions: tuple[str, ...]  # helper functions no earlier script defines
    functions_as_in: ScriptRef | None  # an earlier script that defines the same helpers
    code: str | None  # the numbered source; None: over the source budget


@dataclass(frozen=True, slots=True)
class InputRow:
    path: str  # relative to the audit root; below the server folder when `servers` is set
    servers: str
    count: int
    format: str | None
    sha256: str  # empty when the row stands for several different files (`distinct`)
    distinct: int = 1


@dataclass(frozen=True, slots=True)
class Inputs:
    root: str
    rows: tuple[InputRow, ...]
    files: int
    open: bool


@dataclass(frozen=True, slots=True)
class NotAppliedView:
    rule: RuleInfo
    reason: str


@dataclass(frozen=True, slots=True)
class Page:
    """Everything the template reads besides the report itself."""

    report: Report
    verdict: Verdict
    plan: Plan
    counts: tuple[SeverityCount, ...]
    applications: tuple[ApplicationView, ...]
    grid: Grid
    groups: tuple[RuleGroup, ...]
    suppressed: tuple[RuleGroup, ...]
    waivers: tuple[WaiverView, ...]
    expiring: tuple[WaiverView, ...]
    scripts: tuple[ScriptView, ...]
    common_functions: tuple[str, ...]
    inputs: Inputs
    not_applied: tuple[NotAppliedView, ...]
    print_header_css: Markup
    expiry_days: int
    approval_script_rows: int
    script_blocks_up_to: int
    runbook: tuple[tuple[str, tuple[str, ...]], ...]  # RUNBOOK.md's sections, as text


def render_html(report: Report) -> str:
    """Render the change-board report for `report` as one self-contained HTML document."""
    template = _environment().get_template("report.html.j2")
    return template.render(
        page=_page(report),
        PermissionMark=PermissionMark,
        CellKind=CellKind,
    )


# --- environment -----------------------------------------------------------------------------


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir() / "html"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        finalize=_finalize,
    )
    environment.filters["csp_sha256"] = _csp_sha256
    environment.filters["inline_code"] = inline_code
    environment.filters["mark_css"] = _mark_css
    environment.filters["thousands"] = "{:,}".format
    return environment


def _finalize(value: object) -> object:
    """Make hidden characters visible in every plain string the templates print."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


def visible(text: str) -> str:
    """Replace control, zero-width, bidi-override and surrogate characters by visible stand-ins.

    C0 controls and DEL become their ASCII abbreviation in brackets (`[NUL]`, `[CR]`, `[ESC]`);
    everything else in the set becomes `[U+XXXX]`. Tab and line feed are kept. The stand-ins
    are plain ASCII so that they print in any font.
    """
    return _INVISIBLE.sub(_stand_in, text)


_C0_NAMES = (
    *("NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "BEL"),
    *("BS", "HT", "LF", "VT", "FF", "CR", "SO", "SI"),
    *("DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB"),
    *("CAN", "EM", "SUB", "ESC", "FS", "GS", "RS", "US"),
)


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return f"[{_C0_NAMES[code]}]"
    if code == 0x7F:
        return "[DEL]"
    return f"[U+{code:04X}]"


def inline_code(text: str) -> Markup:
    """Escape `text` and show each `backticked` span as code, as the policy's texts mean it.

    An unpaired backtick stays a literal backtick.
    """
    parts = visible(str(text)).split("`")
    if len(parts) % 2 == 0:  # unpaired: keep the last backtick as text
        parts[-2:] = [parts[-2] + "`" + parts[-1]]
    out: list[str] = []
    for index, part in enumerate(parts):
        escaped = str(escape(part))
        out.append(f"<code>{escaped}</code>" if index % 2 else escaped)
    return Markup("".join(out))


def _mark_css(mark: StrEnum) -> str:
    return mark.name.lower().replace("_", "-")


def _csp_sha256(text: str) -> str:
    digest = hashlib.sha256(str(text).encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _css_string(text: str) -> str:
    """`text` as the inside of a double-quoted CSS string: letters, digits and spaces as they
    are, every other code point as a hexadecimal escape (so it can end neither the string nor
    the style element)."""
    return "".join(
        char if char.isascii() and (char.isalnum() or char == " ") else f"\\{ord(char):06x}"
        for char in visible(text)
    )


def numbered_source(content: str) -> str:
    """A script's text with a right-aligned line number before each line (CRLF shown as lines).

    Plain text: the template escapes it like every other value, and `visible` shows any hidden
    character. No highlighting: the board reads the data block; the source is for reference.
    """
    lines = content.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    width = len(str(len(lines)))
    return "\n".join(f"{number:>{width}}  {line}" for number, line in enumerate(lines, 1))


def _line_endings(content: str) -> str:
    crlf = content.count("\r\n")
    lf = content.count("\n") - crlf
    cr = content.count("\r") - crlf
    if not (crlf or lf or cr):
        return "none (one line)"
    if crlf and not (lf or cr):
        return "CRLF"
    if lf and not (crlf or cr):
        return "LF"
    return "mixed"


# --- text helpers ----------------------------------------------------------------------------


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def _shown(segment: str) -> str:
    return segment.replace(" ", "\u2423") if segment else "(empty)"


# --- page ------------------------------------------------------------------------------------


def _page(report: Report) -> Page:
    anchors = {id(finding): f"finding-{index}" for index, finding in enumerate(report.findings, 1)}
    scripts_by_name = {script.name: script for script in report.scripts}
    script_anchors = {
        script.name: f"script-{index}" for index, script in enumerate(report.scripts, 1)
    }

    def script_ref(name: str) -> ScriptRef:
        script = scripts_by_name.get(name)
        return ScriptRef(script_anchors.get(name), name, script.sha256 if script else None)

    context = _Context(report, anchors, script_ref)
    counts = _counts(report)
    waivers = _waivers(report, context)
    scripts, common = _scripts(report, context)
    return Page(
        report=report,
        runbook=tuple(
            (title, tuple(lines)) for title, lines in runbook_sections(report, in_report=True)
        ),
        verdict=_verdict(report, context),
        plan=_plan(report, context),
        counts=counts,
        applications=_applications(report, context),
        grid=_grid(report, context),
        groups=_groups(report, context, suppressed=False),
        suppressed=_groups(report, context, suppressed=True),
        waivers=waivers,
        expiring=tuple(
            view
            for view in waivers
            if view.status in (WaiverStatus.EXPIRES_SOON, WaiverStatus.EXPIRED)
        ),
        scripts=scripts,
        common_functions=common,
        inputs=_inputs(report, context),
        not_applied=tuple(
            NotAppliedView(report.policy.rule(item.rule_id), item.reason)
            for item in report.not_applied
        ),
        print_header_css=Markup(
            '"Change ' + _css_string(report.change_id) + " \\00b7  " + context.current + '"'
        ),
        expiry_days=EXPIRY_WARNING_DAYS,
        approval_script_rows=APPROVAL_SCRIPT_ROWS,
        script_blocks_up_to=SCRIPT_BLOCKS_UP_TO,
    )


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


def _counts(report: Report) -> tuple[SeverityCount, ...]:
    active = report.counts()
    suppressed = dict.fromkeys(Severity, 0)
    for finding in report.findings:
        if finding.suppressed:
            suppressed[finding.severity] += 1
    return tuple(
        SeverityCount(severity, active[severity], suppressed[severity])
        for severity in _severities()
    )


def _severities() -> tuple[Severity, ...]:
    return tuple(sorted(Severity, key=lambda severity: -severity.rank))


def _severity_list(findings: Sequence[Finding]) -> str:
    counts = dict.fromkeys(_severities(), 0)
    for finding in findings:
        counts[finding.severity] += 1
    return ", ".join(f"{n} {severity.value}" for severity, n in counts.items() if n)


# --- verdict and plan ------------------------------------------------------------------------


def _verdict(report: Report, context: _Context) -> Verdict:
    decided = context.verdict
    failing = _severity_list(decided.failing)
    scope = report.scope.describe()
    if context.current is Current.INCOMPLETE:
        found = f"; in what could be read: {failing}" if failing else ""
        current = f"Current configuration: INCOMPLETE for {scope} (evidence missing{found})."
    elif context.current is Current.NON_COMPLIANT:
        current = f"Current configuration: NON-COMPLIANT for {scope} ({failing})."
    else:
        below = _severity_list(decided.below)
        detail = f"{below} below {decided.fail_on.value}" if below else "no findings"
        current = f"Current configuration: PASS for {scope} ({detail})."
    active = decided.active
    if decided.after is None:
        if active:
            rest = (
                f" No change is proposed: none of the {plural(len(active), 'finding')}"
                " has a generated change (see what remains)."
            )
        else:
            within = " within the assessed scope" if report.scope.gaps_text() else ""
            rest = f" No change required{within}."
        return Verdict(context.current, current + rest, change_required=False)
    where = _where(report.change_sets)
    fixes = (
        f" The proposed change fixes {len(decided.fixed)} of"
        f" {plural(len(active), 'finding')} on {where}."
    )
    if decided.after is Decided.INCOMPLETE:
        after = "INCOMPLETE until the missing evidence is supplied"
    elif decided.after is Decided.FAIL:
        after = f"NON-COMPLIANT ({_severity_list(decided.remaining_failing)} remain)"
    else:
        after = "PASS"
    return Verdict(context.current, f"{current}{fixes} Expected after the change: {after}.", True)


def _where(change_sets: Sequence[ChangeSet]) -> str:
    servers = list(dict.fromkeys(cs.server for cs in change_sets if cs.server is not None))
    organisation = any(cs.server is None for cs in change_sets)
    parts = []
    if servers:
        parts.append(plural(len(servers), "server"))
    if organisation:
        parts.append("the organisation")
    return " and ".join(parts)


def _plan(report: Report, context: _Context) -> Plan:
    apps: list[AppChangeRow] = []
    grouped: dict[tuple[object, ...], list[tuple[str, WebConfigChange, str]]] = {}
    for change_set in report.change_sets:
        remediation = context.remediation_of[change_set.slug]
        rollback = context.rollback_of[change_set.slug]
        for app_change in change_set.partner_applications:
            apps.append(
                AppChangeRow(
                    name=app_change.name,
                    application_identifier=app_change.application_identifier,
                    before=len(app_change.audited_app_only),
                    after=len(app_change.target_app_only),
                    removes=app_change.removes,
                    adds=app_change.adds,
                    remediation=context.script_ref(remediation or change_set.slug),
                    rollback=context.script_ref(rollback) if rollback else None,
                )
            )
        for change in change_set.web_configs:
            key = (
                change.vdir,
                change.relative_path,
                change.audited_value,
                change.target_value,
                change.removes,
                change.enables,
                change.app_pool,
            )
            grouped.setdefault(key, []).append((change_set.server or "", change, change_set.slug))
    configs = tuple(_config_row(items, context) for items in grouped.values())
    changing = tuple(dict.fromkeys(cs.server for cs in report.change_sets if cs.server))
    story = change_story(report, _plain_value)
    return Plan(
        apps=tuple(apps),
        configs=configs,
        changing_servers=changing,
        all_servers=context.servers,
        impact=story.brief_notice,
        back_out=(_back_out_line(story.grouped_back_out),),
        verification=story.brief_verify,
        enabling_servers=story.enabling_servers,
        safety=(
            "Each script compares the live value with the audited one and changes nothing on"
            " any difference (drift guard), runs only on its own server, backs up before each"
            " change, asks for confirmation and honours -WhatIf."
        ),
        remains=_remains(context),
        not_planned=_not_planned(report, context),
    )


def _config_row(
    items: list[tuple[str, WebConfigChange, str]], context: _Context
) -> ConfigChangeRow:
    first = items[0][1]
    enables = set(first.enables)
    # The value after the change, then what it takes out; an emptied value shows only that.
    kept = target_segments(first)
    segments = [
        Segment(_shown(seg), CellKind.ENABLE if seg in enables else CellKind.KEEP) for seg in kept
    ]
    segments.extend(Segment(_shown(seg), CellKind.REMOVE) for seg in first.removes)
    remediation: list[ScriptRef] = []
    rollback: list[ScriptRef] = []
    for _, _, slug in items:
        name = context.remediation_of.get(slug)
        if name:
            remediation.append(context.script_ref(name))
        back = context.rollback_of.get(slug)
        if back:
            rollback.append(context.script_ref(back))
    return ConfigChangeRow(
        servers=tuple(server for server, _, _ in items),
        vdir=first.vdir,
        relative_path=first.relative_path,
        segments=tuple(segments),
        app_pool=first.app_pool,
        remediation=tuple(remediation),
        rollback=tuple(rollback),
    )


def _back_out_line(steps: Sequence[Step]) -> str:
    """The rollback commands in back-out order, each with where it runs, on one line."""
    parts = []
    for step in steps:
        if len(step.servers) > 3:
            host = f"on each of the {len(step.servers)} servers"
        elif step.servers:
            host = "on " + ", ".join(code_text(server) for server in step.servers)
        else:
            host = "in the Exchange Management Shell where step 1 ran (its backups are there)"
        parts.append(f"`{step.command}` {host}")
    return "In this order: " + "; then ".join(parts) + "."


def _not_planned(report: Report, context: _Context) -> tuple[NotPlanned, ...]:
    """Findings the change leaves open (with the planner's reason) and evidence not assessed."""
    rows: list[NotPlanned] = []
    for item in _remains(context):
        if item.text.startswith("resolved by "):
            continue
        rows.append(
            NotPlanned(
                f"{item.rule_id} {item.target}", item.text.removeprefix("remains: "), item.anchor
            )
        )
    for evidence in report.scope.not_assessed:
        note = f": {evidence.note}" if evidence.note else ""
        rows.append(
            NotPlanned(
                evidence.what,
                f"not assessed ({evidence.state.value}{note}): nothing about it can be fixed "
                "until it is supplied and audited",
                None,
            )
        )
    return tuple(rows)


def _plain_value(value: str | None) -> str:
    """A value from the exports in prose the template escapes: one line, no backtick."""
    return code_text(value)


def _remains(context: _Context) -> tuple[Remains, ...]:
    out: list[Remains] = []
    for finding in context.verdict.active:
        resolution = context.decisions.resolution(finding)
        if resolution.kind is ResolutionKind.SCRIPT:
            continue
        out.append(
            Remains(
                finding.rule_id,
                context.anchors[id(finding)],
                context.target(finding),
                resolution.text,
            )
        )
    return tuple(out)


# --- partner applications --------------------------------------------------------------------


def _applications(report: Report, context: _Context) -> tuple[ApplicationView, ...]:
    by_id: dict[str, list[PartnerApplication]] = {}
    for app in report.inventory.partner_applications:
        by_id.setdefault(app.application_identifier.lower(), []).append(app)
    findings_of: dict[str, list[FindingRef]] = {}
    for finding in report.findings:
        findings_of.setdefault(finding.subject, []).append(context.ref(finding))
    views: list[ApplicationView] = []
    for index, records in enumerate(by_id.values(), 1):
        variants: dict[tuple[object, ...], list[PartnerApplication]] = {}
        for record in records:
            variants.setdefault(tuple(record.exported_properties().values()), []).append(record)
        groups = list(variants.values())
        first = groups[0][0]
        exports_of = [_exports(group, context) for group in groups]
        differences = tuple(
            f"{ranges(exports_of[i])}: {_app_diff(first, group[0])}"
            for i, group in enumerate(groups[1:], 1)
        )
        judgement = report.judgements.application(first.subject)
        rows = _permission_rows(judgement)
        views.append(
            ApplicationView(
                anchor=f"app-{index}",
                record=first,
                exports=sum(len(places) for places in exports_of),
                places=ranges(exports_of[0]),
                source=_relative(first.source.path, context.root)
                + (f":{first.source.line}" if first.source.line is not None else ""),
                differences=differences,
                judgement=judgement,
                rows=rows,
                summary=_app_summary(first, judgement),
                findings=tuple(findings_of.get(first.subject, ())),
            )
        )
    return tuple(views)


def _exports(records: Sequence[PartnerApplication], context: _Context) -> list[str]:
    """Where each copy of these records was read: the server if known, else the file."""
    places: list[str] = []
    for record in records:
        for evidence in (record.source, *record.also_in):
            server = record.server if evidence is record.source else evidence.server
            places.append(server or context.server_of_path.get(evidence.path) or evidence.path)
    return places


def _app_diff(first: PartnerApplication, other: PartnerApplication) -> str:
    parts: list[str] = []
    for label, left, right in (
        ("ActAs", first.act_as_permissions.values, other.act_as_permissions.values),
        ("AppOnly", first.app_only_permissions.values, other.app_only_permissions.values),
    ):
        added = [name for name in right if name not in left]
        missing = [name for name in left if name not in right]
        if added or missing:
            parts.append(
                f"{label} " + " ".join([*(f"+{n}" for n in added), *(f"-{n}" for n in missing)])
            )
    if first.enabled != other.enabled:
        parts.append(f"Enabled {other.enabled}")
    if first.linked_account != other.linked_account:
        parts.append(f"LinkedAccount {other.linked_account}")
    if first.name != other.name:
        parts.append(f"Name {other.name}")
    if not parts:
        parts.append("lists complete in one export and incomplete in another")
    return "; ".join(parts)


_ROW_ORDER = (
    PermissionMark.FORBIDDEN,
    PermissionMark.EXCESS,
    PermissionMark.NOT_IN_ACT_AS,
    PermissionMark.APPROVED,
    PermissionMark.NOT_GRANTED,
)


def _row_rank(judgement: PermissionJudgement) -> int:
    for rank, mark in enumerate(_ROW_ORDER):
        if mark in judgement.marks:
            return rank
    return len(_ROW_ORDER)


def _permission_rows(judgement: ApplicationJudgement | None) -> tuple[PermissionRow, ...]:
    if judgement is None or not shows_app_only(judgement):
        return ()
    ordered = sorted(judgement.permissions, key=_row_rank)  # stable: stored order within a rank
    rows = []
    for permission in ordered:
        if PermissionMark.FORBIDDEN in permission.marks:
            css = "forbidden"
        elif PermissionMark.EXCESS in permission.marks:
            css = "excess"
        else:
            css = ""
        rows.append(PermissionRow(permission, css, _after(permission)))
    return tuple(rows)


def _after(permission: PermissionJudgement) -> str:
    return permission_outcome(permission).value


def _app_summary(app: PartnerApplication, judgement: ApplicationJudgement | None) -> str:
    act_as = len(app.act_as_permissions.values)
    if judgement is None:
        return (
            f"Not judged by the rules (AppOnly {len(app.app_only_permissions.values)},"
            f" ActAs {act_as})."
        )
    approved = len(judgement.approved)
    text = f"no app-only permission; {plural(act_as, 'delegated (ActAs) permission')}"
    if approved:
        text += f"; {approved} approved for app-only use, none granted"
    return text + "."


# --- servers x vdirs grid --------------------------------------------------------------------


def _grid(report: Report, context: _Context) -> Grid:
    judgements = [j for j in report.judgements.profiles if j.raw is not None]
    finding_of: dict[str, FindingRef] = {}
    for finding in report.active_findings:
        finding_of.setdefault(finding.subject, context.ref(finding))
    deviating: dict[str, dict[str, ProfilesJudgement]] = {}
    carrying: dict[str, None] = {}
    deviating_vdirs: dict[str, None] = {}
    matching: list[ProfilesJudgement] = []
    not_compared = 0
    for judgement in judgements:
        carrying[judgement.vdir] = None
        if judgement.matches_default:
            matching.append(judgement)
            continue
        if judgement.default is None and _plain(judgement):
            not_compared += 1
            continue
        deviating.setdefault(judgement.server, {})[judgement.vdir] = judgement
        deviating_vdirs[judgement.vdir] = None
    unread = _unread(report)
    for server, vdir in unread:
        deviating.setdefault(server, {})
        deviating_vdirs[vdir] = None
    columns = tuple(
        dict.fromkeys((*(vdir for vdir in carrying if vdir in deviating_vdirs), *deviating_vdirs))
    )
    read = {(j.server, j.vdir) for j in judgements}
    rows = []
    for server in sorted(deviating):
        cells = []
        for vdir in columns:
            found = deviating[server].get(vdir)
            if (server, vdir) in unread:
                cells.append(GridCell((unread[server, vdir],), "unread", None))
            elif found is not None:
                cells.append(_cell(found, finding_of.get(found.subject)))
            elif (server, vdir) in read:
                cells.append(GridCell(("default",), "default", None))
            else:
                cells.append(GridCell(("not read",), "unread", None))
        rows.append(GridRow(server, tuple(cells)))
    all_servers = list(dict.fromkeys(j.server for j in judgements))
    clean = [server for server in all_servers if server not in deviating]
    return Grid(
        vdirs=columns,
        rows=tuple(rows),
        matching=len(matching),
        matching_servers=len({j.server for j in matching}),
        quiet_vdirs=tuple(vdir for vdir in carrying if vdir not in deviating_vdirs),
        clean_servers=ranges(sorted(clean)),
        clean_count=len(clean),
        not_compared=not_compared,
        judged=len(judgements),
    )


def _unread(report: Report) -> dict[tuple[str, str], str]:
    """The judged vdirs of the scope's servers that were not assessed, with what a cell says
    (`not read`, `not read (inherited)`): never a value auditor did not read."""
    unread: dict[tuple[str, str], str] = {}
    for item in report.scope.not_assessed:
        if item.server is None or item.vdir is None:
            continue
        state = "" if item.state is EvidenceState.MISSING else f" ({item.state.value})"
        unread[item.server, item.vdir] = f"not read{state}"
    return unread


def _plain(judgement: ProfilesJudgement) -> bool:
    """No mark other than HONOURED and no planned action on any token."""
    return all(
        token.marks == (TokenMark.HONOURED,) and token.action is TokenAction.KEEP
        for token in judgement.tokens
    )


def _cell(judgement: ProfilesJudgement, finding: FindingRef | None) -> GridCell:
    """What one vdir of one server shows: `default`, or each marked token and each default
    token Exchange does not honour here, as the rules marked them."""
    text: list[str] = []
    css = "changed"
    if judgement.default is None:
        text.append("no default known: " + "|".join(_shown(t.segment) for t in judgement.tokens))
    for token in judgement.tokens:
        marks = [mark for mark in token.marks if mark is not TokenMark.HONOURED]
        if not marks and token.action is TokenAction.KEEP:
            continue
        prefix = "+" if TokenMark.ADDED in marks else ""
        words = [prefix + _shown(token.segment)]
        words.extend(mark.value for mark in marks if mark is not TokenMark.ADDED)
        if token.action is TokenAction.REMOVE:
            words.append("(the change removes it)")
        elif token.action is TokenAction.ENABLE:
            words.append("(the change ENABLES it)")
            css = "enables" if css == "changed" else css
        if TokenMark.FORBIDDEN in marks:
            css = "forbidden"
        text.append(" ".join(words))
    text.extend(f"- {name}" for name in judgement.missing_default)
    if not text:
        text.append("default")
        css = "default"
    return GridCell(tuple(text), css, finding)


# --- findings --------------------------------------------------------------------------------


def _groups(report: Report, context: _Context, suppressed: bool) -> tuple[RuleGroup, ...]:
    chosen = [f for f in report.findings if f.suppressed == suppressed]
    by_rule: dict[tuple[Severity, str], list[Finding]] = {}
    for finding in chosen:
        by_rule.setdefault((finding.severity, finding.rule_id), []).append(finding)
    ordered = sorted(by_rule.items(), key=lambda item: (-item[0][0].rank, item[0][1]))
    prefix = "waived" if suppressed else "rule"
    groups = []
    shown: dict[tuple[tuple[str, int | None, str], ...], FindingRef] = {}
    for (severity, rule_id), findings in ordered:
        rows = _collapsed([_finding_row(finding, context, shown) for finding in findings], context)
        servers: dict[str, None] = {}
        organisation = False
        for finding in findings:
            judgement = context.profiles.get(finding.subject)
            if judgement is not None:
                servers[judgement.server] = None
            elif finding.subject in context.app_names:
                organisation = True
            else:
                for item in finding.evidence:
                    server = context.server_of_path.get(item.path)
                    if server:
                        servers[server] = None
        if servers:
            scope = f"on {plural(len(servers), 'server')}"
        elif organisation:
            scope = "on the organisation"
        else:
            scope = ""
        groups.append(
            RuleGroup(
                rule=report.policy.rule(rule_id),
                severity=severity,
                anchor=f"{prefix}-{rule_id.lower()}-{severity.value}",
                scope=scope,
                rows=rows,
            )
        )
    return tuple(groups)


def _collapsed(rows: Sequence[FindingRow], context: _Context) -> tuple[FindingRow, ...]:
    """One row per rule and value: the same finding with the same evidence text on several
    servers (each with its own script, or the same reason for none) is one row naming them."""
    groups: dict[tuple[object, ...], list[FindingRow]] = {}
    for row in rows:
        judgement = context.profiles.get(row.finding.subject)
        if judgement is None or row.same_as is not None:
            key: tuple[object, ...] = ("row", id(row))
        else:
            key = (
                judgement.vdir,
                tuple(item.raw for item in row.finding.evidence),
                row.skipped,
                row.resolved_by,
                row.finding.waiver,
                row.script is None,
            )
        groups.setdefault(key, []).append(row)
    out: list[FindingRow] = []
    for same in groups.values():
        first = same[0]
        servers = [context.profiles[row.finding.subject].server for row in same[1:]]
        if not servers:
            out.append(first)
            continue
        servers.insert(0, context.profiles[first.finding.subject].server)
        vdir = context.profiles[first.finding.subject].vdir
        out.append(
            dataclasses.replace(
                first,
                target=f"{len(servers)} servers: {ranges(servers)}, {vdir}",
                where=f"{first.where} and {len(servers) - 1} more (the same value in each)",
                servers=tuple(servers),
                also=tuple(row.anchor for row in same[1:]),
            )
        )
    return tuple(out)


def _finding_row(
    finding: Finding,
    context: _Context,
    shown: dict[tuple[tuple[str, int | None, str], ...], FindingRef],
) -> FindingRow:
    resolved_by = context.resolved_by(finding)
    script = (
        context.script_ref(finding.remediation) if finding.remediation and not resolved_by else None
    )
    line = f":{finding.location.line}" if finding.location.line is not None else ""
    key = tuple((item.path, item.line, item.raw) for item in finding.evidence)
    same_as = shown.get(key) if key else None
    if key and same_as is None:
        shown[key] = context.ref(finding)
    return FindingRow(
        finding=finding,
        message=_message(finding, context),
        anchor=context.anchors[id(finding)],
        target=context.target(finding),
        where=_relative(finding.location.path, context.root) + line,
        variants=()
        if same_as
        else (_rule_variants(finding, context) or _variants(finding.evidence, context)),
        same_as=same_as,
        script=script,
        resolved_by=resolved_by,
        skipped=context.skipped(finding),
        new=context.report.baseline_state(finding) is BaselineState.NEW,
    )


_HELD = "\ue000"  # stands in for a value from the exports while the message's code is marked


def _message(finding: Finding, context: _Context) -> Markup:
    """The finding's message with the backticked spans the tool wrote shown as code.

    A value from the exports (an application or server name, a path, the evidence text) that
    holds a backtick is held out first and put back escaped, so it never opens a code span.
    """
    values = {
        *context.app_names.values(),
        *context.servers,
        finding.subject,
        finding.location.path,
        *(item.path for item in finding.evidence),
        *(item.raw for item in finding.evidence),
    }
    held: list[str] = []
    text = finding.message.replace(_HELD, "?")
    for value in sorted((v for v in values if "`" in v), key=len, reverse=True):
        if value in text:
            held.append(value)
            text = text.replace(value, f"{_HELD}{len(held) - 1}{_HELD}")
    marked = str(inline_code(text))
    for index, value in enumerate(held):
        marked = marked.replace(f"{_HELD}{index}{_HELD}", str(escape(visible(value))))
    return Markup(marked)


def _rule_variants(finding: Finding, context: _Context) -> tuple[Variant, ...]:
    """FL001's variants (`FleetJudgement`): each distinct Profiles value and every server that
    has it, the first in full and the others as the token diff the judgement holds."""
    fleet = context.decisions.fleet(finding.subject)
    if fleet is None or fleet.agree or any(v.profiles is None for v in fleet.variants):
        return ()
    variants = []
    for index, variant in enumerate(fleet.variants):
        place = f"{plural(len(variant.servers), 'server')} ({ranges(variant.servers)})"
        diff = (
            (*(f"+{_shown(t)}" for t in variant.added), *(f"-{_shown(t)}" for t in variant.missing))
            if index
            else None
        )
        variants.append(Variant(place, "|".join(variant.profiles or ()), diff))
    return tuple(variants)


def _variants(evidence: Sequence[Evidence], context: _Context) -> tuple[Variant, ...]:
    groups: dict[str, list[Evidence]] = {}
    for item in evidence:
        groups.setdefault(item.raw, []).append(item)
    ordered = sorted(groups.values(), key=lambda items: -len(items))
    root = context.root
    base_tokens = context.tokens_of_path.get(ordered[0][0].path) if ordered else None
    variants = []
    for index, items in enumerate(ordered):
        places = [
            context.server_of_path.get(item.path)
            or _relative(item.path, root) + (f":{item.line}" if item.line is not None else "")
            for item in items
        ]
        if len(evidence) == 1:
            place = _relative(items[0].path, root) + (
                f":{items[0].line}" if items[0].line is not None else ""
            )
            places = [place]
        tokens = context.tokens_of_path.get(items[0].path)
        diff: tuple[str, ...] | None = None
        if index and tokens is not None and base_tokens is not None:
            diff = tuple(
                [*(f"+{_shown(t)}" for t in tokens if t not in base_tokens)]
                + [f"-{_shown(t)}" for t in base_tokens if t not in tokens]
            )
        variants.append(Variant(ranges(places), items[0].raw, diff))
    return tuple(variants)


# --- waivers ---------------------------------------------------------------------------------


def _waivers(report: Report, context: _Context) -> tuple[WaiverView, ...]:
    refs = {finding.fingerprint: context.ref(finding) for finding in report.findings}
    return tuple(
        WaiverView(
            decision.waiver,
            decision.state,
            decision.days_left,
            tuple(refs[fingerprint] for fingerprint in decision.suppresses),
            decision.changed_by,
        )
        for decision in context.decisions.waivers
    )


# --- scripts ---------------------------------------------------------------------------------


def _scripts(report: Report, context: _Context) -> tuple[tuple[ScriptView, ...], tuple[str, ...]]:
    functions = {
        script.name: tuple(dict.fromkeys(_FUNCTION.findall(script.content)))
        for script in report.scripts
    }
    common: tuple[str, ...] = ()
    if len(report.scripts) > 1:
        shared = set.intersection(*(set(names) for names in functions.values()))
        first = functions[report.scripts[0].name]
        common = tuple(name for name in first if name in shared)
    rule_of = {finding.fingerprint: finding.rule_id for finding in report.findings}
    data_of: dict[str, tuple[DataRow, ...]] = {}
    for change_set in report.change_sets:
        rows = _data_rows(change_set)
        for kind in ("remediation", "rollback"):
            name = _script_of(report, change_set, kind)
            if name is not None:
                data_of[name] = rows if kind == "remediation" else ()
    embedded = 0
    views = []
    seen: set[str] = set(common)
    first_with: dict[tuple[str, ...], str] = {}
    for index, script in enumerate(report.scripts, 1):
        names = tuple(n for n in functions[script.name] if n not in common)
        own = tuple(n for n in names if n not in seen)
        seen.update(names)
        same = first_with.get(tuple(sorted(names))) if names and not own else None
        first_with.setdefault(tuple(sorted(names)), script.name)
        size = len(script.content)
        remedies = script.fixes if script.kind is ScriptKind.REMEDIATION else ()
        code: str | None = None
        if size <= SOURCE_BUDGET_PER_SCRIPT and embedded + size <= SOURCE_BUDGET_TOTAL:
            code = numbered_source(script.content)
            embedded += size
        views.append(
            ScriptView(
                script=script,
                anchor=f"script-{index}",
                lines=len(script.content.splitlines()),
                line_endings=_line_endings(script.content),
                # A rollback fixes nothing: it puts back what its remediation replaced.
                fixes=tuple(dict.fromkeys(rule_of[fp] for fp in remedies if fp in rule_of)),
                unknown_fixes=tuple(fp for fp in remedies if fp not in rule_of),
                pair=context.script_ref(script.pair) if script.pair else None,
                data=data_of.get(script.name, ()),
                own_functions=own,
                functions_as_in=context.script_ref(same) if same else None,
                code=code,
            )
        )
    return tuple(views), common


def _data_rows(change_set: ChangeSet) -> tuple[DataRow, ...]:
    rows: list[DataRow] = []
    if change_set.kind is ChangeKind.PARTNER_APPLICATIONS:
        for app in change_set.partner_applications:
            rows.append(
                DataRow(
                    target=f"{app.name} ({app.application_identifier}) AppOnlyPermissions",
                    audited=", ".join(app.audited_app_only) or "(empty)",
                    new=", ".join(app.target_app_only) or "(empty)",
                )
            )
    for change in change_set.web_configs:
        rows.append(
            DataRow(
                target=(
                    f"{change_set.server} {change.relative_path} ({change.vdir})"
                    f" OAuthHttpModule.Profiles; audited SHA-256 {change.audited_sha256}"
                ),
                audited=change.audited_value,
                new=change.target_value,
            )
        )
    return tuple(rows)


# --- inputs ----------------------------------------------------------------------------------


def _common_root(paths: Iterable[str]) -> str:
    """The deepest folder that holds every input (display only: paths are shown below it)."""
    split = [path.replace("\\", "/").split("/")[:-1] for path in paths]
    if not split:
        return ""
    prefix = split[0]
    for parts in split[1:]:
        length = 0
        for left, right in zip(prefix, parts, strict=False):
            if left != right:
                break
            length += 1
        prefix = prefix[:length]
    return "/".join(prefix)


def _relative(path: str, root: str) -> str:
    normal = path.replace("\\", "/")
    if root and normal.startswith(root + "/"):
        return normal[len(root) + 1 :]
    return path


def _inputs_by_name(rows: Sequence[InputRow]) -> tuple[InputRow, ...]:
    """One row per file name below the server folder, however many different copies it has:
    a fleet of unique files would otherwise need a row per file (their SHA-256 values are in
    findings.json and plan.json, `inputs`)."""
    by_name: dict[tuple[str, str | None], list[InputRow]] = {}
    for row in rows:
        by_name.setdefault((row.path, row.format), []).append(row)
    merged: list[InputRow] = []
    for (path, fmt), same in by_name.items():
        servers = [name for row in same for name in row.servers.split(", ") if name]
        hashes = list(dict.fromkeys(row.sha256 for row in same))
        merged.append(
            InputRow(
                path=path,
                servers=ranges(servers) if len(servers) <= 12 else "",
                count=sum(row.count for row in same),
                format=fmt,
                sha256=hashes[0] if len(hashes) == 1 else "",
                distinct=len(hashes),
            )
        )
    return tuple(merged)


def _inputs(report: Report, context: _Context) -> Inputs:
    root = context.root
    servers = set(context.servers)
    servers.update(app.server for app in report.inventory.partner_applications if app.server)
    grouped: dict[tuple[str, str, str | None], list[str]] = {}
    for source in report.inventory.inputs:
        relative = _relative(source.path, root)
        head, _, tail = relative.replace("\\", "/").partition("/")
        fmt = source.format.value if source.format else None
        if head in servers and tail:
            grouped.setdefault((tail, source.sha256, fmt), []).append(head)
        else:
            grouped.setdefault((relative, source.sha256, fmt), [])
    rows = tuple(
        InputRow(
            path=path,
            servers=ranges(servers),
            count=max(1, len(servers)),
            format=fmt,
            sha256=sha,
        )
        for (path, sha, fmt), servers in grouped.items()
    )
    if len(rows) > INPUT_ROWS_UP_TO:
        rows = _inputs_by_name(rows)
    return Inputs(
        root=root,
        rows=rows,
        files=len(report.inventory.inputs),
        open=len(rows) <= OPEN_ROWS_UP_TO,
    )
