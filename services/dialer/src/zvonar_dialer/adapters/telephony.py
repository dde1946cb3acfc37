"""The telephony port: how the dialer places a call and asks what became of it.

The dialer hands every call a deterministic call id (campaign, part, phone, attempt).
An adapter must be idempotent on it: placing a call id it has seen returns the first
call's result and rings nobody, and `result_of` answers for calls placed before a crash.
The simulated carrier is the default adapter; adapters/sip is the SIP trunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, Protocol

import msgspec

from zvonar_contracts.options import Ivr

CallOutcome = Literal["answered", "no_answer", "busy", "machine", "failed"]


class CallRequest(msgspec.Struct, frozen=True):
    """One call to place: who, from which number, and what the callee will hear."""

    call_id: str
    campaign_id: int  # the main campaign (smart parts too): whose message the callee hears
    part: int  # 0 = the main pass, n = smart part n
    phone: str  # E.164
    caller_number: str | None  # None: the carrier's anonymous line
    message_duration_s: float
    amd: bool  # detect answering machines (outcome "machine" instead of "answered")
    ivr: Ivr | None  # listen for words or keys after the message
    record: bool
    started_at: datetime  # the dialer's clock


class CallResult(msgspec.Struct, frozen=True):
    """What became of a call. `duration_s` is the talk time (0 when nobody answered)."""

    call_id: str
    outcome: CallOutcome
    duration_s: float
    answer_text: str = ""  # the word said or the key pressed
    lead: bool = False  # the answer is one of the IVR's lead words or keys
    reason: str = ""  # why a call failed without reaching the carrier ("interrupted")
    # A failure the carrier-health breaker counts (the trunk refused or did not answer).
    carrier_error: str = ""
    recording_wav: bytes | None = None  # the callee's side, when the carrier records it


class Telephony(Protocol):
    async def place_call(self, request: CallRequest) -> CallResult:
        """Places the call (once per call id) and waits for its result."""
        ...

    async def place_calls(self, requests: Sequence[CallRequest]) -> list[CallResult]:
        """Places a burst (each call id once) and returns their results in request order.
        The adapter bounds its own concurrency; a raise leaves every call of the burst
        unresolved (the dialer asks `result_of` or places them again with the same ids)."""
        ...

    async def result_of(self, call_id: str) -> CallResult | None:
        """The result of a call placed earlier, or None if it was never placed."""
        ...


__all__ = ["CallOutcome", "CallRequest", "CallResult", "Telephony"]
