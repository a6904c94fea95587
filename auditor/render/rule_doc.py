"""One rule of the catalogue explained, in Markdown: `auditor rules explain`, `docs/rules/`, SARIF.

Everything comes from the rule's `RuleInfo`: its declaration beside its check
(`auditor.rules.declaration`: title, when it fires, rationale, how to fix, example, references,
whether it may be waived) with the policy's overrides (severity, enabled). The same text is
printed by `auditor rules explain ID`, written to `docs/rules/<ID>.md` by
`scripts/make_rule_docs.py` and carried by SARIF rules as `help.markdown`, so it reads offline
and never needs a URL.
"""

from __future__ import annotations

from auditor.model import RuleInfo


def waiver_text(info: RuleInfo) -> str:
    """How to accept a finding of `info` as a risk, or why it cannot be."""
    if not info.waivable:
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
        info.how_to_fix,
        "",
        *(["## Example", "", info.example, ""] if info.example else []),
        "## How to waive",
        "",
        waiver_text(info),
        "",
        "## References",
        "",
        *(f"- <{reference}>" for reference in info.references),
    ]
    return "\n".join(lines) + "\n"
