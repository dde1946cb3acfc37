"""The dialer's consumer of CAMPAIGN_EVENTS on the runtime's kit: a message no version of
the contract can read is parked (logged, counted) and the dialer's applied sequence moves
past it, so the campaigns after it still run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client
from prometheus_client import REGISTRY

from zvonar_contracts import commands as cmd
from zvonar_contracts.subjects import CAMPAIGN_EVENTS_STREAM, DIALER_CAMPAIGN_CONSUMER
from zvonar_devtools.natsserver import NatsServer
from zvonar_dialer.bootstrap import run_in_process
from zvonar_dialer.settings import DialerSettings

from .conftest import CampaignDouble, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A server of this test's own: the parked message reaches no other suite's consumer."""
    with NatsServer(tmp_path / "nats", log_file=tmp_path / "nats.log") as server:
        yield server.url


def parked(reason: str) -> float:
    labels = {"stream": CAMPAIGN_EVENTS_STREAM, "reason": reason}
    return REGISTRY.get_sample_value("zvonar_messages_parked_total", labels) or 0.0


async def test_an_unreadable_campaign_event_is_parked_and_the_next_campaign_runs(
    dialer_settings: DialerSettings, double: CampaignDouble, nc: Client
) -> None:
    settings = dialer_settings.model_copy(update={"database_url": None})
    before = parked("undecodable")
    ack = await nc.jetstream().publish(
        "campaign.events.1.Nonsense", b'{"type": "Nonsense"}', stream=CAMPAIGN_EVENTS_STREAM
    )
    async with run_in_process(settings) as dialer:
        campaign_id = await double.create(["+79161234500"], speed=3600)
        await wait_for(lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), what="finish")
        applied = await dialer.deps.db.run(lambda tx: tx.applied_sequence())
    assert applied > ack.seq
    assert parked("undecodable") == before + 1
    info = await nc.jetstream().consumer_info(CAMPAIGN_EVENTS_STREAM, DIALER_CAMPAIGN_CONSUMER)
    assert info.num_ack_pending == 0 and (info.num_redelivered or 0) == 0
