"""The command line (Typer): the only package that prints or exits.

Exit codes, for every command: 0 complete and nothing at or above `--fail-on`; 1 findings at or
above it (for `verify` and `attest`: a difference); 2 the command could not complete (bad
arguments, bad input, invalid policy, incomplete evidence a rule needed, an internal error:
one line naming what was being processed, `auditor --debug ...` for the traceback). A closed
stdout (`auditor rules | head`) ends the output quietly; the exit code stays the command's.

Terminal output fits the terminal (`COLUMNS`, 80 when unset and stdout is not a terminal),
shows input paths relative to the working directory and reports every error as one line,
`error: file:line: message`. Heavy modules are imported inside the commands so that
`auditor --help` starts fast.

Each command reads its request, runs it (`auditor.audit`, `auditor.run`, `auditor.attest`),
writes and prints. The map:

- `apps`: the Typer apps and their groups, the root options, `main` (the console script),
  usage and internal errors;
- `options`: option types and checks several commands share, the policy in force;
- `parse`, `audit`: one command each;
- `attest`: `verify` and `attest`;
- `collect`, `rules`, `policy`, `schema`: one command group each;
- `summary`: what `audit` and `parse` print; `terminal`: lines, colour, errors, exit codes.
"""

from __future__ import annotations

# Importing a command module registers its commands, in the order `auditor --help` lists them.
# isort: off
from auditor.cli import parse
from auditor.cli import audit
from auditor.cli import attest
from auditor.cli import collect
from auditor.cli import rules
from auditor.cli import policy
from auditor.cli import schema

# isort: on
from auditor.cli.apps import _global_options_first, app, main
from auditor.cli.audit import OutputFormat, SeverityChoice
from auditor.cli.options import POLICY_ENV
from auditor.cli.terminal import ColourChoice, set_colour

__all__ = [
    "POLICY_ENV",
    "ColourChoice",
    "OutputFormat",
    "SeverityChoice",
    "_global_options_first",
    "app",
    "attest",
    "audit",
    "collect",
    "main",
    "parse",
    "policy",
    "rules",
    "schema",
    "set_colour",
]
