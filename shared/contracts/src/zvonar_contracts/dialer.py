"""Requests the dialer answers (`dialer.req.<Type>`): its clock, where a campaign belongs,
TTS previews, the expected cost of a base before launch, and the simulated carrier's
inbound line."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

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


class QuoteCost(DialerRequestBase, frozen=True, tag=True):
    """What a base is expected to cost before launch, by the tariff the dialer bills with
    (one rule, one table: the dialer's). The quote assumes every number answers and hears
    the whole message once; `message_duration_s` is a file's decoded length, or None to
    have the dialer synthesize `text` and measure it."""

    numbers: int
    message_duration_s: float | None = None
    text: str = ""
    recognition: bool = False  # IVR by words
    recording: bool = False


class CostQuote(msgspec.Struct, frozen=True, kw_only=True):
    numbers: int = 0
    message_duration_s: float = 0.0
    billed_s: int = 0  # billed seconds of one answered call
    price_per_minute: Decimal = Decimal("0.00")  # the rate with the surcharges that apply
    per_call: Decimal = Decimal("0.00")  # one answered call, as the dialer bills it
    total: Decimal = Decimal("0.00")  # per_call x numbers
    error: str | None = None


class InboundCall(DialerRequestBase, frozen=True, tag=True):
    """Simulated carrier: `caller` dials `number`, a caller number of some campaign."""

    caller: str
    number: str


class InboundCallReply(msgspec.Struct, frozen=True, kw_only=True):
    campaign_id: int | None
    played: bool


DialerRequest = GetClock | GetPlacement | SynthesizePreview | QuoteCost | InboundCall
