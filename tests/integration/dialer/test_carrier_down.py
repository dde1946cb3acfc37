"""The carrier down: after a few bursts it could not place, the dialer pauses its running
campaigns "by the system" (saying why), probes the carrier, and once it answers again
resolves the calls left unplaced and resumes the campaigns by itself — nobody rung twice.
The carrier gauges and the call counters of /metrics follow it."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from nats.aio.client import Client
from prometheus_client import REGISTRY

from zvonar_contracts import commands as cmd
from zvonar_contracts.options import Ivr
from zvonar_dialer.bootstrap import Dialer
from zvonar_dialer.service_layer.ports import CallRequest, CallResult, Telephony
from zvonar_runtime.db import Cursor

from .conftest import CampaignDouble, completed, wait_for

CARRIER = {"carrier": "simulated"}


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    value = REGISTRY.get_sample_value(name, labels or {})
    assert value is not None, name
    return value


def finished_total() -> float:
    outcomes = ("answered", "no_answer", "busy", "machine", "failed", "stop_listed")
    return sum(sample("zvonar_calls_finished_total", {"outcome": o}) for o in outcomes)


pytestmark = [pytest.mark.integration, pytest.mark.postgres]


class TrunkDown(ConnectionError):
    pass


class SwitchableCarrier:
    """A test double of the telephony port: the real simulated carrier behind a switch
    that makes every request fail, as a trunk that went away would."""

    def __init__(self, inner: Telephony) -> None:
        self.inner = inner
        self.down = False
        self.refused = 0
        self.background = inner.background
        self.channels_total = inner.channels_total

    def note_for(self, ivr: Ivr | None) -> str:
        return self.inner.note_for(ivr)

    def _check(self) -> None:
        if self.down:
            self.refused += 1
            raise TrunkDown("trunk unreachable")

    async def place_call(self, request: CallRequest) -> CallResult:
        self._check()
        return await self.inner.place_call(request)

    async def place_calls(self, requests: Sequence[CallRequest]) -> list[CallResult]:
        self._check()
        return await self.inner.place_calls(requests)

    async def result_of(self, call_id: str) -> CallResult | None:
        self._check()
        return await self.inner.result_of(call_id)


async def test_a_carrier_outage_pauses_by_the_system_and_resumes_when_it_answers(
    dialer: Dialer, double: CampaignDouble, nc: Client
) -> None:
    carrier = SwitchableCarrier(dialer.deps.telephony)
    assert await carrier.result_of("no-such-call") is None  # the carrier's table exists
    assert sample("zvonar_carrier_up", CARRIER) == 1
    placed_before, finished_before = sample("zvonar_calls_placed_total"), finished_total()
    carrier.down = True
    dialer.deps.telephony = carrier
    phones = [f"+791652345{n:02d}" for n in range(40)]
    campaign_id = await double.create(phones, speed=36_000)  # 10 calls a wall second

    await wait_for(lambda: bool(double.of(campaign_id, cmd.PauseCampaign)), what="system pause")
    pause = double.of(campaign_id, cmd.PauseCampaign)[0]
    assert pause.paused_by == "system"
    assert "Оператор связи недоступен" in pause.reason and "trunk unreachable" in pause.reason
    idle = double.of(campaign_id, cmd.ReportIdle)
    assert [c.reason for c in idle] == ["paused_by_system"]
    assert dialer.deps.carrier.down
    refused = carrier.refused
    assert refused >= dialer.deps.carrier.threshold
    assert sample("zvonar_carrier_up", CARRIER) == 0
    assert sample("zvonar_carrier_consecutive_failures", CARRIER) >= dialer.deps.carrier.threshold
    assert sample("zvonar_calls_placed_total") == placed_before

    def rung(cur: Cursor) -> list[tuple[str, int]]:
        cur.execute(
            "SELECT phone, requests FROM carrier_calls WHERE call_id LIKE ?", (f"{campaign_id}-%",)
        )
        return [(r[0], int(r[1])) for r in cur.fetchall()]

    assert await dialer.database.run(rung) == []  # the trunk placed nothing
    assert not double.of(campaign_id, cmd.ResumeCampaign)

    carrier.down = False  # back: the next probe (5 s after the trip) finds it
    await wait_for(
        lambda: bool(double.of(campaign_id, cmd.FinishCampaign)), timeout=30, what="finish"
    )
    resume = double.of(campaign_id, cmd.ResumeCampaign)
    assert [c.status for c in resume] == ["in_progress"]
    assert not dialer.deps.carrier.down
    assert sample("zvonar_carrier_up", CARRIER) == 1
    assert sample("zvonar_carrier_consecutive_failures", CARRIER) == 0
    assert sample("zvonar_calls_placed_total") - placed_before == len(phones)
    assert finished_total() - finished_before == len(phones)
    kinds = [type(c).__name__ for c in double.of(campaign_id)]
    assert kinds == [
        "StartCampaign",
        "ReportIdle",
        "PauseCampaign",
        "ResumeCampaign",
        "FinishCampaign",
    ]

    events = await completed(nc, campaign_id)
    assert sorted(e.phone for e in events) == phones  # one result per number
    calls = await dialer.database.run(rung)
    assert sorted(p for p, _ in calls) == phones
    assert all(requests == 1 for _, requests in calls)  # nobody rung twice
