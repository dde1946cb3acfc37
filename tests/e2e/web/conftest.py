"""Playwright on Debian's Chromium against the running stack: a browser per module, a
page per test that records every request it makes (none may leave localhost) and every
Content-Security-Policy violation (there may be none: the page works under its CSP)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.stack import Stack

CHROMIUM = Path("/usr/bin/chromium")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


# Module scope, not session: Playwright's sync API keeps an event loop marked running in
# this thread while it lives, which would break the async tests that run after these.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("/usr/bin/chromium is missing: install the chromium package")
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        yield browser
        browser.close()


class Recorder:
    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, request: Any) -> None:
        self.urls.append(request.url)

    def outside(self) -> list[str]:
        return [
            u
            for u in self.urls
            if urlsplit(u).scheme in ("http", "https", "ws", "wss")
            and urlsplit(u).hostname not in LOCAL_HOSTS
        ]


@pytest.fixture
def requests_seen() -> Recorder:
    return Recorder()


# Runs in every document before its own scripts (Playwright's init scripts are not subject
# to the page's CSP): each violation is also said on the console, where it is recorded.
_REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + e.blockedURI);
});
"""


class CspViolations:
    """Console messages of CSP violations: Chromium's own ("Refused to ... because it
    violates the following Content Security Policy directive") and the init script's."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, message: Any) -> None:
        text = str(message.text)
        if "Content Security Policy" in text or text.startswith("CSP violation"):
            self.seen.append(text)


@pytest.fixture
def csp_violations() -> CspViolations:
    return CspViolations()


@pytest.fixture
def page(
    browser: Any,
    stack: Stack,
    requests_seen: Recorder,
    csp_violations: CspViolations,
    output_dir: Path,
) -> Iterator[Any]:
    context = browser.new_context(
        base_url=stack.base_url,
        viewport={"width": 1440, "height": 900},
        locale="ru-RU",
        accept_downloads=True,
    )
    context.set_default_timeout(20_000)
    context.add_init_script(_REPORT_VIOLATIONS)
    page = context.new_page()
    page.on("request", requests_seen)
    page.on("console", csp_violations)
    yield page
    page.screenshot(path=str(output_dir / "final.png"), full_page=True)
    context.close()
    # Every page of every test: nothing is fetched from outside this machine, and nothing
    # the page needs is blocked by its Content-Security-Policy.
    assert not requests_seen.outside(), requests_seen.outside()
    assert not csp_violations.seen, csp_violations.seen
