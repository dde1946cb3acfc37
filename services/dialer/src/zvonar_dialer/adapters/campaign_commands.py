"""Commands to the campaign service: request-reply on `campaign.cmd.<Type>`."""

from __future__ import annotations

import msgspec
import structlog
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from zvonar_contracts.codec import decode_command_reply, encode, type_name
from zvonar_contracts.commands import CampaignCommand, CommandReply
from zvonar_contracts.subjects import campaign_command_subject
from zvonar_runtime.correlation import correlation_headers

log = structlog.get_logger("zvonar.dialer.commands")


class NatsCampaignCommands:
    def __init__(self, nc: Client, timeout: float = 2.0) -> None:
        self._nc = nc
        self._timeout = timeout

    async def send(self, command: CampaignCommand) -> CommandReply | None:
        subject = campaign_command_subject(type_name(command))
        try:
            msg = await self._nc.request(
                subject, encode(command), timeout=self._timeout, headers=correlation_headers()
            )
        except (TimeoutError, NatsTimeout, NoRespondersError):
            log.warning("campaign_command_unanswered", subject=subject)
            return None
        try:
            return decode_command_reply(msg.data)
        except msgspec.DecodeError:
            log.error("campaign_command_bad_reply", subject=subject, body=msg.data[:200])
            return None
