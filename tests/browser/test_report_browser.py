"""The HTML report opened in headless Chromium: nothing leaves the page, nothing runs, it prints.

The report is written to a file and opened through a file:// URL, as a reviewer opens it, so
that every request the page might make is observable. Every request other than the document is
recorded and aborted. Screenshots and PDFs go to `test-artifacts/` at the project root.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import PROJECT_ROOT, skip_or_fail

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "render"))
import report_factory

from auditor.render.html import OPEN_GROUPS_UP_TO, render_html

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright (Python package) is not installed")
    if not CHROMIUM.is_file() and shutil.which("chromium") is None:
        skip_or_fail(f"Chromium not found at {CHROMIUM}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Observed:
    """What a page did while it was open."""

    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def open_report(browser: Any, html: str, path: Path, media: str = "screen") -> tuple[Any, Observed]:
    path.write_text(html, encoding="utf-8")
    url = path.as_uri()
    seen = Observed()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=True)
    page = context.new_page()

    def on_route(route: Any) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            route.abort()

    def on_request(request: Any) -> None:
        if request.url != url:
            seen.requests.append(request.url)

    def on_dialog(dialog: Any) -> None:
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    page.route("**/*", on_route)
    page.on("request", on_request)
    page.on("console", lambda message: seen.console.append((message.type, message.text)))
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on("dialog", on_dialog)
    page.emulate_media(media=media)
    page.goto(url, wait_until="load")
    page.wait_for_timeout(200)  # let late payloads (onerror/onload) have their chance
    return page, seen


def assert_quiet(seen: Observed) -> None:
    assert seen.requests == []
    assert seen.console == []  # a CSP violation or any other complaint would appear here
    assert seen.errors == []
    assert seen.dialogs == []


def test_canary_unescaped_payload_would_be_caught(browser: Any, tmp_path: Path) -> None:
    """The detectors are live: an unescaped payload without CSP sets __pwned and requests x."""
    page, seen = open_report(
        browser, f"<!DOCTYPE html><p>{report_factory.IMG}</p>", tmp_path / "canary.html"
    )
    assert page.evaluate("window.__pwned") == 1
    assert seen.dialogs == ["1"]
    assert any(url.endswith("/x") for url in seen.requests)


def test_recipe_report_in_chromium(browser: Any, tmp_path: Path) -> None:
    report = report_factory.recipe_report()
    page, seen = open_report(browser, render_html(report), tmp_path / "report.html")
    assert_quiet(seen)

    text = page.inner_text("body")
    assert "FAIL: 2 critical, 2 high findings at or above high" in text
    assert "CHG0042137" in text
    graph_matrix = page.locator("table.matrix", has_text="Microsoft Graph: permission matrix")
    graph_rows = graph_matrix.locator("tbody tr")
    assert graph_rows.count() == 29
    shown = [name.strip() for name in graph_rows.locator("th").all_inner_texts()]
    assert shown == list(report_factory.GRAPH_ACT_AS)
    assert page.locator("table.matrix tr.forbidden").count() == 5
    for script in report.scripts:
        assert script.sha256 in text

    # The hashed stylesheet was applied (a CSP mismatch would leave the page unstyled).
    assert page.eval_on_selector("h2", "e => getComputedStyle(e).borderBottomWidth") == "2px"
    assert page.eval_on_selector(".mark-forbidden", "e => getComputedStyle(e).color") == (
        "rgb(139, 17, 17)"
    )

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-recipe.png"), full_page=True, timeout=120_000)
    page.emulate_media(media="print")
    for paper in ("A4", "Letter"):
        pdf = page.pdf(format=paper, print_background=True)
        assert pdf.startswith(b"%PDF-")
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert 3 <= pages <= 40, pages
        (ARTIFACTS / f"report-recipe-{paper.lower()}.pdf").write_bytes(pdf)
    assert_quiet(seen)
    page.context.close()


@pytest.mark.parametrize("with_csp", [True, False], ids=["as-rendered", "csp-removed"])
def test_hostile_values_run_nothing(browser: Any, tmp_path: Path, with_csp: bool) -> None:
    """Escaping alone must hold: the payloads stay inert even with the CSP meta tag removed."""
    html = render_html(report_factory.hostile_report())
    if not with_csp:
        html, removed = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
        assert removed == 1
    page, seen = open_report(browser, html, tmp_path / "hostile.html")
    assert_quiet(seen)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("script, img, iframe, object, embed").count() == 0
    assert page.locator("svg").count() == 1  # the severity chart, nothing injected
    text = page.inner_text("body")
    assert report_factory.XSS in text
    assert "INCOMPLETE: evidence missing" in text
    if with_csp:
        # The first screen only: the hostile page is taller than Chromium captures in one go.
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-hostile.png"))
    page.context.close()


def test_collapsed_groups_open_in_print(browser: Any, tmp_path: Path) -> None:
    """A large report starts with its rule groups closed; print shows every finding."""
    report = report_factory.large_report(OPEN_GROUPS_UP_TO + 100)
    page, seen = open_report(browser, render_html(report), tmp_path / "large.html")
    first_finding = page.locator("details.rule article.finding").first
    assert not first_finding.is_visible()
    page.emulate_media(media="print")
    assert first_finding.is_visible()
    assert page.locator("details.rule:not([open])").count() > 0
    assert_quiet(seen)
    page.context.close()
