"""Shared test fixtures: where the project and the shared reference corpus are, and how a test
counts work instead of timing it; which tests a plain `pytest` runs, and a check that every
test starting PowerShell or Chromium is marked so.

The inner loop: `pytest` with no paths and no `-m` leaves out the tests marked `slow`, `pwsh`
and `browser` (they start PowerShell, Chromium or a whole installation). `pytest --all`, named
paths (`pytest tests/pwsh`) and `-m` run what they select; `scripts/test.sh` and `.ci/run`
pass `--all`. When leaving them out would leave nothing (`pytest -k` naming only slow tests),
nothing is left out, so a run never ends with "no tests ran" (exit 5).
"""

from __future__ import annotations

import contextlib
import os
import sys
import unittest.mock
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path, PurePath

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


# The OAuthHttpModule.Profiles of the REST virtual directory as Exchange ships it, in order
# (FrontEnd\HttpProxy\Rest\web.config; reference/notes/exchange-domain.md, section 2.2).
REST_PROFILES: tuple[str, ...] = (
    "S2SAppActAs",
    "S2SAppOnly",
    "V1AppActAs",
    "V1AppOnly",
    "Callback",
    "V1S2SActAs",
    "CallbackV2",
)

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


def grant_app_only(exports: Path, names: list[str]) -> None:
    """Set Microsoft Graph's AppOnlyPermissions in a copy of the example exports to `names`."""
    clixml = exports / "EX01" / "PartnerApplication.xml"
    text = clixml.read_bytes().decode("utf-16")
    start = text.index("<LST>", text.index('<Obj N="AppOnlyPermissions"', text.index("Graph<")))
    end = text.index("</LST>", start) + len("</LST>")
    items = "".join(f"<S>{name}</S>" for name in names)
    clixml.write_bytes(
        b"\xff\xfe" + f"{text[:start]}<LST>{items}</LST>{text[end:]}".encode("utf-16-le")
    )


@contextlib.contextmanager
def allow_lists_off() -> Iterator[None]:
    """The generated scripts' allow-lists switched off (`render/ps1.py` `_check_allow_lists`, the
    first line of defence), so that a test pushes hostile values through the quoting, the second
    line, which must hold alone. auditor itself never renders without them."""
    from auditor.render import ps1

    with unittest.mock.patch.object(ps1, "_check_allow_lists", lambda change_set, header: None):
        yield


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


def run_cli(*args: str, columns: int = 80, env: Mapping[str, str | None] | None = None) -> Result:
    """`auditor ARGS...` in-process, as a user runs it: COLUMNS columns, no policy found by
    discovery (the policy variable unset), `env` on top; an exception other than the
    command's exit is raised, not swallowed."""
    from auditor import cli

    environment = {"COLUMNS": str(columns), cli.POLICY_ENV: None, **(env or {})}
    result = CliRunner().invoke(cli.app, list(args), prog_name="auditor", env=environment)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def audit_cli(*args: str, as_of: str) -> Result:
    """`auditor audit --as-of AS_OF ARGS...` in-process at 300 columns (`run_cli`)."""
    return run_cli("audit", "--as-of", as_of, *args, columns=300)


@pytest.fixture
def fresh_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An empty working folder (the command-line state is reset by every invocation's root
    callback: `auditor.cli.apps`)."""
    monkeypatch.chdir(tmp_path)


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


# --- the inner loop: slow tests left out of a plain `pytest` ----------------------------------

SLOW_MARKERS = ("slow", "pwsh", "browser")
_LEAVE_OUT = "auditor_leave_out_slow"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--all",
        action="store_true",
        dest="auditor_all",
        help="also run the tests marked slow, pwsh and browser (scripts/test.sh passes it)",
    )


def _leaves_out_slow(config: pytest.Config) -> bool:
    """True for a plain `pytest`: no paths (the testpaths), no `-m`, no `--all`."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # an xdist worker: its arguments are the controller's paths
        return bool(workerinput.get(_LEAVE_OUT, False))
    return (
        config.args_source is pytest.Config.ArgsSource.TESTPATHS
        and not config.option.markexpr
        and not config.option.auditor_all
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """xdist: tell each worker what the controller decided from the command line."""
    workerinput = node.workerinput  # type: ignore[attr-defined]
    workerinput[_LEAVE_OUT] = _leaves_out_slow(node.config)  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> str | None:
    if _leaves_out_slow(config):
        return (
            "tests marked slow, pwsh or browser are left out of a plain `pytest`; "
            "`pytest --all` or `bash scripts/test.sh` runs them"
        )
    return None


@pytest.hookimpl(trylast=True)  # after `-k` has chosen: what is left out is left out of that
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _leaves_out_slow(config):
        return
    slow = [item for item in items if any(item.get_closest_marker(m) for m in SLOW_MARKERS)]
    if not slow or len(slow) == len(items):
        return
    chosen = set(map(id, slow))
    items[:] = [item for item in items if id(item) not in chosen]
    config.hook.pytest_deselected(items=slow)


# --- every test that starts PowerShell or Chromium carries its marker -------------------------

# Executables (by file name) that mean a test needs a marker. Playwright starts Chromium from
# its driver (`playwright/driver/node`), so any process started from the playwright package
# counts as the browser.
_PWSH_NAMES = frozenset({"pwsh", "pwsh.exe", "pwsh.dll", "powershell", "powershell.exe"})
_BROWSER_NAMES = frozenset({"chromium", "chromium-browser", "chrome", "headless_shell"})
_started: set[str] = set()


def marker_for_command(words: list[str]) -> str | None:
    """The marker a test needs to start the process `words` (executable and arguments)."""
    for word in words:
        parts = PurePath(word.replace("\\", "/")).parts
        name = parts[-1].lower() if parts else ""
        if name in _PWSH_NAMES:
            return "pwsh"
        if name in _BROWSER_NAMES or "playwright" in parts:
            return "browser"
    return None


def _audit_processes(event: str, args: tuple[object, ...]) -> None:
    if event != "subprocess.Popen":
        return
    try:
        executable, argv = args[0], args[1]
        words = [os.fsdecode(executable)] if executable is not None else []  # type: ignore[arg-type]
        if isinstance(argv, (str, bytes, os.PathLike)):
            words.append(os.fsdecode(argv))
        else:
            words.extend(os.fsdecode(arg) for arg in argv)  # type: ignore[attr-defined]
    except (TypeError, IndexError):  # an audit hook must never raise
        return
    marker = marker_for_command(words)
    if marker is not None:
        _started.add(marker)


sys.addaudithook(_audit_processes)


def _unmarked_processes(item: pytest.Item) -> Generator[None, object, object]:
    _started.clear()
    result = yield
    missing = sorted(marker for marker in _started if item.get_closest_marker(marker) is None)
    _started.clear()
    if missing:
        needed = " and ".join(f"@pytest.mark.{marker}" for marker in missing)
        pytest.fail(
            f"{item.nodeid} starts {', '.join(missing)} without {needed}: mark it, so that "
            "a plain `pytest` leaves it out (tests/conftest.py)",
            pytrace=False,
        )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _unmarked_processes(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _unmarked_processes(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    return (yield from _unmarked_processes(item))
