"""Shared test fixtures: where the project and the shared reference corpus are, and how a test
counts work instead of timing it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED = PROJECT_ROOT.parent / "shared"
CSS_EXCHANGE = SHARED / "reference" / "css-exchange"
SARIF_SCHEMA = SHARED / "reference" / "sarif" / "sarif-schema-2.1.0.json"
ARTICLE_SAMPLE = SHARED / "samples" / "graph-formatlist-from-article.txt"

# Under .ci/run a missing PowerShell, browser or reference corpus is a failure, not a skip.
STRICT = os.environ.get("AUDITOR_REQUIRE_ALL", "") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip with a visible reason, or fail when AUDITOR_REQUIRE_ALL=1 (as .ci/run sets)."""
    if STRICT:
        pytest.fail(f"required test prerequisite missing (AUDITOR_REQUIRE_ALL=1): {reason}")
    pytest.skip(reason)


@pytest.fixture
def css_exchange() -> Path:
    if not CSS_EXCHANGE.is_dir():
        skip_or_fail(f"reference corpus not found at {CSS_EXCHANGE}")
    return CSS_EXCHANGE


@pytest.fixture
def article_sample() -> Path:
    if not ARTICLE_SAMPLE.is_file():
        skip_or_fail(f"article sample not found at {ARTICLE_SAMPLE}")
    return ARTICLE_SAMPLE


# The 29 ActAsPermissions of the real "Microsoft Graph" partner application, in stored order
# (CSS-Exchange E19 GetPartnerApplication.xml; reference/notes/exchange-domain.md section 3.1).
GRAPH_ACT_AS: tuple[str, ...] = (
    "Mail.Read",
    "Mail.Write",
    "Mail.Send",
    "Calendars.Read",
    "Calendars.ReadWrite",
    "Calendars.Read.Shared",
    "Calendars.ReadWrite.Shared",
    "Contacts.Read",
    "Contacts.ReadWrite",
    "Contacts.Read.Shared",
    "Contacts.ReadWrite.Shared",
    "Mail.ReadWrite",
    "Calendars.Write",
    "Contacts.Write",
    "Sites.Read.All",
    "Sites.ReadWrite.All",
    "User.Read",
    "User.ReadWrite",
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "People.Read",
    "People.ReadWrite",
    "MailboxSettings.ReadWrite",
    "Privilege.SkipClientAccessRules",
    "Tasks.Read",
    "Tasks.ReadWrite",
)


def count_calls(run: Callable[[], object]) -> int:
    """How many Python and built-in functions `run` calls.

    Tests bound work by this count instead of by wall time: it does not change with the load
    of a shared machine (benchmarks/hostile.py measures the time of the same cases).
    """
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return count


def cli_invoke(*args: str, env: dict[str, str | None] | None = None, columns: int = 80) -> Result:
    """`auditor ARGS...` in-process at `columns` columns, with no policy found by discovery
    (`$AUDITOR_POLICY` unset unless `env` sets it); an exception other than the command's exit
    is raised, not swallowed."""
    from auditor import cli

    environment: dict[str, str | None] = {"COLUMNS": str(columns), cli.POLICY_ENV: None}
    environment.update(env or {})
    result = CliRunner().invoke(cli.app, list(args), prog_name="auditor", env=environment)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def audit_cli(*args: str, as_of: str) -> Result:
    """`auditor audit --as-of AS_OF ARGS...` in-process, as a user runs it: 300 columns, no policy
    found by discovery."""
    return cli_invoke("audit", "--as-of", as_of, *args, columns=300)


def run_main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """Run the console script's `main` as `auditor ARGS`; returns the exit code."""
    from auditor import cli

    monkeypatch.setattr(sys, "argv", ["auditor", *args])
    monkeypatch.setattr(sys, "stdout", sys.stdout)
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    code = exit_.value.code
    assert isinstance(code, int)
    return code


def grant_graph(exports: Path, names: list[str]) -> None:
    """Set Microsoft Graph's AppOnlyPermissions in the example export (a copy of the bundled
    example in `exports`) to `names`."""
    clixml = exports / "EX01" / "PartnerApplication.xml"
    text = clixml.read_bytes().decode("utf-16")
    start = text.index("<LST>", text.index('<Obj N="AppOnlyPermissions"', text.index("Graph<")))
    end = text.index("</LST>", start) + len("</LST>")
    items = "".join(f"<S>{name}</S>" for name in names)
    clixml.write_bytes(
        b"\xff\xfe" + f"{text[:start]}<LST>{items}</LST>{text[end:]}".encode("utf-16-le")
    )
