"""RUNBOOK.md: how to run the change package, for the operator and the change board.

`render_runbook(report)` is pure (`Report -> str`): which script runs where and in what order,
the pre-checks, what users notice, how long it takes, how to verify, the back-out order, the
Cumulative Update caveat and how to sign the scripts. `runbook_sections(report)` returns the same
content as (title, paragraphs) pairs so that the HTML report can show it without Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from auditor.model import ChangeKind, ChangeSet, ManualKind, Report
from auditor.render.story import ENABLES, Step, Story, change_story
from auditor.render.story_trust import ManualText, manual_story

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029`]")


def _plain(value: str | None) -> str:
    """A value from the exports on one line, without backticks (the HTML report escapes it)."""
    return _CONTROL.sub(" ", value or "")


def markdown_text(value: str | None) -> str:
    """A value from the exports as literal Markdown text on one line.

    Control and line-separator characters and backticks become spaces, and every character
    that opens Markdown inline syntax mid-line (`\\ * _ [ ] < > ! | ~ & :`) is backslash-escaped,
    so no value opens a link (also a bare `http://` one), an image, emphasis, a code span,
    HTML, an entity or a table cell. A value never starts a line here, so block syntax (`#`,
    `-`) is inert.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\g<0>", _plain(value))


_MARKDOWN_SPECIAL = re.compile(r"[\\`*_\[\]<>!|~&:]")


_BEFORE_THE_CHANGE = [
    "Run `auditor verify <package>`: every file must match MANIFEST.sha256.",
    "Run every remediation script with -WhatIf (it writes nothing on the server, no "
    "backup folder, no transcript) and attach its output to the change record.",
    "Check that the scripts are the reviewed ones: their SHA-256 values are in "
    "MANIFEST.sha256 and in the report (Get-FileHash -Algorithm SHA256).",
    "Where policy requires signed scripts (AllSigned, AppLocker/WDAC; in "
    "ConstrainedLanguage mode the scripts stop), sign each script after review and "
    "after the hash check above: `Set-AuthenticodeSignature -FilePath <script> "
    "-Certificate <code-signing certificate> -TimestampServer <url> -HashAlgorithm "
    "SHA256`. Signing appends a '# SIG # Begin signature block' ... '# SIG # End "
    "signature block' comment to the script, so its Get-FileHash no longer equals "
    "MANIFEST.sha256; the text before the block is unchanged (the scripts are ASCII "
    "with CRLF line endings). Run `auditor verify <package>` again: it checks each "
    "signed script by the text before its block and reports it as 'signed "
    "(signature not checked here)'; anything else added to a script fails. Check "
    "the signature itself with Get-AuthenticodeSignature on the server.",
]
_BACKUPS = (
    "Each rollback restores from the backups its remediation wrote on the server "
    "where it ran; keep the same -BackupDirectory if the remediation ran with one."
)
_CUMULATIVE_UPDATES = (
    "A Cumulative Update (and some Security Updates) rewrites the Exchange "
    "web.config files: audit again after every update, and re-apply the change "
    "if the audit finds the profiles again."
)

_Sections = list[tuple[str, list[str]]]


def runbook_sections(
    report: Report, *, in_report: bool = False, value: Callable[[str | None], str] = _plain
) -> _Sections:
    """The runbook as (section title, list of lines), in reading order.

    `in_report`: for the HTML report, which already names the servers that change (under the
    verdict) and lists every script with its SHA-256 (Scripts): those two sections are left out.
    `value` writes each value from the exports (plain text for the HTML report, which escapes
    it; `markdown_text` for RUNBOOK.md).
    """
    manual = manual_story(report, value)
    if not report.change_sets:
        if manual:
            lead = _NO_SCRIPT_BUT_MANUAL if report.manual_changes else _NO_CHANGE_BUT_EVIDENCE
            return [("No generated script", [lead]), _manual_section(manual)]
        return [
            ("Nothing to run", ["This package holds no remediation script: no change is planned."])
        ]
    story = change_story(report, value)
    servers = [cs for cs in report.change_sets if cs.kind is ChangeKind.WEB_CONFIG_PROFILES]
    steps = story.grouped_steps if in_report else story.steps
    back_out = story.grouped_back_out if in_report else story.back_out
    order = [_step_line(step) for step in steps]
    order.append(_order_line(story))
    sections: _Sections = [("Which script runs where, in this order", order)]
    if manual:
        sections.append(_manual_section(manual))
    if not in_report:
        sections += _where_and_what_stays_open(report, servers, value)
    sections += [
        ("Before the change", list(_BEFORE_THE_CHANGE)),
        ("What users notice", list(story.users_notice)),
        ("How long it takes", [_duration(report)]),
        ("Afterwards: verify", list(story.verify)),
        (
            "Back-out, in this order",
            [_step_line(step, back_out=True) for step in back_out] + [_BACKUPS],
        ),
    ]
    if servers:
        sections.append(("Cumulative Updates", [_CUMULATIVE_UPDATES]))
    if not in_report:
        sections.append(
            (
                "Scripts and their SHA-256",
                [f"{script.name}  {script.sha256}" for script in report.scripts if script.name],
            )
        )
    return sections


_MANUAL_TITLE = "Manual steps: Microsoft's commands, run by hand (no generated script)"
_NO_SCRIPT_BUT_MANUAL = (
    "This package holds no remediation script: the change is the manual steps below."
)
_NO_CHANGE_BUT_EVIDENCE = (
    "This package holds no remediation script and proposes no change: the manual step below "
    "only reads, to complete the evidence the audit lacked."
)


def _manual_section(manual: tuple[ManualText, ...]) -> tuple[str, list[str]]:
    return (_MANUAL_TITLE, [_manual_intro(manual), *(step.line for step in manual)])


# What each kind of manual step does, for the section's first line (in run order).
_MANUAL_DOES = {
    ManualKind.BUILD_UPGRADE: "installing Exchange updates",
    ManualKind.AUTH_CERTIFICATE: "renewing the auth certificate",
    ManualKind.DEDICATED_APP: "creating and consenting to the dedicated hybrid app in Entra ID",
    ManualKind.CERTIFICATE_UPLOAD: "uploading the auth certificate to the dedicated app",
    ManualKind.CLOUD_EXPORT: "reading the cloud side from Microsoft Graph",
    ManualKind.KEY_RESET: "resetting the first-party service principal's keys in Entra ID",
}


def _manual_intro(manual: tuple[ManualText, ...]) -> str:
    """The section's first line, naming what this package's manual steps do."""
    does = list(dict.fromkeys(_MANUAL_DOES[step.kind] for step in manual))
    listed = does[0] if len(does) == 1 else f"{', '.join(does[:-1])} and {does[-1]}"
    noun = "this step" if len(manual) == 1 else "these steps"
    return (
        f"auditor generates no script for {noun} ({listed}, with Microsoft's own commands). "
        f"{'It' if len(manual) == 1 else 'Each'} names the findings it answers, where and when "
        "it runs, the exact command and where it comes from, how to prove it landed, and its "
        "back-out or why there is none."
    )


def _where_and_what_stays_open(
    report: Report, servers: list[ChangeSet], value: Callable[[str | None], str]
) -> _Sections:
    """The servers that change and what the package leaves open (RUNBOOK.md only)."""
    sections: _Sections = [
        (
            "Servers to change",
            [f"{len(servers)} server(s): " + ", ".join(value(cs.server) for cs in servers)]
            if servers
            else ["No web.config change is planned."],
        )
    ]
    not_planned = [
        f"{value(item.subject)}: no script ({value(item.reason)})." for item in report.skipped
    ] + [
        f"{value(item.what)}: not assessed ({item.state.value}); this package changes "
        "nothing there and cannot say what that server needs: audit again with it."
        for item in report.scope.not_assessed
    ]
    if not_planned:
        sections.append(("Not planned: what stays open after this package", not_planned))
    return sections


def _expected(lines: tuple[str, ...]) -> str:
    return "Expected output: " + "; ".join(f"`{line}`" for line in lines) + "."


def _step_line(step: Step, *, back_out: bool = False) -> str:
    """`N. script: where. Run: `command`. <effects> Expected output: ...`."""
    enables = f" {ENABLES}: this step widens access." if step.enables else ""
    effects = " ".join(step.effects) if back_out else ""
    text = f"{step.label}. {step.script}: {step.where}.{enables} Run: `{step.command}`."
    if effects:
        text += f" {effects}"
    return f"{text} {_expected(step.expect)}"


def _order_line(story: Story) -> str:
    partner = [step for step in story.steps if not step.servers]
    servers = [step for step in story.steps if step.servers]
    if partner and servers:
        first = (
            f"Step {partner[0].number} (partner applications) first: it takes the app-only "
            "grants away before any web.config changes"
        )
        if any(step.enables for step in servers):
            first += f", so no server {ENABLES} a token while the wider grants still exist"
        text = first + "; then the web.config scripts, one server at a time."
    elif partner:
        text = "One script: no web.config changes in this package."
    else:
        text = "The web.config scripts, one server at a time, in any order."
    return (
        text + " Keep each script's -BackupDirectory (default: `Logging\\auditor\\<change "
        "id>` below the Exchange install folder): its rollback reads the backups from there."
    )


def _duration(report: Report) -> str:
    parts: list[str] = []
    if any(cs.kind is ChangeKind.PARTNER_APPLICATIONS for cs in report.change_sets):
        parts.append(
            "The partner-application script: under a minute; wait for Active Directory "
            "replication before verifying."
        )
    count = sum(1 for cs in report.change_sets if cs.kind is ChangeKind.WEB_CONFIG_PROFILES)
    if count:
        parts.append(
            f"Each of the {count} web.config script(s): under a minute including the pool "
            "recycle; plan about five minutes per server with the checks."
        )
    if any(cs.kind is ChangeKind.DEDICATED_APP_OVERRIDE for cs in report.change_sets):
        parts.append(
            "The dedicated-app override script: under a minute; Exchange applies the override "
            "on the other servers within an hour."
        )
    if any(cs.kind is ChangeKind.EVOSTS_AUTH_SERVERS for cs in report.change_sets):
        parts.append(
            "The EvoSTS AuthServer script: under a minute; wait for Active Directory "
            "replication before verifying."
        )
    return " ".join(parts)


def render_runbook(report: Report) -> str:
    """RUNBOOK.md for the package of `report` (Markdown, LF line endings)."""
    lines = [f"# Runbook for change {report.change_id}", ""]
    lines.append(
        f"Generated by auditor {report.tool_version} from the audit judged on {report.as_of}, "
        f"policy {markdown_text(report.policy.name)} (sha256 {report.policy.sha256})."
    )
    for title, paragraphs in runbook_sections(report, value=markdown_text):
        lines += ["", f"## {title}", ""]
        for paragraph in paragraphs:
            bullet = paragraph if paragraph[:1].isdigit() else f"- {paragraph}"
            lines.append(bullet)
    return "\n".join(lines) + "\n"
