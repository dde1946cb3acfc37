"""Handlers: a new campaign gets the rules' verdict, sent to the campaign service once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import structlog

from zvonar_contracts.campaign_events import CampaignCreated
from zvonar_contracts.commands import CommandError, CommandOk, CommandReply, ModerateCampaign
from zvonar_moderation.domain.verdict import Verdict, judge
from zvonar_moderation.service_layer.ports import (
    CampaignService,
    CampaignServiceUnavailable,
    DecisionStore,
    Rules,
)

log = structlog.get_logger("zvonar.moderation")

ModerationResult = Literal["decided", "already_decided", "refused", "duplicate"]


@dataclass(frozen=True)
class Dependencies:
    rules: Rules
    decisions: DecisionStore
    campaign: CampaignService


async def moderate_new_campaign(event: CampaignCreated, deps: Dependencies) -> ModerationResult:
    if await deps.decisions.is_decided(event.campaign_id):
        log.info("moderation_duplicate", campaign_id=event.campaign_id)
        return "duplicate"
    verdict = judge(event.options, deps.rules.matcher())
    command = ModerateCampaign(
        account_id=event.account_id,
        campaign_id=event.campaign_id,
        decision=verdict.decision,
        decided_by="rules",
        reason=verdict.reason,
    )
    outcome = _outcome(await deps.campaign.moderate(command), event.campaign_id)
    await deps.decisions.record(event.campaign_id, verdict, outcome)
    _log_decision(event, verdict, outcome)
    return outcome


def _outcome(reply: CommandReply, campaign_id: int) -> ModerationResult:
    if isinstance(reply, CommandOk):
        return "decided"
    assert isinstance(reply, CommandError)
    # Decided before (a redelivery after a crash between sending and recording): done.
    if reply.code == "invalid_transition":
        return "already_decided"
    # A concurrent write on the same campaign: worth another try.
    if reply.code == "conflict":
        raise CampaignServiceUnavailable(f"campaign {campaign_id}: {reply.message}")
    # not_found / validation will not change on a retry; record them and move on.
    log.error("moderation_refused", campaign_id=campaign_id, code=reply.code, message=reply.message)
    return "refused"


def _log_decision(event: CampaignCreated, verdict: Verdict, outcome: ModerationResult) -> None:
    log.info(
        "campaign_moderated",
        campaign_id=event.campaign_id,
        account_id=event.account_id,
        decision=verdict.decision,
        topic=verdict.topic,
        reason=verdict.reason,
        outcome=outcome,
    )
