"""Requests the dialer answers (`dialer.req.<Type>`): its clock, where a campaign belongs,
TTS previews, and the simulated carrier's inbound line."""

from __future__ import annotations

import datetime as dt

import msgspec

from zvonar_contracts.options import Status


class DialerRequestBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class GetClock(DialerRequestBase, frozen=True, tag=True):
    pass


class ClockReply(msgspec.Struct, frozen=True, kw_only=True):
    now: dt.datetime
    scale: float


class GetPlacement(DialerRequestBase, frozen=True, tag=True):
    """Where a paused campaign belongs if resumed now."""

    campaign_id: int


class PlacementReply(msgspec.Struct, frozen=True, kw_only=True):
    status: Status  # in_progress, scheduled or paused_window


class SynthesizePreview(DialerRequestBase, frozen=True, tag=True):
    text: str
    account_id: str  # the preview is kept in this account's folder of bucket `audio`


class SynthesizeReply(msgspec.Struct, frozen=True, kw_only=True):
    audio_object: str | None = None  # object name in the audio bucket (WAV)
    duration_s: float = 0.0
    error: str | None = None


class InboundCall(DialerRequestBase, frozen=True, tag=True):
    """Simulated carrier: `caller` dials `number`, a caller number of some campaign."""

    caller: str
    number: str


class InboundCallReply(msgspec.Struct, frozen=True, kw_only=True):
    campaign_id: int | None
    played: bool


DialerRequest = GetClock | GetPlacement | SynthesizePreview | InboundCall
