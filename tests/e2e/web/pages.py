"""What the browser tests do on the page, named as a customer would say it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from playwright.sync_api import Dialog, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.stack import Stack

LONG = 90_000  # ms: a campaign runs through the whole stack at 3600x


def native_dialogs(page: Page) -> list[str]:
    """Dismisses every native dialog (confirm, alert) `page` opens; their messages, in order."""
    messages: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        messages.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    return messages


def future(days: int = 3650) -> str:
    """A start time the stack's dialer clock does not reach while the suite runs: at 3600x
    "in 3 days" is past 72 s after the stack starts, before a busy machine gets to a test."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat()


def sign_in(page: Any, key: str) -> None:
    page.goto("/")
    page.fill("input[name=api_key]", key)
    page.click("#signin button[type=submit]")


def shot(page: Any, output_dir: Path, name: str) -> None:
    page.screenshot(path=str(output_dir / f"{name}.png"), full_page=True)


def row(page: Any, campaign_id: int) -> Any:
    return page.locator(f"#row-{campaign_id}")


def expect_status(page: Any, campaign_id: int, label: str, timeout: int = LONG) -> None:
    expect(row(page, campaign_id).locator(".status")).to_have_text(label, timeout=timeout)


def open_menu_and(page: Any, campaign_id: int, action: str, attempts: int = 3) -> None:
    """Open the row's "..." and click `action`. A table swapped in by a filter answer that
    was still on its way (innerHTML, not the poll's morph) closes the menu: open it again."""
    menu = row(page, campaign_id).locator("details.menu")
    button = menu.get_by_role("button", name=action, exact=True)
    for attempt in range(attempts):
        if menu.get_attribute("open") is None:
            menu.locator("summary").click()
        try:
            button.click(timeout=7_000)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise


def search(page: Any, text: str) -> None:
    page.fill("#filters input[name=q]", text)
    page.click("#search-button")


def account(stack: Stack, name: str) -> tuple[Any, str]:
    client = stack.new_account(name)
    return client, str(client.account["api_key"])  # type: ignore[attr-defined]
