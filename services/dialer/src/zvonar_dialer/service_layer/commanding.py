"""Asking the campaign service to record a decision, and taking its answer into the dialer's
copy of the campaign. A refused or unanswered command holds the campaign back for a moment
(the resulting event, if any, puts the copy right meanwhile)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import structlog

from zvonar_contracts import commands as cmd
from zvonar_contracts.campaign_events import IdleReason
from zvonar_contracts.commands import CommandOk
from zvonar_contracts.options import Status
from zvonar_dialer.domain.campaign import Campaign, set_status
from zvonar_dialer.service_layer.deps import Deps, update_campaign

log = structlog.get_logger("zvonar.dialer.commands")
RETRY_AFTER_S = 1.0  # wall seconds before a campaign whose command failed is looked at again

Change = Callable[[Campaign, CommandOk], None]


class Commander:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._retry_at: dict[int, float] = {}

    def held_back(self, campaign_id: int) -> bool:
        return self._retry_at.get(campaign_id, 0.0) > time.monotonic()

    def hold_back(self, campaign_id: int) -> None:
        self._retry_at[campaign_id] = time.monotonic() + RETRY_AFTER_S

    async def send(
        self,
        campaign: Campaign,
        command: cmd.CampaignCommand,
        expect: Status | None = None,
        change: Change | None = None,
    ) -> CommandOk | None:
        """Send `command`; on success the campaign takes the reply's status (else `expect`)
        and `change` is applied to it, in one transaction."""
        reply = await self.deps.commands.send(command)
        if not isinstance(reply, CommandOk):
            log.warning(
                "campaign_command_not_done",
                campaign_id=campaign.campaign_id,
                command=type(command).__name__,
                reply=repr(reply),
            )
            self.hold_back(campaign.campaign_id)
            return None

        def apply(current: Campaign) -> None:
            status = reply.campaign.status if reply.campaign is not None else expect
            if status is not None:
                set_status(current, status, reply.position)
            if change is not None:
                change(current, reply)

        await update_campaign(self.deps.db, campaign.campaign_id, apply)
        return reply

    async def report_idle(
        self, campaign: Campaign, reason: IdleReason, until: dt.datetime | None
    ) -> None:
        """Tell the customer why a running campaign makes no calls (once per stretch)."""
        if campaign.idle_reported == reason:
            return

        def reported(current: Campaign, _: CommandOk) -> None:
            current.idle_reported = reason

        idle = cmd.ReportIdle(
            account_id=campaign.account_id,
            campaign_id=campaign.campaign_id,
            reason=reason,
            until=until,
        )
        await self.send(campaign, idle, None, reported)
