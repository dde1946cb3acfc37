"""Answers to `dialer.req.*`: the dialer's clock, TTS previews, the expected cost of a base,
the simulated carrier's inbound line, and a campaign's webhook deliveries."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import math
import uuid

from zvonar_contracts.call_events import InboundCallAnswered
from zvonar_contracts.codec import encode
from zvonar_contracts.dialer import (
    ClockReply,
    CostQuote,
    InboundCall,
    InboundCallReply,
    ListWebhookDeliveries,
    QuoteCost,
    SynthesizePreview,
    SynthesizeReply,
    WebhookDelivery,
    WebhookDeliveryPage,
)
from zvonar_contracts.keys import preview_object
from zvonar_contracts.limits import MAX_TTS_TEXT
from zvonar_contracts.subjects import AUDIO_BUCKET, call_event_subject
from zvonar_dialer.domain.tariff import charge, rate_per_minute
from zvonar_dialer.service_layer.deps import Deps
from zvonar_dialer.service_layer.ports import SynthesisError, Tx


def clock(deps: Deps) -> ClockReply:
    return ClockReply(now=deps.clock.now(), scale=deps.clock.scale)


async def synthesize_preview(deps: Deps, request: SynthesizePreview) -> SynthesizeReply:
    loop = asyncio.get_running_loop()
    try:
        wav = await loop.run_in_executor(None, deps.synthesizer.synthesize, request.text)
    except SynthesisError as exc:
        return SynthesizeReply(error=str(exc))
    name = preview_object(request.account_id, hashlib.sha256(request.text.encode()).hexdigest())
    await deps.blobs.put(AUDIO_BUCKET, name, wav)
    return SynthesizeReply(audio_object=name, duration_s=deps.audio.duration_s(wav))


# A base is at most 1,000,000 numbers (docs/API.md), a message at most 10 minutes.
_MAX_QUOTED_NUMBERS = 1_000_000
_MAX_MESSAGE_S = 600.0


async def quote(deps: Deps, request: QuoteCost) -> CostQuote:
    """The expected cost of a base by the tariff this dialer bills with: every number
    answers and hears the whole message once, each call charged exactly as `completed`
    charges it."""
    if not 0 <= request.numbers <= _MAX_QUOTED_NUMBERS:
        return CostQuote(error=f"numbers must be 0..{_MAX_QUOTED_NUMBERS}")
    duration = request.message_duration_s
    if duration is None:
        text = request.text.strip()
        if not text or len(text) > MAX_TTS_TEXT:
            return CostQuote(error=f"text must be 1..{MAX_TTS_TEXT} characters")
        loop = asyncio.get_running_loop()
        try:
            wav = await loop.run_in_executor(None, deps.synthesizer.synthesize, text)
        except SynthesisError as exc:
            return CostQuote(error=str(exc))
        duration = deps.audio.duration_s(wav)
    if not math.isfinite(duration) or not 0 <= duration <= _MAX_MESSAGE_S:
        return CostQuote(error=f"message_duration_s must be 0..{_MAX_MESSAGE_S:.0f}")
    billed, per_call = charge(
        deps.tariff,
        duration,
        answered=True,
        recognition=request.recognition,
        recording=request.recording,
    )
    rate = rate_per_minute(
        deps.tariff, recognition=request.recognition, recording=request.recording
    )
    return CostQuote(
        numbers=request.numbers,
        message_duration_s=round(duration, 3),
        billed_s=billed,
        price_per_minute=rate,
        per_call=per_call,
        total=per_call * request.numbers,
    )


async def inbound_call(deps: Deps, request: InboundCall) -> InboundCallReply:
    """A call back to a caller number plays the campaign that number belongs to, if any."""
    now = deps.clock.now()

    def answer(tx: Tx) -> int | None:
        campaign_id = tx.route_of(request.caller_number)
        campaign = None if campaign_id is None else tx.load_campaign(campaign_id)
        if campaign is None:
            return None
        event = InboundCallAnswered(
            campaign_id=campaign.campaign_id,
            account_id=campaign.account_id,
            at=now,
            phone=request.phone,
            caller_number=request.caller_number,
            played=True,
        )
        subject = call_event_subject(campaign.campaign_id, "InboundCallAnswered")
        msg_id = f"inbound-{uuid.uuid4().hex}"
        tx.outbox_add(msg_id, subject, encode(event), campaign.campaign_id)
        return campaign.campaign_id

    campaign_id = await deps.db.run(answer)
    if campaign_id is not None:
        deps.outbox_wakeup.set()
    return InboundCallReply(campaign_id=campaign_id, played=campaign_id is not None)


async def inbound_to_any(deps: Deps, caller_numbers: set[str], phone: str) -> int | None:
    """A call from `phone` arriving over SIP for `caller_numbers` (one dialled number in
    each format it may stand for): the campaign holding one of them, its
    InboundCallAnswered recorded."""
    for caller_number in sorted(caller_numbers):
        request = InboundCall(phone=phone, caller_number=caller_number)
        reply = await inbound_call(deps, request)
        if reply.campaign_id is not None:
            return reply.campaign_id
    return None


def _at(epoch: float | None) -> dt.datetime | None:
    return None if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC)


async def webhook_deliveries(deps: Deps, request: ListWebhookDeliveries) -> WebhookDeliveryPage:
    """A page of the campaign's webhook deliveries (the account's own campaign only)."""
    rows, total = await deps.db.run(
        lambda tx: tx.webhook_page(
            request.campaign_id,
            request.account_id,
            request.state,
            request.page,
            request.per_page,
        )
    )
    items = [
        WebhookDelivery(
            id=r.webhook_id,
            event=r.event,
            call_id=r.call_id,
            state=r.state,  # type: ignore[arg-type]
            attempts=r.attempts,
            last_status=r.last_status,
            last_error=r.last_error,
            created_at=dt.datetime.fromtimestamp(r.created_at, dt.UTC),
            next_attempt_at=_at(r.next_attempt_at) if r.state == "pending" else None,
            delivered_at=_at(r.delivered_at),
        )
        for r in rows
    ]
    return WebhookDeliveryPage(
        items=items, total=total, page=request.page, per_page=request.per_page
    )
