"""Recovery: calls recorded as `placing` but never finished (a crash, a carrier error) are
resolved through the telephony port — the carrier's result if it placed the call — so nobody
is dialled twice in a part and no result is lost.

A call the carrier never placed is placed now (with the same call id) only if it still may
be, checked again as at a claim: its campaign is running that part, the number's calling
window is open, and the number is not on the account's stop-list now. Otherwise it is not
dialled: it goes back to the queue (dialled at its turn if the campaign runs again), is
cancelled with its cancelled part, or is final as `stop_listed`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import NamedTuple, TypeVar

import structlog

from zvonar_contracts.options import Status
from zvonar_dialer.domain.campaign import Campaign, part_cancelled
from zvonar_dialer.domain.windows import is_open
from zvonar_dialer.metrics import CALLS_FINISHED_BY_OUTCOME, CALLS_PLACED
from zvonar_dialer.service_layer.deps import Deps, load_campaign
from zvonar_dialer.service_layer.dialling import (
    Placed,
    add_to_outbox,
    record,
    request_of,
    stop_listed_event,
)
from zvonar_dialer.service_layer.ownership import LeaseLost, fenced
from zvonar_dialer.service_layer.ports import PlacedCall, Tx

log = structlog.get_logger("zvonar.dialer.recovery")
T = TypeVar("T")


class Recheck(NamedTuple):
    """What the re-check decided for calls the carrier never placed."""

    campaign: Campaign | None
    place: list[PlacedCall]  # may be placed now
    requeued: int  # campaign not running the part, or the window closed: back to the queue
    cancelled: int  # their part was cancelled
    stop_listed: int  # on the stop-list now: final, never dialled


def may_run(campaign: Campaign, part: int) -> bool:
    """Whether the campaign dials `part` now (the claim's own condition)."""
    return (
        campaign.status == Status.IN_PROGRESS
        and campaign.part_state == "dialling"
        and campaign.current_part == part
        and not part_cancelled(campaign, part)
    )


def recheck(
    campaign_id: int, calls: Sequence[PlacedCall], now: dt.datetime
) -> Callable[[Tx], Recheck]:
    """The transaction that decides, under the campaign's row lock, which of `calls` (never
    placed by the carrier) may be placed now; the others are settled without a call."""

    def work(tx: Tx) -> Recheck:
        campaign = tx.load_campaign(campaign_id)
        zones = tx.placing_zones(calls)
        pending = [c for c in calls if c.call_id in zones]  # not resolved meanwhile
        if campaign is None:
            return Recheck(None, [], 0, 0, 0)
        window = campaign.options.window

        def open_now(call: PlacedCall) -> bool:
            if window is None:
                return True
            zone = campaign.account_tz if window.tz == "account" else zones[call.call_id]
            return is_open(window, zone, now)

        cancelled: list[PlacedCall] = []
        requeued: list[PlacedCall] = []
        runnable: list[PlacedCall] = []
        for call in pending:
            if part_cancelled(campaign, call.part):
                cancelled.append(call)
            elif may_run(campaign, call.part) and open_now(call):
                runnable.append(call)
            else:
                requeued.append(call)
        listed = tx.stop_listed(campaign.account_id, [c.phone for c in runnable])
        for call in runnable:
            if call.phone in listed:
                event = stop_listed_event(campaign, call.part, call.phone, now)
                tx.mark_done(campaign_id, call.part, call.seq, "stop_listed", call.call_id)
                add_to_outbox(tx, event)
        tx.unplace(requeued, "queued")
        tx.unplace(cancelled, "cancelled")
        place = [c for c in runnable if c.phone not in listed]
        return Recheck(campaign, place, len(requeued), len(cancelled), len(runnable) - len(place))

    return work


def _carrier_failed(deps: Deps, exc: Exception, call: PlacedCall) -> None:
    log.exception("call_recovery_failed", call_id=call.call_id)
    if deps.carrier.failed(exc, time.monotonic()):
        log.error("carrier_down", error=deps.carrier.last_error)


async def _asked(
    deps: Deps, calls: Sequence[PlacedCall], ask: Callable[[PlacedCall], Awaitable[T]]
) -> AsyncIterator[tuple[PlacedCall, T]]:
    """Each call with the carrier's answer to `ask`; a call it could not be asked about is
    left out (it stays `placing`), and so is every call once the carrier is taken as down."""
    for call in calls:
        try:
            answer = await ask(call)
        except Exception as exc:
            _carrier_failed(deps, exc, call)
            if deps.carrier.down:
                break
            continue
        deps.carrier.answered()
        yield call, answer


async def _results(
    deps: Deps, calls: Sequence[PlacedCall]
) -> tuple[list[Placed], list[PlacedCall]]:
    """Ask the carrier about each call: (those it placed with their results, those it never
    placed). A call it could not be asked about stays `placing`; all do once it is down."""
    placed: list[Placed] = []
    unplaced: list[PlacedCall] = []
    async for call, result in _asked(deps, calls, lambda c: deps.telephony.result_of(c.call_id)):
        if result is None:
            unplaced.append(call)
        else:
            placed.append((call, result))
    return placed, unplaced


async def _place(deps: Deps, campaign: Campaign, calls: Sequence[PlacedCall]) -> list[Placed]:
    placed: list[Placed] = []
    place = deps.telephony.place_call
    async for call, result in _asked(deps, calls, lambda c: place(request_of(campaign, c))):
        if not result.carrier_error:
            CALLS_PLACED.inc()
        placed.append((call, result))
    return placed


async def resolve_campaign(deps: Deps, campaign: Campaign, calls: Sequence[PlacedCall]) -> int:
    """Resolve one campaign's `placing` calls; how many were settled."""
    placed, unplaced = await _results(deps, calls)
    settled = len(await record(deps, campaign, placed)) if placed else 0
    if not unplaced or deps.carrier.down:
        return settled
    now = deps.clock.now()
    cid = campaign.campaign_id
    try:
        checked = await deps.db.run(
            fenced(deps.ownership, cid, recheck(cid, unplaced, now), dialling=True)
        )
    except LeaseLost as lost:
        log.warning("calls_recovery_fenced", campaign_id=cid, reason=str(lost))
        return settled
    if checked.stop_listed:
        CALLS_FINISHED_BY_OUTCOME["stop_listed"].inc(checked.stop_listed)
        deps.outbox_wakeup.set()
    if checked.requeued or checked.cancelled or checked.stop_listed:
        log.info(
            "calls_not_placed_again",
            campaign_id=campaign.campaign_id,
            status=str(checked.campaign.status) if checked.campaign else None,
            requeued=checked.requeued,
            cancelled=checked.cancelled,
            stop_listed=checked.stop_listed,
        )
    settled += checked.requeued + checked.cancelled + checked.stop_listed
    if checked.campaign is None or not checked.place:
        return settled
    placed = await _place(deps, checked.campaign, checked.place)
    return settled + len(await record(deps, checked.campaign, placed))


async def resolve_placing(deps: Deps) -> int:
    """Settle every call left `placing`; the number of calls settled. While the carrier
    is down nothing is asked (the scheduler's probe says when it is back)."""
    if deps.carrier.down:
        return 0
    calls = await deps.db.run(lambda tx: tx.placing_calls())
    calls = [c for c in calls if c.call_id not in deps.calls_in_progress]  # not lost: going on
    calls = [c for c in calls if deps.ownership.owns(c.campaign_id)]  # other dialers' not
    resolved = 0
    for campaign_id, group in itertools.groupby(calls, key=lambda c: c.campaign_id):
        campaign = await deps.db.run(load_campaign(campaign_id))
        if campaign is None:
            continue
        resolved += await resolve_campaign(deps, campaign, list(group))
        if deps.carrier.down:
            break
    if resolved:
        log.info("calls_recovered", count=resolved)
    return resolved
