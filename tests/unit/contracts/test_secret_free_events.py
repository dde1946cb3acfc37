"""Webhook secrets stay out of events: `Integration` carries a reference only, and an event
written before (with the secret in it) still decodes, its secret dropped."""

from __future__ import annotations

import msgspec

from zvonar_contracts.campaign_events import CampaignCreated
from zvonar_contracts.codec import decode_campaign_stream_event, encode
from zvonar_contracts.options import Integration

OLD_CREATED = (
    b'{"type":"CampaignCreated","options":{"name":"x","audio":{"kind":"tts","text":"t"},'
    b'"integration":{"webhook_url":"https://crm.example.ru/hook","secret":"s3cr3t"}},'
    b'"phones":{"bucket":"phone-bases","name":"a","count":1,"sha256":"a"},'
    b'"account_tz":"UTC","campaign_id":1,"account_id":"acc_1","at":"2026-06-17T13:12:36Z"}'
)


def test_integration_has_no_place_for_a_secret() -> None:
    assert [f.name for f in msgspec.structs.fields(Integration)] == ["webhook_url", "secret_ref"]


def test_an_old_event_with_a_secret_decodes_without_it() -> None:
    event = decode_campaign_stream_event(OLD_CREATED)
    assert isinstance(event, CampaignCreated)
    assert event.options.integration == Integration(webhook_url="https://crm.example.ru/hook")
    assert b"s3cr3t" not in encode(event)
