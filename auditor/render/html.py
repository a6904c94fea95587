"""The change-board HTML report: one self-contained page rendered from a `Report`.

This module owns the view of a report that the page needs (permission matrices, the fleet of
web.config profiles against the shipped defaults, findings grouped by severity then rule, waiver
expiry relative to `report.as_of`) and hands it to the Jinja2 templates in
`templates/html/`, which build every piece of markup. Jinja2 autoescaping is on for every
template; the only `Markup` made here is Pygments' highlighted PowerShell (Pygments escapes it)
and Pygments' own stylesheet. Every other value is plain text and is escaped by Jinja2. Before
escaping, control, bidirectional-override and zero-width characters are replaced by visible
stand-ins, so a hostile name can neither hide characters nor reorder what the board reads.

The page loads nothing: inline CSS only (allowed by its SHA-256 in the Content-Security-Policy
meta tag), no script, no URL that the browser fetches. Rendering is pure: the same `Report`
gives the same bytes; the only date on the page is `report.as_of`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from fnmatch import fnmatchcase

import jinja2
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PowerShellLexer

from auditor.model import (
    Finding,
    PartnerApplication,
    Policy,
    Report,
    RuleInfo,
    Script,
    Severity,
    Waiver,
    WebConfig,
)
from auditor.resources import templates_dir

# Rule groups start expanded while the report is this small; above it they start collapsed
# (print expands them all through CSS).
OPEN_GROUPS_UP_TO = 200
# Waivers that run out within this many days of `as_of` are called out in the summary.
EXPIRY_WARNING_DAYS = 30

_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069"
    "\ud800-\udfff\ufeff\ufff9-\ufffb\ufffe\uffff]"
)


class Mark(StrEnum):
    """Text markers printed next to a value, so the meaning survives black-and-white print."""

    FORBIDDEN = "FORBIDDEN"
    EXCESS = "EXCESS"
    NOT_IN_ACT_AS = "NOT IN ACTAS"
    APPROVED = "APPROVED"
    NOT_GRANTED = "APPROVED, NOT GRANTED"
    ADDED = "ADDED"
    MISSING = "MISSING"
    UNKNOWN_TOKEN = "UNKNOWN TOKEN"
    EXPIRED = "EXPIRED"
    EXPIRES_SOON = "EXPIRES SOON"
    ACTIVE = "ACTIVE"
    INVALID = "INVALID DATE"

    @property
    def css(self) -> str:
        return self.name.lower().replace("_", "-")


class Presence(StrEnum):
    """Whether a name is in an exported permission list; UNKNOWN when the list is incomplete."""

    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class VerdictStatus(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    INCOMPLETE = "INCOMPLETE"


@dataclass(frozen=True, slots=True)
class SeverityCount:
    severity: Severity
    active: int
    suppressed: int


@dataclass(frozen=True, slots=True)
class Verdict:
    status: VerdictStatus
    at_or_above: tuple[SeverityCount, ...]  # non-zero counts at or above `fail_on`
    below: int  # active findings below `fail_on`
    suppressed: int


@dataclass(frozen=True, slots=True)
class FindingRef:
    """A link to a finding on the page."""

    anchor: str
    rule_id: str
    severity: Severity
    subject: str


@dataclass(frozen=True, slots=True)
class PermissionRow:
    name: str
    act_as: Presence
    app_only: Presence
    approved: bool
    marks: tuple[Mark, ...]


@dataclass(frozen=True, slots=True)
class ApplicationView:
    application: PartnerApplication
    known: bool
    rows: tuple[PermissionRow, ...]
    excess: int
    forbidden: int
    findings: tuple[FindingRef, ...]


@dataclass(frozen=True, slots=True)
class TokenView:
    shown: str  # the token with spaces shown as U+2423; "(empty)" for an empty segment
    marks: tuple[Mark, ...]


@dataclass(frozen=True, slots=True)
class FleetRow:
    config: WebConfig
    tokens: tuple[TokenView, ...]
    missing: tuple[str, ...]
    default: tuple[str, ...] | None
    findings: tuple[FindingRef, ...]


@dataclass(frozen=True, slots=True)
class ScriptRef:
    anchor: str | None  # None when the script is not part of this report
    name: str
    sha256: str | None


@dataclass(frozen=True, slots=True)
class FindingView:
    finding: Finding
    anchor: str
    script: ScriptRef | None


@dataclass(frozen=True, slots=True)
class RuleGroup:
    rule: RuleInfo
    anchor: str
    findings: tuple[FindingView, ...]
    open: bool


@dataclass(frozen=True, slots=True)
class SeverityGroup:
    severity: Severity
    anchor: str
    count: int
    rules: tuple[RuleGroup, ...]


@dataclass(frozen=True, slots=True)
class RuleSummary:
    rule: RuleInfo
    severity: Severity
    active: int
    suppressed: int
    anchor: str | None


@dataclass(frozen=True, slots=True)
class WaiverView:
    waiver: Waiver
    status: Mark
    days_left: int | None
    suppresses: tuple[FindingRef, ...]


@dataclass(frozen=True, slots=True)
class ScriptView:
    script: Script
    anchor: str
    code: Markup
    lines: int
    line_endings: str
    fixes: tuple[FindingRef, ...]
    unknown_fixes: tuple[str, ...]
    pair: ScriptRef | None


@dataclass(frozen=True, slots=True)
class NotAppliedView:
    rule: RuleInfo
    reason: str


@dataclass(frozen=True, slots=True)
class Page:
    """Everything the template reads besides the report itself."""

    report: Report
    verdict: Verdict
    counts: tuple[SeverityCount, ...]
    max_count: int
    rule_summary: tuple[RuleSummary, ...]
    applications: tuple[ApplicationView, ...]
    fleet: tuple[FleetRow, ...]
    servers: tuple[str, ...]
    groups: tuple[SeverityGroup, ...]
    suppressed: tuple[FindingView, ...]
    suppressed_rules: tuple[RuleInfo, ...]
    waivers: tuple[WaiverView, ...]
    expiring: tuple[WaiverView, ...]
    scripts: tuple[ScriptView, ...]
    not_applied: tuple[NotAppliedView, ...]
    pygments_css: Markup
    expiry_days: int


_ViewFinding = Callable[[Finding], FindingView]
_RefFinding = Callable[[Finding], FindingRef]
_RefScript = Callable[[str], ScriptRef]


def render_html(report: Report) -> str:
    """Render the change-board report for `report` as one self-contained HTML document."""
    template = _environment().get_template("report.html.j2")
    return template.render(page=_page(report), Mark=Mark, Presence=Presence)


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


def _csp_sha256(text: str) -> str:
    digest = hashlib.sha256(str(text).encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


@functools.cache
def _pygments_css() -> Markup:
    return Markup(HtmlFormatter(cssclass="highlight").get_style_defs(".highlight"))


def _highlight(content: str) -> Markup:
    """PowerShell highlighted by Pygments, which escapes the text; CRLF shown as line breaks."""
    formatter = HtmlFormatter(cssclass="highlight", linenos="inline", wrapcode=True)
    lexer = PowerShellLexer(stripnl=False, ensurenl=True)
    return Markup(highlight(visible(content.replace("\r\n", "\n")), lexer, formatter))


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


# --- view ------------------------------------------------------------------------------------


def _page(report: Report) -> Page:
    policy = report.policy
    anchors = {id(finding): f"finding-{index}" for index, finding in enumerate(report.findings, 1)}
    by_fingerprint: dict[str, Finding] = {}
    for finding in report.findings:
        by_fingerprint.setdefault(finding.fingerprint, finding)
    script_anchors = {
        script.name: f"script-{index}" for index, script in enumerate(report.scripts, 1)
    }
    scripts_by_name = {script.name: script for script in report.scripts}

    def ref(finding: Finding) -> FindingRef:
        return FindingRef(anchors[id(finding)], finding.rule_id, finding.severity, finding.subject)

    def script_ref(name: str) -> ScriptRef:
        script = scripts_by_name.get(name)
        return ScriptRef(
            anchor=script_anchors.get(name),
            name=name,
            sha256=script.sha256 if script else None,
        )

    def view(finding: Finding) -> FindingView:
        script = script_ref(finding.remediation) if finding.remediation else None
        return FindingView(finding, anchors[id(finding)], script)

    by_subject: dict[str, list[FindingRef]] = {}
    for finding in report.findings:
        by_subject.setdefault(finding.subject, []).append(ref(finding))

    counts = report.counts()
    suppressed_counts = dict.fromkeys(Severity, 0)
    for finding in report.findings:
        if finding.suppressed:
            suppressed_counts[finding.severity] += 1
    severity_counts = tuple(
        SeverityCount(severity, counts[severity], suppressed_counts[severity])
        for severity in _severities()
    )

    groups = _groups(report, view)
    group_anchors = {
        (group.severity, rule_group.rule.id): rule_group.anchor
        for group in groups
        for rule_group in group.rules
    }
    summary = _rule_summary(report, group_anchors)
    waivers = _waivers(report, ref)

    return Page(
        report=report,
        verdict=_verdict(report, severity_counts),
        counts=severity_counts,
        max_count=max((count.active for count in severity_counts), default=0),
        rule_summary=summary,
        applications=tuple(
            _application(app, policy, tuple(by_subject.get(app.subject, ())))
            for app in report.inventory.partner_applications
        ),
        fleet=tuple(
            _fleet_row(config, policy, tuple(by_subject.get(config.subject, ())))
            for config in report.inventory.web_configs
        ),
        servers=tuple(dict.fromkeys(config.server for config in report.inventory.web_configs)),
        groups=groups,
        suppressed=tuple(view(finding) for finding in report.findings if finding.suppressed),
        suppressed_rules=tuple(
            policy.rule(rule_id)
            for rule_id in dict.fromkeys(f.rule_id for f in report.findings if f.suppressed)
        ),
        waivers=waivers,
        expiring=tuple(
            waiver for waiver in waivers if waiver.status in (Mark.EXPIRES_SOON, Mark.EXPIRED)
        ),
        scripts=tuple(
            _script_view(script, script_anchors[script.name], by_fingerprint, ref, script_ref)
            for script in report.scripts
        ),
        not_applied=tuple(
            NotAppliedView(policy.rule(item.rule_id), item.reason) for item in report.not_applied
        ),
        pygments_css=_pygments_css(),
        expiry_days=EXPIRY_WARNING_DAYS,
    )


def _severities() -> tuple[Severity, ...]:
    return tuple(sorted(Severity, key=lambda severity: -severity.rank))


def _verdict(report: Report, counts: tuple[SeverityCount, ...]) -> Verdict:
    at_or_above = tuple(
        count for count in counts if count.severity.at_least(report.fail_on) and count.active
    )
    below = sum(count.active for count in counts if not count.severity.at_least(report.fail_on))
    if not report.complete:
        status = VerdictStatus.INCOMPLETE
    elif report.failing():
        status = VerdictStatus.FAIL
    else:
        status = VerdictStatus.PASS
    suppressed = sum(count.suppressed for count in counts)
    return Verdict(status, at_or_above, below, suppressed)


def _groups(report: Report, view: _ViewFinding) -> tuple[SeverityGroup, ...]:
    active = report.active_findings
    open_groups = len(active) <= OPEN_GROUPS_UP_TO
    groups: list[SeverityGroup] = []
    for severity in _severities():
        by_rule: dict[str, list[FindingView]] = {}
        for finding in active:
            if finding.severity == severity:
                by_rule.setdefault(finding.rule_id, []).append(view(finding))
        if not by_rule:
            continue
        rules = tuple(
            RuleGroup(
                rule=report.policy.rule(rule_id),
                anchor=f"rule-{severity.value}-{index}",
                findings=tuple(views),
                open=open_groups,
            )
            for index, (rule_id, views) in enumerate(sorted(by_rule.items()), 1)
        )
        count = sum(len(group.findings) for group in rules)
        groups.append(SeverityGroup(severity, f"severity-{severity.value}", count, rules))
    return tuple(groups)


def _rule_summary(
    report: Report, anchors: dict[tuple[Severity, str], str]
) -> tuple[RuleSummary, ...]:
    tally: dict[tuple[Severity, str], list[int]] = {}
    for finding in report.findings:
        entry = tally.setdefault((finding.severity, finding.rule_id), [0, 0])
        entry[1 if finding.suppressed else 0] += 1
    ordered = sorted(tally.items(), key=lambda item: (-item[0][0].rank, item[0][1]))
    return tuple(
        RuleSummary(
            rule=report.policy.rule(rule_id),
            severity=severity,
            active=active,
            suppressed=suppressed,
            anchor=anchors.get((severity, rule_id)),
        )
        for (severity, rule_id), (active, suppressed) in ordered
    )


def _application(
    app: PartnerApplication, policy: Policy, findings: tuple[FindingRef, ...]
) -> ApplicationView:
    approval = policy.application(app.application_identifier)
    approved = approval.approved_app_only if approval else ()
    act_as = app.act_as_permissions
    app_only = app.app_only_permissions
    names = dict.fromkeys((*act_as.values, *app_only.values, *approved))
    rows: list[PermissionRow] = []
    for name in names:
        in_act_as = _presence(name, act_as.values, act_as.complete)
        in_app_only = _presence(name, app_only.values, app_only.complete)
        marks: list[Mark] = []
        if in_app_only is Presence.YES:
            if any(fnmatchcase(name, pattern) for pattern in policy.forbidden_app_only):
                marks.append(Mark.FORBIDDEN)
            if name not in approved:
                marks.append(Mark.EXCESS)
            if in_act_as is Presence.NO:
                marks.append(Mark.NOT_IN_ACT_AS)
            if not marks:
                marks.append(Mark.APPROVED)
        elif in_app_only is Presence.NO and name in approved:
            marks.append(Mark.NOT_GRANTED)
        rows.append(PermissionRow(name, in_act_as, in_app_only, name in approved, tuple(marks)))
    return ApplicationView(
        application=app,
        known=approval is not None,
        rows=tuple(rows),
        excess=sum(Mark.EXCESS in row.marks for row in rows),
        forbidden=sum(Mark.FORBIDDEN in row.marks for row in rows),
        findings=findings,
    )


def _presence(name: str, values: tuple[str, ...], complete: bool) -> Presence:
    if name in values:
        return Presence.YES
    return Presence.NO if complete else Presence.UNKNOWN


def _fleet_row(config: WebConfig, policy: Policy, findings: tuple[FindingRef, ...]) -> FleetRow:
    vdir_policy = policy.vdir(config.vdir)
    default = vdir_policy.default_profiles if vdir_policy else None
    forbidden = set(policy.forbidden_profiles_everywhere)
    if vdir_policy:
        forbidden.update(vdir_policy.forbidden_profiles)
    known = set(policy.known_profile_tokens) | set(default or ())
    tokens = config.oauth_profiles.tokens if config.oauth_profiles else ()
    views: list[TokenView] = []
    for token in tokens:
        marks: list[Mark] = []
        if token in forbidden:
            marks.append(Mark.FORBIDDEN)
        if default is not None and token not in default:
            marks.append(Mark.ADDED)
        if known and token not in known:
            marks.append(Mark.UNKNOWN_TOKEN)
        views.append(TokenView(token.replace(" ", "\u2423") if token else "(empty)", tuple(marks)))
    missing = tuple(token for token in default or () if token not in tokens)
    return FleetRow(config, tuple(views), missing, default, findings)


def _waivers(report: Report, ref: _RefFinding) -> tuple[WaiverView, ...]:
    as_of = _date(report.as_of)
    views: list[WaiverView] = []
    for waiver in report.policy.waivers:
        expires = _date(waiver.expires)
        days = (expires - as_of).days if expires and as_of else None
        if days is None:
            status = Mark.INVALID
        elif days < 0:
            status = Mark.EXPIRED
        elif days <= EXPIRY_WARNING_DAYS:
            status = Mark.EXPIRES_SOON
        else:
            status = Mark.ACTIVE
        suppresses = tuple(ref(finding) for finding in report.findings if finding.waiver == waiver)
        views.append(WaiverView(waiver, status, days, suppresses))
    return tuple(views)


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _script_view(
    script: Script,
    anchor: str,
    by_fingerprint: dict[str, Finding],
    ref: _RefFinding,
    script_ref: _RefScript,
) -> ScriptView:
    fixes = tuple(ref(by_fingerprint[fp]) for fp in script.fixes if fp in by_fingerprint)
    unknown = tuple(fp for fp in script.fixes if fp not in by_fingerprint)
    return ScriptView(
        script=script,
        anchor=anchor,
        code=_highlight(script.content),
        lines=len(script.content.splitlines()),
        line_endings=_line_endings(script.content),
        fixes=fixes,
        unknown_fixes=unknown,
        pair=script_ref(script.pair) if script.pair else None,
    )
