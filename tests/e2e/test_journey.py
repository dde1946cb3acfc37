"""The customer's journey of docs/PRODUCT.md over the HTTP API, against every service
running on real NATS and PostgreSQL with the dialer's clock at 3600× (an hour a second)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import wave
import zipfile
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest

from tests.e2e.helpers import create, dialer_now, get, size_tuple, wait_status
from tests.stack import Stack, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

DIGITS = [f"+7916123450{d}" for d in range(10)]


def test_a_campaign_of_every_last_digit_finishes_with_the_carrier_outcomes(stack: Stack) -> None:
    client = stack.new_account("Цифры")
    campaign = create(
        client,
        name="Все цифры",
        phones=DIGITS,
        ivr={"kind": "words", "lead_words": ["да"]},
        amd=True,
    )
    assert campaign["tags"] == ["recognition", "no_caller_id", "tts", "amd"]
    assert campaign["size"]["total"] == 10
    done = wait_status(client, campaign["id"], "finished")
    # 0–5 and 9 answer; 9 is a lead; 6, 7 do not answer; 8 is a machine, detected with amd
    assert size_tuple(done["size"]) == (10, 0, 7, 1, 3, 0)
    assert done["start"]["kind"] == "started"
    report = client.get(f"/api/v1/campaigns/{campaign['id']}/report", params={"per_page": 200})
    assert report.status_code == 200
    calls = {row["phone"]: row for row in report.json()["calls"]}
    assert report.json()["total"] == 10
    outcomes = {phone[-1]: row["outcome"] for phone, row in calls.items()}
    assert outcomes == {
        "0": "answered",
        "1": "answered",
        "2": "answered",
        "3": "answered",
        "4": "answered",
        "5": "answered",
        "6": "no_answer",
        "7": "no_answer",
        "8": "machine",
        "9": "answered",
    }
    assert calls[DIGITS[9]]["lead"] is True
    assert calls[DIGITS[9]]["answer_text"] == "да"
    assert all(Decimal(calls[p]["cost"]) == 0 for p in DIGITS[6:9])
    assert Decimal(done["cost"]) == sum(Decimal(row["cost"]) for row in calls.values())
    assert Decimal(done["cost"]) > 0


def test_a_base_uploaded_as_csv_reports_rejected_lines(stack: Stack) -> None:
    client = stack.new_account("CSV")
    content = (
        "телефон;имя\n+79161112230;Анна\nabc;Борис\n8 (916) 111-22-31;Вера\n+79161112230;Анна\n"
    )
    response = client.post(
        "/api/v1/campaigns",
        files={"phones_file": ("base.csv", content.encode("utf-8"), "text/csv")},
        data={"campaign": '{"name": "Из файла", "audio": {"kind": "tts", "text": "Привет"}}'},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["size"]["total"] == 2
    rejected = {(r["line"], r["value"]) for r in body["rejected_phones"]}
    assert (3, "abc") in rejected
    assert any(r["reason"] == "duplicate" and r["line"] == 5 for r in body["rejected_phones"])
    assert all(r["line"] != 1 for r in body["rejected_phones"]), "the header is not rejected"


def test_moderation_rejects_gambling_and_holds_loans_for_a_moderator(stack: Stack) -> None:
    client = stack.new_account("Модерация")
    casino = create(client, name="Казино Вулкан", phones=DIGITS[:1])
    rejected = wait_status(client, casino["id"], "rejected")
    assert "азартные игры" in rejected["comment"]["system"]

    loan = create(
        client,
        name="Предложение",
        phones=DIGITS[:1],
        audio={"kind": "tts", "text": "Выгодные кредиты для вас"},
    )
    wait_status(client, loan["id"], "clarification")
    denied = create(client, name="Займы онлайн", phones=DIGITS[:1])
    wait_status(client, denied["id"], "clarification")
    with stack.admin() as admin:
        queue = admin.get("/api/v1/moderation/queue").json()["items"]
        assert {loan["id"], denied["id"]} <= {row["id"] for row in queue}
        assert admin.post(f"/api/v1/moderation/{loan['id']}/approve").status_code == 200
        reason = {"reason": "Нет лицензии на выдачу займов"}
        assert (
            admin.post(f"/api/v1/moderation/{denied['id']}/reject", json=reason).status_code == 200
        )
    assert client.post(f"/api/v1/moderation/{loan['id']}/approve").status_code in (401, 404)
    wait_status(client, loan["id"], "in_progress", "finished")
    assert get(client, denied["id"])["comment"]["system"] == "Нет лицензии на выдачу займов"
    assert get(client, denied["id"])["status"] == "rejected"


def test_a_scheduled_campaign_starts_at_its_time_and_not_before(stack: Stack) -> None:
    client = stack.new_account("План")
    start_at = (dialer_now(stack) + dt.timedelta(hours=4)).replace(microsecond=0)
    campaign = create(
        client, name="По расписанию", phones=DIGITS[:3], start_at=start_at.isoformat()
    )
    scheduled = wait_status(client, campaign["id"], "scheduled")
    assert scheduled["start"]["kind"] == "scheduled"
    assert dt.datetime.fromisoformat(scheduled["start"]["at"]) == start_at
    assert dt.datetime.fromisoformat(scheduled["start"]["at"]).utcoffset() == dt.timedelta(hours=3)
    done = wait_status(client, campaign["id"], "finished", timeout=60)
    assert dt.datetime.fromisoformat(done["start"]["at"]) >= start_at


def test_outside_its_window_a_campaign_waits_and_resumes_by_itself(stack: Stack) -> None:
    client = stack.new_account("Окно", timezone="Asia/Vladivostok")
    local = dialer_now(stack).astimezone(ZoneInfo("Asia/Vladivostok"))
    opens = (local + dt.timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    if opens.hour > 21:  # a window may not cross midnight: open at the next midnight
        opens = (opens + dt.timedelta(days=1)).replace(hour=0)
    closes = opens + dt.timedelta(hours=2)
    window = {
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "from": opens.strftime("%H:%M"),
        "to": closes.strftime("%H:%M"),
        "tz": "account",
    }
    campaign = create(client, name="С окном", phones=DIGITS[:4], window=window)
    assert "window" in campaign["tags"]
    waiting = wait_status(client, campaign["id"], "paused_window")
    assert waiting["start"]["kind"] == "out_of_window"
    wait_status(client, campaign["id"], "finished", timeout=60)
    report = client.get(f"/api/v1/campaigns/{campaign['id']}/report").json()
    assert len(report["calls"]) == 4
    for row in report["calls"]:
        started = dt.datetime.fromisoformat(row["started_at"]).astimezone(opens.tzinfo)
        minutes_after_opening = (started.hour * 60 + started.minute - opens.hour * 60) % (24 * 60)
        assert minutes_after_opening < 120, started


def test_pause_resume_and_stop(stack: Stack) -> None:
    client = stack.new_account("Пауза")
    phones = [f"+7916200{n:04d}" for n in range(40)]
    campaign = create(client, name="Медленная", phones=phones, speed=1)
    # A witness at the same speed in another account: its calls show the dialer went on
    # dialling while the paused campaign placed nothing (no fixed sleep stands in for that).
    witness_client = stack.new_account("Свидетель")
    witness = create(witness_client, name="Свидетель", phones=phones, speed=1)
    wait_status(client, campaign["id"], "in_progress")
    paused = client.post(f"/api/v1/campaigns/{campaign['id']}/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"

    def witness_calls() -> int:
        return int(get(witness_client, witness["id"])["size"]["in_progress"])

    def witness_placed(more: int, since: int) -> bool:
        return witness_calls() <= since - more

    # Two witness calls after the pause: a call of the paused campaign already placed then
    # (a few dialer seconds long) has reported back; three more: nothing new was placed.
    waiting = witness_calls()
    wait_for(lambda: witness_placed(2, waiting), timeout=60, what="two witness calls")
    frozen = size_tuple(get(client, campaign["id"])["size"])
    waiting = witness_calls()
    wait_for(lambda: witness_placed(3, waiting), timeout=60, what="three more witness calls")
    assert size_tuple(get(client, campaign["id"])["size"]) == frozen
    assert frozen[-1] > 0
    resumed = client.post(f"/api/v1/campaigns/{campaign['id']}/resume")
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "in_progress"
    stopped = client.post(f"/api/v1/campaigns/{campaign['id']}/stop")
    assert stopped.json()["status"] == "stopped"
    refused = client.post(f"/api/v1/campaigns/{campaign['id']}/pause")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invalid_transition"
    assert get(client, campaign["id"])["status"] == "stopped"


def test_smart_parts_redial_exactly_the_numbers_that_did_not_answer(stack: Stack) -> None:
    client = stack.new_account("Умная")
    campaign = create(
        client, name="Умная рассылка", phones=DIGITS, smart={"parts": 2, "delay_minutes": 60}
    )
    assert campaign["smart_size"] == dict.fromkeys(
        ("total", "stop_listed", "answered", "leads", "not_answered", "in_progress"), 0
    )
    done = wait_status(client, campaign["id"], "finished", timeout=90)
    rows = client.get("/api/v1/campaigns", params={"q": "Умная рассылка"}).json()["items"]
    parts = sorted(
        (r for r in rows if r["parent_id"] == campaign["id"]), key=lambda r: r["smart_part"]
    )
    assert [p["smart_part"] for p in parts] == [1, 2]
    assert all("smart" in p["tags"] and p["name"] == "Умная рассылка" for p in parts)
    # without amd, 8 is answered by a machine that passes for a person: only 6 and 7 re-dialled
    assert size_tuple(parts[0]["size"]) == (2, 0, 0, 0, 2, 0)
    assert size_tuple(done["smart_size"]) == tuple(
        a + b
        for a, b in zip(size_tuple(parts[0]["size"]), size_tuple(parts[1]["size"]), strict=True)
    )
    report = client.get(
        f"/api/v1/campaigns/{campaign['id']}/report", params={"per_page": 200}
    ).json()
    redialled = sorted(row["phone"] for row in report["calls"] if row["part"] == 1)
    assert redialled == [DIGITS[6], DIGITS[7]]


def test_cancel_all_smart_parts_stops_the_redials(stack: Stack) -> None:
    client = stack.new_account("Отмена")
    campaign = create(
        client, name="Отмена частей", phones=DIGITS, smart={"parts": 3, "delay_minutes": 10080}
    )
    wait_for(lambda: get(client, campaign["id"])["size"]["in_progress"] == 0, 60)
    cancelled = client.post(f"/api/v1/campaigns/{campaign['id']}/smart/cancel-all")
    assert cancelled.status_code == 200, cancelled.text
    wait_status(client, campaign["id"], "finished", timeout=30)
    report = client.get(
        f"/api/v1/campaigns/{campaign['id']}/report", params={"per_page": 200}
    ).json()
    assert {row["part"] for row in report["calls"]} == {0}
    again = client.post(f"/api/v1/campaigns/{campaign['id']}/smart/cancel-all")
    assert again.status_code == 409


def test_cancel_last_smart_part_leaves_the_earlier_ones(stack: Stack) -> None:
    client = stack.new_account("Последняя")
    campaign = create(
        client, name="Две части", phones=DIGITS, smart={"parts": 2, "delay_minutes": 120}
    )
    cancelled = client.post(f"/api/v1/campaigns/{campaign['id']}/smart/cancel-last")
    assert cancelled.status_code == 200, cancelled.text
    wait_status(client, campaign["id"], "finished", timeout=60)
    report = client.get(
        f"/api/v1/campaigns/{campaign['id']}/report", params={"per_page": 200}
    ).json()
    assert {row["part"] for row in report["calls"]} == {0, 1}


def test_stop_listed_numbers_are_counted_and_never_called(stack: Stack) -> None:
    client = stack.new_account("Стоп")
    added = client.post("/api/v1/stop-list", json={"phones": ["8 916 123-45-01"]})
    assert added.status_code in (200, 201), added.text
    listed = client.get("/api/v1/stop-list").json()
    assert "+79161234501" in str(listed)
    campaign = create(client, name="Со стоп-листом", phones=["+79161234501", "+79161234502"])
    done = wait_status(client, campaign["id"], "finished")
    assert done["size"]["stop_listed"] == 1
    report = client.get(f"/api/v1/campaigns/{campaign['id']}/report").json()
    stop_row = next(row for row in report["calls"] if row["phone"] == "+79161234501")
    assert stop_row["outcome"] == "stop_listed"
    assert Decimal(stop_row["cost"]) == 0
    assert client.delete("/api/v1/stop-list/+79161234501").status_code in (200, 204)
    assert "+79161234501" not in str(client.get("/api/v1/stop-list").json())


def test_release_number_comment_and_copy(stack: Stack) -> None:
    client = stack.new_account("Номер")
    campaign = create(
        client,
        name="С номером",
        phones=DIGITS[:2],
        routing={"kind": "caller_id", "number": "+74951234567"},
    )
    assert campaign["caller_number"] == "+74951234567"
    assert "no_caller_id" not in campaign["tags"]
    released = client.post(f"/api/v1/campaigns/{campaign['id']}/release-number")
    assert released.status_code == 200, released.text
    assert released.json()["caller_number"] is None
    assert client.post(f"/api/v1/campaigns/{campaign['id']}/release-number").status_code == 409

    commented = client.put(f"/api/v1/campaigns/{campaign['id']}/comment", json={"text": "Важно"})
    assert commented.json()["comment"]["user"] == "Важно"
    too_long = client.put(f"/api/v1/campaigns/{campaign['id']}/comment", json={"text": "я" * 1001})
    assert too_long.status_code == 422

    copied = client.post(f"/api/v1/campaigns/{campaign['id']}/copy")
    assert copied.status_code == 201, copied.text
    copy = copied.json()
    assert copy["id"] != campaign["id"]
    assert copy["size"]["total"] == 2
    assert copy["name"] == "С номером"
    wait_status(client, copy["id"], "in_progress", "finished")


def test_bulk_delete_stops_running_campaigns_and_hides_them(stack: Stack) -> None:
    client = stack.new_account("Удаление")
    slow = create(client, name="Удалить 1", phones=[f"+7916300{n:04d}" for n in range(20)], speed=1)
    other = create(client, name="Удалить 2", phones=DIGITS[:1])
    keep = create(client, name="Оставить", phones=DIGITS[:1])
    response = client.post("/api/v1/campaigns/delete", json={"ids": [slow["id"], other["id"]]})
    assert response.status_code == 200
    assert sorted(response.json()["deleted"]) == sorted([slow["id"], other["id"]])
    listed = {row["id"] for row in client.get("/api/v1/campaigns").json()["items"]}
    assert keep["id"] in listed
    assert not listed & {slow["id"], other["id"]}
    assert client.get(f"/api/v1/campaigns/{slow['id']}").status_code == 404


def test_exports_and_report_files_parse_back(stack: Stack) -> None:
    client = stack.new_account("Экспорт")
    campaign = create(client, name="Выгрузка", phones=DIGITS[:5], record=True)
    wait_status(client, campaign["id"], "finished")
    csv_file = client.post(
        "/api/v1/campaigns/export", json={"ids": [campaign["id"]], "format": "csv"}
    )
    assert csv_file.status_code == 200
    rows = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert len(rows) == 2 and str(campaign["id"]) in rows[1]
    xlsx = client.post("/api/v1/campaigns/export", json={"ids": [campaign["id"]], "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet.max_row == 2

    report_csv = client.get(f"/api/v1/campaigns/{campaign['id']}/report", params={"format": "csv"})
    report_rows = list(csv.DictReader(io.StringIO(report_csv.content.decode("utf-8-sig"))))
    assert len(report_rows) == 5
    report_xlsx = client.get(
        f"/api/v1/campaigns/{campaign['id']}/report", params={"format": "xlsx"}
    )
    book = openpyxl.load_workbook(io.BytesIO(report_xlsx.content)).active
    assert book is not None and book.max_row == 6

    clips = client.get(f"/api/v1/campaigns/{campaign['id']}/audio").json()
    assert clips and clips[0]["duration_s"] > 0
    clip = client.get(clips[0]["url"])
    assert clip.headers["content-type"].startswith("audio/wav")
    with wave.open(io.BytesIO(clip.content)) as wav:
        assert wav.getnframes() > 0

    archive = client.get(f"/api/v1/campaigns/{campaign['id']}/recordings.zip")
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
        names = bundle.namelist()
        assert len(names) == 5  # 0–4 all answer
        with wave.open(io.BytesIO(bundle.read(names[0]))) as wav:
            assert wav.getnframes() > 0


def test_another_account_sees_nothing_of_a_campaign(stack: Stack) -> None:
    owner = stack.new_account("Владелец")
    stranger = stack.new_account("Чужой")
    campaign = create(owner, name="Чужая", phones=DIGITS[:2])
    cid = campaign["id"]
    attempts: list[httpx.Response] = [
        stranger.get(f"/api/v1/campaigns/{cid}"),
        stranger.get(f"/api/v1/campaigns/{cid}/report"),
        stranger.get(f"/api/v1/campaigns/{cid}/audio"),
        stranger.get(f"/api/v1/campaigns/{cid}/recordings.zip"),
        stranger.post(f"/api/v1/campaigns/{cid}/pause"),
        stranger.post(f"/api/v1/campaigns/{cid}/resume"),
        stranger.post(f"/api/v1/campaigns/{cid}/stop"),
        stranger.post(f"/api/v1/campaigns/{cid}/smart/cancel-last"),
        stranger.post(f"/api/v1/campaigns/{cid}/smart/cancel-all"),
        stranger.post(f"/api/v1/campaigns/{cid}/release-number"),
        stranger.put(f"/api/v1/campaigns/{cid}/comment", json={"text": "x"}),
        stranger.post(f"/api/v1/campaigns/{cid}/copy"),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    assert stranger.post("/api/v1/campaigns/delete", json={"ids": [cid]}).json()["deleted"] == []
    assert cid not in {r["id"] for r in stranger.get("/api/v1/campaigns").json()["items"]}
    exported = stranger.post("/api/v1/campaigns/export", json={"ids": [cid], "format": "csv"})
    assert str(cid) not in exported.text
    assert get(owner, cid)["comment"]["user"] == ""
    assert get(owner, cid)["status"] != "stopped"


def test_the_same_idempotency_key_creates_nothing_new(stack: Stack) -> None:
    client = stack.new_account("Идемпотентность")
    body = {"name": "Один раз", "phones": DIGITS[:2], "audio": {"kind": "tts", "text": "Привет"}}
    headers = {"Idempotency-Key": "order-42"}
    first = client.post("/api/v1/campaigns", json=body, headers=headers)
    second = client.post("/api/v1/campaigns", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    names = [r["name"] for r in client.get("/api/v1/campaigns").json()["items"]]
    assert names.count("Один раз") == 1
    changed = client.post("/api/v1/campaigns", json={**body, "name": "Другое"}, headers=headers)
    assert changed.status_code in (409, 422)


def test_bad_input_is_a_clear_error_and_stores_nothing(stack: Stack) -> None:
    client = stack.new_account("Ошибки")
    malformed = client.post(
        "/api/v1/campaigns", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"]
    bad = client.post(
        "/api/v1/campaigns",
        json={"phones": ["abc"], "audio": {"kind": "tts", "text": "x"}, "speed": -5},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]
    assert client.get("/api/v1/campaigns").json()["total"] == 0
    assert httpx.get(f"{stack.base_url}/api/v1/campaigns").status_code == 401
