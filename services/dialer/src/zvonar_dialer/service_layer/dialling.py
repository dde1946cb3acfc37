"""Dialling: claim the numbers whose turn came, place their calls, record the results.

1. One transaction claims the numbers: stop-listed ones are final at once (outcome
   `stop_listed`, never dialled); the others become `placing` with their deterministic call
   id, caller number and start time — the intent is on disk before anyone is dialled.
2. The calls go through the telephony port (idempotent on the call id).
3. One transaction records each result with its CallCompleted in the outbox.

Counted in `zvonar_calls_placed_total` (calls the carrier accepted) and
`zvonar_calls_finished_total{outcome}` (final results recorded, stop-listed numbers too).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence

import structlog

from zvonar_contracts.call_events import CallCompleted
from zvonar_contracts.codec import encode
from zvonar_contracts.keys import call_id_of, recording_object, webhook_id_of
from zvonar_contracts.options import Status, WordsIvr
from zvonar_contracts.subjects import RECORDINGS_BUCKET, call_event_subject
from zvonar_dialer.domain import pacing
from zvonar_dialer.domain.caller_numbers import assign
from zvonar_dialer.domain.campaign import Campaign
from zvonar_dialer.domain.tariff import charge
from zvonar_dialer.metrics import CALLS_FINISHED_BY_OUTCOME, CALLS_PLACED
from zvonar_dialer.service_layer.deps import Deps
from zvonar_dialer.service_layer.ownership import LeaseLost, fenced
from zvonar_dialer.service_layer.ports import (
    CallRequest,
    CallResult,
    Final,
    NewDelivery,
    Number,
    PlacedCall,
    Tx,
)
from zvonar_dialer.service_layer.preparation import message_of

log = structlog.get_logger("zvonar.dialer.calls")
ATTEMPT = 1  # one attempt per number per part: re-dials are smart parts
# (campaign, calls to place, numbers found stop-listed)
Claim = tuple[Campaign | None, list[PlacedCall], int]
Placed = tuple[PlacedCall, CallResult]


class CarrierRefused(Exception):
    """A call the carrier refused or never answered (SIP 403, 5xx, no answer in 32 s)."""


def stop_listed_event(campaign: Campaign, part: int, phone: str, now: dt.datetime) -> CallCompleted:
    return CallCompleted(
        campaign_id=campaign.campaign_id,
        account_id=campaign.account_id,
        at=now,
        call_id=call_id_of(campaign.campaign_id, part, phone, ATTEMPT),
        phone=phone,
        part=part,
        attempt=ATTEMPT,
        started_at=now,
        outcome="stop_listed",
    )


def count_finished(events: Iterable[CallCompleted]) -> None:
    """Final results recorded: one increment per outcome, not per call."""
    for outcome, count in collections.Counter(e.outcome for e in events).items():
        CALLS_FINISHED_BY_OUTCOME[outcome].inc(count)


def add_to_outbox(tx: Tx, event: CallCompleted) -> None:
    subject = call_event_subject(event.campaign_id, "CallCompleted")
    tx.outbox_add(event.call_id, subject, encode(event), event.campaign_id)


def _caller_numbers(
    tx: Tx, deps: Deps, campaign: Campaign, now: dt.datetime, calls: int
) -> list[str]:
    if campaign.caller_number is not None:
        return [campaign.caller_number] * calls
    return choose_callers(tx, deps.caller_pool, now.date().isoformat(), calls)


def choose_callers(tx: Tx, pool: list[str], day: str, calls: int) -> list[str]:
    """Caller numbers for `calls` calls, the least used today first, counted as used (by
    adding: another transaction choosing at the same moment counts its own too)."""
    usage = tx.caller_usage(day, pool)
    chosen = assign(pool, usage, calls)
    tx.add_caller_usage(day, collections.Counter(chosen))
    return chosen


def take_numbers(
    tx: Tx,
    campaign: Campaign,
    part: int,
    timezones: Sequence[str],
    wanted: int,
    now: dt.datetime,
) -> tuple[list[Number], int]:
    """The next `wanted` numbers to call; stop-listed ones met on the way are made final
    (`stop_listed`, in the outbox) and do not use up a call slot."""
    cid = campaign.campaign_id
    chosen: list[Number] = []
    blocked, last_seq = 0, -1
    while len(chosen) < wanted:
        batch = tx.queued_numbers(cid, part, timezones, wanted - len(chosen), last_seq)
        if not batch:
            break
        last_seq = batch[-1].seq
        listed = tx.stop_listed(campaign.account_id, [n.phone for n in batch])
        for number in batch:
            if number.phone not in listed:
                chosen.append(number)
                continue
            event = stop_listed_event(campaign, part, number.phone, now)
            tx.mark_done(cid, part, number.seq, "stop_listed", event.call_id)
            add_to_outbox(tx, event)
            blocked += 1
    return chosen, blocked


def claim(
    deps: Deps,
    campaign_id: int,
    part: int,
    slots: Sequence[dt.datetime],
    timezones: Sequence[str],
    now: dt.datetime,
) -> Callable[[Tx], Claim]:
    """The claiming transaction: (campaign, calls to place, numbers found stop-listed)."""

    def work(tx: Tx) -> Claim:
        campaign = tx.load_campaign(campaign_id)
        if (
            campaign is None
            or campaign.status != Status.IN_PROGRESS
            or campaign.part_state != "dialling"
            or campaign.current_part != part
        ):
            return None, [], 0  # paused, stopped or moved on meanwhile: dial nobody
        chosen, blocked = take_numbers(tx, campaign, part, timezones, len(slots), now)
        caller_numbers = _caller_numbers(tx, deps, campaign, now, len(chosen))
        calls = [
            PlacedCall(
                campaign_id,
                part,
                number.seq,
                number.phone,
                call_id_of(campaign_id, part, number.phone, ATTEMPT),
                slot,
                caller_number,
            )
            for number, slot, caller_number in zip(chosen, slots, caller_numbers, strict=False)
        ]
        tx.mark_placing(calls)
        if not campaign.number_released:
            tx.route_to(caller_numbers, campaign_id)
        campaign.next_call_at = pacing.after(list(slots), len(calls), campaign.options.speed, now)
        if calls:
            campaign.idle_reported = ""
        tx.save_campaign(campaign)
        return campaign, calls, blocked

    return work


def request_of(campaign: Campaign, call: PlacedCall) -> CallRequest:
    options = campaign.options
    return CallRequest(
        call_id=call.call_id,
        campaign_id=call.campaign_id,
        part=call.part,
        phone=call.phone,
        caller_number=call.caller_number,
        message_duration_s=campaign.message_duration_s,
        amd=options.amd,
        ivr=options.ivr,
        record=options.record,
        started_at=call.started_at,
    )


async def place(deps: Deps, campaign: Campaign, calls: Sequence[PlacedCall]) -> list[Placed]:
    """Hand the burst to the port in chunks of `call_concurrency` calls, the chunks at once;
    the calls of a chunk that raised stay `placing` (recovery resolves them)."""
    step = max(1, deps.call_concurrency)

    async def chunk(part: Sequence[PlacedCall]) -> list[Placed]:
        try:
            results = await deps.telephony.place_calls([request_of(campaign, c) for c in part])
        except Exception as exc:
            log.exception("calls_place_failed", call_ids=[c.call_id for c in part])
            if deps.carrier.failed(exc, time.monotonic()):
                log.error("carrier_down", error=deps.carrier.last_error)
            return []
        rung = 0
        for result in results:
            if not result.carrier_error:
                rung += 1
                deps.carrier.placed()
            elif deps.carrier.failed(CarrierRefused(result.carrier_error), time.monotonic()):
                log.error("carrier_down", error=deps.carrier.last_error)
        CALLS_PLACED.inc(rung)
        return list(zip(part, results, strict=True))

    done = await asyncio.gather(*(chunk(calls[i : i + step]) for i in range(0, len(calls), step)))
    return [pair for placed in done for pair in placed]


async def recording_of(
    deps: Deps, campaign: Campaign, call: PlacedCall, result: CallResult
) -> str | None:
    if not (campaign.options.record and result.outcome == "answered"):
        return None
    wav = result.recording_wav
    if wav is None:  # the simulated carrier: the message and the simulated answer
        message = await message_of(deps, campaign)
        wav = await asyncio.get_running_loop().run_in_executor(
            None, deps.simulated_recording, message, result.answer_text
        )
    name = recording_object(campaign.account_id, campaign.campaign_id, call.call_id)
    await deps.blobs.put(RECORDINGS_BUCKET, name, wav)
    return name


async def completed(
    deps: Deps, campaign: Campaign, call: PlacedCall, result: CallResult
) -> CallCompleted:
    answered = result.outcome == "answered"
    billed, cost = charge(
        deps.tariff,
        result.duration_s,
        answered=answered,
        recognition=isinstance(campaign.options.ivr, WordsIvr),
        recording=campaign.options.record,
    )
    return CallCompleted(
        campaign_id=campaign.campaign_id,
        account_id=campaign.account_id,
        at=call.started_at + dt.timedelta(seconds=result.duration_s),
        call_id=call.call_id,
        phone=call.phone,
        part=call.part,
        attempt=ATTEMPT,
        started_at=call.started_at,
        outcome=result.outcome,
        duration_s=result.duration_s,
        billed_s=billed,
        cost=cost,
        answer_text=result.answer_text,
        lead=result.lead,
        recording=await recording_of(deps, campaign, call, result),
        caller_number=call.caller_number,
        reason=result.reason,
    )


def webhook_rows(campaign: Campaign, events: Sequence[CallCompleted]) -> list[NewDelivery]:
    """The webhook posts of `events` when the campaign has an integration (none otherwise)."""
    integration = campaign.options.integration
    if integration is None:
        return []
    created = time.time()
    return [
        NewDelivery(
            webhook_id=webhook_id_of(e.campaign_id, "CallCompleted", e.call_id),
            campaign_id=e.campaign_id,
            account_id=e.account_id,
            event="CallCompleted",
            call_id=e.call_id,
            url=integration.webhook_url,
            secret_ref=integration.secret_ref,
            payload=encode(e),
            created_at=created,
        )
        for e in events
    ]


def record_results(
    campaign: Campaign, events: Sequence[tuple[PlacedCall, CallCompleted]]
) -> Callable[[Tx], list[CallCompleted]]:
    """The recording transaction: each number not yet final gets its result, its
    CallCompleted in the outbox and, with an integration, its webhook post in the webhook
    outbox — a handful of statements per part, not two per call."""

    def work(tx: Tx) -> list[CallCompleted]:
        by_part: dict[tuple[int, int], dict[int, CallCompleted]] = {}
        for call, event in events:
            by_part.setdefault((call.campaign_id, call.part), {}).setdefault(call.seq, event)
        fresh: list[CallCompleted] = []
        for (campaign_id, part), of_seq in by_part.items():
            finals = [Final(seq, e.outcome, e.call_id) for seq, e in of_seq.items()]
            written = tx.mark_done_many(campaign_id, part, finals)
            fresh.extend(event for seq, event in of_seq.items() if seq in written)
        tx.outbox_add_many(
            [
                (e.call_id, call_event_subject(e.campaign_id, "CallCompleted"), encode(e))
                for e in fresh
            ],
            campaign.campaign_id,
        )
        tx.webhook_add_many(webhook_rows(campaign, fresh))
        return fresh

    return work


async def record(deps: Deps, campaign: Campaign, results: Sequence[Placed]) -> list[CallCompleted]:
    """Write each result with its event (and its webhook post) in one transaction."""
    events = [(call, await completed(deps, campaign, call, result)) for call, result in results]

    cid = campaign.campaign_id
    try:
        fresh = await deps.db.run(
            fenced(deps.ownership, cid, record_results(campaign, events), dialling=False)
        )
    except LeaseLost as lost:
        # Another dialer took the campaign over: its recovery records these calls (the
        # carrier keeps their results), not this one.
        log.warning("calls_record_fenced", campaign_id=cid, reason=str(lost))
        return []
    count_finished(fresh)
    deps.outbox_wakeup.set()
    if fresh and campaign.options.integration is not None:
        deps.webhook_wakeup.set()
    return fresh


async def dial(
    deps: Deps,
    campaign_id: int,
    part: int,
    slots: Sequence[dt.datetime],
    timezones: Sequence[str],
    now: dt.datetime,
) -> tuple[int, int]:
    """One burst of a campaign: (numbers called, numbers found stop-listed)."""
    work = claim(deps, campaign_id, part, slots, timezones, now)
    try:
        campaign, calls, blocked = await deps.db.run(
            fenced(deps.ownership, campaign_id, work, dialling=True)
        )
    except LeaseLost as lost:
        log.warning("calls_claim_fenced", campaign_id=campaign_id, reason=str(lost))
        return 0, 0
    if blocked:
        CALLS_FINISHED_BY_OUTCOME["stop_listed"].inc(blocked)
        deps.outbox_wakeup.set()
    if campaign is None or not calls:
        return 0, blocked
    if deps.telephony.background:
        # Real calls take real time: they go on while the scheduler serves other campaigns
        # (the part waits for them: its numbers stay `placing` until their results).
        # Each result is recorded (and counted by the breaker) as soon as its call ends.
        for call in calls:
            in_background(deps, campaign, call)
        return len(calls), blocked
    await place_and_record(deps, campaign, calls)
    return len(calls), blocked


def in_background(deps: Deps, campaign: Campaign, call: PlacedCall) -> None:
    deps.calls_in_progress.add(call.call_id)
    task = asyncio.create_task(place_and_record(deps, campaign, [call]))
    deps.calls.add(task)

    def done(task: asyncio.Task[None]) -> None:
        deps.calls.discard(task)
        deps.calls_in_progress.discard(call.call_id)

    task.add_done_callback(done)


async def place_and_record(deps: Deps, campaign: Campaign, calls: Sequence[PlacedCall]) -> None:
    try:
        await record(deps, campaign, await place(deps, campaign, calls))
    except Exception:
        if not deps.telephony.background:
            raise
        # Left `placing`: recovery resolves them (the SIP carrier knows their results).
        log.exception("calls_record_failed", call_ids=[c.call_id for c in calls])
