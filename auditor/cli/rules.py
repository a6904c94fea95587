"""`auditor rules` and `auditor rules explain ID`: the rule catalogue, with the policy's
overrides (the policy is found as `audit` finds it)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from auditor.cli.apps import rules_app
from auditor.cli.options import load_policy, policy_choice
from auditor.cli.terminal import WordedCommand, fail, say


class RulesFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@rules_app.callback(invoke_without_command=True)
def rules_list(
    context: typer.Context,
    output_format: Annotated[
        RulesFormat,
        typer.Option(
            "--format",
            metavar="FORMAT",
            help="text (one line per rule) or json (every field of every rule, never wrapped).",
        ),
    ] = RulesFormat.TEXT,
) -> None:
    """List every rule: id, severity, title (from the catalogue, with the policy's overrides)."""
    if context.invoked_subcommand is not None:
        return
    loaded = load_policy(policy_choice(None))
    if output_format is RulesFormat.JSON:
        from auditor.render.json_ import dumps

        typer.echo(dumps([info.to_json() for info in loaded.rules]), nl=False)
        return
    for info in loaded.rules:
        state = "" if info.enabled else " (disabled)"
        say(f"{info.id}  {info.severity.value:<8}  {info.title}{state}")


@rules_app.command(
    "explain", cls=WordedCommand, short_help="Explain one rule: why, when, fix, waiver, sources."
)
def rules_explain(
    rule_id: Annotated[str, typer.Argument(metavar="ID", help="A rule id, e.g. PA001.")],
) -> None:
    """Explain one rule: rationale, what triggers it, remediation, how to waive, references."""
    from auditor.render.rule_doc import rule_markdown

    loaded = load_policy(policy_choice(None))
    try:
        info = loaded.rule(rule_id.strip().upper())
    except KeyError:
        fail(f"unknown rule {rule_id}; `auditor rules` lists every rule")
    typer.echo(rule_markdown(info), nl=False)
