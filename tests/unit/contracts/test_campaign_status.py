"""`status` on the lifecycle events: the campaign's status after the event, filled by the
campaign service; a message published before the field existed still decodes (None)."""

from __future__ import annotations

import pytest

from zvonar_contracts.campaign_events import CampaignFinished, CampaignPaused
from zvonar_contracts.codec import decode_campaign_stream_event, encode
from zvonar_contracts.options import Status

BEFORE = [
    b'{"type":"CampaignPaused","paused_by":"customer","reason":"","campaign_id":2202344,'
    b'"account_id":"acc_5f2c","at":"2026-06-17T13:12:36Z","schema_version":1}',
    b'{"type":"CampaignFinished","campaign_id":2202344,"account_id":"acc_5f2c",'
    b'"at":"2026-06-17T13:12:36Z","schema_version":1}',
]


@pytest.mark.parametrize("raw", BEFORE)
def test_a_lifecycle_event_from_before_the_status_decodes_with_none(raw: bytes) -> None:
    event = decode_campaign_stream_event(raw)
    assert isinstance(event, CampaignPaused | CampaignFinished)
    assert event.status is None


def test_the_status_travels_as_its_value() -> None:
    raw = BEFORE[1].replace(b'"campaign_id"', b'"status":"finished","campaign_id"')
    event = decode_campaign_stream_event(raw)
    assert isinstance(event, CampaignFinished) and event.status is Status.FINISHED
    assert encode(event) == raw
