"""The expected cost of a base before launch: the gateway counts the numbers and measures
an uploaded message; the price is the dialer's (`QuoteCost` over NATS), from the tariff the
dialer bills with — the rule and the table live in one place, the dialer.

The figure assumes every number answers and hears the whole message once: unanswered
calls (and machines AMD detects) are free, and smart parts only call again those who did
not answer, so it is the most the base costs on its first pass."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from zvonar_contracts.dialer import CostQuote, QuoteCost
from zvonar_contracts.limits import MAX_TTS_TEXT
from zvonar_contracts.options import FileAudio, TtsAudio, WordsIvr
from zvonar_contracts.subjects import AUDIO_BUCKET, uploaded_audio_object
from zvonar_gateway.domain.account import Account
from zvonar_gateway.domain.validation import BodyInvalid, detail
from zvonar_gateway.files.audio import AudioRejected, AudioTooLarge, check_audio
from zvonar_gateway.files.exports import money_text
from zvonar_gateway.service_layer.campaigns import checked_json_body
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.ports import Backend

ASSUMES = (
    "every valid number answers and hears the whole message once; unanswered calls and "
    "machines detected by AMD are free, smart parts call only those who did not answer"
)

# How long the dialer may take to synthesize a text of up to 5,000 characters.
QUOTE_TIMEOUT_S = 20.0


class QuoteRefused(ValueError):
    """The message cannot be priced: the field at fault and why (English, the API's)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


async def measure_upload(data: bytes) -> float:
    """The decoded length of an audio file (WAV or MP3), as the dialer will play it."""
    try:
        return (await asyncio.to_thread(check_audio, data)).duration_s
    except (AudioRejected, AudioTooLarge) as exc:
        raise QuoteRefused("audio.file_id", str(exc)) from exc


async def stored_duration(backend: Backend, account_id: str, file_id: str) -> float:
    """The length of a file this account uploaded (`POST /audio`); another account's or
    an unknown one is refused alike."""
    try:
        data = await backend.get_object(AUDIO_BUCKET, uploaded_audio_object(account_id, file_id))
    except ApiError as exc:
        if exc.status_code == 404:
            raise QuoteRefused("audio.file_id", "no such audio file") from exc
        raise
    return await measure_upload(data)


async def quote(
    backend: Backend,
    *,
    numbers: int,
    message: TtsAudio | FileAudio | float,
    account_id: str,
    recognition: bool,
    recording: bool,
) -> CostQuote:
    """The dialer's quote for `numbers` numbers; `message` is the campaign's audio, or the
    length of a file already measured."""
    if isinstance(message, TtsAudio):
        text = message.text.strip()
        if not text or len(text) > MAX_TTS_TEXT:
            raise QuoteRefused("audio.text", f"must be 1..{MAX_TTS_TEXT} characters")
        request = QuoteCost(
            numbers=numbers, text=text, recognition=recognition, recording=recording
        )
    else:
        if isinstance(message, FileAudio):
            duration = await stored_duration(backend, account_id, message.file_id)
        else:
            duration = message
        request = QuoteCost(
            numbers=numbers,
            message_duration_s=duration,
            recognition=recognition,
            recording=recording,
        )
    reply = await backend.dialer(request, CostQuote, timeout=QUOTE_TIMEOUT_S)
    if reply.error:
        field = "audio.text" if isinstance(message, TtsAudio) else "audio"
        raise QuoteRefused(field, reply.error)
    return reply


class QuoteOut(msgspec.Struct, kw_only=True):
    """`POST /api/v1/campaigns/quote`: the expected cost of a create body's base."""

    numbers: int
    rejected_total: int
    message_duration_s: float
    billed_s: int
    price_per_minute: str
    per_call: str
    total: str
    assumes: str


async def quote_from_json(
    backend: Backend, account: Account, raw: Any, *, allow_private_webhooks: bool = False
) -> QuoteOut:
    """The create body of docs/API.md, checked as a create checks it, priced instead of
    created: nothing is stored."""
    converted, _, phones = await checked_json_body(
        backend, account, raw, allow_private_webhooks=allow_private_webhooks
    )
    if not phones.numbers:
        raise ApiError(
            422,
            "no_valid_phones",
            "none of the phone numbers is valid",
            [detail("phones", "no valid phone number")],
        )
    try:
        reply = await quote(
            backend,
            numbers=len(phones.numbers),
            message=converted.audio,
            account_id=account.id,
            recognition=isinstance(converted.ivr, WordsIvr),
            recording=converted.record,
        )
    except QuoteRefused as exc:
        raise BodyInvalid([detail(exc.field, exc.message)]) from exc
    return QuoteOut(
        numbers=reply.numbers,
        rejected_total=len(phones.rejected),
        message_duration_s=reply.message_duration_s,
        billed_s=reply.billed_s,
        price_per_minute=money_text(reply.price_per_minute),
        per_call=money_text(reply.per_call),
        total=money_text(reply.total),
        assumes=ASSUMES,
    )
