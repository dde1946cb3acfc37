"""The relay: follows the notification log and publishes every stored event to the
CAMPAIGN_EVENTS stream, then records how far it got.

Each event goes out with `Nats-Msg-Id: cl-<notification id>`, and the position is recorded
only after JetStream acknowledged the batch, so a crash in between republishes events the
stream's dedupe window drops. A batch is published without waiting for each ack in turn
(`publish_async`, then one wait for all the acks): the messages leave on one connection in
notification order and the server stores them in the order it reads them, so the stream keeps
the log's order while a batch costs one round trip instead of one per event.

Notification ids may have gaps (rolled-back inserts): the relay reads "everything after my
position", never "position + 1". It wakes on a nudge from a command handled in-process, on a
PostgreSQL NOTIFY, or at the latest after a short poll.

A stored event it cannot publish — one that would exceed the server's max payload (which
would make nats-server close the connection every service shares), or one it cannot read —
is parked: a row in `relay_parked`, an `event_parked` log line, a count in
`zvonar_messages_parked_total`; the relay goes on with the next position, so one account's
event never stops the relay for the others, after a restart neither.

Two relays (two command processes, or `zvonar-campaign relay` twice) are safe: with a
`RelayLease` only the holder of the lease publishes, renewing it (a revision-checked update,
the fence) before each batch; the other waits as a standby and takes over, from the recorded
position, when the holder's lease expires (adapters/relay_lease.py). The position only ever
moves forward, so a holder that lost the lease mid-batch cannot move it back.

How far behind the log it is shows in `zvonar_relay_behind_events` (the last notification id
minus its position): 0 once a read finds nothing more; after a full batch, or a batch that
failed (NATS down), one `max(id)` query says how much is left.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import structlog
from eventsourcing.persistence import Notification
from nats.js import JetStreamContext

from zvonar_campaign.adapters.eventstore import Campaigns
from zvonar_campaign.adapters.relay_lease import RELAY_DUPLICATES, LeaseLost, RelayLease
from zvonar_campaign.adapters.tables import Tables
from zvonar_campaign.domain.wire import to_wire
from zvonar_campaign.metrics import RELAY_BEHIND, RELAY_PUBLISHED
from zvonar_contracts import subjects
from zvonar_contracts.campaign_events import StopListEventBase
from zvonar_contracts.codec import encode, type_name
from zvonar_runtime.correlation import correlation_scope
from zvonar_runtime.metrics import MESSAGES_PARKED
from zvonar_runtime.payload import MessageTooLarge, check_fits
from zvonar_runtime.shutdown import raise_if_stopping

log = structlog.get_logger("zvonar.campaign.relay")


class Relay:
    def __init__(
        self,
        app: Campaigns,
        tables: Tables,
        js: JetStreamContext,
        *,
        poll_interval: float = 0.05,
        batch_size: int = 200,
        record_delay: float = 0.0,
        listen: Callable[[Callable[[], None]], Coroutine[Any, Any, None]] | None = None,
        lease: RelayLease | None = None,
    ) -> None:
        self.app = app
        self.tables = tables
        self.js = js
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        # Fault-injection aid: widens the gap between publish and record (tests only).
        self.record_delay = record_delay
        # PostgreSQL: a LISTEN on the recorder's channel wakes the relay on every commit.
        self.listen = listen
        # None: this relay publishes alone, without asking anyone (a single-relay test).
        self.lease = lease
        self.wakeup = asyncio.Event()
        self.nudges = 0
        self.position = 0

    def nudge(self) -> None:
        """Called when events were stored (in this process, or NOTIFY): relay them now."""
        self.nudges += 1
        self.wakeup.set()

    async def run(self) -> None:
        listener = asyncio.create_task(self.listen(self.nudge)) if self.listen else None
        try:
            while True:
                if self.lease is not None:
                    await self.lease.acquire()
                try:
                    await self._follow()
                except LeaseLost:
                    # Another relay is active now: wait as a standby, which is behind nothing.
                    RELAY_BEHIND.set(0)
        finally:
            if self.lease is not None:
                with contextlib.suppress(Exception):  # NATS may be gone: it expires anyway
                    await asyncio.shield(self.lease.release())
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    async def _follow(self) -> None:
        self.position = await self.tables.relay_position()
        log.info("relay_started", position=self.position, listening=self.listen is not None)
        while True:
            # A stop lost inside a library's wait_for (3.11) still stops the relay.
            raise_if_stopping()
            try:
                if await self.relay_once() == 0:
                    await self._idle()
                    if self.lease is not None:
                        await self.lease.keep()
            except (asyncio.CancelledError, KeyboardInterrupt, LeaseLost):
                raise
            except Exception:
                log.exception("relay_failed", position=self.position)
                await self._measure_behind()
                await asyncio.sleep(0.5)

    async def relay_once(self) -> int:
        notifications = await asyncio.to_thread(self._select, self.position)
        if not notifications:
            RELAY_BEHIND.set(0)
            return 0
        if self.lease is not None:
            await self.lease.fence()  # still the active relay (LeaseLost if not), renewed
        await self._publish_batch(notifications)
        if self.record_delay:
            await asyncio.sleep(self.record_delay)
        self.position = notifications[-1].id
        await self.tables.record_relay_position(self.position)
        RELAY_PUBLISHED.inc(len(notifications))
        if len(notifications) < self.batch_size:
            RELAY_BEHIND.set(0)  # the read found all there was: caught up with it
        else:
            await self._measure_behind()
        return len(notifications)

    async def _measure_behind(self) -> None:
        """The last notification id in the store minus the position (the store may be
        down too: then the gauge keeps its last value)."""
        try:
            last = await asyncio.to_thread(self.app.recorder.max_notification_id)
        except Exception as exc:
            log.debug("relay_behind_unknown", error=repr(exc))
            return
        RELAY_BEHIND.set(max(0, (last or 0) - self.position))

    def _select(self, position: int) -> Sequence[Notification]:
        return self.app.recorder.select_notifications(
            start=position, limit=self.batch_size, inclusive_of_start=False
        )

    async def _publish_batch(self, notifications: Sequence[Notification]) -> None:
        """Publishes every event of the batch and waits for all their acks (5 s at most);
        raises if any was refused or not acknowledged, so the position is not recorded."""
        acks: list[asyncio.Future[Any]] = []
        try:
            for notification in notifications:
                ack = await self._publish(notification)
                if ack is not None:
                    acks.append(ack)
            if acks:
                answers = await asyncio.wait_for(asyncio.gather(*acks), timeout=5.0)
                dropped = sum(1 for answer in answers if getattr(answer, "duplicate", False))
                if dropped:
                    # Published before by a relay that died (or lost its lease) before it
                    # recorded its position: the stream's duplicate window dropped them.
                    RELAY_DUPLICATES.inc(dropped)
                    log.info(
                        "relay_duplicates_dropped",
                        count=dropped,
                        first=notifications[0].id,
                        last=notifications[-1].id,
                    )
        finally:
            # A failure or timeout leaves acks nobody waits for: give their slots back.
            for ack in acks:
                ack.cancel()

    async def _publish(self, notification: Notification) -> asyncio.Future[Any] | None:
        mapper = self.app.correlation_mapper
        correlation_id: str | None = None
        try:
            # Pure conversion of what is stored (no I/O): a failure here is the event's own.
            correlation_id = mapper.correlation_of(notification)
            event = to_wire(mapper.to_domain_event(notification))
            if event is None:
                return None
            payload = encode(event)
        except Exception as exc:
            await self._park(
                notification,
                notification.topic,
                len(notification.state),
                "unreadable",
                repr(exc)[:1000],
                correlation_id,
            )
            return None
        if isinstance(event, StopListEventBase):
            subject = subjects.stop_list_event_subject(event.account_id, type_name(event))
        else:
            subject = subjects.campaign_event_subject(event.campaign_id, type_name(event))
        headers = {
            subjects.MSG_ID_HEADER: f"cl-{notification.id}",
            subjects.POSITION_HEADER: str(notification.id),
        }
        if correlation_id:
            headers[subjects.CORRELATION_HEADER] = correlation_id
        try:
            check_fits(self.js._nc, subject, payload, headers)
        except MessageTooLarge as exc:
            await self._park(
                notification, type_name(event), exc.size, "too_large", str(exc), correlation_id
            )
            return None
        return await self.js.publish_async(
            subject,
            payload,
            wait_stall=5.0,
            stream=subjects.CAMPAIGN_EVENTS_STREAM,
            headers=headers,
        )

    async def _park(
        self,
        notification: Notification,
        event_type: str,
        size: int,
        kind: str,
        detail: str,
        correlation_id: str | None,
    ) -> None:
        """Sets aside a stored event that cannot be published; the position moves past it
        with the rest of its batch. Parking it again (a batch retried) records nothing."""
        reason = f"{kind}: {detail}"
        if not await self.tables.park_event(notification.id, event_type, size, reason):
            return
        MESSAGES_PARKED.labels(subjects.CAMPAIGN_EVENTS_STREAM, kind).inc()
        with correlation_scope(correlation_id):
            log.error(
                "event_parked",
                position=notification.id,
                event_type=event_type,
                size=size,
                reason=reason,
            )

    async def _idle(self) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for drops a cancellation that comes in
        # the same turn as the wake-up, and the relay would never stop.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.poll_interval):
                await self.wakeup.wait()
        self.wakeup.clear()
