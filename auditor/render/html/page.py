"""Page assembly: builds every section from the report (`Page`) and renders
`templates/html/report.html.j2` with the one Jinja2 environment (autoescape on, every printed
plain string passed through `visible`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jinja2
from markupsafe import Markup

from auditor.model import (
    PermissionMark,
    Report,
    RuleInfo,
)
from auditor.render.html.applications import ApplicationView, _applications
from auditor.render.html.context import CellKind, ScriptRef, _Context
from auditor.render.html.findings import RuleGroup, _groups
from auditor.render.html.fleet import Grid, _grid
from auditor.render.html.inputs import Inputs, _inputs
from auditor.render.html.overview import SeverityCount, _counts
from auditor.render.html.plan import Plan, _plan
from auditor.render.html.scripts import SCRIPT_BLOCKS_UP_TO, ScriptView, _scripts
from auditor.render.html.text import _csp_sha256, _css_string, _mark_css, inline_code, visible
from auditor.render.html.trust import TrustLine, _trust
from auditor.render.html.verdict import Verdict, _verdict
from auditor.render.html.waivers import EXPIRY_WARNING_DAYS, WaiverStatus, WaiverView, _waivers
from auditor.render.runbook import runbook_sections
from auditor.render.template_cache import bytecode_cache
from auditor.resources import templates_dir

# The approval block lists each script's SHA-256 up to this many scripts; above it, it points at
# the Scripts section (one row per script) so that the block stays on one printed page.
APPROVAL_SCRIPT_ROWS = 8


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
    trust: tuple[TrustLine, ...] | None  # the hybrid-trust checklist; None: not chosen
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
        bytecode_cache=bytecode_cache(),
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
        trust=_trust(report, context),
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
