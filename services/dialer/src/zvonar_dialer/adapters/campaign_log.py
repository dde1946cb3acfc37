"""How far the dialer's durable consumer of CAMPAIGN_EVENTS is behind the stream."""

from __future__ import annotations

from nats.js import JetStreamContext

from zvonar_contracts.subjects import CAMPAIGN_EVENTS_STREAM, DIALER_CAMPAIGN_CONSUMER


class JetStreamCampaignLog:
    """The consumer's own figures, from the server (a message is acknowledged after its
    transaction commits). The mark is the stream's last sequence when first asked: events
    published later do not keep a busy stream from ever counting as caught up."""

    def __init__(self, js: JetStreamContext) -> None:
        self._js = js
        self._mark: int | None = None

    async def behind(self) -> int:
        """Campaign events up to the mark not yet applied to the dialer's store (0: none)."""
        if self._mark is None:
            self._mark = (await self._js.stream_info(CAMPAIGN_EVENTS_STREAM)).state.last_seq
        info = await self._js.consumer_info(CAMPAIGN_EVENTS_STREAM, DIALER_CAMPAIGN_CONSUMER)
        pending = (info.num_pending or 0) + (info.num_ack_pending or 0)
        if pending == 0 or (info.ack_floor is not None and info.ack_floor.stream_seq >= self._mark):
            return 0
        return pending
