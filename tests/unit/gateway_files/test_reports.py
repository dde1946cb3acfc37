"""Reading reports and recordings in pieces: which recording a campaign may serve, and a zip
that is produced one recording at a time."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from typing import Any, cast

import msgspec

from tests.report_rows import rows_reply
from zvonar_contracts.options import Size, Status, Tag
from zvonar_contracts.queries import (
    CallRow,
    CampaignView,
    Comment,
    GetReportRows,
    ReportRows,
    Start,
)
from zvonar_gateway.files.reports import recording_object, recordings_zip, report_rows
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.ports import Backend


def a_campaign(campaign_id: int, parent_id: int | None = None) -> CampaignView:
    return CampaignView(
        id=campaign_id,
        account_id="acc_1",
        created_at=dt.datetime(2026, 6, 17, tzinfo=dt.UTC),
        name="x",
        tags=[Tag.TTS],
        smart_part=1 if parent_id else None,
        parent_id=parent_id,
        status=Status.FINISHED,
        start=Start(kind="not_started"),
        size=Size(),
        smart_size=None,
        speed=800,
        cost=Decimal("0.00"),
        comment=Comment(),
        caller_number=None,
    )


def a_call(n: int) -> CallRow:
    return CallRow(
        phone=f"+7916000000{n}",
        part=0,
        attempt=1,
        started_at=None,
        outcome="answered",
        duration_s=1.0,
        cost=Decimal("0.10"),
        answer_text="",
        lead=False,
        recording=f"acc_1/1000001/1000001-0-7916000000{n}-1.wav",
    )


def test_a_recording_is_served_only_by_its_campaign_or_its_smart_parts() -> None:
    call_id = "1000001-1-79160000001-1"
    # In the campaign's account's folder: another account's recordings cannot be named.
    assert recording_object(a_campaign(1000001), call_id) == f"acc_1/1000001/{call_id}.wav"
    assert recording_object(a_campaign(1000002, parent_id=1000001), call_id) is not None
    assert recording_object(a_campaign(1000003), call_id) is None
    assert recording_object(a_campaign(1000001), "../1000003/x") is None
    assert recording_object(a_campaign(1000001), "1000001-0-7916") is None


class FakeBackend:
    """Reports two rows a chunk and keeps recordings in a dict."""

    def __init__(self, calls: list[CallRow], recordings: dict[str, bytes]) -> None:
        self.calls = calls
        self.recordings = recordings
        self.chunks_read: list[int | None] = []

    async def query(self, query: Any, *, timeout: float = 10.0) -> ReportRows:
        assert isinstance(query, GetReportRows)
        self.chunks_read.append(None if query.after is None else query.after.seq)
        query = msgspec.structs.replace(query, limit=2)
        return rows_reply(a_campaign(query.campaign_id), self.calls, query)

    async def get_object(self, bucket: str, name: str) -> bytes:
        if name not in self.recordings:
            raise ApiError(404, "not_found", name)
        return self.recordings[name]


async def test_the_zip_is_written_one_recording_at_a_time() -> None:
    calls = [a_call(n) for n in range(5)]
    recordings = {
        call.recording: bytes([n]) * 50_000 for n, call in enumerate(calls) if call.recording
    }
    del recordings[calls[2].recording or ""]  # lost from the store: skipped, not fatal
    fake = FakeBackend(calls, recordings)
    backend = cast(Backend, fake)
    first = await report_rows(backend, "acc_1", 1000001)
    chunks = [chunk async for chunk in recordings_zip(backend, "acc_1", first)]

    assert fake.chunks_read == [None, 1, 3]
    assert max(len(chunk) for chunk in chunks) < 2 * 50_000  # never the whole archive at once
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as archive:
        assert archive.testzip() is None
        assert len(archive.namelist()) == 4
        assert archive.read("1000001-0-79160000003-1.wav") == bytes([3]) * 50_000
