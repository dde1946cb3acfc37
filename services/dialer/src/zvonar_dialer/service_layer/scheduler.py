"""The scheduler: each pass looks at every active campaign and does what is due by the
dialer's clock — prepare it, start it at its start time (never before), leave or re-enter
its calling window, dial the numbers whose turn came, run its smart parts, finish it.

Decisions the campaign service records go as commands; the dialer's copy of the status is
updated from the reply (and again, idempotently, from the resulting event).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import Callable

import structlog

from zvonar_contracts import commands as cmd
from zvonar_contracts.commands import CommandOk
from zvonar_contracts.options import Status
from zvonar_dialer.adapters import store
from zvonar_dialer.domain import pacing, smart
from zvonar_dialer.domain.campaign import Campaign, part_cancelled, part_started, set_status
from zvonar_dialer.domain.windows import is_open, next_open
from zvonar_dialer.service_layer.deps import Deps, update_campaign
from zvonar_dialer.service_layer.dialling import dial
from zvonar_dialer.service_layer.preparation import prepare
from zvonar_dialer.service_layer.recovery import resolve_placing
from zvonar_runtime.db import Cursor

log = structlog.get_logger(__name__)
RETRY_AFTER_S = 1.0  # wall seconds before a refused or unanswered command is tried again
SWEEP_EVERY_S = 2.0


class Scheduler:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._retry_at: dict[int, float] = {}
        self._zones: dict[tuple[int, int], list[str]] = {}

    async def run(self) -> None:
        await resolve_placing(self.deps)
        swept = time.monotonic()
        while True:
            await self.pass_once()
            if time.monotonic() - swept > SWEEP_EVERY_S:
                await resolve_placing(self.deps)
                swept = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.deps.scheduler_wakeup.wait(), self.deps.tick_seconds)
            self.deps.scheduler_wakeup.clear()

    async def pass_once(self) -> None:
        ids = await self.deps.db.run(store.active_campaign_ids)
        outcomes = await asyncio.gather(*(self.tick(cid) for cid in ids), return_exceptions=True)
        for cid, outcome in zip(ids, outcomes, strict=True):
            if isinstance(outcome, Exception):
                log.error("campaign.tick_failed", campaign_id=cid, error=repr(outcome))
                self._retry_at[cid] = time.monotonic() + RETRY_AFTER_S

    # --- commands -----------------------------------------------------------------------
    async def command(
        self,
        campaign: Campaign,
        command: cmd.CampaignCommand,
        expect: Status | None = None,
        change: Callable[[Campaign, CommandOk], None] | None = None,
    ) -> CommandOk | None:
        reply = await self.deps.commands.send(command)
        if not isinstance(reply, CommandOk):
            log.warning(
                "campaign.command_not_done",
                campaign_id=campaign.campaign_id,
                command=type(command).__name__,
                reply=repr(reply),
            )
            self._retry_at[campaign.campaign_id] = time.monotonic() + RETRY_AFTER_S
            return None

        def apply(current: Campaign) -> None:
            status = reply.campaign.status if reply.campaign is not None else expect
            if status is not None:
                set_status(current, status, reply.position)
            if change is not None:
                change(current, reply)

        await update_campaign(self.deps.db, campaign.campaign_id, apply)
        return reply

    # --- one campaign -------------------------------------------------------------------
    async def tick(self, campaign_id: int) -> None:
        if self._retry_at.get(campaign_id, 0.0) > time.monotonic():
            return
        campaign = await self.deps.db.run(lambda cur: store.load_campaign(cur, campaign_id))
        if campaign is None or not campaign.active:
            return
        now = self.deps.clock.now()
        if not (campaign.loaded and campaign.message_ready):
            await self.prepare(campaign)
        elif campaign.status in (Status.ACCEPTED, Status.SCHEDULED):
            await self.start(campaign, now)
        elif campaign.part_state == "waiting":
            await self.wait_for_part(campaign, now)
        elif campaign.part_state == "starting":
            await self.announce_part(campaign, now)
        elif campaign.part_state == "done":
            await self.command(
                campaign, cmd.FinishCampaign(campaign_id=campaign_id), Status.FINISHED
            )
        else:
            await self.run_part(campaign, now)

    async def prepare(self, campaign: Campaign) -> None:
        reason = await prepare(self.deps, campaign)
        if reason is not None:
            failure = cmd.FailCampaign(campaign_id=campaign.campaign_id, reason=reason)
            await self.command(campaign, failure, Status.ERROR)

    async def start(self, campaign: Campaign, now: dt.datetime) -> None:
        if campaign.status == Status.SCHEDULED and campaign.start_at and now < campaign.start_at:
            return

        def from_now(current: Campaign, _: CommandOk) -> None:
            current.next_call_at = now

        started = cmd.StartCampaign(campaign_id=campaign.campaign_id, started_at=now)
        await self.command(campaign, started, Status.IN_PROGRESS, from_now)

    async def queued_zones(self, campaign: Campaign, *, fresh: bool = False) -> list[str]:
        """The zones whose numbers still wait in the current part (maybe a stale superset
        when read by callee time: reading them means a scan of the part, so it is cached
        until a burst finds nothing to dial)."""
        cid, part = campaign.campaign_id, campaign.current_part
        window = campaign.options.window
        if window is None or window.tz == "account":
            queued = await self.deps.db.run(lambda cur: store.has_state(cur, cid, part, "queued"))
            return [campaign.account_tz] if queued else []
        if fresh or (cid, part) not in self._zones:
            zones = await self.deps.db.run(lambda cur: store.queued_timezones(cur, cid, part))
            self._zones[(cid, part)] = zones
        return self._zones[(cid, part)]

    async def run_part(self, campaign: Campaign, now: dt.datetime) -> None:
        cid, part = campaign.campaign_id, campaign.current_part
        zones = await self.queued_zones(campaign)
        if not zones:
            placing = await self.deps.db.run(lambda cur: store.has_state(cur, cid, part, "placing"))
            if placing:
                return
            if campaign.status == Status.PAUSED_WINDOW:
                await self.reenter_window(campaign, now)
            else:
                await self.part_done(campaign, now)
            return
        window = campaign.options.window
        open_zones = [tz for tz in zones if window is None or is_open(window, tz, now)]
        if not open_zones:
            await self.leave_window(campaign, await self.queued_zones(campaign, fresh=True), now)
            return
        if campaign.status == Status.PAUSED_WINDOW:
            await self.reenter_window(campaign, now)
            return
        # A second of wall time late is still on time; older slots are not caught up.
        horizon = dt.timedelta(seconds=max(1.0, self.deps.tick_seconds) * self.deps.clock.scale)
        slots = pacing.due_slots(
            campaign.next_call_at or now,
            now,
            campaign.options.speed,
            self.deps.max_burst,
            horizon,
        )
        if slots and not await dial(self.deps, cid, part, slots, open_zones, now):
            self._zones.pop((cid, part), None)  # the open zones ran dry: read them again

    # --- calling window -------------------------------------------------------------------
    async def leave_window(self, campaign: Campaign, zones: list[str], now: dt.datetime) -> None:
        if campaign.status != Status.IN_PROGRESS or campaign.options.window is None:
            return
        window = campaign.options.window
        reopenings = [t for t in (next_open(window, tz, now) for tz in zones) if t is not None]
        reopens_at = min(reopenings) if reopenings else None
        await self.report_idle(campaign, "window_closed", reopens_at)
        out = cmd.MarkOutOfWindow(campaign_id=campaign.campaign_id, reopens_at=reopens_at)
        await self.command(campaign, out, Status.PAUSED_WINDOW)

    async def reenter_window(self, campaign: Campaign, now: dt.datetime) -> None:
        def from_now(current: Campaign, _: CommandOk) -> None:
            current.next_call_at = now
            current.idle_reported = ""

        resume = cmd.ResumeCampaign(campaign_id=campaign.campaign_id, status=Status.IN_PROGRESS)
        await self.command(campaign, resume, Status.IN_PROGRESS, from_now)

    async def report_idle(
        self, campaign: Campaign, reason: cmd.IdleReason, until: dt.datetime | None
    ) -> None:
        if campaign.idle_reported == reason:
            return

        def reported(current: Campaign, _: CommandOk) -> None:
            current.idle_reported = reason

        idle = cmd.ReportIdle(campaign_id=campaign.campaign_id, reason=reason, until=until)
        await self.command(campaign, idle, None, reported)

    # --- smart parts --------------------------------------------------------------------
    async def part_done(self, campaign: Campaign, now: dt.datetime) -> None:
        cid, part = campaign.campaign_id, campaign.current_part
        if part > 0 and not part_cancelled(campaign, part) and part not in campaign.finished_parts:

            def finished(current: Campaign, _: CommandOk) -> None:
                current.finished_parts = sorted({*current.finished_parts, part})

            if (
                await self.command(
                    campaign, cmd.FinishSmartPart(campaign_id=cid, part=part), None, finished
                )
                is None
            ):
                return
        following = smart.next_part(part, campaign.smart_parts, campaign.cancelled_parts)
        results = await self.deps.db.run(lambda cur: store.part_results(cur, cid, part))
        redial = smart.redial((phone, outcome) for _, phone, _, outcome in results)
        if following is None or not redial:
            await update_campaign(self.deps.db, cid, _mark_done)
            return
        delay = dt.timedelta(
            minutes=campaign.options.smart.delay_minutes if campaign.options.smart else 0
        )
        due = now + delay

        def waiting(current: Campaign) -> None:
            current.part_state = "waiting"
            current.pending_part = following
            current.part_due_at = due

        updated = await update_campaign(self.deps.db, cid, waiting)
        if updated is not None and delay > dt.timedelta(0):
            await self.report_idle(updated, "smart_part_delay", due)

    async def wait_for_part(self, campaign: Campaign, now: dt.datetime) -> None:
        pending = campaign.pending_part
        if pending is None or part_cancelled(campaign, pending):
            await update_campaign(self.deps.db, campaign.campaign_id, _mark_done)
            return
        if campaign.part_due_at is not None and now < campaign.part_due_at:
            return
        cid, previous = campaign.campaign_id, campaign.current_part

        def choose(cur: Cursor) -> None:
            current = store.load_campaign(cur, cid)
            if current is None or current.part_state != "waiting":
                return
            if not store.has_numbers(cur, cid, pending):
                results = store.part_results(cur, cid, previous)
                again = [
                    store.Number(seq, phone, tz)
                    for seq, phone, tz, outcome in results
                    if smart.redial([(phone, outcome)])
                ]
                store.insert_numbers(cur, cid, pending, again)
            current.part_state = "starting"
            store.save_campaign(cur, current)

        await self.deps.db.run(choose)
        refreshed = await self.deps.db.run(lambda cur: store.load_campaign(cur, cid))
        if refreshed is not None and refreshed.part_state == "starting":
            await self.announce_part(refreshed, now)

    async def announce_part(self, campaign: Campaign, now: dt.datetime) -> None:
        part = campaign.pending_part
        if part is None:
            return
        cid = campaign.campaign_id
        count = await self.deps.db.run(lambda cur: store.count_numbers(cur, cid, part))

        def started(current: Campaign, reply: CommandOk) -> None:
            part_id = reply.campaign.part_campaign_id if reply.campaign is not None else None
            part_started(current, part, part_id)
            current.next_call_at = now

        announce = cmd.StartSmartPart(campaign_id=cid, part=part, phone_count=count)
        await self.command(campaign, announce, None, started)


def _mark_done(campaign: Campaign) -> None:
    campaign.part_state = "done"
    campaign.pending_part = None
