"""The page's pure parts: row formatting, filters, the create form, the session secret,
the two languages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from zvonar_contracts.options import (
    CampaignOptions,
    Size,
    SmartOptions,
    Status,
    Tag,
    TtsAudio,
    WordsIvr,
)
from zvonar_contracts.queries import CampaignDetail, CampaignView, Comment, HistoryEntry, Start
from zvonar_gateway.domain.timezones import RUSSIA, real_zones, zone_options
from zvonar_gateway.settings import SECRET_FILE, session_secret
from zvonar_gateway.web.filters import ListFilters, read_filters, to_query
from zvonar_gateway.web.forms import form_to_body
from zvonar_gateway.web.history import history_rows
from zvonar_gateway.web.i18n import Words
from zvonar_gateway.web.moderation_view import Piece, caught_phrases, mark, said
from zvonar_gateway.web.view import calls_over_time, row_view, unfinished_parts

RU, EN = Words("ru"), Words("en")


def view(**changes: object) -> CampaignView:
    values: dict[str, object] = {
        "id": 2202344,
        "account_id": "acc_1",
        "created_at": dt.datetime(2026, 6, 17, 13, 12, 36, tzinfo=dt.UTC),
        "name": "Без имени",
        "tags": [Tag.SMART, Tag.NO_CALLER_ID, Tag.TTS],
        "smart_part": None,
        "parent_id": None,
        "status": Status.SCHEDULED,
        "start": Start(kind="scheduled", at=dt.datetime(2026, 6, 18, 7, 0, tzinfo=dt.UTC)),
        "size": Size(total=1, in_progress=1),
        "smart_size": Size(),
        "speed": 800,
        "cost": Decimal("1.8"),
        "comment": Comment(user="", system="Причина"),
        "caller_number": None,
    }
    values.update(changes)
    return CampaignView(**values)  # type: ignore[arg-type]


def test_a_row_as_the_seed_shows_it_in_the_account_timezone() -> None:
    row = row_view(view(), "Europe/Moscow", RU)
    assert row.created == "17.06.2026 (16:12:36) (id 2202344)"
    assert row.start == "Запланирована на 18.06.2026 (10:00:00)"
    assert row.size == "1 / 0 / 0 / 0 / 0 / 1"
    assert row.smart_size == "0 / 0 / 0 / 0 / 0 / 0"
    assert [t.label for t in row.tags] == ["Умная", "Без CallerId", "Сгенерированный текст"]
    assert row.status_label == "Запланирована" and row.cost == "1.80"
    assert row.can_pause and row.can_stop and not row.can_resume and row.has_smart


def test_a_smart_part_row_and_the_other_start_kinds() -> None:
    part = row_view(view(smart_part=2, smart_size=None, start=Start(kind="not_started")), "UTC", RU)
    assert part.tags[0].label == "Умная [2]" and part.start == "Не начата" and not part.has_smart
    paused = row_view(
        view(status=Status.PAUSED_WINDOW, start=Start(kind="out_of_window")), "UTC", RU
    )
    assert paused.start == "Пауза - вне временного интервала"
    resumable = row_view(view(status=Status.PAUSED), "UTC", EN)
    assert resumable.can_resume and not resumable.can_pause and resumable.status_label == "Paused"
    done = row_view(view(status=Status.FINISHED), "Asia/Vladivostok", RU)
    assert not done.can_stop and done.created.startswith("17.06.2026 (23:12:36)")


def test_download_recordings_is_offered_only_when_there_are_recordings() -> None:
    """Issue 18 point 13: "Скачать записи" only where answered calls were recorded; else
    the row says why there is nothing to download."""
    off = row_view(view(size=Size(total=2, answered=2)), "UTC", RU)
    assert not off.has_recordings
    assert off.no_recordings_reason == "записей нет: запись разговоров не включена"
    tags = [Tag.SMART, Tag.TTS, Tag.RECORDING]
    waiting = row_view(view(tags=tags, size=Size(total=2, not_answered=2)), "UTC", RU)
    assert not waiting.has_recordings
    assert waiting.no_recordings_reason == "записей нет: ещё никто не ответил"
    recorded = row_view(view(tags=tags, size=Size(total=2, answered=1)), "UTC", RU)
    assert recorded.has_recordings and recorded.no_recordings_reason == ""
    # A main campaign's zip holds its smart parts' recordings too.
    by_part = view(tags=tags, size=Size(total=2, not_answered=2), smart_size=Size(answered=1))
    assert row_view(by_part, "UTC", RU).has_recordings


def test_smart_parts_left_to_cancel_are_those_neither_finished_nor_cancelled() -> None:
    """Issue 18 point 9: the cancel actions are offered only while a part is left."""
    at = dt.datetime(2026, 6, 17, tzinfo=dt.UTC)
    options = CampaignOptions(
        name="Умная", audio=TtsAudio(text="Привет"), smart=SmartOptions(parts=3)
    )

    def left(*history: HistoryEntry, smart_part: int | None = None) -> int:
        campaign = view(smart_part=smart_part)
        return unfinished_parts(
            CampaignDetail(campaign=campaign, options=options, history=list(history))
        )

    started = HistoryEntry(type="SmartPartStarted", at=at, details={"part": 1})
    finished = HistoryEntry(type="SmartPartFinished", at=at, details={"part": 1})
    last = HistoryEntry(type="SmartPartsCancelled", at=at, details={"parts": [3]})
    rest = HistoryEntry(type="SmartPartsCancelled", at=at, details={"parts": [2]})
    assert left() == 3
    assert left(started) == 3
    assert left(started, finished) == 2
    assert left(started, finished, last) == 1
    assert left(started, finished, last, rest) == 0
    assert left(smart_part=1) == 0  # a part row has no parts of its own
    no_smart = CampaignOptions(name="Х", audio=TtsAudio(text="Х"))
    plain = CampaignDetail(campaign=view(), options=no_smart, history=[])
    assert unfinished_parts(plain) == 0


def test_filters_read_from_the_query_and_turned_into_the_stats_query() -> None:
    params = {
        "q": " весна ",
        "status": "paused",
        "date_from": "2026-06-01",
        "time_from": "10:00",
        "date_to": "2026-06-02",
        "page": "3",
    }
    tags = {"tag": ["recording", "nonsense", "recording"]}
    filters = read_filters(params.get, lambda key: tags.get(key, []))
    assert filters.q == "весна" and filters.tags == ["recording"] and filters.page == 3
    assert filters.date_from == "01.06.2026"
    query, error = to_query(filters, "acc_1", "Europe/Moscow")
    assert error is None
    assert query.statuses == [Status.PAUSED] and query.tags == [Tag.RECORDING]
    assert query.created_from == dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC)
    assert query.created_to is not None and query.created_to.date() == dt.date(2026, 6, 2)
    assert "tag=recording" in filters.query_string(page=4) and "page=4" in filters.query_string(
        page=4
    )


def test_filter_dates_are_shown_and_typed_as_dd_mm_yyyy() -> None:
    """Issue 18 point 14: the page's way of writing a date, whatever the browser's locale."""
    typed = {"date_from": "01.06.2026", "date_to": "2.6.2026", "time_to": "12:30"}
    filters = read_filters(typed.get, lambda key: [])
    assert (filters.date_from, filters.date_to) == ("01.06.2026", "2.6.2026")
    query, error = to_query(filters, "acc_1", "Europe/Moscow")
    assert error is None
    assert query.created_from == dt.datetime(2026, 5, 31, 21, 0, tzinfo=dt.UTC)
    assert query.created_to == dt.datetime(2026, 6, 2, 9, 30, 59, 999_999, tzinfo=dt.UTC)
    # An old bookmark's ISO date still works, and is shown the page's way.
    old = read_filters({"date_from": "2026-06-01"}.get, lambda key: [])
    assert old.date_from == "01.06.2026"
    assert to_query(old, "acc_1", "UTC")[0].created_from == dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
    assert to_query(ListFilters(date_from="31.02.2026"), "acc_1", "UTC")[1]


def test_an_unreadable_date_is_reported_and_ignored() -> None:
    query, error = to_query(ListFilters(date_from="32.13.2026"), "acc_1", "UTC")
    assert error and query.created_from is None


def test_the_create_form_becomes_the_api_body() -> None:
    values = {
        "name": " Акция ",
        "audio_kind": "tts",
        "tts_text": "Привет",
        "speed": "500",
        "start_at": "2026-06-18T10:00",
        "routing_kind": "caller_id",
        "caller_number": "+79161234567",
        "ivr_kind": "keys",
        "ivr_keys": "1, #",
        "smart_parts": "2",
        "smart_delay": "30",
        "record": "on",
        "window_on": "on",
        "window_from": "09:00",
        "window_to": "21:00",
        "window_tz": "callee",
        "webhook_url": "https://example.com/hook",
        "webhook_secret": "s",
        "amd": "on",
        "comment": "мой",
    }
    body, errors = form_to_body(values, ["mon", "fri", "xyz"], "Europe/Moscow")
    assert errors == {}
    assert body["name"] == "Акция" and body["speed"] == 500
    assert body["start_at"] == "2026-06-18T10:00:00+03:00"
    assert body["routing"] == {"kind": "caller_id", "number": "+79161234567"}
    assert body["ivr"] == {"kind": "keys", "lead_keys": ["1", "#"]}
    assert body["smart"] == {"parts": 2, "delay_minutes": 30}
    assert body["window"] == {
        "days": ["mon", "fri"],
        "from": "09:00",
        "to": "21:00",
        "tz": "callee",
    }
    assert body["integration"]["webhook_url"] == "https://example.com/hook"
    assert body["record"] and body["amd"] and body["comment"] == "мой"


def test_the_create_forms_start_is_typed_as_dd_mm_yyyy_and_hh_mm() -> None:
    """Issue 18 point 14: the start date typed the page's way, whatever the browser's locale."""
    body, errors = form_to_body(
        {"start_date": "18.06.2026", "start_time": "9:05", "audio_kind": "tts"}, [], "Europe/Moscow"
    )
    assert errors == {} and body["start_at"] == "2026-06-18T09:05:00+03:00"
    body, _ = form_to_body({"start_date": "1.7.2026"}, [], "UTC")
    assert body["start_at"] == "2026-07-01T00:00:00+00:00"
    _, errors = form_to_body({"start_date": "31.02.2026", "start_time": "10:00"}, [], "UTC")
    assert set(errors) == {"start_at"}
    assert "start_at" not in form_to_body({"start_date": "", "start_time": "10:00"}, [], "UTC")[0]


def test_the_create_form_names_its_own_faults() -> None:
    body, errors = form_to_body(
        {"speed": "быстро", "start_at": "вчера", "smart_parts": "x"}, [], "UTC"
    )
    assert set(errors) == {"speed", "start_at", "smart.parts"}
    assert "smart" not in body and "name" not in body


def test_the_session_secret_is_kept_under_the_data_dir(tmp_path: Path) -> None:
    first = session_secret(tmp_path, None)
    assert len(first) == 32 and (tmp_path / SECRET_FILE).stat().st_mode & 0o077 == 0
    assert session_secret(tmp_path, "") == first
    given = session_secret(tmp_path, "from-env")
    assert given != first and len(given) == 32


def test_calls_are_counted_per_bar_of_local_time() -> None:
    base = dt.datetime(2026, 6, 1, 7, 0, 10, tzinfo=dt.UTC)
    later = [base, base + dt.timedelta(seconds=20), base + dt.timedelta(hours=2)]
    labels, counts = calls_over_time(later, "Europe/Moscow")
    # Issue 18: a continuous time axis — every minute from the first call to the last.
    assert (labels[0], labels[1], labels[-1], len(labels)) == (
        "01.06 10:00",
        "01.06 10:01",
        "01.06 12:00",
        121,
    )
    assert (counts[0], counts[-1], sum(counts), len(counts)) == (2, 1, 3, 121)
    quick = [base, base + dt.timedelta(seconds=5), base + dt.timedelta(seconds=31)]
    assert calls_over_time(quick, "Europe/Moscow") == (
        ["10:00:10", "10:00:20", "10:00:30", "10:00:40"],
        [2, 0, 0, 1],
    )
    # Bars follow the local wall clock, even in a zone half an hour off UTC.
    days = [base, base + dt.timedelta(days=3)]
    hourly, _ = calls_over_time(days, "Asia/Kolkata")
    assert (hourly[0], hourly[-1], len(hourly)) == ("01.06 12:00", "04.06 12:00", 73)
    month, per_day = calls_over_time([base, base + dt.timedelta(days=20)], "UTC")
    assert (month[0], month[-1], len(month), sum(per_day)) == ("01.06", "21.06", 21, 2)
    assert calls_over_time([], "UTC") == ([], [])


def test_history_rows_name_the_events_and_leave_out_nested_values() -> None:
    entry = HistoryEntry(
        type="CampaignStarted",
        at=dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC),
        details={"started_at": "2026-06-01T08:00:00Z", "phones": {"count": 3}},
    )
    assert history_rows([entry], "Europe/Moscow", RU) == [
        ("01.06.2026 (10:00:00)", "Запущена", "первые звонки в 01.06.2026 (11:00:00)")
    ]
    assert history_rows([entry], "UTC", EN)[0][1:] == (
        "Started",
        "calling began at 01.06.2026 (08:00:00)",
    )


def test_history_rows_say_why_a_campaign_is_idle_in_words() -> None:
    entry = HistoryEntry(
        type="CampaignIdle",
        at=dt.datetime(2026, 6, 1, 7, 0, tzinfo=dt.UTC),
        details={"reason": "paused_by_system", "until": None},
    )
    assert history_rows([entry], "UTC", RU)[0][1:] == (
        "Ожидание",
        "пауза системой: оператор связи недоступен",
    )
    assert history_rows([entry], "UTC", EN)[0][2] == (
        "paused by the system: the carrier is unreachable"
    )


def test_history_is_written_for_people_in_the_account_zone() -> None:
    """Issue 18 point 7: no field names, no account_tz, the idle `until` re-zoned."""
    at = dt.datetime(2026, 11, 29, 5, 0, tzinfo=dt.UTC)

    def entry(kind: str, **details: object) -> HistoryEntry:
        return HistoryEntry(type=kind, at=at, details=details)

    history = [
        entry("CampaignCreated", account_tz="Europe/Moscow", phones={"file": "x"}),
        entry("CampaignModerated", decided_by="rules", decision="accepted", status="accepted"),
        entry(
            "CampaignModerated",
            decided_by="moderator",
            decision="rejected",
            status="rejected",
            reason="Нужна лицензия",
        ),
        entry("CampaignPaused", paused_by="customer", reason=""),
        entry("CampaignResumed", status="paused_window"),
        entry("CampaignIdle", reason="window_closed", until="2026-11-29T05:45:28Z"),
        entry("SmartPartStarted", part=1, part_campaign_id=1000009, phone_count=4),
        entry("CampaignCommentChanged", text="Перезвонить"),
    ]
    said = [details for _, _, details in history_rows(history, "Europe/Moscow", RU)]
    assert said == [
        "",
        "одобрена автоматической проверкой",
        "отклонена модератором, причина: Нужна лицензия",
        "клиентом",
        "статус: Пауза — вне временного интервала",
        "вне временного интервала, до 29.11.2026 (08:45:28)",
        "часть 1 (рассылка 1000009), номеров: 4",
        "«Перезвонить»",
    ]
    english = [details for _, _, details in history_rows(history, "UTC", EN)]
    assert english[1:4] == [
        "approved by the automatic check",
        "rejected by a moderator, reason: Нужна лицензия",
        "by the customer",
    ]
    everything = " ".join(said + english)
    for internal in ("account_tz", "decided_by", "paused_by", "Europe/Moscow", "2026-11-29T"):
        assert internal not in everything


@pytest.mark.parametrize("status", list(Status))
def test_every_status_and_tag_has_a_label_in_both_languages(status: Status) -> None:
    assert RU.status(status) and EN.status(status) and RU.status(status) != EN.status(status)
    for tag in Tag:
        assert RU.tag(tag) and EN.tag(tag)


def test_timezones_offered_are_real_with_russia_first_and_offsets() -> None:
    """Issue 18 point 11: Russia's zones first (west to east) with offset and city; no
    "localtime", "Factory" or legacy aliases; an old choice outside the list is kept."""
    winter = dt.datetime(2026, 1, 15, tzinfo=dt.UTC)
    options = zone_options("ru", "Europe/Moscow", winter)
    names = [o.name for o in options]
    assert set(names[: len(RUSSIA)]) == set(RUSSIA)
    offsets = [o.label.split(" ")[0] for o in options[: len(RUSSIA)]]
    assert offsets == sorted(offsets)  # west to east: UTC+02:00 ... UTC+12:00
    assert options[0].label == "UTC+02:00 — Калининград"
    labels = {o.name: o.label for o in options}
    assert labels["Europe/Moscow"] == "UTC+03:00 — Москва"
    assert labels["Asia/Kamchatka"] == "UTC+12:00 — Петропавловск-Камчатский"
    # The world's cities in the page's language too, negative offsets with a minus sign.
    assert labels["America/New_York"] == "UTC\u221205:00 — Нью-Йорк"
    assert labels["Pacific/Pago_Pago"] == "UTC\u221211:00 — Паго-Паго"
    assert labels["UTC"] == "UTC+00:00 — UTC"
    summer = {o.name: o.label for o in zone_options("en", None, winter.replace(month=7))}
    assert summer["America/New_York"] == "UTC\u221204:00 — New York"
    assert summer["Europe/Moscow"] == "UTC+03:00 — Moscow"
    for unreal in ("localtime", "Factory", "posixrules", "W-SU", "US/Eastern", "Etc/GMT-3"):
        assert unreal not in names and unreal not in real_zones()
    assert 300 < len(names) < 500
    kept = zone_options("ru", "W-SU", winter)
    assert kept[-1].name == "W-SU"


def test_the_moderators_marks_fall_on_the_rules_hit_in_any_word_form() -> None:
    """Issue 18 point 2: the phrase moderation quoted, marked where the text says it."""
    comment = "Финансовые услуги (кредиты, займы): нужно уточнение — «кредит» (текст ролика)"
    assert caught_phrases(comment) == ["кредит"]
    text = "Оформите кредит! С кредитом проще, кредо — нет."
    pieces = mark(text, ["кредит"])
    assert "".join(p.text for p in pieces) == text
    assert [p.text for p in pieces if p.hit] == ["кредит", "кредитом"]
    phrase = mark("Лучшие Ставок на спорт тут", ["ставки на спорт"])
    assert [p.text for p in phrase if p.hit] == ["Ставок на спорт"]
    assert mark("ничего такого", ["кредит"]) == [Piece("ничего такого", False)]
    options = CampaignOptions(
        name="Кредиты всем",
        audio=TtsAudio(text="Дадим кредит"),
        ivr=WordsIvr(lead_words=["да", "кредит"]),
    )
    says = said(options, comment, 12)
    assert [p.text for p in says.name if p.hit] == ["Кредиты"]
    assert [p.text for p in says.text if p.hit] == ["кредит"]
    assert [[p.hit for p in word] for word in says.lead_words] == [[False], [True]]
    assert (says.numbers, says.has_file, says.file_name) == (12, False, [])


def test_the_real_zones_scan_the_zone_folders_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """available_timezones() opens every file of the zone folders: asked once per name, the
    first account's request spent half a minute in it on a busy host (a ReadTimeout)."""
    import zoneinfo

    scans: list[int] = []
    scan = zoneinfo.available_timezones

    def counted() -> set[str]:
        scans.append(1)
        return scan()

    monkeypatch.setattr(zoneinfo, "available_timezones", counted)
    real_zones.cache_clear()
    try:
        zones = real_zones()
    finally:
        real_zones.cache_clear()
    assert "Europe/Moscow" in zones and "UTC" in zones and "localtime" not in zones
    assert len(scans) == 1
