"""Answers to `dialer.req.*`: the dialer's clock, where a paused campaign belongs, TTS
previews, the simulated carrier's inbound line, and a campaign's webhook deliveries."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid

from zvonar_contracts.call_events import InboundCallAnswered
from zvonar_contracts.codec import encode
from zvonar_contracts.dialer import (
    ClockReply,
    GetPlacement,
    InboundCall,
    InboundCallReply,
    ListWebhookDeliveries,
    PlacementReply,
    SynthesizePreview,
    SynthesizeReply,
    WebhookDelivery,
    WebhookDeliveryPage,
)
from zvonar_contracts.options import Status
from zvonar_contracts.subjects import AUDIO_BUCKET, call_event_subject, preview_object
from zvonar_dialer.adapters import store
from zvonar_dialer.adapters.tts import SynthesisError, wav_duration
from zvonar_dialer.domain.windows import is_open
from zvonar_dialer.service_layer.deps import Deps
from zvonar_runtime.db import Cursor


def clock(deps: Deps) -> ClockReply:
    return ClockReply(now=deps.clock.now(), scale=deps.clock.scale)


def placement_of(cur: Cursor, campaign_id: int, now: dt.datetime) -> Status:
    """Where a paused campaign belongs now: scheduled while its start time is ahead,
    paused_window while every zone it still has numbers in is outside its window."""
    campaign = store.load_campaign(cur, campaign_id)
    if campaign is None:
        return Status.IN_PROGRESS
    if campaign.start_at is not None and now < campaign.start_at:
        return Status.SCHEDULED
    window = campaign.options.window
    if window is None or campaign.part_state != "dialling":
        return Status.IN_PROGRESS
    zones = store.queued_timezones(cur, campaign.campaign_id, campaign.current_part)
    if zones and not any(is_open(window, tz, now) for tz in zones):
        return Status.PAUSED_WINDOW
    return Status.IN_PROGRESS


async def placement(deps: Deps, request: GetPlacement) -> PlacementReply:
    now = deps.clock.now()
    return PlacementReply(
        status=await deps.db.run(lambda cur: placement_of(cur, request.campaign_id, now))
    )


async def synthesize_preview(deps: Deps, request: SynthesizePreview) -> SynthesizeReply:
    loop = asyncio.get_running_loop()
    try:
        wav = await loop.run_in_executor(None, deps.synthesizer.synthesize, request.text)
    except SynthesisError as exc:
        return SynthesizeReply(error=str(exc))
    name = preview_object(request.account_id, hashlib.sha256(request.text.encode()).hexdigest())
    await deps.blobs.put(AUDIO_BUCKET, name, wav)
    return SynthesizeReply(audio_object=name, duration_s=wav_duration(wav))


async def inbound_call(deps: Deps, request: InboundCall) -> InboundCallReply:
    """A call back to a caller number plays the campaign that number belongs to, if any."""
    now = deps.clock.now()

    def answer(cur: Cursor) -> int | None:
        campaign_id = store.route_of(cur, request.number)
        campaign = None if campaign_id is None else store.load_campaign(cur, campaign_id)
        if campaign is None:
            return None
        event = InboundCallAnswered(
            campaign_id=campaign.campaign_id,
            account_id=campaign.account_id,
            at=now,
            caller=request.caller,
            number=request.number,
            played=True,
        )
        subject = call_event_subject(campaign.campaign_id, "InboundCallAnswered")
        store.outbox_add(cur, f"inbound-{uuid.uuid4().hex}", subject, encode(event))
        return campaign.campaign_id

    campaign_id = await deps.db.run(answer)
    if campaign_id is not None:
        deps.outbox_wakeup.set()
    return InboundCallReply(campaign_id=campaign_id, played=campaign_id is not None)


async def inbound_to_any(deps: Deps, numbers: set[str], caller: str) -> int | None:
    """A call arriving over SIP for `numbers` (one dialled number in each format it may
    stand for): the campaign holding one of them, its InboundCallAnswered recorded."""
    for number in sorted(numbers):
        reply = await inbound_call(deps, InboundCall(caller=caller, number=number))
        if reply.campaign_id is not None:
            return reply.campaign_id
    return None


def _at(epoch: float | None) -> dt.datetime | None:
    return None if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC)


async def webhook_deliveries(deps: Deps, request: ListWebhookDeliveries) -> WebhookDeliveryPage:
    """A page of the campaign's webhook deliveries (the account's own campaign only)."""
    rows, total = await deps.db.run(lambda cur: store.webhook_page(
        cur, request.campaign_id, request.account_id, request.state,
        request.page, request.per_page,
    ))  # fmt: skip
    items = [
        WebhookDelivery(
            id=r.webhook_id, event=r.event, call_id=r.call_id, state=r.state,  # type: ignore[arg-type]
            attempts=r.attempts, last_status=r.last_status, last_error=r.last_error,
            created_at=dt.datetime.fromtimestamp(r.created_at, dt.UTC),
            next_attempt_at=_at(r.next_attempt_at) if r.state == "pending" else None,
            delivered_at=_at(r.delivered_at),
        )
        for r in rows
    ]  # fmt: skip
    return WebhookDeliveryPage(
        items=items, total=total, page=request.page, per_page=request.per_page
    )
