"""`zvonar events export` against a real nats-server: filters, sequences and resume, phones
hashed (stably) or kept, secrets left out, typed Parquet a row group at a time.

The command runs in this process (`zvonar_cli.main.main`), as the console script does."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zvonar_cli.main import main
from zvonar_contracts import campaign_events as ev
from zvonar_contracts.call_events import CallCompleted, InboundCallAnswered, call_id_of
from zvonar_contracts.codec import encode
from zvonar_contracts.options import (
    CallerIdRouting,
    CampaignOptions,
    Integration,
    PhoneBaseRef,
    TtsAudio,
)
from zvonar_contracts.subjects import (
    call_event_subject,
    campaign_event_subject,
    stop_list_event_subject,
)
from zvonar_devtools.natsserver import NatsServer

pytestmark = pytest.mark.integration
T0 = dt.datetime(2026, 6, 17, 10, 0, tzinfo=dt.UTC)
KEY = "analyst-key"
A, B = "acc_a", "acc_b"
PHONES = ["+79160000001", "+79160000002", "+79160000003"]
CALLER = "+74950000000"
SECRET = "whsec_do_not_leak_0123456789"


@pytest.fixture
def nats(tmp_path: Path) -> Iterator[str]:
    with NatsServer(tmp_path / "nats") as server:
        yield server.url


def _created(cid: int, account: str, at: dt.datetime) -> dict[str, Any]:
    """A CampaignCreated as an old producer wrote it: the webhook secret itself inside."""
    options = CampaignOptions(
        name=f"Кампания {cid}",
        audio=TtsAudio(text="Здравствуйте"),
        routing=CallerIdRouting(number=CALLER),
        integration=Integration(
            webhook_url="https://user:pw@hooks.example/in?token=abc", secret_ref="ref-1"
        ),
    )
    event = ev.CampaignCreated(
        campaign_id=cid,
        account_id=account,
        at=at,
        account_tz="Europe/Moscow",
        options=options,
        phones=PhoneBaseRef(bucket="phone-bases", name=f"{account}/x", count=3, sha256="ab" * 32),
    )
    raw: dict[str, Any] = msgspec.to_builtins(event)
    raw["options"]["integration"]["secret"] = SECRET
    return raw


def _call(cid: int, account: str, phone: str, at: dt.datetime, cost: str) -> CallCompleted:
    return CallCompleted(
        campaign_id=cid,
        account_id=account,
        at=at,
        call_id=call_id_of(cid, 0, phone, 1),
        phone=phone,
        part=0,
        attempt=1,
        started_at=at,
        outcome="answered",
        duration_s=12.5,
        billed_s=30,
        cost=Decimal(cost),
        caller_number=CALLER,
        recording=f"{account}/{cid}/{call_id_of(cid, 0, phone, 1)}.wav",
    )


async def _publish(url: str, events: list[tuple[str, Any]]) -> None:
    from zvonar_runtime.jetstream import connect, ensure_jetstream

    nc = await connect(url, "export-test")
    js = nc.jetstream()
    await ensure_jetstream(js)
    for subject, event in events:
        data = json.dumps(event).encode() if isinstance(event, dict) else encode(event)
        await js.publish(subject, data)
    await nc.close()


def _story() -> list[tuple[str, Any]]:
    """Campaign 101 of A (3 calls), campaign 202 of B (1 call), a stop-list event of A, an
    inbound call; times an hour apart."""
    at = [T0 + dt.timedelta(hours=h) for h in range(8)]
    return [
        (campaign_event_subject(101, "CampaignCreated"), _created(101, A, at[0])),
        (campaign_event_subject(202, "CampaignCreated"), _created(202, B, at[1])),
        (
            stop_list_event_subject(A, "StopListPhonesAdded"),
            ev.StopListPhonesAdded(account_id=A, at=at[2], phones=[PHONES[2]]),
        ),
        (call_event_subject(101, "CallCompleted"), _call(101, A, PHONES[0], at[3], "1.50")),
        (call_event_subject(101, "CallCompleted"), _call(101, A, PHONES[1], at[4], "0.75")),
        (call_event_subject(202, "CallCompleted"), _call(202, B, PHONES[0], at[5], "2.00")),
        (
            call_event_subject(101, "InboundCallAnswered"),
            InboundCallAnswered(
                campaign_id=101,
                account_id=A,
                at=at[6],
                phone=PHONES[1],
                caller_number=CALLER,
                played=True,
            ),
        ),
        (
            campaign_event_subject(101, "CampaignFinished"),
            ev.CampaignFinished(campaign_id=101, account_id=A, at=at[7]),
        ),
    ]


def _zvonar(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, url: str, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setenv("NATS_URL", url)
    monkeypatch.setenv("ZVONAR_TIMEOUT", "30")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_jsonl_to_stdout_hashes_phones_stably_and_drops_secrets(
    nats: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_publish(nats, _story()))
    code, out, err = _zvonar(capsys, monkeypatch, nats, "events", "export", "--hash-key", KEY)
    assert code == 0, err
    lines = _lines(out)
    expected = [(s, n) for s in ("CAMPAIGN_EVENTS", "CALL_EVENTS") for n in (1, 2, 3, 4)]
    assert [(x["stream"], x["seq"]) for x in lines] == expected
    assert "8 events written to stdout (read CAMPAIGN_EVENTS to 4, CALL_EVENTS to 4)" in err
    for raw in [*PHONES, CALLER, CALLER.lstrip("+"), PHONES[0].lstrip("+"), SECRET, "ref-1"]:
        assert raw not in out, f"{raw} was exported"
    assert "token=abc" not in out and "user:pw" not in out
    created = lines[0]["event"]
    assert created["options"]["integration"] == {"webhook_url": "https://hooks.example/in"}
    calls = [x["event"] for x in lines if x["type"] == "CallCompleted"]
    # The same number has the same hash in both campaigns, and inside the call's ids.
    assert calls[0]["phone"] == calls[2]["phone"] != calls[1]["phone"]
    assert calls[0]["phone"].startswith("h:") and len(calls[0]["phone"]) == 34
    digest = calls[0]["phone"][2:]
    assert calls[0]["call_id"] == f"101-0-{digest}-1"
    assert calls[0]["recording"] == f"{A}/101/101-0-{digest}-1.wav"
    assert calls[0]["caller_number"] == created["options"]["routing"]["number"]
    [inbound] = [x["event"] for x in lines if x["type"] == "InboundCallAnswered"]
    assert inbound["caller"] == calls[1]["phone"] and inbound["number"] == calls[0]["caller_number"]
    [stop_listed] = lines[2]["event"]["phones"]
    assert stop_listed.startswith("h:") and stop_listed not in (
        calls[0]["phone"],
        calls[1]["phone"],
    )
    assert calls[0]["cost"] == "1.50" and calls[0]["at"] == "2026-06-17T13:00:00+00:00"

    # Same key, same hashes; another key, others; --include-phones: the numbers themselves.
    _, again, _ = _zvonar(capsys, monkeypatch, nats, "events", "export", "--hash-key", KEY)
    assert again == out
    _, other, _ = _zvonar(capsys, monkeypatch, nats, "events", "export", "--hash-key", "k2")
    other_calls = [x["event"] for x in _lines(other) if x["type"] == "CallCompleted"]
    assert other_calls[0]["phone"] != calls[0]["phone"]
    _, plain, _ = _zvonar(capsys, monkeypatch, nats, "events", "export", "--include-phones")
    plain_calls = [x["event"] for x in _lines(plain) if x["type"] == "CallCompleted"]
    assert plain_calls[0]["phone"] == PHONES[0]
    assert plain_calls[0]["call_id"] == call_id_of(101, 0, PHONES[0], 1)
    assert SECRET not in plain and "ref-1" not in plain


def test_filters_select_by_campaign_account_type_time_and_sequence(
    nats: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    asyncio.run(_publish(nats, _story()))

    def export(*args: str) -> list[tuple[str, int]]:
        code, out, err = _zvonar(
            capsys, monkeypatch, nats, "events", "export", "--include-phones", *args
        )
        assert code == 0, err
        return [(x["type"], x["event"].get("campaign_id", 0)) for x in _lines(out)]

    assert export("--campaign", "101") == [
        ("CampaignCreated", 101),
        ("CampaignFinished", 101),
        ("CallCompleted", 101),
        ("CallCompleted", 101),
        ("InboundCallAnswered", 101),
    ]
    assert export("--account", B) == [("CampaignCreated", 202), ("CallCompleted", 202)]
    assert export("--account", A, "--type", "StopListPhonesAdded") == [("StopListPhonesAdded", 0)]
    assert export("--account", B, "--type", "StopListPhonesAdded") == []
    assert export("--type", "CallCompleted", "--campaign", "202", "--campaign", "101") == [
        ("CallCompleted", 101),
        ("CallCompleted", 101),
        ("CallCompleted", 202),
    ]
    # at 13:00 .. before 15:00 UTC; a time with an offset means the same moment.
    assert export("--since", "2026-06-17T13:00", "--until", "2026-06-17T17:00+02:00") == [
        ("CallCompleted", 101),
        ("CallCompleted", 101),
    ]
    assert export("--from-seq", "campaign=2", "--to-seq", "campaign=3", "--to-seq", "call=1") == [
        ("CampaignCreated", 202),
        ("StopListPhonesAdded", 0),
        ("CallCompleted", 101),
    ]


def test_a_resume_file_continues_where_the_last_export_ended(
    nats: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    story = _story()
    asyncio.run(_publish(nats, story[:5]))  # 3 campaign events, 2 calls
    resume = tmp_path / "position.json"
    out1, out2 = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    args = ("events", "export", "--hash-key", KEY, "--resume-file", str(resume), "--batch", "2")
    code, _, err = _zvonar(capsys, monkeypatch, nats, *args, "--out", str(out1))
    assert code == 0, err
    assert json.loads(resume.read_text())["streams"] == {"CAMPAIGN_EVENTS": 3, "CALL_EVENTS": 2}
    asyncio.run(_publish(nats, story[5:]))
    code, _, err = _zvonar(capsys, monkeypatch, nats, *args, "--out", str(out2))
    assert code == 0, err
    first, second = _lines(out1.read_text()), _lines(out2.read_text())
    assert [(x["stream"], x["seq"]) for x in first] == [
        ("CAMPAIGN_EVENTS", 1),
        ("CAMPAIGN_EVENTS", 2),
        ("CAMPAIGN_EVENTS", 3),
        ("CALL_EVENTS", 1),
        ("CALL_EVENTS", 2),
    ]
    assert [(x["stream"], x["seq"]) for x in second] == [
        ("CAMPAIGN_EVENTS", 4),
        ("CALL_EVENTS", 3),
        ("CALL_EVENTS", 4),
    ]
    assert json.loads(resume.read_text())["streams"] == {"CAMPAIGN_EVENTS": 4, "CALL_EVENTS": 4}
    # Nothing new: nothing written, the positions stay.
    code, out, err = _zvonar(capsys, monkeypatch, nats, *args)
    assert code == 0 and out == "", err
    assert json.loads(resume.read_text())["streams"] == {"CAMPAIGN_EVENTS": 4, "CALL_EVENTS": 4}


def test_parquet_has_typed_columns_per_event_type(
    nats: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asyncio.run(_publish(nats, _story()))
    out = tmp_path / "export"
    code, _, err = _zvonar(
        capsys,
        monkeypatch,
        nats,
        "events",
        "export",
        "--format",
        "parquet",
        "--out",
        str(out),
        "--hash-key",
        KEY,
        "--batch",
        "3",
    )
    assert code == 0, err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == sorted(
        [
            f"{t}"
            for t in (
                "CallCompleted",
                "CampaignCreated",
                "CampaignFinished",
                "InboundCallAnswered",
                "StopListPhonesAdded",
            )
        ]
        + [
            f"{t}/part-000000000001-000000000001.parquet"
            for t in (
                "CallCompleted",
                "CampaignCreated",
                "CampaignFinished",
                "InboundCallAnswered",
                "StopListPhonesAdded",
            )
        ]
    )
    calls = pq.read_table(out / "CallCompleted")
    schema = calls.schema
    assert schema.field("seq").type == pa.int64()
    assert schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("started_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("cost").type == pa.decimal128(20, 6)
    assert schema.field("billed_s").type == pa.int64()
    assert schema.field("duration_s").type == pa.float64()
    assert schema.field("lead").type == pa.bool_()
    assert schema.field("outcome").type == pa.string()
    rows = calls.to_pylist()
    assert [r["cost"] for r in rows] == [Decimal("1.5"), Decimal("0.75"), Decimal("2")]
    assert rows[0]["at"] == T0 + dt.timedelta(hours=3)
    assert rows[0]["phone"].startswith("h:") and rows[0]["phone"] == rows[2]["phone"]

    created = pq.read_table(out / "CampaignCreated")
    options = created.schema.field("options").type
    assert pa.types.is_struct(options)
    integration = options.field("integration").type
    assert [f.name for f in integration] == ["webhook_url"]  # no secret, no secret_ref
    audio = options.field("audio").type  # a tagged union: the tag and every member's fields
    assert {f.name for f in audio} == {"kind", "text", "file_id", "name"}
    assert created.schema.field("phones").type.field("count").type == pa.int64()
    first = created.to_pylist()[0]
    assert first["options"]["audio"] == {
        "kind": "tts",
        "text": "Здравствуйте",
        "file_id": None,
        "name": None,
    }
    assert first["options"]["routing"]["number"].startswith("h:")
    text = b"".join(p.read_bytes() for p in out.rglob("*.parquet"))
    assert SECRET.encode() not in text and PHONES[0].encode() not in text
    stop = pq.read_table(out / "StopListPhonesAdded")
    assert stop.schema.field("phones").type == pa.list_(pa.string())


def test_a_stream_lost_mid_export_leaves_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """NATS stops while the export reads: exit 3, one line, no half-written output."""
    server = NatsServer(tmp_path / "nats")
    server.start()
    try:
        events = [
            (
                campaign_event_subject(300 + n, "CampaignFinished"),
                ev.CampaignFinished(campaign_id=300 + n, account_id=A, at=T0),
            )
            for n in range(200)
        ]
        asyncio.run(_publish(server.url, events))
        out = tmp_path / "lost.jsonl"
        monkeypatch.setenv("ZVONAR_TIMEOUT", "3")
        from zvonar_cli import export as exporting

        reads = 0
        original = exporting.event_of

        def stop_server_after_the_first_batch(*args: Any) -> Any:
            nonlocal reads
            reads += 1
            if reads == 1:
                server.kill()
            return original(*args)

        monkeypatch.setattr(exporting, "event_of", stop_server_after_the_first_batch)
        monkeypatch.setenv("NATS_URL", server.url)
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            main(["events", "export", "--include-phones", "--batch", "50", "--out", str(out)])
        _, err = capsys.readouterr()
        assert exited.value.code == 3, err
        assert err.strip().startswith("zvonar: NATS stopped answering")
        assert len(err.strip().splitlines()) == 1
        assert not out.exists() and not list(tmp_path.glob(".lost.jsonl*"))
    finally:
        server.stop()
