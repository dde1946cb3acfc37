"""Issue 14 point 6 in the browser: the page served with its Content-Security-Policy (no
inline script or style, no eval) still works: htmx actions, the table's poll that waits
while a menu is open, the charts, the confirm before a key rotation, sign-out. The `page`
fixture fails the test on any CSP violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import create, wait_status
from tests.e2e.web.conftest import CspViolations
from tests.e2e.web.pages import account, expect_status, open_menu_and, row, search, shot
from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.postgres]

PHONES = [f"+7916555000{d}" for d in range(4)]

_NEXT_TABLE_SWAP = """() => new Promise((resolve) => {
  const done = (event) => {
    if (event.detail.target && event.detail.target.id === "table") {
      document.body.removeEventListener("htmx:afterSettle", done);
      resolve(true);
    }
  };
  document.body.addEventListener("htmx:afterSettle", done);
})"""


def test_the_page_works_under_its_content_security_policy(
    page: Any, stack: Stack, csp_violations: CspViolations, output_dir: Path
) -> None:
    client, key = account(stack, "Политика")
    done = create(client, name="Для графиков", phones=PHONES, record=True)
    later = create(client, name="На потом", phones=PHONES[:1], start_at="2099-01-01T10:00:00Z")
    wait_status(client, later["id"], "scheduled")

    answer = page.goto("/")
    headers = answer.all_headers()
    csp = headers["content-security-policy"]
    assert "script-src 'self';" in csp and "'unsafe-inline'" not in csp
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    page.fill("input[name=api_key]", key)
    page.click("#signin button[type=submit]")
    expect(page.locator("h1")).to_have_text("Рассылки")

    # htmx: the search (a form submit through hx-get) and a row action through the menu.
    search(page, "На потом")
    expect(page.locator("#table tbody tr[data-id]")).to_have_count(1)
    search(page, "")
    expect(page.locator("#table tbody tr[data-id]")).to_have_count(2)
    open_menu_and(page, later["id"], "Пауза")
    expect_status(page, later["id"], "На паузе", timeout=20_000)

    # The poll runs (every 2 s) ...
    with page.expect_request("**/campaigns/table**", timeout=10_000):
        pass
    # ... goes on while a menu is open, and the menu stays open: the table is morphed in
    # place (idiomorph, no eval), not re-rendered ...
    page.evaluate(_NEXT_TABLE_SWAP)
    row(page, later["id"]).locator("details.menu summary").click()
    expect(row(page, later["id"]).locator("details.menu")).to_have_attribute("open", "")
    for _ in range(2):
        with page.expect_request("**/campaigns/table**", timeout=10_000):
            pass
    page.evaluate(_NEXT_TABLE_SWAP)
    expect(row(page, later["id"]).locator("details.menu")).to_have_attribute("open", "")
    row(page, later["id"]).locator("details.menu summary").click()
    with page.expect_request("**/campaigns/table**", timeout=10_000):
        pass
    shot(page, output_dir, "01-list")

    # Chart.js draws under the CSP.
    wait_status(client, done["id"], "finished", timeout=90)
    page.goto(f"/campaigns/{done['id']}/report")
    page.wait_for_function(
        "() => Chart.getChart(document.getElementById('chart-outcomes')) !== undefined"
    )
    shot(page, output_dir, "02-report")

    # The key rotation asks first (data-confirm in app.js, not an inline onsubmit).
    page.goto("/profile")
    page.click("#rotate")  # asked in the page's own dialog
    page.locator("#confirm-dialog .dialog-close").click()
    expect(page.locator("#confirm-dialog")).to_be_hidden()
    expect(page.locator("#new-key")).to_have_count(0)
    assert client.get("/api/v1/me").status_code == 200  # the key still works
    page.click("#rotate")
    page.click("#confirm-yes")
    expect(page.locator("#new-key")).to_be_visible()
    assert client.get("/api/v1/me").status_code == 401  # rotated
    shot(page, output_dir, "03-rotated")

    # Sign-out, then the page asks to sign in again.
    page.click("header form button")
    expect(page.locator("input[name=api_key]")).to_be_visible()
    page.goto("/profile")
    expect(page.locator("input[name=api_key]")).to_be_visible()
    assert csp_violations.seen == []
