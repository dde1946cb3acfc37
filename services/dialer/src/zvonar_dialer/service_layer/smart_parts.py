"""Smart parts: when a part has a final result for every number, the next part re-dials the
numbers that did not answer, after `delay_minutes` of dialer time; cancelled parts are not
called; when no part is left the campaign is done.

A part goes waiting (delay) → starting (its numbers chosen, StartSmartPart sent) →
dialling (the campaign service recorded it) → FinishSmartPart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from zvonar_contracts import commands as cmd
from zvonar_contracts.call_events import NOT_ANSWERED_OUTCOMES
from zvonar_contracts.commands import CommandOk
from zvonar_dialer.domain import smart
from zvonar_dialer.domain.campaign import Campaign, part_cancelled, part_started
from zvonar_dialer.service_layer.commanding import Commander
from zvonar_dialer.service_layer.deps import Deps, update_campaign
from zvonar_dialer.service_layer.ports import Number, Tx


def mark_done(campaign: Campaign) -> None:
    campaign.part_state = "done"
    campaign.pending_part = None


async def finish_part(commander: Commander, campaign: Campaign) -> bool:
    """FinishSmartPart for a finished smart part (not the main pass, not a cancelled one)."""
    part = campaign.current_part
    if part == 0 or part_cancelled(campaign, part) or part in campaign.finished_parts:
        return True

    def finished(current: Campaign, _: CommandOk) -> None:
        current.finished_parts = sorted({*current.finished_parts, part})

    finish = cmd.FinishSmartPart(
        account_id=campaign.account_id, campaign_id=campaign.campaign_id, part=part
    )
    return await commander.send(campaign, finish, None, finished) is not None


async def part_done(deps: Deps, commander: Commander, campaign: Campaign, now: dt.datetime) -> None:
    if not await finish_part(commander, campaign):
        return
    cid, part = campaign.campaign_id, campaign.current_part
    following = smart.next_part(part, campaign.smart_parts, campaign.cancelled_parts)
    results = await deps.db.run(lambda tx: tx.part_results(cid, part))
    if following is None or not smart.redial((phone, out) for _, phone, _, out in results):
        await update_campaign(deps.db, cid, mark_done)
        return
    delay = dt.timedelta(
        minutes=campaign.options.smart.delay_minutes if campaign.options.smart else 0
    )
    due = now + delay

    def waiting(current: Campaign) -> None:
        current.part_state = "waiting"
        current.pending_part = following
        current.part_due_at = due

    updated = await update_campaign(deps.db, cid, waiting)
    if updated is not None and delay > dt.timedelta(0):
        await commander.report_idle(updated, "smart_part_delay", due)


def choose_numbers(campaign_id: int, previous: int, part: int) -> Callable[[Tx], None]:
    """The transaction that queues the numbers of `part` (those of `previous` that did not
    answer, in base order) before the part is announced — once, even if retried."""

    def work(tx: Tx) -> None:
        current = tx.load_campaign(campaign_id)
        if current is None or current.part_state != "waiting":
            return
        if not tx.has_numbers(campaign_id, part):
            again = [
                Number(seq, phone, tz)
                for seq, phone, tz, outcome in tx.part_results(campaign_id, previous)
                if outcome in NOT_ANSWERED_OUTCOMES
            ]
            tx.insert_numbers(campaign_id, part, again)
        current.part_state = "starting"
        tx.save_campaign(current)

    return work


async def wait_for_part(
    deps: Deps, commander: Commander, campaign: Campaign, now: dt.datetime
) -> None:
    pending = campaign.pending_part
    if pending is None or part_cancelled(campaign, pending):
        await update_campaign(deps.db, campaign.campaign_id, mark_done)
        return
    if campaign.part_due_at is not None and now < campaign.part_due_at:
        return
    cid = campaign.campaign_id
    await deps.db.run(choose_numbers(cid, campaign.current_part, pending))
    refreshed = await deps.db.run(lambda tx: tx.load_campaign(cid))
    if refreshed is not None and refreshed.part_state == "starting":
        await announce_part(deps, commander, refreshed, now)


async def announce_part(
    deps: Deps, commander: Commander, campaign: Campaign, now: dt.datetime
) -> None:
    """StartSmartPart: the campaign service gives the part its own row (and number)."""
    part = campaign.pending_part
    if part is None:
        return
    cid = campaign.campaign_id
    count = await deps.db.run(lambda tx: tx.count_numbers(cid, part))

    def started(current: Campaign, reply: CommandOk) -> None:
        part_id = reply.campaign.part_campaign_id if reply.campaign is not None else None
        part_started(current, part, part_id)
        current.next_call_at = now

    announce = cmd.StartSmartPart(
        account_id=campaign.account_id,
        campaign_id=cid,
        part=part,
        phone_count=count,
        started_at=now,
    )
    await commander.send(campaign, announce, None, started)
