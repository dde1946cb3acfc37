"""The moderation handler with fakes for its ports: one decision per campaign, and the
campaign service's refusals understood."""

from __future__ import annotations

import datetime as dt

import pytest

from zvonar_contracts.campaign_events import CampaignCreated
from zvonar_contracts.commands import (
    CampaignState,
    CommandError,
    CommandOk,
    CommandReply,
    ErrorCode,
    ModerateCampaign,
)
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, Status, TtsAudio
from zvonar_moderation.adapters.morphology import pymorphy_lemmatizer
from zvonar_moderation.adapters.rules_file import RulesFile, default_rules_path
from zvonar_moderation.domain.verdict import Verdict
from zvonar_moderation.entrypoints.consumer import MAX_RETRY_DELAY, created_spec
from zvonar_moderation.service_layer.handlers import Dependencies, moderate_new_campaign
from zvonar_moderation.service_layer.ports import CampaignServiceUnavailable


class FakeCampaignService:
    def __init__(self, error: ErrorCode | None = None, unavailable: bool = False) -> None:
        self.sent: list[ModerateCampaign] = []
        self.error = error
        self.unavailable = unavailable

    async def moderate(self, command: ModerateCampaign) -> CommandReply:
        if self.unavailable:
            raise CampaignServiceUnavailable("no responders")
        self.sent.append(command)
        if self.error:
            return CommandError(code=self.error, message=self.error)
        state = CampaignState(
            campaign_id=command.campaign_id, account_id="acc_1", status=Status(command.decision)
        )
        return CommandOk(position=len(self.sent), campaign=state)


class FakeDecisionStore:
    def __init__(self) -> None:
        self.rows: dict[int, tuple[Verdict, str]] = {}

    async def is_decided(self, campaign_id: int) -> bool:
        return campaign_id in self.rows

    async def record(self, campaign_id: int, verdict: Verdict, outcome: str) -> None:
        self.rows.setdefault(campaign_id, (verdict, outcome))


@pytest.fixture(scope="module")
def rules() -> RulesFile:
    return RulesFile(default_rules_path(), pymorphy_lemmatizer())


def created(campaign_id: int, text: str) -> CampaignCreated:
    return CampaignCreated(
        campaign_id=campaign_id,
        account_id="acc_1",
        at=dt.datetime(2026, 6, 1, tzinfo=dt.UTC),
        options=CampaignOptions(name="Июнь", audio=TtsAudio(text=text)),
        phones=PhoneBaseRef(bucket="phone-bases", name="ab", count=1, sha256="ab"),
        account_tz="Europe/Moscow",
    )


async def test_a_decision_is_sent_by_the_rules_and_recorded(rules: RulesFile) -> None:
    campaign, store = FakeCampaignService(), FakeDecisionStore()
    deps = Dependencies(rules=rules, decisions=store, campaign=campaign)
    assert await moderate_new_campaign(created(1000001, "Казино!"), deps) == "decided"
    [command] = campaign.sent
    assert (command.decision, command.decided_by) == ("rejected", "rules")
    assert command.account_id == "acc_1"  # the campaign's account, from its event
    assert "азартные игры" in command.reason
    assert store.rows[1000001][1] == "decided"


async def test_a_redelivered_event_sends_nothing_twice(rules: RulesFile) -> None:
    campaign, store = FakeCampaignService(), FakeDecisionStore()
    deps = Dependencies(rules=rules, decisions=store, campaign=campaign)
    await moderate_new_campaign(created(1000002, "Привет"), deps)
    assert await moderate_new_campaign(created(1000002, "Привет"), deps) == "duplicate"
    assert [c.decision for c in campaign.sent] == ["accepted"]


async def test_an_invalid_transition_means_already_decided(rules: RulesFile) -> None:
    campaign, store = FakeCampaignService(error="invalid_transition"), FakeDecisionStore()
    deps = Dependencies(rules=rules, decisions=store, campaign=campaign)
    assert await moderate_new_campaign(created(1000003, "Кредит"), deps) == "already_decided"
    assert store.rows[1000003][1] == "already_decided"


async def test_an_unknown_campaign_is_recorded_as_refused(rules: RulesFile) -> None:
    campaign, store = FakeCampaignService(error="not_found"), FakeDecisionStore()
    deps = Dependencies(rules=rules, decisions=store, campaign=campaign)
    assert await moderate_new_campaign(created(1000004, "Привет"), deps) == "refused"


@pytest.mark.parametrize(
    "service", [FakeCampaignService(unavailable=True), FakeCampaignService(error="conflict")]
)
async def test_an_unanswered_or_conflicting_command_is_retried_later(
    rules: RulesFile, service: FakeCampaignService
) -> None:
    store = FakeDecisionStore()
    deps = Dependencies(rules=rules, decisions=store, campaign=service)
    with pytest.raises(CampaignServiceUnavailable):
        await moderate_new_campaign(created(1000005, "Привет"), deps)
    assert store.rows == {}


def test_redelivery_backs_off_up_to_a_ceiling() -> None:
    spec = created_spec("moderation-created", retry_delay=0.5)
    delays = [spec.backoff(delivered) for delivered in range(1, 9)]
    assert delays[:4] == [0.5, 1.0, 2.0, 4.0]
    assert max(delays) == MAX_RETRY_DELAY
    assert delays == sorted(delays)
