"""The file routes on a real nats-server (object store included) with a small stand-in for
the stats service, inside a Litestar app that wires the gateway's seam as the real app does.

The server is this package's own, so that a real stats service started by other tests of the
session never answers these queries.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import wave
import zipfile
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from openpyxl import load_workbook

from tests.gateway_fakes import FakeAccounts, FakeHealth
from tests.report_rows import rows_reply
from zvonar_audio import pcm_to_wav
from zvonar_contracts.codec import decode_query, encode
from zvonar_contracts.options import CampaignOptions, Size, Status, Tag, TtsAudio
from zvonar_contracts.queries import (
    CallRow,
    CampaignDetail,
    CampaignPage,
    CampaignView,
    Comment,
    GetCampaign,
    GetReport,
    GetReportRows,
    ListCampaigns,
    QueryError,
    ReportPage,
    Start,
)
from zvonar_contracts.subjects import (
    AUDIO_BUCKET,
    RECORDINGS_BUCKET,
    STATS_QUERY_PREFIX,
    message_object,
    recording_object,
    uploaded_audio_object,
)
from zvonar_devtools.natsserver import NatsServer
from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.bootstrap import bootstrap
from zvonar_gateway.domain.account import Account
from zvonar_gateway.files.audio import MAX_AUDIO_BYTES
from zvonar_gateway.files.exports import MEDIA_TYPES
from zvonar_gateway.files.reports import REPORT_CHUNK_ROWS
from zvonar_gateway.settings import GatewaySettings
from zvonar_runtime.jetstream import connect, ensure_jetstream

pytestmark = pytest.mark.integration

ALICE = Account(id="acc_alice", name="Alice", timezone="Europe/Moscow")
BOB = Account(id="acc_bob", name="Bob", timezone="Asia/Yekaterinburg")
TOKENS = {"alice-key": ALICE, "bob-key": BOB}


def a_campaign(campaign_id: int, account: Account, **changes: Any) -> CampaignView:
    fields: dict[str, Any] = {
        "id": campaign_id,
        "account_id": account.id,
        "created_at": dt.datetime(2026, 6, 17, 13, 12, 36, tzinfo=dt.UTC),
        "name": f"Кампания {campaign_id}",
        "tags": [Tag.NO_CALLER_ID, Tag.TTS, Tag.RECORDING],
        "smart_part": None,
        "parent_id": None,
        "status": Status.IN_PROGRESS,
        "start": Start(kind="started", at=dt.datetime(2026, 6, 18, 7, 0, tzinfo=dt.UTC)),
        "size": Size(total=3, answered=1, not_answered=1, in_progress=1),
        "smart_size": None,
        "speed": 800,
        "cost": Decimal("1.20"),
        "comment": Comment(),
        "caller_number": None,
    }
    fields.update(changes)
    return CampaignView(**fields)


def a_call(
    campaign_id: int,
    n: int,
    *,
    recording: bool = False,
    part: int = 0,
    account: Account = ALICE,
) -> CallRow:
    phone = f"+7916{n:07d}"
    call_id = f"{campaign_id}-{part}-{phone.lstrip('+')}-1"
    return CallRow(
        phone=phone,
        part=part,
        attempt=1,
        started_at=dt.datetime(2026, 6, 18, 7, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=n),
        outcome="answered" if n % 2 else "no_answer",
        duration_s=12.5 if n % 2 else 0.0,
        cost=Decimal("0.35") if n % 2 else Decimal("0.00"),
        answer_text="да" if n % 2 else "",
        lead=bool(n % 2),
        recording=recording_object(account.id, campaign_id, call_id) if recording else None,
    )


class FakeStats:
    """Answers stats queries from in-memory rows, scoped by account like the real one."""

    def __init__(self) -> None:
        self.campaigns: dict[int, CampaignView] = {}
        self.calls: dict[int, list[CallRow]] = {}
        self.queries: list[Any] = []

    def add(self, view: CampaignView, calls: list[CallRow] | None = None) -> CampaignView:
        self.campaigns[view.id] = view
        self.calls[view.id] = calls or []
        return view

    def _owned(self, campaign_id: int, account_id: str | None) -> CampaignView | None:
        view = self.campaigns.get(campaign_id)
        if view is None or (account_id is not None and view.account_id != account_id):
            return None
        return view

    def answer(self, query: Any) -> Any:
        self.queries.append(query)
        not_found = QueryError(code="not_found", message="no such campaign")
        if isinstance(query, GetCampaign):
            view = self._owned(query.campaign_id, query.account_id)
            if view is None:
                return not_found
            return CampaignDetail(
                campaign=view,
                options=CampaignOptions(name=view.name, audio=TtsAudio(text="Здравствуйте")),
                history=[],
            )
        if isinstance(query, GetReport):
            view = self._owned(query.campaign_id, query.account_id)
            if view is None:
                return not_found
            calls = self.calls[view.id]
            start = (query.page - 1) * query.per_page
            chosen = calls[start : start + query.per_page]
            return ReportPage(
                campaign=view,
                calls=chosen,
                total=len(calls),
                page=query.page,
                per_page=query.per_page,
            )
        if isinstance(query, GetReportRows):
            view = self._owned(query.campaign_id, query.account_id)
            if view is None:
                return not_found
            return rows_reply(view, self.calls[view.id], query)
        if isinstance(query, ListCampaigns):
            rows = [
                view
                for view in self.campaigns.values()
                if view.account_id == query.account_id
                and (query.ids is None or view.id in query.ids)
            ]
            rows.sort(key=lambda view: view.id, reverse=True)
            start = (query.page - 1) * query.per_page
            return CampaignPage(
                items=rows[start : start + query.per_page],
                total=len(rows),
                page=query.page,
                per_page=query.per_page,
            )
        return QueryError(code="validation", message="not played by this stand-in")


@pytest.fixture(scope="module")
def files_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    store = tmp_path_factory.mktemp("files-nats")
    with NatsServer(store, log_file=store / "nats.log") as server:
        yield server


@pytest.fixture
async def files_nc(files_nats: NatsServer) -> AsyncIterator[Client]:
    client = await connect(files_nats.url, "gateway-files-test")
    await ensure_jetstream(client.jetstream())
    yield client
    await client.close()


@pytest.fixture
async def stats(files_nc: Client) -> AsyncIterator[FakeStats]:
    fake = FakeStats()

    async def respond(msg: Msg) -> None:
        await msg.respond(encode(fake.answer(decode_query(msg.data))))

    subscription = await files_nc.subscribe(f"{STATS_QUERY_PREFIX}.*", cb=respond)
    yield fake
    await subscription.unsubscribe()


@pytest.fixture
async def backend(files_nc: Client) -> NatsBackend:
    return NatsBackend(files_nc)


@pytest.fixture
async def client(
    backend: NatsBackend, stats: FakeStats, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    app = bootstrap(
        GatewaySettings(data_dir=tmp_path),
        backend=backend,
        accounts=FakeAccounts(TOKENS),
        health=FakeHealth(),
        web=False,
    )
    # In the test's own event loop (Litestar's test client runs the app in another thread,
    # away from the NATS connection).
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http


def auth(account: Account = ALICE) -> dict[str, str]:
    token = next(key for key, value in TOKENS.items() if value == account)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def wav_file(tmp_path: Path) -> Path:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(bytes(16000 * 2))
    path = tmp_path / "message.wav"
    path.write_bytes(buffer.getvalue())
    return path


# --- audio upload --------------------------------------------------------------------------


async def test_uploaded_wav_is_stored_under_its_file_id(
    client: httpx.AsyncClient, backend: NatsBackend, wav_file: Path
) -> None:
    content = wav_file.read_bytes()
    answer = await client.post(
        "/api/v1/audio", files={"file": ("hello.wav", content, "audio/wav")}, headers=auth()
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["file_id"].startswith("upload/")
    assert body["duration_s"] == 2.0
    # Kept in the uploading account's folder.
    name = uploaded_audio_object(ALICE.id, body["file_id"])
    assert name.startswith(f"{ALICE.id}/")
    assert await backend.get_object(AUDIO_BUCKET, name) == content


async def test_uploaded_mp3_is_accepted(client: httpx.AsyncClient) -> None:
    mp3 = (b"\xff\xfb\x90\x00" + bytes(413)) * 50
    answer = await client.post(
        "/api/v1/audio", files={"file": ("a.mp3", mp3, "audio/mpeg")}, headers=auth()
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["duration_s"] > 1.0


async def test_not_audio_is_422_and_stores_nothing(
    client: httpx.AsyncClient, backend: NatsBackend
) -> None:
    before = await backend.list_objects(AUDIO_BUCKET, "")
    answer = await client.post(
        "/api/v1/audio",
        files={"file": ("fake.wav", bytes(range(256)) * 40, "audio/wav")},
        headers=auth(),
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["field"] == "file"
    assert await backend.list_objects(AUDIO_BUCKET, "") == before


def lying_wav(wav: bytes) -> bytes:
    """The WAV with its data chunk claiming 0xFFFFFF00 bytes (about 74 hours at 8 kHz)."""
    data = bytearray(wav)
    at = data.index(b"data")
    data[at + 4 : at + 8] = (0xFFFFFF00).to_bytes(4, "little")
    return bytes(data)


def long_mp3(seconds: float) -> bytes:
    """Silent MPEG-2.5 Layer III frames, 8 kbit/s, 8 kHz mono: 72 bytes play 72 ms, so ten
    minutes fit in 600 KB. Built by hand: no MP3 encoder is installed."""
    frame = bytes([0xFF, 0xE3, 0x18, 0xC0]) + bytes(68)
    return frame * round(seconds / 0.072)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        # A 16 KB WAV whose data chunk claims 0xFFFFFF00 bytes: was 201 with duration 1.0,
        # and the dialer billed its header's 268,436 s.
        ("lying.wav", lying_wav(pcm_to_wav(bytes(16000), 8000))),
        # 11 minutes in 660 KB: over the 10-minute cap.
        ("long.mp3", long_mp3(11 * 60)),
    ],
)
async def test_audio_that_lies_or_is_over_the_caps_is_422_and_stores_nothing(
    client: httpx.AsyncClient, backend: NatsBackend, name: str, content: bytes
) -> None:
    assert len(content) < 1024 * 1024
    before = await backend.list_objects(AUDIO_BUCKET, "")
    answer = await client.post(
        "/api/v1/audio", files={"file": (name, content, "audio/wav")}, headers=auth()
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "validation"
    assert error["details"][0]["field"] == "file"
    assert await backend.list_objects(AUDIO_BUCKET, "") == before


async def test_an_mp3_just_under_the_caps_is_accepted_with_its_decoded_length(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.post(
        "/api/v1/audio",
        files={"file": ("long.mp3", long_mp3(9 * 60), "audio/mpeg")},
        headers=auth(),
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["duration_s"] == pytest.approx(9 * 60, abs=0.1)


async def test_audio_over_20_mb_is_413(client: httpx.AsyncClient, wav_file: Path) -> None:
    big = wav_file.read_bytes() + bytes(MAX_AUDIO_BYTES)
    answer = await client.post(
        "/api/v1/audio", files={"file": ("big.wav", big, "audio/wav")}, headers=auth()
    )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"
    # Far over: the framework refuses the body before it is read in full.
    huge = big + bytes(10 * 1024 * 1024)
    answer = await client.post(
        "/api/v1/audio", files={"file": ("huge.wav", huge, "audio/wav")}, headers=auth()
    )
    assert answer.status_code == 413


async def test_audio_upload_needs_the_file_field_and_a_key(
    client: httpx.AsyncClient,
) -> None:
    missing = await client.post(
        "/api/v1/audio", files={"other": ("a.wav", b"RIFF", "audio/wav")}, headers=auth()
    )
    assert missing.status_code == 422, missing.text
    anonymous = await client.post("/api/v1/audio", files={"file": ("a.wav", b"x", "audio/wav")})
    assert anonymous.status_code == 401


# --- report --------------------------------------------------------------------------------


async def test_report_json_is_paged_and_rendered_in_the_account_zone(
    client: httpx.AsyncClient, stats: FakeStats
) -> None:
    calls = [a_call(1000001, n, recording=n == 1) for n in range(1, 6)]
    stats.add(a_campaign(1000001, ALICE), calls)
    answer = await client.get(
        "/api/v1/campaigns/1000001/report", params={"page": 1, "per_page": 2}, headers=auth()
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["total"] == 5
    assert body["campaign"]["id"] == 1000001
    assert body["campaign"]["cost"] == "1.20"
    first = body["calls"][0]
    assert first == {
        "phone": "+79160000001",
        "part": 0,
        "attempt": 1,
        "started_at": "2026-06-18T10:00:01+03:00",
        "outcome": "answered",
        "duration_s": 12.5,
        "cost": "0.35",
        "answer_text": "да",
        "lead": True,
        "recording_url": (
            "http://gateway.test/api/v1/campaigns/1000001/recordings/1000001-0-79160000001-1.wav"
        ),
    }
    assert body["calls"][1]["recording_url"] is None
    second = await client.get(
        "/api/v1/campaigns/1000001/report", params={"page": 3, "per_page": 2}, headers=auth()
    )
    assert [call["phone"] for call in second.json()["calls"]] == ["+79160000005"]


async def test_report_of_another_account_is_404(
    client: httpx.AsyncClient, stats: FakeStats
) -> None:
    stats.add(a_campaign(1000002, BOB), [a_call(1000002, 1)])
    for path in (
        "/api/v1/campaigns/1000002/report",
        "/api/v1/campaigns/1000002/report?format=csv",
        "/api/v1/campaigns/1000002/audio",
        "/api/v1/campaigns/1000002/recordings.zip",
        "/api/v1/campaigns/1000002/recordings/1000002-0-79160000001-1.wav",
    ):
        answer = await client.get(path, headers=auth(ALICE))
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "not_found"


async def test_report_per_page_out_of_range_is_422(
    client: httpx.AsyncClient, stats: FakeStats
) -> None:
    stats.add(a_campaign(1000003, ALICE))
    answer = await client.get(
        "/api/v1/campaigns/1000003/report", params={"per_page": 500}, headers=auth()
    )
    assert answer.status_code == 422


async def test_report_csv_holds_every_row_across_pages(
    client: httpx.AsyncClient, stats: FakeStats
) -> None:
    rows = REPORT_CHUNK_ROWS * 2 + 345
    stats.add(a_campaign(1000004, ALICE), [a_call(1000004, n) for n in range(rows)])
    answer = await client.get(
        "/api/v1/campaigns/1000004/report", params={"format": "csv"}, headers=auth()
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv"), answer.text[:500]
    parsed = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert len(parsed) == rows
    assert parsed[1]["phone"] == "+79160000001"
    assert parsed[1]["started_at"] == "2026-06-18T10:00:01+03:00"
    assert parsed[1]["cost"] == "0.35"
    report_queries = [q for q in stats.queries if isinstance(q, GetReportRows)]
    assert [q.after.seq if q.after else None for q in report_queries] == [
        None,
        REPORT_CHUNK_ROWS - 1,
        2 * REPORT_CHUNK_ROWS - 1,
    ]


async def test_report_xlsx_opens_with_openpyxl(client: httpx.AsyncClient, stats: FakeStats) -> None:
    stats.add(a_campaign(1000005, BOB), [a_call(1000005, n) for n in range(1, 4)])
    answer = await client.get(
        "/api/v1/campaigns/1000005/report", params={"format": "xlsx"}, headers=auth(BOB)
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"] == MEDIA_TYPES["xlsx"]
    sheet = load_workbook(io.BytesIO(answer.content), read_only=True).worksheets[0]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][:3] == ["phone", "part", "attempt"]
    assert [row[0] for row in values[1:]] == ["+79160000001", "+79160000002", "+79160000003"]
    assert values[1][3] == "2026-06-18T12:00:01+05:00"  # Bob's timezone


# --- recordings and clips -----------------------------------------------------------------


async def test_recording_is_served_as_wav_and_scoped_to_the_campaign(
    client: httpx.AsyncClient, stats: FakeStats, backend: NatsBackend, wav_file: Path
) -> None:
    main = stats.add(a_campaign(1000010, ALICE), [a_call(1000010, 1, recording=True)])
    part = stats.add(a_campaign(1000011, ALICE, smart_part=1, parent_id=main.id))
    stats.add(a_campaign(1000012, ALICE))
    await backend.put_object(
        RECORDINGS_BUCKET,
        recording_object(ALICE.id, 1000010, "1000010-1-79160000001-1"),
        wav_file.read_bytes(),
    )
    for campaign_id in (main.id, part.id):
        answer = await client.get(
            f"/api/v1/campaigns/{campaign_id}/recordings/1000010-1-79160000001-1.wav",
            headers=auth(),
        )
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("audio/wav")
        assert answer.content[:4] == b"RIFF"
    # The same account, but the call belongs to another campaign.
    elsewhere = await client.get(
        "/api/v1/campaigns/1000012/recordings/1000010-1-79160000001-1.wav", headers=auth()
    )
    assert elsewhere.status_code == 404
    traversal = await client.get(
        "/api/v1/campaigns/1000010/recordings/..%2F1000012%2Fx.wav", headers=auth()
    )
    assert traversal.status_code == 404


async def test_recordings_zip_streams_every_recording(
    client: httpx.AsyncClient, stats: FakeStats, backend: NatsBackend, wav_file: Path
) -> None:
    calls = [a_call(1000020, n, recording=n != 4) for n in range(1, 6)]
    stats.add(a_campaign(1000020, ALICE), calls)
    for call in calls[:3]:  # the fifth recording is missing from the store
        assert call.recording is not None
        await backend.put_object(RECORDINGS_BUCKET, call.recording, wav_file.read_bytes())
    answer = await client.get("/api/v1/campaigns/1000020/recordings.zip", headers=auth())
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/zip")
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == [
        "1000020-0-79160000001-1.wav",
        "1000020-0-79160000002-1.wav",
        "1000020-0-79160000003-1.wav",
    ]
    assert archive.read("1000020-0-79160000002-1.wav") == wav_file.read_bytes()


async def test_audio_clips_list_the_campaign_objects_with_playable_urls(
    client: httpx.AsyncClient, stats: FakeStats, backend: NatsBackend, wav_file: Path
) -> None:
    stats.add(a_campaign(1000030, ALICE))
    await backend.put_object(AUDIO_BUCKET, message_object(ALICE.id, 1000030), wav_file.read_bytes())
    await backend.put_object(AUDIO_BUCKET, message_object(ALICE.id, 10000301), b"other campaign")
    # Another account's folder is never listed, even under the same campaign number.
    await backend.put_object(AUDIO_BUCKET, message_object(BOB.id, 1000030), b"bob's")
    answer = await client.get("/api/v1/campaigns/1000030/audio", headers=auth())
    assert answer.status_code == 200
    clips = answer.json()
    assert clips == [
        {
            "name": "message.wav",
            "url": "http://gateway.test/api/v1/campaigns/1000030/audio/message.wav",
            "duration_s": 2.0,
        }
    ]
    played = await client.get(clips[0]["url"], headers=auth())
    assert played.status_code == 200
    assert played.headers["content-type"].startswith("audio/wav")
    with wave.open(io.BytesIO(played.content)) as wav:
        assert (wav.getframerate(), wav.getnframes()) == (8000, 16000)


# --- export of list rows -------------------------------------------------------------------


async def test_export_gives_only_the_accounts_rows_as_csv_and_xlsx(
    client: httpx.AsyncClient, stats: FakeStats
) -> None:
    stats.add(a_campaign(1000040, ALICE, name="Акция июнь"))
    stats.add(a_campaign(1000041, ALICE))
    stats.add(a_campaign(1000042, BOB))
    body = {"ids": [1000040, 1000041, 1000042, 999], "format": "csv"}
    answer = await client.post("/api/v1/campaigns/export", json=body, headers=auth())
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "campaigns.csv" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Номер", "Дата создания", "Название"]
    assert [row[0] for row in rows[1:]] == ["1000041", "1000040"]
    assert rows[2][1] == "17.06.2026 (16:12:36)"
    assert rows[2][2] == "Акция июнь"
    assert rows[2][4] == "В процессе"

    body["format"] = "xlsx"
    answer = await client.post("/api/v1/campaigns/export", json=body, headers=auth())
    assert answer.status_code == 200
    assert answer.headers["content-type"] == MEDIA_TYPES["xlsx"]
    sheet = load_workbook(io.BytesIO(answer.content), read_only=True).worksheets[0]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert [row[0] for row in values[1:]] == [1000041, 1000040]
    assert values[2][6] == "3 / 0 / 1 / 0 / 1 / 1"


async def test_export_refuses_bad_bodies(client: httpx.AsyncClient) -> None:
    bodies: list[dict[str, Any]] = [{"ids": []}, {"ids": [1], "format": "pdf"}, {"format": "csv"}]
    for body in bodies:
        answer = await client.post("/api/v1/campaigns/export", json=body, headers=auth())
        assert answer.status_code == 422, body
