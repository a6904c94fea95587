"""One rule of the catalogue explained, in Markdown: `auditor rules explain`, `docs/rules/`, SARIF.

Everything comes from the rule's `RuleInfo` (declared once in `policies/default.yaml`, read
through the policy loader): title, severity, rationale, references, remediation template. The
same text is printed by `auditor rules explain ID`, written to `docs/rules/<ID>.md` and carried
by SARIF rules as `help.markdown`, so it reads offline and never needs a URL.
"""

from __future__ import annotations

from auditor.model import UNWAIVABLE, RuleInfo

# What each remediation template of the catalogue does, for readers who do not read PowerShell.
REMEDIATION_TEMPLATES: dict[str, str] = {
    "partner-application-app-only": (
        "The change package holds `remediation/partner-applications.ps1`, run once in the "
        "Exchange Management Shell: it selects each application by its ApplicationIdentifier "
        "(never by position), checks that AppOnlyPermissions still hold the audited value, "
        "backs the object up and sets AppOnlyPermissions to what the policy approves (by "
        "default nothing). `rollback/partner-applications.ps1` restores the backup."
    ),
    "web-config-oauth-profiles": (
        "The change package holds one `remediation/web-config-<server>.ps1` per server, run on "
        "that server: it checks that OAuthHttpModule.Profiles still holds the audited value, backs "
        "the web.config up, removes the forbidden and dropped tokens through the XML DOM, "
        "verifies the result and recycles only the application pool of that vdir. The paired "
        "`rollback/web-config-<server>.ps1` restores the backup."
    ),
}
_NO_TEMPLATE = (
    "No script is generated for this rule: the fix is a decision or a new export, as the "
    "rationale says. Audit again once it is made."
)


def remediation_text(info: RuleInfo) -> str:
    """What fixes a finding of `info`; an unknown template id raises KeyError naming it."""
    if info.remediation is None:
        return _NO_TEMPLATE
    try:
        return REMEDIATION_TEMPLATES[info.remediation]
    except KeyError:
        raise KeyError(
            f"rule {info.id}: unknown remediation template {info.remediation!r}"
        ) from None


def waiver_text(info: RuleInfo) -> str:
    """How to accept a finding of `info` as a risk, or why it cannot be."""
    if info.id in UNWAIVABLE:
        return (
            f"{info.id} cannot be waived: it reports the waivers themselves. Renew the waiver "
            "(a new `expires` date, with the approver's consent) or remove it."
        )
    return "\n".join(
        [
            "Add a waiver to the organisation policy; it suppresses the finding until it expires",
            "(the finding stays visible as suppressed in every output):",
            "",
            "```yaml",
            "waivers:",
            f"  - rule: {info.id}",
            "    subject: <the finding's subject, from the report or findings.json>",
            "    reason: <why the risk is accepted>",
            "    ticket: <change or risk ticket>",
            "    owner: <who owns the risk>",
            "    approver: <who approved it>",
            "    expires: YYYY-MM-DD",
            "```",
            "",
            "Check it with `auditor policy validate POLICY --as-of DATE`.",
        ]
    )


def rule_markdown(info: RuleInfo) -> str:
    """The whole explanation of one rule as Markdown, ending in a newline."""
    lines = [
        f"# {info.id}: {info.title}",
        "",
        f"Severity: **{info.severity.value}**"
        + ("" if info.enabled else " (disabled by the policy)"),
        "",
        "## When it fires",
        "",
        info.fires_when,
        "",
        "## Why it matters",
        "",
        info.rationale,
        "",
        "## Remediation",
        "",
        remediation_text(info),
        "",
        "## How to waive",
        "",
        waiver_text(info),
        "",
        "## References",
        "",
        *(f"- <{reference}>" for reference in info.references),
    ]
    return "\n".join(lines) + "\n"
