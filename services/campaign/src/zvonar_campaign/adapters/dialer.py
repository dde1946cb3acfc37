"""Questions the campaign service asks the dialer over request-reply: its clock and where a
paused campaign belongs. Each has a fallback when the dialer does not answer within 1 s."""

from __future__ import annotations

import datetime as dt

import structlog
from nats.aio.client import Client
from nats.errors import NoRespondersError, TimeoutError

from zvonar_contracts.codec import decode, encode, type_name
from zvonar_contracts.dialer import ClockReply, GetClock, GetPlacement, PlacementReply
from zvonar_contracts.options import Status
from zvonar_contracts.subjects import dialer_request_subject
from zvonar_runtime.correlation import correlation_headers

log = structlog.get_logger("zvonar.campaign.dialer")
TIMEOUT_SECONDS = 1.0


class NatsDialer:
    def __init__(self, nc: Client, timeout: float = TIMEOUT_SECONDS) -> None:
        self.nc = nc
        self.timeout = timeout

    async def clock(self) -> dt.datetime:
        request = GetClock()
        try:
            msg = await self.nc.request(
                dialer_request_subject(type_name(request)),
                encode(request),
                timeout=self.timeout,
                headers=correlation_headers(),
            )
            return decode(msg.data, ClockReply).now
        except (TimeoutError, NoRespondersError):
            log.warning("dialer_clock_unanswered", fallback="wall clock")
            return dt.datetime.now(dt.UTC)

    async def placement(self, campaign_id: int) -> Status:
        request = GetPlacement(campaign_id=campaign_id)
        try:
            msg = await self.nc.request(
                dialer_request_subject(type_name(request)),
                encode(request),
                timeout=self.timeout,
                headers=correlation_headers(),
            )
            return decode(msg.data, PlacementReply).status
        except (TimeoutError, NoRespondersError):
            log.warning(
                "dialer_placement_unanswered",
                campaign_id=campaign_id,
                fallback=Status.IN_PROGRESS.value,
            )
            return Status.IN_PROGRESS
