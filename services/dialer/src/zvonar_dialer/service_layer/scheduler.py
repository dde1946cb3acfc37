"""The scheduler: each pass looks at every active campaign and does what is due by the
dialer's clock — prepare it, start it at its start time (never before), leave
or re-enter its calling window, dial the numbers whose turn came, run its smart parts,
finish it.

A campaign that cannot act before a known moment (its start, its
window's reopening, its next smart part) sleeps: it is not loaded again until that moment
by the dialer's clock, until news comes (a campaign event, partitions taken: the scheduler's
wakeup wakes every sleeper) or until RECHECK_SLEEPERS_S of wall time have passed. An idle
dialer with many campaigns scheduled for later then reads one list of ids a pass.

Decisions the campaign service records go as commands; the dialer's copy of the status is
updated from the reply (and again, idempotently, from the resulting event).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time

import structlog

from zvonar_contracts import commands as cmd
from zvonar_contracts.clock import start_is_ahead
from zvonar_contracts.commands import CommandOk
from zvonar_contracts.limits import MAX_REASON
from zvonar_contracts.options import CallingWindow, Status
from zvonar_dialer.domain import pacing
from zvonar_dialer.domain.campaign import Campaign, part_cancelled
from zvonar_dialer.domain.windows import is_open, next_open
from zvonar_dialer.service_layer import smart_parts
from zvonar_dialer.service_layer.commanding import RETRY_AFTER_S, Commander
from zvonar_dialer.service_layer.deps import Deps
from zvonar_dialer.service_layer.dialling import dial
from zvonar_dialer.service_layer.ports import Tx
from zvonar_dialer.service_layer.preparation import prepare
from zvonar_dialer.service_layer.recovery import resolve_placing
from zvonar_runtime.shutdown import raise_if_stopping

log = structlog.get_logger("zvonar.dialer.scheduler")
SWEEP_EVERY_S = 2.0
# A pass that has not ended after this long is cut short and logged with where it waited,
# so that one stuck wait cannot stop the dialer for every campaign.
PASS_TIMEOUT_S = 60.0
# Asked of the carrier while it is down: a call id no call has, so an answer (None) means
# the carrier is reachable again and nobody is rung.
PROBE_CALL_ID = "zvonar-carrier-probe"
# While catching up with the campaign stream at start: how often to look, and to say so.
CATCH_UP_POLL_S = 0.1
CATCH_UP_LOG_EVERY_S = 10.0
# A sleeping campaign is looked at again after this many wall seconds in any case.
RECHECK_SLEEPERS_S = 60.0
# While every campaign sleeps and no news came, the list of active campaigns is read again
# after this many wall seconds (news — a campaign created, resumed — reads it at once).
RECHECK_IDS_S = 1.0


class Scheduler:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.commander = Commander(deps)
        self._zones: dict[tuple[int, int], list[str]] = {}
        # Parts whose numbers met since the last call placed were all stop-listed.
        self._blocked_tail: set[tuple[int, int]] = set()
        # Campaigns this dialer paused for the carrier may wait for a resume (true at start:
        # a previous process may have paused some).
        self._resume_due = True
        # Campaigns that cannot act before a moment: id -> (that moment by the dialer's
        # clock, the monotonic time at which it is looked at again in any case).
        self._sleeping: dict[int, tuple[dt.datetime, float]] = {}
        # The active campaigns' ids as last read, and when, while they all sleep (else None).
        self._all_asleep: tuple[list[int], float] | None = None

    async def run(self) -> None:
        await self.catch_up()
        swept = -SWEEP_EVERY_S  # resolve what a previous process left placing, first of all
        while True:
            # A stop that a NATS request swallowed (3.11's wait_for) still stops us: each
            # round's own timeouts would otherwise turn it into a TimeoutError, for ever.
            raise_if_stopping()
            guard = asyncio.timeout(PASS_TIMEOUT_S)
            try:
                async with guard:
                    if time.monotonic() - swept > SWEEP_EVERY_S:
                        await resolve_placing(self.deps)
                        swept = time.monotonic()
                    await self.pass_once()
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is None or task.cancelling():
                    raise  # we are being stopped
                # A library cancelled something of ours without being asked: not a stop.
                log.exception("scheduler_pass_cancelled")
            except Exception as exc:
                if isinstance(exc, TimeoutError) and guard.expired():
                    # The pass itself ran over (not a timeout inside it, such as an
                    # unanswered NATS request): the traceback says which await never ended.
                    log.exception("scheduler_pass_stuck", seconds=PASS_TIMEOUT_S)
                else:  # the store or NATS away for a moment: keep going
                    log.exception("scheduler_pass_failed")
                    await asyncio.sleep(RETRY_AFTER_S)
            # asyncio.timeout, not wait_for: 3.11's wait_for returns the wait's result when a
            # stop comes as the wakeup is set, swallowing the stop (the scheduler ran on).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.deps.tick_seconds):
                    await self.deps.scheduler_wakeup.wait()
            if self.deps.scheduler_wakeup.is_set():
                self.wake_all()  # news: any campaign may have changed
            self.deps.scheduler_wakeup.clear()

    def wake_all(self) -> None:
        """Look at every campaign in the next pass (their copy may have changed)."""
        self._sleeping.clear()
        self._all_asleep = None

    def asleep(self, campaign_id: int, now: dt.datetime, monotonic: float) -> bool:
        entry = self._sleeping.get(campaign_id)
        if entry is None:
            return False
        until, recheck_at = entry
        if now < until and monotonic < recheck_at:
            return True
        del self._sleeping[campaign_id]
        return False

    async def catch_up(self) -> None:
        """Before the first pass (recovery included), apply every campaign event the stream
        holds: what was published while no dialer ran — a pause, a stop, a number put on a
        stop-list — so that nobody is dialled on a stale copy of a campaign or stop-list."""
        campaign_log = self.deps.campaign_log
        if campaign_log is None:
            return
        started = said = time.monotonic()
        while True:
            error = None
            try:
                behind = await campaign_log.behind()
            except Exception as exc:  # NATS away for a moment, the consumer not made yet
                behind, error = -1, repr(exc)
            raise_if_stopping()  # a stop that came as NATS answered (see run)
            if behind == 0:
                break
            if time.monotonic() - said >= CATCH_UP_LOG_EVERY_S:
                said = time.monotonic()
                waited = round(said - started, 1)
                log.warning("scheduler_catching_up", behind=behind, seconds=waited, error=error)
            await asyncio.sleep(CATCH_UP_POLL_S)
        log.info("scheduler_caught_up", seconds=round(time.monotonic() - started, 3))

    async def active_ids(self, monotonic: float) -> list[int]:
        """The active campaigns this dialer owns: read from the store, or, while every one
        of them sleeps and no news came, as read less than RECHECK_IDS_S ago."""
        if self._all_asleep is not None:
            ids, read_at = self._all_asleep
            if monotonic - read_at < RECHECK_IDS_S:
                return [cid for cid in ids if self.deps.ownership.owns(cid)]
        self._all_asleep = None
        ids = await self.deps.db.run(lambda tx: tx.active_campaign_ids())
        owned = [cid for cid in ids if self.deps.ownership.owns(cid)]  # other dialers' not
        self.forget_all_but(set(owned))
        return owned

    async def pass_once(self) -> None:
        monotonic = time.monotonic()
        ids = await self.active_ids(monotonic)
        if not await self.carrier_up(ids):
            return
        now = self.deps.clock.now()
        awake = [cid for cid in ids if not self.asleep(cid, now, monotonic)]
        outcomes = await asyncio.gather(*(self.tick(cid) for cid in awake), return_exceptions=True)
        recheck_at = monotonic + RECHECK_SLEEPERS_S
        for cid, outcome in zip(awake, outcomes, strict=True):
            if isinstance(outcome, Exception):
                log.error("campaign_tick_failed", campaign_id=cid, error=repr(outcome))
                self.commander.hold_back(cid)
            elif isinstance(outcome, dt.datetime):
                self._sleeping[cid] = (outcome, recheck_at)
        if self._all_asleep is None and all(cid in self._sleeping for cid in ids):
            self._all_asleep = (ids, monotonic)

    # --- one campaign -------------------------------------------------------------------
    def forget_all_but(self, active: set[int]) -> None:
        """Drop what is kept in memory for campaigns that are over (or paused)."""
        for key in [k for k in self._zones if k[0] not in active]:
            del self._zones[key]
        self._blocked_tail = {k for k in self._blocked_tail if k[0] in active}
        self._sleeping = {k: v for k, v in self._sleeping.items() if k in active}
        self.deps.messages.keep_only(active)

    async def tick(self, campaign_id: int) -> dt.datetime | None:
        """Do what is due for one campaign; the moment (dialer's clock) before which it has
        nothing to do, if there is one."""
        if self.commander.held_back(campaign_id):
            return None
        campaign = await self.deps.db.run(lambda tx: tx.load_campaign(campaign_id))
        if campaign is None or not campaign.active:
            return None
        now = self.deps.clock.now()
        if not (campaign.loaded and campaign.message_ready):
            # At once, also for a campaign that starts years ahead: its customer listens to
            # the message before the start (the page's listen dialog plays this copy).
            await self.prepare(campaign)
            if campaign.status == Status.SCHEDULED and start_is_ahead(campaign.start_at, now):
                return campaign.start_at  # ready: nothing more to do before the start
        elif campaign.status in (Status.ACCEPTED, Status.SCHEDULED):
            if campaign.status == Status.SCHEDULED and start_is_ahead(campaign.start_at, now):
                return campaign.start_at
            await self.start(campaign, now)
        elif campaign.part_state == "waiting":
            due = campaign.part_due_at
            pending = campaign.pending_part
            if (
                pending is not None
                and not part_cancelled(campaign, pending)
                and due is not None
                and now < due
            ):
                return due  # (a part cancelled later comes as an event, which wakes it)
            await smart_parts.wait_for_part(self.deps, self.commander, campaign, now)
        elif campaign.part_state == "starting":
            await smart_parts.announce_part(self.deps, self.commander, campaign, now)
        elif campaign.part_state == "done":
            finish = cmd.FinishCampaign(account_id=campaign.account_id, campaign_id=campaign_id)
            await self.commander.send(campaign, finish, Status.FINISHED)
        else:
            return await self.run_part(campaign, now)
        return None

    async def prepare(self, campaign: Campaign) -> None:
        reason = await prepare(self.deps, campaign)
        if reason is not None:
            failure = cmd.FailCampaign(
                account_id=campaign.account_id,
                campaign_id=campaign.campaign_id,
                reason=reason[:MAX_REASON],
            )
            await self.commander.send(campaign, failure, Status.ERROR)

    async def start(self, campaign: Campaign, now: dt.datetime) -> None:
        if campaign.status == Status.SCHEDULED and start_is_ahead(campaign.start_at, now):
            return

        def from_now(current: Campaign, _: CommandOk) -> None:
            current.next_call_at = now

        # What the carrier cannot do for the campaign (IVR words over SIP with no
        # recognizer) becomes its system comment, once, with the start.
        note = self.deps.telephony.note_for(campaign.options.ivr)
        started = cmd.StartCampaign(
            account_id=campaign.account_id,
            campaign_id=campaign.campaign_id,
            started_at=now,
            note=note[:MAX_REASON],
        )
        await self.commander.send(campaign, started, Status.IN_PROGRESS, from_now)

    async def queued_zones(self, campaign: Campaign, *, fresh: bool = False) -> list[str]:
        """The zones whose numbers still wait in the current part (maybe a stale superset
        when read by callee time: reading them means a scan of the part, so it is cached
        until a burst finds nothing to dial)."""
        cid, part = campaign.campaign_id, campaign.current_part
        window = campaign.options.window
        if window is None or window.tz == "account":
            queued = await self.deps.db.run(lambda tx: tx.has_state(cid, part, "queued"))
            return [campaign.account_tz] if queued else []
        if fresh or (cid, part) not in self._zones:
            zones = await self.deps.db.run(lambda tx: tx.queued_timezones(cid, part))
            self._zones[(cid, part)] = zones
        return self._zones[(cid, part)]

    async def run_part(self, campaign: Campaign, now: dt.datetime) -> dt.datetime | None:
        """Dial what is due; when the campaign waits outside its window, when it reopens."""
        cid, part = campaign.campaign_id, campaign.current_part
        zones = await self.queued_zones(campaign)
        if not zones:
            placing = await self.deps.db.run(lambda tx: tx.has_state(cid, part, "placing"))
            if placing:
                return None
            if campaign.status == Status.PAUSED_WINDOW:
                await self.reenter_window(campaign, now)
                return None
            if (cid, part) in self._blocked_tail:
                # Every number left was on the stop-list: the part ends with nobody rung.
                await self.commander.report_idle(campaign, "all_stop_listed", None)
                self._blocked_tail.discard((cid, part))
            await smart_parts.part_done(self.deps, self.commander, campaign, now)
            return None
        window = campaign.options.window
        open_zones = [tz for tz in zones if window is None or is_open(window, tz, now)]
        if not open_zones:
            if campaign.status == Status.PAUSED_WINDOW and window is not None:
                # Out of its window already: nothing to do before a zone's window reopens
                # (the zones may be a stale superset: it wakes early at worst).
                return reopening(window, zones, now)
            await self.leave_window(campaign, await self.queued_zones(campaign, fresh=True), now)
            return None
        if campaign.status == Status.PAUSED_WINDOW:
            fresh = await self.queued_zones(campaign, fresh=True)  # no resume for a stale zone
            if any(window is None or is_open(window, tz, now) for tz in fresh):
                await self.reenter_window(campaign, now)
            return None
        # A second of wall time late is still on time; older slots are not caught up.
        horizon = dt.timedelta(seconds=max(1.0, self.deps.tick_seconds) * self.deps.clock.scale)
        slots = pacing.due_slots(
            campaign.next_call_at or now,
            now,
            campaign.options.speed,
            self.deps.max_burst,
            horizon,
        )
        if not slots:
            return None
        channels = self.deps.telephony.channels_total
        if channels is not None:  # a real carrier: no more calls than free lines
            free = channels - len(self.deps.calls_in_progress)
            if free <= 0:
                await self.commander.report_idle(campaign, "no_free_channel", None)
                return None
            slots = slots[:free]
        called, blocked = await dial(self.deps, cid, part, slots, open_zones, now)
        if called:
            self._blocked_tail.discard((cid, part))
        elif blocked:
            self._blocked_tail.add((cid, part))
        else:
            self._zones.pop((cid, part), None)  # the open zones ran dry: read them again
        return None

    # --- calling window -------------------------------------------------------------------
    async def leave_window(self, campaign: Campaign, zones: list[str], now: dt.datetime) -> None:
        if campaign.status != Status.IN_PROGRESS or campaign.options.window is None:
            return
        window = campaign.options.window
        reopenings = [t for t in (next_open(window, tz, now) for tz in zones) if t is not None]
        reopens_at = min(reopenings) if reopenings else None
        await self.commander.report_idle(campaign, "window_closed", reopens_at)
        out = cmd.MarkOutOfWindow(
            account_id=campaign.account_id, campaign_id=campaign.campaign_id, reopens_at=reopens_at
        )
        await self.commander.send(campaign, out, Status.PAUSED_WINDOW)

    async def reenter_window(self, campaign: Campaign, now: dt.datetime) -> None:
        def from_now(current: Campaign, _: CommandOk) -> None:
            current.next_call_at = now
            current.idle_reported = ""

        resume = cmd.ResumeCampaign(
            account_id=campaign.account_id,
            campaign_id=campaign.campaign_id,
            status=Status.IN_PROGRESS,
        )
        await self.commander.send(campaign, resume, Status.IN_PROGRESS, from_now)

    # --- the carrier down ---------------------------------------------------------------
    async def carrier_up(self, ids: list[int]) -> bool:
        """While the carrier is down: probe it now and then, and pause the running campaigns
        by the system (nothing else is started or dialled). Once it answers again, resume
        what was paused for it. True when the pass may go on."""
        carrier = self.deps.carrier
        if carrier.down and carrier.probe_due(time.monotonic()):
            await self.probe()
        if carrier.down:
            self._resume_due = True
            for campaign_id in ids:
                if not self.commander.held_back(campaign_id):
                    await self.pause_for_carrier(campaign_id)
            return False
        if self._resume_due:
            self._resume_due = not await self.resume_after_carrier()
        return True

    async def probe(self) -> None:
        carrier = self.deps.carrier
        try:
            await self.deps.telephony.result_of(PROBE_CALL_ID)
        except Exception as exc:
            carrier.failed(exc, time.monotonic())
            log.warning(
                "carrier_probe_failed",
                error=carrier.last_error,
                next_probe_in_s=carrier.probe_every_s,
            )
            return
        if carrier.answered():
            log.info("carrier_up")

    async def pause_for_carrier(self, campaign_id: int) -> None:
        campaign = await self.deps.db.run(lambda tx: tx.load_campaign(campaign_id))
        if campaign is None or campaign.status != Status.IN_PROGRESS:
            return

        def paused_here(current: Campaign, _: CommandOk) -> None:
            current.system_paused = True

        await self.commander.report_idle(campaign, "paused_by_system", None)
        reason = f"Оператор связи недоступен ({self.deps.carrier.last_error})"
        pause = cmd.PauseCampaign(
            account_id=campaign.account_id,
            campaign_id=campaign_id,
            paused_by="system",
            reason=reason[:MAX_REASON],
        )
        await self.commander.send(campaign, pause, Status.PAUSED, paused_here)

    async def resume_after_carrier(self) -> bool:
        """Resume every campaign paused for the carrier; False if one must be tried again."""
        done = True
        for campaign_id in await self.deps.db.run(lambda tx: tx.paused_campaign_ids()):
            done = await self.resume_one(campaign_id) and done
        return done

    async def resume_one(self, campaign_id: int) -> bool:
        campaign = await self.deps.db.run(lambda tx: tx.load_campaign(campaign_id))
        if campaign is None or not campaign.system_paused:
            return True
        if self.commander.held_back(campaign_id):
            return False
        now = self.deps.clock.now()
        target = await self.deps.db.run(lambda tx: placement_of(tx, campaign_id, now))

        def resumed(current: Campaign, _: CommandOk) -> None:
            current.system_paused = False
            current.next_call_at = now
            current.idle_reported = ""

        resume = cmd.ResumeCampaign(
            account_id=campaign.account_id, campaign_id=campaign_id, status=target
        )
        return await self.commander.send(campaign, resume, target, resumed) is not None


def reopening(window: CallingWindow, zones: list[str], now: dt.datetime) -> dt.datetime | None:
    """The first moment after `now` at which the window opens in one of `zones`."""
    times = [t for t in (next_open(window, tz, now) for tz in zones) if t is not None]
    return min(times) if times else None


def placement_of(tx: Tx, campaign_id: int, now: dt.datetime) -> Status:
    """Where a campaign paused by this dialer belongs when the carrier is back: scheduled
    while its start time is ahead, paused_window while every zone it still has numbers in
    is outside its window. (A customer's resume is recorded scheduled or in_progress by the
    campaign service, by the same start rule; a pass then marks it out of its window.)"""
    campaign = tx.load_campaign(campaign_id)
    if campaign is None:
        return Status.IN_PROGRESS
    if start_is_ahead(campaign.start_at, now):
        return Status.SCHEDULED
    window = campaign.options.window
    if window is None or campaign.part_state != "dialling":
        return Status.IN_PROGRESS
    zones = tx.queued_timezones(campaign.campaign_id, campaign.current_part)
    if zones and not any(is_open(window, tz, now) for tz in zones):
        return Status.PAUSED_WINDOW
    return Status.IN_PROGRESS
