"""Projection rules, free of any store: statuses, the start column, comments, a number's
result within a row, the six counters and exact costs.

A row's `size` is kept as four counters (stop_listed, answered, leads, not_answered) plus
the row's total; `in_progress` is derived, so `total = stop_listed + answered +
not_answered + in_progress` holds by construction, and a lead is only ever counted on an
answered call, so `leads <= answered` holds too.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

import msgspec

from zvonar_contracts import campaign_events as ev
from zvonar_contracts.call_events import NOT_ANSWERED_OUTCOMES, CallCompleted
from zvonar_contracts.options import FINAL_STATUSES, Size, Status
from zvonar_contracts.queries import Start

# A number's result in a row: "" while it waits for a final attempt.
IN_PROGRESS: Final = ""
ANSWERED: Final = "answered"
LEAD: Final = "lead"
NOT_ANSWERED: Final = "not_answered"
STOP_LISTED: Final = "stop_listed"

# Costs are summed as integers of a millionth: exact for every charge with at most six
# decimals, which covers the kopeck-rounded charges the dialer makes.
COST_SCALE: Final = Decimal(1_000_000)
_FINAL_RANK: Final = 1 << 40


class Counters(msgspec.Struct):
    """The stored part of a row's size; `in_progress` is whatever is left of the total."""

    stop_listed: int = 0
    answered: int = 0
    leads: int = 0
    not_answered: int = 0
    cost_micros: int = 0

    def count(self, category: str, sign: int) -> None:
        if category == STOP_LISTED:
            self.stop_listed += sign
        elif category == NOT_ANSWERED:
            self.not_answered += sign
        elif category in (ANSWERED, LEAD):
            self.answered += sign
            self.leads += sign if category == LEAD else 0

    def add(self, other: Counters) -> None:
        self.stop_listed += other.stop_listed
        self.answered += other.answered
        self.leads += other.leads
        self.not_answered += other.not_answered
        self.cost_micros += other.cost_micros


def size_of(total: int, counters: Counters) -> Size:
    done = counters.stop_listed + counters.answered + counters.not_answered
    return Size(
        total=total,
        stop_listed=counters.stop_listed,
        answered=counters.answered,
        leads=counters.leads,
        not_answered=counters.not_answered,
        in_progress=total - done,
    )


def category_of(call: CallCompleted) -> str:
    """Where one attempt puts its number; a non-final attempt leaves it in progress."""
    if not call.final:
        return IN_PROGRESS
    if call.outcome == "stop_listed":
        return STOP_LISTED
    if call.outcome in NOT_ANSWERED_OUTCOMES:
        return NOT_ANSWERED
    return LEAD if call.lead else ANSWERED


def rank_of(call: CallCompleted) -> int:
    """Which attempt decides a number's result: a final one over any other, then the
    latest; attempts may arrive in any order and the result does not depend on it."""
    return (_FINAL_RANK if call.final else 0) + call.attempt


def cost_micros(cost: Decimal) -> int:
    return int((cost * COST_SCALE).to_integral_value(rounding=ROUND_HALF_UP))


def cost_of(micros: int) -> Decimal:
    """Back to money: two decimals unless the sum truly has more."""
    value = Decimal(micros).scaleb(-6)
    kopecks = value.quantize(Decimal("0.01"))
    return kopecks if kopecks == value else value.normalize()


def status_after(event: ev.CampaignEvent) -> Status | None:
    """The status a lifecycle event leaves a campaign in (None: unchanged): the one the
    event carries; worked out from its type only for a message published before lifecycle
    events carried it (`status` None there)."""
    match event:
        case ev.CampaignModerated(status=status) | ev.CampaignResumed(status=status):
            return status
        case ev.CampaignScheduled(status=status):
            return status or Status.SCHEDULED
        case ev.CampaignStarted(status=status):
            return status or Status.IN_PROGRESS
        case ev.CampaignPaused(status=status):
            return status or Status.PAUSED
        case ev.CampaignOutOfWindow(status=status):
            return status or Status.PAUSED_WINDOW
        case ev.CampaignFinished(status=status):
            return status or Status.FINISHED
        case ev.CampaignStopped(status=status):
            return status or Status.STOPPED
        case ev.CampaignFailed(status=status):
            return status or Status.ERROR
    return None


def part_status_after(event: ev.CampaignEvent, current: Status) -> Status | None:
    """A running smart part mirrors its parent's pause, resume and stop."""
    if current in FINAL_STATUSES:
        return None
    match event:
        case ev.CampaignPaused():
            return Status.PAUSED
        case ev.CampaignResumed(status=status):
            return Status.IN_PROGRESS if status == Status.SCHEDULED else status
        case ev.CampaignOutOfWindow():
            return Status.PAUSED_WINDOW
        case ev.CampaignStopped() | ev.CampaignFinished():
            return Status.STOPPED if isinstance(event, ev.CampaignStopped) else Status.FINISHED
        case ev.CampaignFailed():
            return Status.ERROR
    return None


def system_comment_of(event: ev.CampaignEvent) -> str | None:
    """The red comment an event leaves (None: unchanged)."""
    match event:
        case ev.CampaignModerated(decision="rejected" | "clarification", reason=reason):
            return reason
        case ev.CampaignModerated(decision="accepted"):
            return ""
        case ev.CampaignFailed(reason=reason):
            return reason
        case ev.CampaignStopped(stopped_by="system", reason=reason) if reason:
            return reason
        case ev.CampaignPaused(paused_by="system", reason=reason) if reason:
            return reason  # why the system paused it (the carrier down) ...
        case ev.CampaignResumed(note=note):
            return note  # ... gone once it runs again (the start's note back, if any)
        case ev.CampaignStarted(note=note) if note:
            return note  # what the carrier cannot do for it (IVR words over SIP)
    return None


def start_of(
    status: Status,
    scheduled_at: dt.datetime | None,
    started_at: dt.datetime | None,
    called: bool = True,
) -> Start:
    """The start column. A campaign the dialer started outside its window has a start time
    but never rang anyone: once paused or ended it reads as not started (`called` says
    whether any call of its own has ended); while in progress it is calling now."""
    if status == Status.PAUSED_WINDOW:
        return Start(kind="out_of_window")
    if started_at is not None and (called or status == Status.IN_PROGRESS):
        return Start(kind="started", at=started_at)
    if scheduled_at is not None and status in (Status.SCHEDULED, Status.PAUSED):
        return Start(kind="scheduled", at=scheduled_at)
    return Start(kind="not_started")


_HIDDEN_FIELDS: Final = frozenset({"campaign_id", "account_id", "at", "options", "schema_version"})


def history_details(event: ev.CampaignEvent) -> dict[str, object]:
    """The event's own fields, ids and options left out, as JSON-ready values."""
    raw = msgspec.to_builtins(event)
    hidden = _HIDDEN_FIELDS
    if not isinstance(event, ev.CampaignModerated):
        # The status a lifecycle event leads to (the row shows the event itself); a moderation
        # decision's status has always been one of its details.
        hidden = hidden | {"status"}
    return {k: v for k, v in raw.items() if k not in hidden and k != "type"}


def fold(name: str) -> str:
    """The searchable copy of a name; SQLite's LOWER folds ASCII only."""
    return name.casefold()


def utc_text(moment: dt.datetime) -> str:
    """A fixed-width UTC text that sorts like the moment it names, on any SQL backend."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no place on the wire")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def from_utc_text(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text)
