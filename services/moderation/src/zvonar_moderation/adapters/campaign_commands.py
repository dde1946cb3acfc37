"""The campaign service's command port over NATS request-reply (`campaign.cmd.<Type>`)."""

from __future__ import annotations

import msgspec
from nats.aio.client import Client
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from zvonar_contracts.codec import decode_command_reply, encode, type_name
from zvonar_contracts.commands import CommandReply, ModerateCampaign
from zvonar_contracts.subjects import campaign_command_subject
from zvonar_moderation.service_layer.ports import CampaignServiceUnavailable
from zvonar_runtime.correlation import correlation_headers


class NatsCampaignCommands:
    def __init__(self, nc: Client, timeout: float = 2.0) -> None:
        self.nc = nc
        self.timeout = timeout

    async def moderate(self, command: ModerateCampaign) -> CommandReply:
        subject = campaign_command_subject(type_name(command))
        try:
            msg = await self.nc.request(
                subject, encode(command), timeout=self.timeout, headers=correlation_headers()
            )
        except (NatsTimeout, NoRespondersError, TimeoutError) as exc:
            raise CampaignServiceUnavailable(f"no answer on {subject}: {exc!r}") from exc
        try:
            return decode_command_reply(msg.data)
        except msgspec.DecodeError as exc:
            raise CampaignServiceUnavailable(f"unreadable reply on {subject}: {exc}") from exc
