"""The campaigns table a manager works in all day (issue 18, points 1, 9, 10 and part of
14), in headless Chromium at 1366x768 against every service running: the table fits a
laptop, the poll updates it in place (scroll, an open menu, focus stay), an action answers
at its row, only applicable actions are offered, the row dialogs, "Остановить" asks first,
smart parts link to their main campaign and back, "Скопировать" opens a filled form."""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import create, get, wait_status
from tests.e2e.web.pages import (
    account,
    expect_status,
    future,
    native_dialogs,
    row,
    shot,
    sign_in,
)
from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.postgres]

PHONES = [f"+7916765430{d}" for d in range(10)]
LAPTOP = {"width": 1366, "height": 768}

# Counts the table's swaps, so a test waits for the next poll instead of sleeping.
_COUNT_SWAPS = """() => {
  window.tableSwaps = 0;
  document.body.addEventListener("htmx:afterSwap", (e) => {
    if (e.detail.target && e.detail.target.id === "table") { window.tableSwaps += 1; }
  });
}"""


START = future()


def count_swaps(page: Any) -> None:
    page.evaluate(_COUNT_SWAPS)


def wait_swaps(page: Any, more_than: int) -> int:
    page.wait_for_function(f"() => window.tableSwaps > {more_than}", timeout=20_000)
    return int(page.evaluate("window.tableSwaps"))


def swaps(page: Any) -> int:
    return int(page.evaluate("window.tableSwaps"))


def fits(page: Any) -> None:
    """No sideways scrolling, and every row's report link and "..." are on screen."""
    wrap = page.evaluate(
        "() => { const w = document.querySelector('.table-wrap');"
        " return [w.scrollWidth, w.clientWidth, document.documentElement.scrollWidth,"
        " document.documentElement.clientWidth]; }"
    )
    assert wrap[0] <= wrap[1], f"table {wrap[0]} px in a {wrap[1]} px box"
    assert wrap[2] <= wrap[3], f"page {wrap[2]} px in a {wrap[3]} px window"
    right = page.evaluate(
        "() => [document.querySelector('table.campaigns').getBoundingClientRect().right,"
        " document.querySelector('.table-wrap').getBoundingClientRect().right]"
    )
    assert right[0] <= right[1], f"the table ends at {right[0]} px, its box at {right[1]} px"
    width = page.viewport_size["width"]
    for selector in ("a.report", "details.menu summary"):
        boxes = page.locator(f"#table tbody tr[data-id] {selector}")
        for i in range(boxes.count()):
            box = boxes.nth(i).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box


def busy_rows(stack: Stack, name: str, count: int = 14) -> tuple[Any, str, list[dict[str, Any]]]:
    """An account with a screenful of scheduled campaigns, every column filled."""
    client, key = account(stack, name)
    made = [
        create(client, **_BUSY, name=f"Обзвон клиентов филиала номер {i} по новой акции")
        for i in range(count)
    ]
    for campaign in made:
        wait_status(client, campaign["id"], "scheduled")
    return client, key, made


_BUSY: dict[str, Any] = {
    "phones": PHONES[:3],
    "start_at": START,
    "record": True,
    "smart": {"parts": 2, "delay_minutes": 30},
    "window": {"days": ["mon", "tue"], "from": "09:00", "to": "18:00"},
    "ivr": {"kind": "words", "lead_words": ["да"]},
    "comment": "Перезвонить менеджеру отдела продаж после обеда",
}


def test_the_table_fits_a_laptop(page: Any, stack: Stack, output_dir: Path) -> None:
    client, key, made = busy_rows(stack, "Ноутбук", 3)
    # A paused row has one more action (resume): the widest actions cell.
    assert client.post(f"/api/v1/campaigns/{made[1]['id']}/pause").status_code == 200
    page.set_viewport_size(LAPTOP)
    sign_in(page, key)
    expect(page.locator("#table tbody tr[data-id]")).to_have_count(3)
    expect_status(page, made[1]["id"], "На паузе", timeout=20_000)
    fits(page)
    shot(page, output_dir, "01-laptop-1366")
    page.set_viewport_size({"width": 1440, "height": 900})
    fits(page)
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Campaigns")
    page.set_viewport_size(LAPTOP)
    fits(page)
    shot(page, output_dir, "02-laptop-1366-en")


def test_the_poll_moves_nothing(page: Any, stack: Stack, output_dir: Path) -> None:
    client, key, made = busy_rows(stack, "Опрос")
    page.set_viewport_size(LAPTOP)
    sign_in(page, key)
    expect(page.locator("#table tbody tr[data-id]")).to_have_count(len(made))
    expect_status(page, made[0]["id"], "Запланирована", timeout=20_000)

    # Scrolled down, a menu open and a checkbox focused, while the poll goes on.
    target = made[1]
    count_swaps(page)
    wait_swaps(page, 0)
    other = row(page, made[2]["id"])
    # A property on the row's element (not an attribute: the morph syncs those).
    page.evaluate(f"document.getElementById('row-{made[2]['id']}').zvonarMarker = 'same'")
    other.locator(".row-check").focus()
    menu = row(page, target["id"]).locator("details.menu")
    menu.locator("summary").click()
    expect(menu).to_have_attribute("open", "")
    other.locator(".row-check").focus()
    page.evaluate("window.scrollBy(0, -150)")
    page.wait_for_function("() => window.scrollY > 300")
    # Where the row with the open menu is on screen: a refresh must not move it.
    where = f"document.getElementById('row-{target['id']}').getBoundingClientRect().top"
    on_screen = page.evaluate(where)
    seen = swaps(page)
    # A change on the server reaches its cell while the menu stays open (a row far above,
    # off screen, whose height changes: what is on screen stays where it is).
    assert client.post(f"/api/v1/campaigns/{made[13]['id']}/pause").status_code == 200
    expect_status(page, made[13]["id"], "На паузе", timeout=20_000)
    wait_swaps(page, swaps(page) + 1)
    assert swaps(page) > seen + 1
    expect(menu).to_have_attribute("open", "")
    expect(menu.locator(".menu-items")).to_be_visible()
    assert abs(page.evaluate(where) - on_screen) < 1
    assert page.evaluate("window.scrollY") > 300
    # The row was updated in place, not re-rendered: the same element, focus kept.
    marker = f"document.getElementById('row-{made[2]['id']}').zvonarMarker"
    assert page.evaluate(marker) == "same"
    assert page.evaluate("document.activeElement.classList.contains('row-check')")
    assert page.evaluate("document.activeElement.value") == str(made[2]["id"])
    shot(page, output_dir, "01-menu-open-after-polls")


def test_an_action_answers_at_its_row_and_only_what_applies_is_offered(
    page: Any, stack: Stack, output_dir: Path
) -> None:
    client, key = account(stack, "Действия")
    # ...5 answers, ...6 does not: the smart part calls it again.
    done = create(
        client,
        name="Закончилась",
        phones=PHONES[5:7],
        record=True,
        smart={"parts": 1, "delay_minutes": 1},
    )
    later = create(
        client,
        name="Впереди",
        phones=PHONES[2:4],
        start_at=future(),
        smart={"parts": 2, "delay_minutes": 60},
    )
    plain = create(client, name="Без умных", phones=PHONES[4:5], start_at=future())
    wait_status(client, later["id"], "scheduled")
    wait_status(client, plain["id"], "scheduled")
    wait_status(client, done["id"], "finished", timeout=90)
    page.set_viewport_size(LAPTOP)
    sign_in(page, key)
    expect_status(page, done["id"], "Закончена", timeout=20_000)

    def offered(campaign_id: int) -> list[str]:
        items = row(page, campaign_id).locator(".menu-items > *").all_text_contents()
        return [item.strip() for item in items]

    cancel_last, cancel_all = "Отменить последнюю умную рассылку", "Отменить все умные рассылки"
    assert cancel_last not in offered(done["id"]) and cancel_all not in offered(done["id"])
    assert "Остановить" not in offered(done["id"]) and "Пауза" not in offered(done["id"])
    assert cancel_last not in offered(plain["id"])
    assert cancel_last in offered(later["id"]) and cancel_all in offered(later["id"])
    # "Скачать записи" where calls were recorded; else said why there is nothing to download.
    expect(row(page, done["id"]).locator("a.download-records")).to_have_count(1)
    expect(row(page, plain["id"]).locator("a.download-records")).to_have_count(0)
    expect(row(page, plain["id"]).locator(".download-records.disabled")).to_contain_text(
        "записей нет: запись разговоров не включена"
    )

    # Smart parts link to their main campaign, and the main one to its parts.
    part = page.locator("#table tbody tr[data-id]", has_text="Умная [1]").first
    part_id = int(str(part.get_attribute("data-id")))
    expect(part.locator("a.parent-link")).to_have_attribute("href", f"#row-{done['id']}")
    expect(row(page, done["id"]).locator("a.part-link")).to_have_attribute(
        "href", f"#row-{part_id}"
    )
    part.locator("a.parent-link").click()
    expect(page).to_have_url(f"{stack.base_url}/#row-{done['id']}")
    row(page, done["id"]).locator("a.part-link").click()
    expect(page).to_have_url(f"{stack.base_url}/#row-{part_id}")

    # The result shows at the row acted on (it may be the last one), not at the page top.
    count_swaps(page)
    menu = row(page, later["id"]).locator("details.menu")
    menu.locator("summary").click()
    menu.get_by_role("button", name=cancel_last, exact=True).click()
    result = page.locator(f"#result-{later['id']}")
    expect(result).to_contain_text(f"Готово: {later['id']}")
    expect(row(page, later["id"]).locator(".row-result")).to_be_visible()
    expect(page.locator("#flash")).to_be_empty()
    # ... and stays there through the polls that follow.
    wait_swaps(page, swaps(page) + 1)
    expect(result).to_contain_text(f"Готово: {later['id']}")
    shot(page, output_dir, "01-result-at-row")
    # One part of two left: both cancels still apply; once it is cancelled too, neither is
    # offered, though the campaign itself still waits to start.
    assert cancel_last in offered(later["id"]) and cancel_all in offered(later["id"])
    menu = row(page, later["id"]).locator("details.menu")
    menu.locator("summary").click()
    menu.get_by_role("button", name=cancel_all, exact=True).click()
    expect(row(page, later["id"]).locator(".cancel-last-action")).to_have_count(0)
    expect(row(page, later["id"]).locator(".cancel-all-action")).to_have_count(0)
    expect_status(page, later["id"], "Запланирована")


def test_listen_and_comment_dialogs(page: Any, stack: Stack, output_dir: Path) -> None:
    client, key = account(stack, "Диалоги")
    campaign = create(client, name="С роликом", phones=PHONES[:2], start_at=future())
    wait_status(client, campaign["id"], "scheduled")
    page.set_viewport_size(LAPTOP)
    sign_in(page, key)
    clips = client.get(f"/api/v1/campaigns/{campaign['id']}/audio").json()
    assert clips, "the message was synthesized when it was scheduled"

    menu = row(page, campaign["id"]).locator("details.menu")
    menu.locator("summary").click()
    menu.get_by_role("button", name="Прослушать записи", exact=True).click()
    dialog = page.locator("#listen-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".dialog-title")).to_contain_text("С роликом")
    expect(dialog.locator("audio")).to_have_count(len(clips))
    expect(page).to_have_url(f"{stack.base_url}/")  # a dialog, not the report page
    # The player has loaded the clip (its duration is known) and plays it.
    page.wait_for_function(
        "() => { const a = document.querySelector('#listen-dialog audio');"
        " return a && a.readyState >= 1 && a.duration > 0; }"
    )
    page.evaluate("document.querySelector('#listen-dialog audio').muted = true")
    page.evaluate("document.querySelector('#listen-dialog audio').play()")
    page.wait_for_function("() => document.querySelector('#listen-dialog audio').currentTime > 0")
    shot(page, output_dir, "01-listen-dialog")
    dialog.get_by_role("button", name="Закрыть").click()
    expect(dialog).to_be_hidden()

    menu.locator("summary").click()
    menu.get_by_role("button", name="Комментарий", exact=True).click()
    comment = page.locator("#comment-dialog")
    expect(comment).to_be_visible()
    field = comment.locator("textarea[name=text]")
    expect(field).to_be_focused()
    field.fill("Перезвонить в понедельник.\nСпросить Ивана Петровича.")
    shot(page, output_dir, "02-comment-dialog")
    comment.get_by_role("button", name="Сохранить").click()
    expect(comment).to_be_hidden()
    expect(row(page, campaign["id"]).locator(".comment-user")).to_have_text(
        "Перезвонить в понедельник.\nСпросить Ивана Петровича."
    )
    expect(page.locator(f"#result-{campaign['id']}")).to_contain_text("Готово")
    assert get(client, campaign["id"])["comment"]["user"].startswith("Перезвонить")
    # Cancel leaves the comment as it was.
    menu.locator("summary").click()
    menu.get_by_role("button", name="Комментарий", exact=True).click()
    expect(field).to_have_value("Перезвонить в понедельник.\nСпросить Ивана Петровича.")
    field.fill("другое")
    comment.get_by_role("button", name="Отмена").click()
    expect(comment).to_be_hidden()
    expect(row(page, campaign["id"]).locator(".comment-user")).to_contain_text("Перезвонить")
    # A refused action says so at its row too (past maxlength, as a script could send it).
    menu.locator("summary").click()
    menu.get_by_role("button", name="Комментарий", exact=True).click()
    page.evaluate("document.querySelector('#comment-dialog textarea').value = 'я'.repeat(1001)")
    comment.get_by_role("button", name="Сохранить").click()
    expect(page.locator(f"#result-{campaign['id']} .flash.error")).to_be_visible()
    expect(page.locator("#flash")).to_be_empty()
    expect(row(page, campaign["id"]).locator(".comment-user")).to_contain_text("Перезвонить")
    shot(page, output_dir, "03-error-at-row")


def test_stop_asks_first(page: Any, stack: Stack, output_dir: Path) -> None:
    client, key = account(stack, "Стоп")
    campaign = create(client, name="Не останавливать", phones=PHONES[:1], start_at=future())
    wait_status(client, campaign["id"], "scheduled")
    page.set_viewport_size(LAPTOP)
    sign_in(page, key)
    expect_status(page, campaign["id"], "Запланирована", timeout=20_000)
    native = native_dialogs(page)
    stops: list[str] = []
    page.on("request", lambda r: stops.append(r.url) if r.url.endswith("/do/stop") else None)
    menu = row(page, campaign["id"]).locator("details.menu")
    menu.locator("summary").click()
    menu.get_by_role("button", name="Остановить", exact=True).click()
    # Asked in the page's own dialog, in Russian, naming the campaign.
    confirm = page.locator("#confirm-dialog")
    expect(confirm).to_be_visible()
    expect(confirm.locator("#confirm-text")).to_contain_text(str(campaign["id"]))
    expect(confirm.locator("#confirm-text")).to_contain_text("Не останавливать")
    shot(page, output_dir, "00-stop-asks")
    confirm.get_by_role("button", name="Отмена").click()
    expect(confirm).to_be_hidden()
    count_swaps(page)
    wait_swaps(page, 1)  # two polls later nothing was sent and nothing changed
    assert stops == []
    assert get(client, campaign["id"])["status"] == "scheduled"
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    menu.get_by_role("button", name="Остановить", exact=True).click()
    page.click("#confirm-yes")
    expect_status(page, campaign["id"], "Остановлена", timeout=20_000)
    assert len(stops) == 1
    assert native == []  # never the browser's own confirm()
    shot(page, output_dir, "01-stopped")


def test_copy_opens_the_create_form_filled_in(page: Any, stack: Stack, output_dir: Path) -> None:
    client, key = account(stack, "Копия")
    original = create(
        client,
        name="Оригинал для копии",
        phones=PHONES[:4],
        audio={"kind": "tts", "text": "Добрый день! Новая коллекция уже в магазинах."},
        start_at=future(),
        record=True,
        smart={"parts": 2, "delay_minutes": 90},
        ivr={"kind": "words", "lead_words": ["да", "интересно"]},
        window={"days": ["mon", "wed"], "from": "10:00", "to": "19:30"},
        comment="исходная",
    )
    wait_status(client, original["id"], "scheduled")
    page.set_viewport_size(LAPTOP)
    sign_in(page, key)
    menu = row(page, original["id"]).locator("details.menu")
    menu.locator("summary").click()
    menu.get_by_role("link", name="Скопировать", exact=True).click()
    expect(page).to_have_url(f"{stack.base_url}/campaigns/new?copy={original['id']}")
    form = page.locator("#create-form")
    expect(form.locator("input[name=name]")).to_have_value("Оригинал для копии")
    expect(form.locator("textarea[name=tts_text]")).to_have_value(
        "Добрый день! Новая коллекция уже в магазинах."
    )
    expect(form.locator("input[name=smart_parts]")).to_have_value("2")
    expect(form.locator("input[name=smart_delay]")).to_have_value("90")
    expect(form.locator("input[name=record]")).to_be_checked()
    expect(form.locator("input[name=ivr_kind][value=words]")).to_be_checked()
    expect(form.locator("input[name=ivr_words]")).to_have_value("да, интересно")
    expect(form.locator("input[name=window_on]")).to_be_checked()
    expect(form.locator("input[name=window_days][value=wed]")).to_be_checked()
    expect(form.locator("input[name=window_days][value=tue]")).not_to_be_checked()
    expect(form.locator("input[name=window_to]")).to_have_value("19:30")
    expect(page.locator("#copy-base")).to_contain_text("4")
    expect(page.locator("#copy-note")).to_contain_text(str(original["id"]))
    shot(page, output_dir, "01-copy-form")
    # Nothing was created by opening the form: the copy exists only once it is launched.
    listed = client.get("/api/v1/campaigns").json()
    assert [c["id"] for c in listed["items"]] == [original["id"]]

    form.locator("input[name=name]").fill("Копия с правкой")
    page.click("#create-submit")
    expect(page.locator("#created")).to_contain_text("Копия с правкой")
    copy_id = int(page.locator("#created").inner_text().split(":")[1].split("—")[0])
    copied = get(client, copy_id)
    assert copied["name"] == "Копия с правкой"
    assert copied["size"]["total"] == 4  # the original's base
    assert {"smart", "recording", "recognition", "window"} <= set(copied["tags"])
    shot(page, output_dir, "02-copy-created")


def tone_wav(seconds: float, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        samples = [
            round(8000 * math.sin(2 * math.pi * 440 * n / rate))
            for n in range(round(seconds * rate))
        ]
        out.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return buffer.getvalue()


def test_a_copy_keeps_the_uploaded_audio_file(page: Any, stack: Stack, output_dir: Path) -> None:
    client, key = account(stack, "Копия файла")
    upload = client.post(
        "/api/v1/audio", files={"file": ("привет.wav", tone_wav(1.0), "audio/wav")}
    )
    assert upload.status_code == 201, upload.text
    file_id = upload.json()["file_id"]
    original = create(
        client,
        name="С файлом",
        phones=PHONES[:2],
        start_at=future(),
        audio={"kind": "file", "file_id": file_id, "name": "привет.wav"},
    )
    wait_status(client, original["id"], "scheduled")
    page.set_viewport_size(LAPTOP)
    sign_in(page, key)
    page.goto(f"/campaigns/new?copy={original['id']}")
    expect(page.locator("input[name=audio_kind][value=file]")).to_be_checked()
    expect(page.locator("#copy-audio")).to_contain_text("привет.wav")
    page.click("#create-submit")
    expect(page.locator("#created")).to_contain_text("С файлом")
    copy_id = int(page.locator("#created").inner_text().split(":")[1].split("—")[0])
    copied = get(client, copy_id)
    assert "audio_file" in copied["tags"] and copied["size"]["total"] == 2
    shot(page, output_dir, "01-copy-with-file")
