"""The wire does not drift: a JSON sample of every event type decodes and re-encodes to the
very same bytes, and every event type in the contracts has a sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from zvonar_contracts.call_events import CALL_EVENT_TYPES
from zvonar_contracts.campaign_events import CAMPAIGN_EVENT_TYPES, STOP_LIST_EVENT_TYPES
from zvonar_contracts.codec import decode_call_event, decode_campaign_stream_event, encode

GOLDEN = Path(__file__).parent / "golden"
CAMPAIGN_STREAM_TYPES = {t.__name__ for t in (*CAMPAIGN_EVENT_TYPES, *STOP_LIST_EVENT_TYPES)}
CALL_STREAM_TYPES = {t.__name__ for t in CALL_EVENT_TYPES}


def test_every_event_type_has_a_golden_sample() -> None:
    samples = {p.stem for p in GOLDEN.glob("*.json")}
    assert samples == CAMPAIGN_STREAM_TYPES | CALL_STREAM_TYPES


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_golden_sample_round_trips_byte_for_byte(path: Path) -> None:
    raw = path.read_bytes().rstrip(b"\n")
    decode = decode_call_event if path.stem in CALL_STREAM_TYPES else decode_campaign_stream_event
    event = decode(raw)
    assert type(event).__name__ == path.stem
    assert encode(event) == raw


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_every_sample_carries_schema_version_and_account(path: Path) -> None:
    raw = path.read_bytes()
    decode = decode_call_event if path.stem in CALL_STREAM_TYPES else decode_campaign_stream_event
    event = decode(raw)
    assert event.schema_version == 1
    assert event.account_id


def test_a_start_and_a_resume_from_before_the_note_decode_with_none() -> None:
    started = (
        b'{"type":"CampaignStarted","started_at":"2026-06-17T13:12:36Z","campaign_id":1,'
        b'"account_id":"acc_5f2c","at":"2026-06-17T13:12:36Z","schema_version":1}'
    )
    resumed = (
        b'{"type":"CampaignResumed","status":"in_progress","campaign_id":1,'
        b'"account_id":"acc_5f2c","at":"2026-06-17T13:12:36Z","schema_version":1}'
    )
    for raw in (started, resumed):
        assert getattr(decode_campaign_stream_event(raw), "note") == ""  # noqa: B009
