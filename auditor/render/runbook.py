"""RUNBOOK.md: how to run the change package, for the operator and the change board.

`render_runbook(report)` is pure (`Report -> str`): which script runs where and in what order,
the pre-checks, what users notice, how long it takes, how to verify, the back-out order, the
Cumulative Update caveat and how to sign the scripts. `runbook_sections(report)` returns the same
content as (title, paragraphs) pairs so that the HTML report can show it without Markdown.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from auditor.model import ChangeKind, Report

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


def runbook_sections(
    report: Report, *, in_report: bool = False, value: Callable[[str | None], str] = _plain
) -> list[tuple[str, list[str]]]:
    """The runbook as (section title, list of lines), in reading order.

    `in_report`: for the HTML report, which already names the servers that change (under the
    verdict) and lists every script with its SHA-256 (Scripts): those two sections are left out.
    `value` writes each value from the exports (plain text for the HTML report, which escapes
    it; `markdown_text` for RUNBOOK.md).
    """
    _text = value
    partner = [cs for cs in report.change_sets if cs.kind is ChangeKind.PARTNER_APPLICATIONS]
    servers = [cs for cs in report.change_sets if cs.kind is ChangeKind.WEB_CONFIG_PROFILES]
    sections: list[tuple[str, list[str]]] = []

    if not report.change_sets:
        sections.append(
            ("Nothing to run", ["This package holds no remediation script: no change is planned."])
        )
        return sections

    order: list[str] = []
    step = 0
    for change_set in partner:
        step += 1
        name = f"remediation/{change_set.slug}.ps1"
        apps = ", ".join(
            f"{_text(c.name)} ({c.application_identifier})" for c in change_set.partner_applications
        )
        order.append(
            f"{step}. {name}: once for the organisation, in the Exchange Management Shell on any "
            f"Exchange server, with a role that may run Set-PartnerApplication. Changes: {apps}."
        )
    for change_set in servers:
        step += 1
        name = f"remediation/{change_set.slug}.ps1"
        files = ", ".join(_text(c.vdir) for c in change_set.web_configs)
        pools = sorted({c.app_pool for c in change_set.web_configs if c.app_pool})
        order.append(
            f"{step}. {name}: on the server {_text(change_set.server)} itself, in an elevated "
            f"Windows PowerShell 5.1 session (it refuses to run on any other computer). "
            f"Changes: {files}; recycles: {', '.join(pools) or 'nothing (recycle by hand)'}."
        )
    order.append(
        "Partner applications first (they remove the app-only grants), then the web.config "
        "scripts, one server at a time. Keep each script's -BackupDirectory (default: "
        "`Logging\\auditor\\<change id>` below the Exchange install folder)."
    )
    sections.append(("Which script runs where, in this order", order))
    if not in_report:
        sections.append(
            (
                "Servers to change",
                [f"{len(servers)} server(s): " + ", ".join(_text(cs.server) for cs in servers)]
                if servers
                else ["No web.config change is planned."],
            )
        )
    sections.append(
        (
            "Before the change",
            [
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
            ],
        )
    )
    sections.append(
        (
            "What users notice",
            [
                "The REST front-end application pool (MSExchangeRestFrontEndAppPool) recycles on "
                "each changed server: REST requests in flight on that server fail once and are "
                "retried by clients.",
                "App-only (client_credentials) Microsoft Graph callers against on-premises "
                "mailboxes stop working: that is the intended effect. Delegated access is "
                "unchanged.",
            ],
        )
    )
    sections.append(
        (
            "How long it takes",
            [
                "The partner-application script: under a minute. Each web.config script: under "
                "a minute including the pool recycle. Plan about five minutes per server with "
                "the checks, and wait for Active Directory replication before verifying.",
            ],
        )
    )
    sections.append(
        (
            "Afterwards: verify",
            [
                "Export again with the collection script (`auditor collect`) and run `auditor "
                "attest --before <old exports> --after <new exports> --package <package>`: the "
                "approved change landed and nothing else changed.",
                "Functional check: an app-only Graph call to an on-premises mailbox is refused; "
                "a delegated call (for example Outlook on the web, REST with a user token) still "
                "works.",
                "A script that stopped after the first change ends with one AUDITOR-PARTIAL "
                "line; fix the cause and run the same script again with the same "
                "-BackupDirectory: it continues with what is left.",
            ],
        )
    )
    back_out = []
    for change_set in reversed(servers):
        back_out.append(f"rollback/{change_set.slug}.ps1 on {_text(change_set.server)}")
    for change_set in partner:
        back_out.append(
            f"rollback/{change_set.slug}.ps1 -ConfirmRegrant (it re-grants the removed "
            "permissions organisation-wide and prints them; -Confirm:$false does not replace "
            "-ConfirmRegrant)"
        )
    sections.append(
        (
            "Back-out, in this order",
            [f"{index}. {line}" for index, line in enumerate(back_out, start=1)]
            + ["Each rollback restores from the backups the remediation wrote on that server."],
        )
    )
    sections.append(
        (
            "Cumulative Updates",
            [
                "A Cumulative Update (and some Security Updates) rewrites the Exchange "
                "web.config files: audit again after every update, and re-apply the change "
                "if the audit finds the profiles again.",
            ],
        )
    )
    if not in_report:
        sections.append(
            (
                "Scripts and their SHA-256",
                [f"{script.name}  {script.sha256}" for script in report.scripts if script.name],
            )
        )
    return sections


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
