"""Events of the CALL_EVENTS stream: what the dialer did with each number.

A call id is deterministic — campaign, part, phone and attempt — so a retry after a crash
reuses it and the carrier, the stream (Nats-Msg-Id) and every projection see one call.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

import msgspec

from zvonar_contracts.keys import call_id_of as call_id_of

# What became of a call the carrier was asked to place.
CallOutcome = Literal["answered", "no_answer", "busy", "machine", "failed"]
# A number's result in a part: a call's outcome, or never dialled for the stop-list.
Outcome = Literal[CallOutcome, "stop_listed"]
NOT_ANSWERED_OUTCOMES: frozenset[str] = frozenset({"no_answer", "busy", "machine", "failed"})


class CallEventBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    campaign_id: int  # the main campaign's number, also for smart parts
    account_id: str
    at: dt.datetime  # the dialer's clock
    schema_version: int = 1


class CallCompleted(CallEventBase, frozen=True, tag=True):
    """The final result of one attempt on one number in one part (0 = main pass)."""

    call_id: str
    phone: str
    part: int
    attempt: int
    started_at: dt.datetime
    outcome: Outcome
    duration_s: float = 0.0
    billed_s: int = 0
    cost: Decimal = Decimal("0.00")
    answer_text: str = ""
    lead: bool = False
    recording: str | None = None  # object name in the recordings bucket
    caller_number: str | None = None
    final: bool = True  # the number's last attempt in this part
    reason: str = ""  # why a `failed` call failed, when the dialer knows ("interrupted")


class InboundCallAnswered(CallEventBase, frozen=True, tag=True):
    """Someone called back a campaign's caller number (simulated carrier's inbound line)."""

    # In Python `phone` and `caller_number`, as in CallCompleted; the wire keeps `caller`
    # (who called in) and `number` (the campaign's number they dialled).
    phone: str = msgspec.field(name="caller")  # who called in
    caller_number: str = msgspec.field(name="number")  # the campaign's number they dialled
    played: bool


CallEvent = CallCompleted | InboundCallAnswered
CALL_EVENT_TYPES: tuple[type, ...] = CallEvent.__args__

__all__ = [
    "CALL_EVENT_TYPES",
    "NOT_ANSWERED_OUTCOMES",
    "CallCompleted",
    "CallEvent",
    "CallOutcome",
    "InboundCallAnswered",
    "Outcome",
    "call_id_of",
]
