"""A dialer died after it claimed a burst (its calls `placing`, nobody rung yet). While it
was down the customer paused the campaign, or put the claimed numbers on the stop-list —
behind a backlog of other campaign events. The dialer that starts next first applies what
the campaign stream holds, then re-checks each call before it would place it again: nobody
is rung who may not be."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from nats.aio.client import Client

from tests.reliability.invariants import carrier_rings
from zvonar_contracts import campaign_events as ev
from zvonar_contracts.options import Ivr
from zvonar_dialer.adapters import store
from zvonar_dialer.bootstrap import Dialer, run_in_process
from zvonar_dialer.service_layer.ports import CallRequest, CallResult, PlacedCall
from zvonar_dialer.settings import DialerSettings

from .conftest import CampaignDouble, completed, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

PHONES = [f"+7916423450{d}" for d in range(5)]
BACKLOG = 300  # campaign events published while the dialer is down, before the change


class CarrierNeverReached:
    """A test double of the telephony port for the dialer that dies: a burst handed to it
    never reaches a carrier (the process dies first), so nobody is rung."""

    background = False  # a burst is awaited, as the simulated carrier's is
    channels_total = None

    def __init__(self) -> None:
        self.taken: list[CallRequest] = []

    def note_for(self, ivr: Ivr | None) -> str:
        return ""

    async def place_call(self, request: CallRequest) -> CallResult:
        (result,) = await self.place_calls([request])
        return result

    async def place_calls(self, requests: Sequence[CallRequest]) -> list[CallResult]:
        self.taken.extend(requests)
        await asyncio.Event().wait()  # until the dialer is stopped
        raise AssertionError("never answers")

    async def result_of(self, call_id: str) -> CallResult | None:
        return None


async def claimed_then_died(
    settings: DialerSettings, double: CampaignDouble
) -> tuple[int, list[PlacedCall]]:
    carrier = CarrierNeverReached()
    async with run_in_process(settings, telephony=carrier) as dialer:
        campaign_id = await double.create(PHONES, speed=3600)
        await wait_for(lambda: bool(carrier.taken), 30, "a burst handed to the carrier")
        claimed = await dialer.database.run(store.placing_calls)
    assert [c.call_id for c in claimed] == [r.call_id for r in carrier.taken]
    return campaign_id, claimed


async def publish_backlog(double: CampaignDouble) -> None:
    for n in range(BACKLOG):
        listed = [f"+7999{n:07d}"]
        await double.publish(
            ev.StopListPhonesAdded(account_id="acc_other", at=double.now(), phones=listed)
        )


async def nothing_placing(dialer: Dialer) -> bool:
    return not await dialer.database.run(store.placing_calls)


async def test_a_campaign_paused_while_the_dialer_was_down_gets_no_call_after_the_restart(
    dialer_settings: DialerSettings, double: CampaignDouble, pg_url: str
) -> None:
    campaign_id, claimed = await claimed_then_died(dialer_settings, double)
    await publish_backlog(double)
    await double.event(campaign_id, ev.CampaignPaused, paused_by="customer")

    async with run_in_process(dialer_settings) as dialer:
        await wait_for(lambda: nothing_placing(dialer), 60, "recovery")
        queued = await dialer.database.run(
            lambda cur: store.has_state(cur, campaign_id, 0, "queued")
        )

    assert claimed
    assert carrier_rings(pg_url) == {}
    assert queued  # back in the queue: dialled at their turn if the campaign is resumed


async def test_numbers_stop_listed_while_the_dialer_was_down_are_not_rung_after_the_restart(
    dialer_settings: DialerSettings, double: CampaignDouble, nc: Client, pg_url: str
) -> None:
    campaign_id, claimed = await claimed_then_died(dialer_settings, double)
    await publish_backlog(double)
    listed = [c.phone for c in claimed]
    await double.publish(
        ev.StopListPhonesAdded(account_id=double.account_id, at=double.now(), phones=listed)
    )

    async with run_in_process(dialer_settings):

        async def all_final() -> bool:
            return len(await completed(nc, campaign_id)) == len(PHONES)

        await wait_for(all_final, 60, "every number's result")

    outcomes = {e.phone: e.outcome for e in await completed(nc, campaign_id)}
    assert claimed
    assert {phone: outcomes[phone] for phone in listed} == dict.fromkeys(listed, "stop_listed")
    rung = {phone for _, phone, _ in carrier_rings(pg_url)}
    assert rung == set(PHONES) - set(listed)
