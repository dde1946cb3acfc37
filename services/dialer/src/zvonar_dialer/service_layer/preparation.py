"""Getting a campaign ready to dial: its phone base into the numbers table (part 0) and its
message, decoded once into the form it is played in (8 kHz mono, the audio codec), as WAV at
`<account_id>/campaign/<id>/message.wav` in the audio bucket. The campaign's message length —
what an answered call plays and is billed for — is the decoded sound's.

Done once, as soon as the campaign is accepted or scheduled (its customer may listen to the
message before the start). A message that cannot be synthesized
or decoded (not audio, a header that lies, over the caps) fails the campaign (FailCampaign)
with the reason as its system comment.
"""

from __future__ import annotations

import asyncio
import hashlib

import structlog

from zvonar_contracts.keys import message_object, uploaded_audio_object
from zvonar_contracts.options import TtsAudio
from zvonar_contracts.subjects import AUDIO_BUCKET
from zvonar_dialer.domain.campaign import Campaign
from zvonar_dialer.domain.timezones import callee_timezone
from zvonar_dialer.service_layer.deps import Deps, update_campaign
from zvonar_dialer.service_layer.ports import (
    Message,
    Number,
    SynthesisError,
    Tx,
    UnplayableAudio,
)

log = structlog.get_logger("zvonar.dialer.preparation")


class PreparationError(Exception):
    """The campaign cannot be dialled; the message is the reason the customer sees."""


def parse_base(data: bytes, expected_sha256: str) -> list[str]:
    if expected_sha256 and hashlib.sha256(data).hexdigest() != expected_sha256:
        raise PreparationError("the phone base does not match its checksum")
    return [line.strip() for line in data.decode("utf-8").splitlines() if line.strip()]


def numbers_of(campaign: Campaign, phones: list[str]) -> list[Number]:
    """Each number with the zone its calling window is read in."""
    window = campaign.options.window
    by_callee = window is not None and window.tz == "callee"
    return [
        Number(
            seq,
            phone,
            callee_timezone(phone, campaign.account_tz) if by_callee else campaign.account_tz,
        )
        for seq, phone in enumerate(phones)
    ]


async def load_base(deps: Deps, campaign: Campaign) -> None:
    ref = campaign.phones
    try:
        data = await deps.blobs.get(ref.bucket, ref.name)
    except LookupError as exc:  # other errors are passing: the next pass tries again
        raise PreparationError(f"the phone base {ref.name} is missing") from exc
    # Parsing a large base (and each number's zone) takes a while: off the event loop.
    loop = asyncio.get_running_loop()
    phones = await loop.run_in_executor(None, parse_base, data, ref.sha256)
    numbers = await loop.run_in_executor(None, numbers_of, campaign, phones)

    def work(tx: Tx) -> None:
        current = tx.load_campaign(campaign.campaign_id)
        if current is None or current.loaded:
            return
        tx.insert_numbers(campaign.campaign_id, 0, numbers)
        current.loaded = True
        tx.save_campaign(current)

    await deps.db.run(work)


async def make_message(deps: Deps, campaign: Campaign) -> Message:
    audio = campaign.options.audio
    loop = asyncio.get_running_loop()
    if isinstance(audio, TtsAudio):
        try:
            source = await loop.run_in_executor(None, deps.synthesizer.synthesize, audio.text)
        except SynthesisError as exc:
            raise PreparationError(f"the message could not be synthesized: {exc}") from exc
    else:
        # The upload is looked up in the campaign's account's folder, nowhere else.
        name = uploaded_audio_object(campaign.account_id, audio.file_id)
        try:
            source = await deps.blobs.get(AUDIO_BUCKET, name)
        except LookupError as exc:
            raise PreparationError(f"the audio file {audio.file_id} is missing") from exc
    try:
        return await loop.run_in_executor(None, deps.audio.to_message, source)
    except UnplayableAudio as exc:
        raise PreparationError(f"the audio file cannot be converted: {exc}") from exc


async def store_message(deps: Deps, campaign: Campaign) -> None:
    message = await make_message(deps, campaign)
    name = message_object(campaign.account_id, campaign.campaign_id)
    await deps.blobs.put(AUDIO_BUCKET, name, message.wav())
    deps.messages.put(campaign.campaign_id, message)
    duration = message.duration_s

    def ready(current: Campaign) -> None:
        current.message_ready = True
        current.message_duration_s = duration

    await update_campaign(deps.db, campaign.campaign_id, ready)


async def prepare(deps: Deps, campaign: Campaign) -> str | None:
    """Load what is missing; the reason when the campaign cannot be dialled."""
    try:
        if not campaign.loaded:
            await load_base(deps, campaign)
        if not campaign.message_ready:
            await store_message(deps, campaign)
    except PreparationError as exc:
        log.warning(
            "campaign_preparation_failed", campaign_id=campaign.campaign_id, reason=str(exc)
        )
        return str(exc)
    return None


async def message_of(deps: Deps, campaign: Campaign) -> Message:
    """The campaign's decoded message, from memory or read back from the audio bucket."""

    async def load() -> Message:
        name = message_object(campaign.account_id, campaign.campaign_id)
        wav = await deps.blobs.get(AUDIO_BUCKET, name)
        return await asyncio.get_running_loop().run_in_executor(None, deps.audio.to_message, wav)

    return await deps.messages.get_or_load(campaign.campaign_id, load)
