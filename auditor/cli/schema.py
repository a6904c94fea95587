"""`auditor schema findings|plan|policy`: the JSON Schemas of auditor's documents."""

from __future__ import annotations

from enum import StrEnum

import typer

from auditor.cli.apps import schema_app
from auditor.cli.terminal import WordedCommand


class SchemaName(StrEnum):
    FINDINGS = "findings"
    PLAN = "plan"
    POLICY = "policy"


@schema_app.command(
    "findings", cls=WordedCommand, short_help="The JSON Schema findings.json follows."
)
def schema_findings() -> None:
    """Print the JSON Schema (Draft 2020-12) that every findings.json validates against."""
    _print_schema(SchemaName.FINDINGS)


@schema_app.command("plan", cls=WordedCommand, short_help="The JSON Schema plan.json follows.")
def schema_plan() -> None:
    """Print the JSON Schema (Draft 2020-12) of plan.json, which `auditor attest` reads."""
    _print_schema(SchemaName.PLAN)


@schema_app.command("policy", cls=WordedCommand, short_help="The policy JSON Schema.")
def schema_policy() -> None:
    """Print the policy JSON Schema (Draft 2020-12), as `auditor policy schema` does."""
    _print_schema(SchemaName.POLICY)


def _print_schema(name: SchemaName) -> None:
    from auditor.render.json_ import dumps
    from auditor.resources import document_schema

    typer.echo(dumps(document_schema(name.value)), nl=False)
