"""Issue 18 on the page over HTTP: form errors, rejected lines, action errors and system
comments in Russian; a too-large form answered on the form; the uploaded audio kept through
a form error; report files in the page's language with numbers as numbers; empty states,
Post/Redirect/Get, the moderation count, the filters' warning, the favicon."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from openpyxl import load_workbook

from tests.english import english_words, visible_text
from tests.integration.gateway_api.conftest import FakeServices, make_settings
from tests.integration.web.conftest import ADMIN, csrf_of
from tests.integration.web.test_web_pages import FORM, create, tiny_wav
from tests.integration.web.test_web_report import calls
from tests.report_rows import rows_reply
from zvonar_contracts.commands import CreateCampaign
from zvonar_contracts.options import FileAudio
from zvonar_contracts.queries import GetReport, GetReportRows, ReportPage
from zvonar_gateway.adapters.accounts import AccountStore
from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.bootstrap import bootstrap
from zvonar_gateway.domain.validation import check_rules, convert_body
from zvonar_gateway.files.audio import MAX_AUDIO_BYTES
from zvonar_gateway.http.routes.system import HealthProbe
from zvonar_gateway.web.messages import api_message, field_error, system_comment

HTMX = {"HX-Request": "true"}


def no_english(html: str, typed: frozenset[str] = frozenset()) -> None:
    """No Latin word on the page but the allowed names and what the customer typed."""
    left = english_words(visible_text(html), typed)
    assert not left, left


# --- 3: no English on the Russian page ------------------------------------------------------


async def test_every_create_form_error_is_russian(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    past = (dt.datetime.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    answer = await create(
        web,
        signed_in,
        phones_text="",
        tts_text=" ",
        speed="0",
        start_at=past,
        routing_kind="caller_id",
        caller_number="123",
        ivr_kind="keys",
        ivr_keys="x",
        smart_parts="9",
        smart_delay="-1",
        window_on="on",
        window_from="22:00",
        window_to="08:00",
        webhook_url="ftp://example.org",
    )
    assert answer.status_code == 422
    for text in (
        "Укажите хотя бы один номер телефона",
        "Не должно быть пустым",
        "Звонков в час: от 1 до",
        "Время старта должно быть в будущем",
        "Неверный номер телефона",
        "Укажите одну или несколько клавиш",
        "Выберите хотя бы один день",
        "Адрес вида http:// или https://",
    ):
        assert text in answer.text, text
    no_english(answer.text)
    second = await create(
        web,
        signed_in,
        window_on="on",
        window_days="mon",
        window_from="22:00",
        window_to="08:00",
        phones_text="не номер\nabc",
    )
    assert "Время «до» должно быть позже времени «с»" in second.text
    assert "Ни одного верного номера телефона" in second.text
    no_english(second.text, frozenset({"abc"}))  # the customer's own line, echoed
    assert not [c for c in services.commands if isinstance(c, CreateCampaign)]


async def test_rejected_lines_are_russian_and_a_first_pasted_line_is_no_header(
    web: httpx.AsyncClient, signed_in: str
) -> None:
    answer = await create(web, signed_in, phones_text="не номер\n+79991234567\n8 999 123-45-67\n12")
    assert answer.status_code == 200 and str(answer.url).endswith("/created")
    rejected = answer.text.split('id="rejected-lines"')[1].split("</div>")[0]
    # The first line is said to be no phone number, not silently taken for a header.
    assert "1: не номер — не номер телефона" in rejected
    assert "3: 8 999 123-45-67 — повтор" in rejected
    assert "4: 12 — слишком короткий" in rejected or "4: 12 — неверная длина" in rejected
    no_english(answer.text)
    stop = await web.post("/stop-list/add", data={"_csrf": signed_in, "phones_text": "xyz\n+7999"})
    assert "не номер телефона" in stop.text
    no_english(stop.text, frozenset({"xyz"}))


async def test_action_errors_and_not_found_are_russian(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    auth = {**HTMX, "X-CSRF-Token": signed_in}
    missing = await web.post("/campaigns/999999/do/pause", headers=auth)
    assert missing.status_code == 404 and "рассылка 999999 не найдена" in missing.text
    no_english(missing.text)
    page = await web.get("/campaigns/999999/report")
    assert page.status_code == 404 and "Не найдено" in page.text
    no_english(page.text)
    await create(web, signed_in)
    cid = max(services.campaigns)
    await web.post(f"/campaigns/{cid}/do/stop", headers=auth)
    refused = await web.post(f"/campaigns/{cid}/do/pause", headers=auth)
    assert refused.status_code == 409, refused.text
    no_english(refused.text)
    long = await web.post(f"/campaigns/{cid}/do/comment", data={"text": "я" * 1001}, headers=auth)
    assert long.status_code == 422 and "Не длиннее 1000 символов" in long.text
    no_english(long.text)
    preview = await web.post("/campaigns/preview", data={"tts_text": " "}, headers=auth)
    assert "Введите текст: от 1 до 5000 символов" in preview.text
    no_english(preview.text)


def test_messages_of_the_real_services_are_said_in_russian() -> None:
    # The campaign service's refusals, by code and message (services/campaign).
    assert api_message("not_found", "campaign 999999 not found", "ru") == (
        "рассылка 999999 не найдена"
    )
    assert api_message(
        "invalid_transition", "campaign 1000007 has no smart part to cancel", "ru"
    ) == ("у рассылки 1000007 нет умной части для отмены")
    assert "закончена" in api_message("invalid_transition", "campaign 5 is finished", "ru")
    assert api_message("conflict", "something new the page does not know", "ru") == (
        "конфликт, повторите"
    )
    assert api_message("not_found", "campaign 7 not found", "en") == "campaign 7 not found"
    # The dialer's failure reasons (the red system comment).
    said = system_comment("the message could not be synthesized: no voice", "ru")
    assert said == "Не удалось синтезировать сообщение из текста"
    assert system_comment("Спам, не пропускаем", "ru") == "Спам, не пропускаем"
    assert field_error("audio.file_id", "not a WAV or MP3 file: no frames", "ru") == (
        "Это не файл WAV или MP3"
    )
    assert field_error("name", "something unforeseen", "ru") == "Неверное значение"
    assert field_error("name", "something unforeseen", "en") == "something unforeseen"


def test_every_rule_of_the_create_body_has_a_russian_text() -> None:
    """A rule: each message the API's validation gives has its own Russian text."""
    raw: dict[str, Any] = {
        "phones": [],
        "audio": {"kind": "tts", "text": " "},
        "speed": 0,
        "start_at": "2000-01-01T00:00:00+00:00",
        "routing": {"kind": "caller_id", "number": "1"},
        "ivr": {"kind": "words", "lead_words": [" "]},
        "smart": {"parts": 9, "delay_minutes": -1},
        "window": {"days": [], "from": "9", "to": "8", "tz": "account"},
        "integration": {"webhook_url": "ftp://x", "secret": ""},
    }
    body, faults = convert_body(raw)
    assert body is not None and not faults
    details = check_rules(
        body, now=dt.datetime.now(dt.UTC), phone_number=lambda _: None, require_phones=True
    )
    window = dict(raw, window={"days": ["mon", "mon"], "from": "22:00", "to": "08:00"})
    body2, _ = convert_body(window)
    assert body2 is not None
    details += check_rules(
        body2, now=dt.datetime.now(dt.UTC), phone_number=lambda _: None, require_phones=True
    )
    assert len(details) >= 10
    for item in details:
        said = field_error(item["field"], item["message"], "ru")
        assert said != "Неверное значение" and not english_words(said), item


# --- 4: a too-large form is answered on the form ------------------------------------------


@pytest.fixture
async def small_web(
    nc: Client, services: FakeServices, accounts: AccountStore, tmp_path: Path
) -> Any:
    """The app with a 64 KiB body limit, so an oversize form is cheap to send."""
    app = bootstrap(
        settings=make_settings(tmp_path, max_body_bytes=64 * 1024),
        backend=NatsBackend(nc, command_timeout=1.0, query_timeout=1.0),
        accounts=accounts,
        health=HealthProbe(nc, ttl=0.0, timeout=0.2),
    )
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        yield client


async def test_an_oversize_form_is_answered_on_the_form_not_as_json(
    small_web: httpx.AsyncClient, accounts: AccountStore, services: FakeServices
) -> None:
    _, key = await accounts.create("Большой файл", "Europe/Moscow")
    page = await small_web.get("/")
    await small_web.post("/sign-in", data={"_csrf": csrf_of(page.text), "api_key": key})
    form = await small_web.get("/campaigns/new")
    csrf = csrf_of(form.text)
    assert f'data-max-bytes="{MAX_AUDIO_BYTES}"' in form.text
    files = {"audio_file": ("big.wav", b"\x00" * 200_000, "audio/wav")}
    data = {"_csrf": csrf, **FORM, "audio_kind": "file"}
    answer = await small_web.post("/campaigns/new", data=data, files=files)
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    assert 'id="create-form"' in answer.text and 'data-field="audio.file_id"' in answer.text
    assert "Аудиофайл больше 20 МБ" in answer.text
    no_english(answer.text)
    assert not [c for c in services.commands if isinstance(c, CreateCampaign)]


# --- 6: the uploaded audio stays through a form error ---------------------------------------


async def test_the_uploaded_audio_is_kept_through_a_form_error(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    data = {"_csrf": signed_in, **FORM, "audio_kind": "file", "speed": "0"}
    files = {"audio_file": ("привет.wav", tiny_wav(), "audio/wav")}
    first = await web.post("/campaigns/new", data=data, files=files)
    assert first.status_code == 422 and 'data-field="speed"' in first.text
    assert 'data-field="audio.file_id"' not in first.text
    kept = first.text.split('name="audio_file_id" value="')[1].split('"')[0]
    assert kept.startswith("upload/")
    assert 'id="kept-audio-name">привет.wav<' in first.text
    # Sent again with the speed fixed and no file chosen: the kept upload is used.
    again = {**data, "speed": "800", "audio_file_id": kept, "audio_file_name": "привет.wav"}
    second = await web.post("/campaigns/new", data=again, follow_redirects=True)
    assert second.status_code == 200, second.text
    command = next(c for c in services.commands if isinstance(c, CreateCampaign))
    assert command.options.audio == FileAudio(file_id=kept, name="привет.wav")


async def test_a_kept_file_id_that_is_not_this_accounts_upload_is_refused(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    data = {"_csrf": signed_in, **FORM, "audio_kind": "file", "audio_file_id": "upload/" + "a" * 32}
    answer = await web.post("/campaigns/new", data=data)
    assert answer.status_code == 422
    assert "Загруженный аудиофайл не найден, выберите его снова" in answer.text
    assert 'name="audio_file_id"' not in answer.text
    forged = {**data, "audio_file_id": "../other/upload/x"}
    refused = await web.post("/campaigns/new", data=forged)
    assert refused.status_code == 422 and "Выберите файл WAV или MP3" in refused.text
    assert not [c for c in services.commands if isinstance(c, CreateCampaign)]


# --- 12: report files in the page's language, numbers as numbers ----------------------------


@pytest.fixture
async def reported(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices, monkeypatch: Any
) -> tuple[int, list[Any]]:
    await create(web, signed_in)
    cid = max(services.campaigns)
    plain = services.query
    rows: list[Any] = []

    def query(q: Any) -> Any:
        if not isinstance(q, GetReport | GetReportRows):
            return plain(q)
        view = services.campaigns[q.campaign_id][0]
        if isinstance(q, GetReportRows):
            return rows_reply(view, rows, q)
        shown = rows[(q.page - 1) * q.per_page :][: q.per_page]
        return ReportPage(
            campaign=view, calls=shown, total=len(rows), page=q.page, per_page=q.per_page
        )

    monkeypatch.setattr(services, "query", query)
    return cid, rows


async def test_report_files_are_russian_with_numbers_as_numbers(
    web: httpx.AsyncClient, reported: tuple[int, list[Any]], services: FakeServices
) -> None:
    cid, rows = reported
    rows += calls(cid, services.campaigns[cid][0].account_id)
    csv_file = await web.get(f"/campaigns/{cid}/report/download", params={"format": "csv"})
    assert csv_file.headers["content-type"] == "text/csv; charset=utf-8"
    lines = csv_file.content.decode("utf-8-sig").splitlines()
    assert lines[0] == (
        'Телефон,Часть,Попытка,Начало,Исход,"Длительность, с",Стоимость,'
        "Распознанный ответ,Лид,Запись"
    )
    assert lines[1].startswith("+79161234500,0,1,01.06.2026 (10:00:00),Ответил,3.8,2.10,да,да,")
    assert lines[2].startswith("+79161234506,0,1,01.06.2026 (10:00:04),Не ответил,0.0,0.00,,нет,")
    xlsx = await web.get(f"/campaigns/{cid}/report/download", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["Телефон", "Часть", "Попытка"] and header[6] == "Стоимость"
    cost = sheet.cell(row=2, column=7)
    assert cost.data_type == "n" and Decimal(str(cost.value)) == Decimal("2.10")
    assert sheet.cell(row=2, column=6).data_type == "n"
    assert sheet.cell(row=2, column=9).value == "да"
    await web.get("/lang/en", params={"next": "/"})
    english = await web.get(f"/campaigns/{cid}/report/download", params={"format": "csv"})
    first = english.content.decode("utf-8-sig").splitlines()
    assert first[0].startswith("Phone,Part,Attempt,Started,Outcome")
    assert ",Answered," in first[1] and ",yes," in first[1]


async def test_the_list_file_has_one_charset_and_the_cost_as_a_number(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    await create(web, signed_in)
    cid = max(services.campaigns)
    data = {"_csrf": signed_in, "ids": [str(cid)]}
    csv_file = await web.post("/campaigns/export", data={**data, "format": "csv"})
    assert csv_file.headers["content-type"] == "text/csv; charset=utf-8"
    xlsx = await web.post("/campaigns/export", data={**data, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.cell(row=1, column=10).value == "Стоимость"
    assert sheet.cell(row=2, column=10).data_type == "n"


# --- 13: empty states, PRG, moderation count, filters, favicon -------------------------------


async def test_empty_stop_list_report_without_calls_and_no_recordings(
    web: httpx.AsyncClient, signed_in: str, reported: tuple[int, list[Any]]
) -> None:
    stop = await web.get("/stop-list")
    assert 'id="stop-list-empty"' in stop.text and "Стоп-лист пуст" in stop.text
    cid, _ = reported
    page = await web.get(f"/campaigns/{cid}/report")
    assert 'id="no-calls"' in page.text and "Звонков пока нет" in page.text
    assert "<canvas" not in page.text
    assert f'href="/campaigns/{cid}/recordings.zip"' not in page.text
    archive = await web.get(f"/campaigns/{cid}/recordings.zip")
    assert archive.status_code == 404 and archive.headers["content-type"].startswith("text/html")
    assert "Записей разговоров нет" in archive.text
    no_english(page.text)


async def test_a_created_campaign_leaves_the_new_address(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    answer = await web.post("/campaigns/new", data={"_csrf": signed_in, **FORM})
    cid = max(services.campaigns)
    assert answer.status_code == 303 and answer.headers["location"] == f"/campaigns/{cid}/created"
    page = await web.get(answer.headers["location"])
    assert 'id="created"' in page.text and "Акция июнь" in page.text
    assert "3: мусор — не номер телефона" in page.text
    # A reload shows the page again and creates nothing more.
    assert (await web.get(answer.headers["location"])).status_code == 200
    assert len([c for c in services.commands if isinstance(c, CreateCampaign)]) == 1


async def test_the_moderation_count_follows_a_decision(
    web: httpx.AsyncClient, signed_in: str, services: FakeServices
) -> None:
    await create(web, signed_in)
    await create(web, signed_in, nonce="second")
    first, second = sorted(services.campaigns)
    services.clarify(first)
    services.clarify(second)
    await web.post("/sign-out", data={"_csrf": signed_in})
    page = await web.get("/")
    await web.post("/sign-in", data={"_csrf": csrf_of(page.text), "api_key": ADMIN})
    queue = await web.get("/moderation")
    assert '(<span id="queue-count">2</span>)' in queue.text
    token = csrf_of(queue.text)
    done = await web.post(f"/moderation/{first}/approve", headers={**HTMX, "X-CSRF-Token": token})
    assert done.headers["hx-trigger"] == '{"queue-count": 1}'


async def test_dates_from_after_to_are_warned_and_the_favicon(
    web: httpx.AsyncClient, signed_in: str
) -> None:
    table = await web.get(
        "/campaigns/table", params={"date_from": "2026-05-02", "date_to": "2026-05-01"}
    )
    assert "Дата «от» позже даты «до»" in table.text
    bad = await web.get("/campaigns/table", params={"date_from": "not-a-date"})
    assert "Дата в виде ДД.ММ.ГГГГ" in bad.text
    no_english(bad.text)
    home = await web.get("/")
    assert '<link rel="icon" href="/static/web/favicon.svg"' in home.text
    icon = await web.get("/static/web/favicon.svg")
    assert icon.status_code == 200 and icon.content.startswith(b"<svg")
