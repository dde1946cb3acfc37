"""The web page "Рассылки" in headless Chromium against every service running (real NATS,
PostgreSQL, the dialer's clock at 3600x): the scenarios of issue 8."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import create, wait_status
from tests.e2e.web.pages import (
    account,
    expect_status,
    future,
    open_menu_and,
    row,
    search,
    shot,
    sign_in,
)
from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.postgres]

PHONES = [f"+7916123450{d}" for d in range(10)]


def test_sign_in_create_with_tts_and_smart_parts_and_watch_it_finish(
    page: Any, stack: Stack, output_dir: Path
) -> None:
    _, key = account(stack, "Браузер")
    sign_in(page, key)
    expect(page.locator("h1")).to_have_text("Рассылки")
    shot(page, output_dir, "01-signed-in")
    page.click("text=Создать рассылку")
    page.fill("input[name=name]", "Весенняя акция")
    page.fill("textarea[name=phones_text]", "\n".join(PHONES[4:8]) + "\nне номер")
    page.fill("textarea[name=tts_text]", "Здравствуйте! Весенние скидки для вас.")
    page.click("#preview-button")
    expect(page.locator("#preview audio")).to_be_visible(timeout=30_000)
    page.fill("input[name=smart_parts]", "1")
    page.fill("input[name=smart_delay]", "1")
    shot(page, output_dir, "02-create-form")
    page.click("#create-submit")
    expect(page.locator("#created")).to_contain_text("Весенняя акция")
    expect(page.locator("#rejected-lines")).to_contain_text("не номер")
    campaign_id = int(page.locator("#created").inner_text().split(":")[1].split("—")[0])
    page.click("#to-list")
    # A marker on the window: if the page reloaded, it would be gone.
    page.evaluate("window.notReloaded = true")
    expect(row(page, campaign_id).locator(".tags")).to_contain_text("Умная")
    expect(row(page, campaign_id).locator(".tags")).to_contain_text("Сгенерированный текст")
    expect_status(page, campaign_id, "Закончена")
    assert page.evaluate("window.notReloaded") is True
    expect(row(page, campaign_id).locator(".size")).to_have_text("4 / 0 / 2 / 0 / 2 / 0")
    expect(row(page, campaign_id).locator(".size")).to_have_attribute(
        "title", "Всего номеров / в стоп-листе / ответили / лиды / не ответили / в процессе"
    )
    part = page.locator("tr", has_text="Умная [1]")
    expect(part.first).to_be_visible()
    shot(page, output_dir, "03-finished")


def test_search_by_id_and_cyrillic_name_and_filter_by_status_and_tag(
    page: Any, stack: Stack, output_dir: Path
) -> None:
    client, key = account(stack, "Поиск")
    spring = create(
        client, name="Весенняя распродажа", phones=PHONES[:1], start_at=future(), record=True
    )
    autumn = create(client, name="Осенний сбор", phones=PHONES[1:2], start_at=future())
    wait_status(client, spring["id"], "scheduled")
    wait_status(client, autumn["id"], "scheduled")
    assert client.post(f"/api/v1/campaigns/{autumn['id']}/pause").status_code == 200
    sign_in(page, key)
    search(page, str(autumn["id"]))
    expect(page.locator("#table tbody tr[data-id]")).to_have_count(1)
    expect(row(page, autumn["id"])).to_be_visible()
    search(page, "РАСПРОД")
    expect(page.locator("#table tbody tr[data-id]")).to_have_count(1)
    expect(row(page, spring["id"])).to_contain_text("Весенняя распродажа")
    shot(page, output_dir, "01-search-cyrillic")
    search(page, "")
    expect(page.locator("#table tbody tr[data-id]")).to_have_count(2)
    page.select_option("#status-filter", "paused")
    expect(page.locator("#table tbody tr[data-id]")).to_have_count(1)
    expect(row(page, autumn["id"]).locator(".status")).to_have_text("На паузе")
    page.select_option("#status-filter", "")
    page.check("#tag-filter input[value=recording]")
    expect(page.locator("#table tbody tr[data-id]")).to_have_count(1)
    expect(row(page, spring["id"]).locator(".tags")).to_contain_text("С записью")
    expect(row(page, spring["id"]).locator(".start")).to_contain_text("Запланирована на")
    shot(page, output_dir, "02-filter-tag")


def test_report_with_charts_and_csv_download(page: Any, stack: Stack, output_dir: Path) -> None:
    client, key = account(stack, "Отчёт")
    campaign = create(client, name="Для отчёта", phones=PHONES[:8], record=True)
    wait_status(client, campaign["id"], "finished", timeout=90)
    sign_in(page, key)
    row(page, campaign["id"]).locator("a.report").click()
    expect(page.locator("#report-name")).to_have_text("Для отчёта")
    expect(page.locator("[data-counter=size_total] b")).to_have_text("8")
    expect(page.locator("tr.call-row")).to_have_count(8)
    # Chart.js drew on the canvas: it sized it and keeps its chart object.
    page.wait_for_function(
        "() => Chart.getChart(document.getElementById('chart-outcomes')) !== undefined"
    )
    shot(page, output_dir, "01-report")
    with page.expect_download() as info:
        page.click("#download-csv")
    data = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(data)))
    assert {r["Телефон"] for r in rows} == set(PHONES[:8])  # the page's file is Russian


def test_pause_and_resume_from_the_menu(page: Any, stack: Stack, output_dir: Path) -> None:
    client, key = account(stack, "Пауза")
    campaign = create(client, name="Пауза и 🔄", phones=PHONES[:2], start_at=future())
    wait_status(client, campaign["id"], "scheduled")
    sign_in(page, key)
    expect_status(page, campaign["id"], "Запланирована", timeout=20_000)
    open_menu_and(page, campaign["id"], "Пауза")
    expect_status(page, campaign["id"], "На паузе", timeout=20_000)
    shot(page, output_dir, "01-paused")
    row(page, campaign["id"]).locator("button.resume").click()
    expect_status(page, campaign["id"], "Запланирована", timeout=20_000)
    shot(page, output_dir, "02-resumed")


def test_copy_a_campaign(page: Any, stack: Stack, output_dir: Path) -> None:
    client, key = account(stack, "Копия")
    campaign = create(client, name="Оригинал", phones=PHONES[:2], start_at=future())
    sign_in(page, key)
    expect(row(page, campaign["id"])).to_be_visible()
    open_menu_and(page, campaign["id"], "Комментарий")
    page.fill("#comment-dialog textarea[name=text]", "Перезвонить в понедельник")
    page.click("#comment-save")
    expect(row(page, campaign["id"]).locator(".comment-user")).to_have_text(
        "Перезвонить в понедельник"
    )
    # "Скопировать" opens the create form filled in; the copy is made when it is launched.
    menu = row(page, campaign["id"]).locator("details.menu")
    menu.locator("summary").click()
    menu.get_by_role("link", name="Скопировать", exact=True).click()
    expect(page.locator("input[name=name]")).to_have_value("Оригинал")
    page.click("#create-submit")
    expect(page.locator("#created")).to_contain_text("Оригинал")
    page.click("#to-list")
    expect(page.locator("#table tbody tr", has_text="Оригинал")).to_have_count(2, timeout=20_000)
    shot(page, output_dir, "01-copied")


def test_delete_two_rows_at_once(page: Any, stack: Stack, output_dir: Path) -> None:
    client, key = account(stack, "Удаление")
    made = [
        create(client, name=f"Удалить {i}", phones=PHONES[:1], start_at=future()) for i in range(3)
    ]
    sign_in(page, key)
    expect(page.locator("#table tbody tr[data-id]")).to_have_count(3)
    for campaign in made[:2]:
        row(page, campaign["id"]).locator(".row-check").check()
    # The selection survives the table's polling.
    page.wait_for_timeout(2500)
    expect(row(page, made[0]["id"]).locator(".row-check")).to_be_checked()
    with page.expect_download() as info:
        page.click("#download-selected")
    exported = Path(info.value.path()).read_text(encoding="utf-8-sig")
    ids = {int(r["Номер"]) for r in csv.DictReader(io.StringIO(exported))}
    assert ids == {made[0]["id"], made[1]["id"]}
    page.click("#delete-selected")
    page.click("#confirm-yes")  # asked in the page's own dialog
    expect(page.locator("#table tbody tr[data-id]")).to_have_count(1, timeout=20_000)
    expect(row(page, made[2]["id"])).to_be_visible()
    shot(page, output_dir, "01-after-delete")


def test_moderator_approves_a_campaign_in_clarification(
    page: Any, stack: Stack, output_dir: Path
) -> None:
    client, key = account(stack, "Кредиты")
    campaign = create(client, name="Кредит под 0%", phones=PHONES[:1], start_at=future())
    other = create(client, name="Займ до зарплаты", phones=PHONES[:1], start_at=future())
    wait_status(client, campaign["id"], "clarification")
    wait_status(client, other["id"], "clarification")
    sign_in(page, stack.admin_token)
    expect(page).to_have_url(f"{stack.base_url}/moderation")
    queued = page.locator(f"#mod-{campaign['id']}")
    expect(queued).to_contain_text("Кредит под 0%")
    shot(page, output_dir, "01-queue")
    queued.locator("button.approve").click()
    expect(page.locator(f"tr.decided[data-id='{campaign['id']}']")).to_be_visible()
    wait_status(client, campaign["id"], "scheduled", "accepted")
    rejected = page.locator(f"#mod-{other['id']}")
    rejected.locator("input[name=reason]").fill("Нужна лицензия ЦБ")
    rejected.locator(".reject-form button").click()
    expect(page.locator(f"tr.decided[data-id='{other['id']}']")).to_be_visible()
    wait_status(client, other["id"], "rejected")
    shot(page, output_dir, "02-decided")
    # The customer sees the rejection and its reason (a system comment, in red).
    page.click("header form button")
    sign_in(page, key)
    expect_status(page, other["id"], "Отклонена", timeout=20_000)
    reason = row(page, other["id"]).locator(".comment-system")
    expect(reason).to_have_text("Нужна лицензия ЦБ")
    expect(reason).to_have_css("color", "rgb(198, 40, 40)")
    shot(page, output_dir, "03-customer-sees-rejection")


def test_phone_screen_english_and_no_outside_requests(
    page: Any, stack: Stack, requests_seen: Any, output_dir: Path
) -> None:
    client, key = account(stack, "Телефон")
    campaign = create(client, name="На телефоне", phones=PHONES[:1], start_at=future())
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, key)
    expect(row(page, campaign["id"])).to_be_visible()
    shot(page, output_dir, "01-phone-ru")
    for path in ("/campaigns/new", f"/campaigns/{campaign['id']}/report", "/profile", "/stop-list"):
        page.goto(path)
        expect(page.locator("h1").first).to_be_visible()
    page.goto("/")
    page.click("#lang-switch")
    expect(page.locator("h1")).to_have_text("Campaigns")
    expect(row(page, campaign["id"]).locator(".start")).to_contain_text("Scheduled for")
    shot(page, output_dir, "02-phone-en")
    assert len(requests_seen.urls) > 10
    assert not requests_seen.outside(), requests_seen.outside()


def test_profile_timezone_moves_every_time_and_the_stop_list(
    page: Any, stack: Stack, output_dir: Path
) -> None:
    client, key = account(stack, "Профиль")
    campaign = create(client, name="Часовой пояс", phones=PHONES[:1], start_at=future())
    sign_in(page, key)
    moscow = row(page, campaign["id"]).locator("td").nth(1).inner_text()
    page.click("text=Профиль")
    page.select_option("#timezone", "Asia/Vladivostok")
    page.click("#tz-form button")
    expect(page.locator(".flash.ok")).to_have_text("Сохранено")
    page.click("text=Рассылки")
    shifted = row(page, campaign["id"]).locator("td").nth(1)
    created = dt.datetime.strptime(moscow.split(" (id")[0], "%d.%m.%Y (%H:%M:%S)")
    later = (created + dt.timedelta(hours=7)).strftime("%d.%m.%Y (%H:%M:%S)")
    expect(shifted).to_contain_text(later)
    page.click("text=Стоп-лист")
    page.fill("textarea[name=phones_text]", "8 916 123-45-09\nне номер")
    page.click("#stop-add button[type=submit]")
    expect(page.locator("#stop-list td.phone")).to_have_text(["+79161234509"])
    expect(page.locator(".rejected")).to_contain_text("не номер")
    shot(page, output_dir, "01-stop-list")
    page.locator("#stop-list button").click()
    expect(page.locator("#stop-list td.phone")).to_have_count(0)
