"""Requests the dialer answers (`dialer.req.<Type>`): its clock (services read it from its
key-value entry instead: zvonar_contracts.clock), TTS previews, the expected cost of a base
before launch, the simulated carrier's inbound line, and a campaign's webhook deliveries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

import msgspec


class DialerRequestBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class GetClock(DialerRequestBase, frozen=True, tag=True):
    pass


class ClockReply(msgspec.Struct, frozen=True, kw_only=True):
    now: dt.datetime
    scale: float


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

    # In Python `phone` and `caller_number`, as everywhere in the dialer; the wire keeps
    # its first names.
    phone: str = msgspec.field(name="caller")  # who calls in
    caller_number: str = msgspec.field(name="number")  # the campaign's number they dialled


class InboundCallReply(msgspec.Struct, frozen=True, kw_only=True):
    campaign_id: int | None
    played: bool


# A page of the delivery log holds at most this many rows: with every text field bounded
# (an error is cut to MAX_DELIVERY_ERROR characters) a page stays far under the broker's
# 1 MiB max payload.
MAX_DELIVERIES_PAGE = 200
MAX_DELIVERY_ERROR = 500
DeliveryState = Literal["pending", "delivered", "failed", "dropped"]


class ListWebhookDeliveries(DialerRequestBase, frozen=True, tag=True):
    """A page of one campaign's webhook deliveries, newest first; only the account's own
    campaign has any (another account's is answered as an empty log)."""

    campaign_id: int
    account_id: str
    page: Annotated[int, msgspec.Meta(ge=1)] = 1
    per_page: Annotated[int, msgspec.Meta(ge=1, le=MAX_DELIVERIES_PAGE)] = 50
    state: DeliveryState | None = None


class WebhookDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """One webhook post of an event and what became of it."""

    id: str  # the `webhook-id` header, the same on every attempt
    event: str  # the event type posted (CallCompleted)
    call_id: str | None
    state: DeliveryState
    attempts: int
    last_status: int | None  # the HTTP status of the last answer (None: no answer)
    last_error: str | None
    created_at: dt.datetime
    next_attempt_at: dt.datetime | None  # None once delivered, failed or dropped
    delivered_at: dt.datetime | None


class WebhookDeliveryPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[WebhookDelivery]
    total: int
    page: int
    per_page: int


DialerRequest = GetClock | SynthesizePreview | QuoteCost | InboundCall | ListWebhookDeliveries
