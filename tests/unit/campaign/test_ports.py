"""The service layer depends on the ports it owns, not on adapters: the import directions
hold, and the command handlers run on in-memory fakes of the ports given to `bootstrap`
(no database, no NATS)."""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

import zvonar_campaign
from zvonar_campaign.bootstrap import bootstrap
from zvonar_campaign.domain.ids import FIRST_CAMPAIGN_ID
from zvonar_campaign.service_layer.messagebus import handle
from zvonar_campaign.service_layer.ports import IdempotencyKey
from zvonar_campaign.settings import CampaignSettings
from zvonar_contracts import commands as c
from zvonar_contracts.commands import CommandOk
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, Status, TtsAudio

PACKAGE = Path(zvonar_campaign.__file__).parent
NOW = dt.datetime(2026, 6, 17, 10, 0, tzinfo=dt.UTC)
# What each layer may not import: inward only, and no I/O framework inside.
FORBIDDEN = {
    "domain": ("zvonar_campaign.service_layer", "zvonar_campaign.adapters", "nats", "psycopg"),
    "service_layer": (
        "zvonar_campaign.adapters",
        "zvonar_campaign.entrypoints",
        "zvonar_campaign.bootstrap",
        "nats",
        "faststream",
        "psycopg",
    ),
    "adapters": ("zvonar_campaign.entrypoints", "zvonar_campaign.bootstrap"),
}
FORBIDDEN["domain"] += FORBIDDEN["service_layer"]


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_inward(layer: str) -> None:
    modules = sorted((PACKAGE / layer).glob("*.py"))
    assert modules
    wrong = [
        f"{path.name} imports {name}"
        for path in modules
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer])
    ]
    assert wrong == []


class MemoryEvents:
    """The EventStore port in memory: an aggregate is loaded by replaying its events."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, str | None]] = []
        self._correlation: str | None = None

    def load(self, aggregate_id: UUID) -> Any:
        aggregate = None
        for event, _ in self.log:
            if event.originator_id == aggregate_id:
                aggregate = event.mutate(aggregate)
        if aggregate is None:
            raise AggregateNotFoundError(aggregate_id)
        return aggregate

    def save(self, *aggregates: Aggregate) -> int | None:
        new = [event for aggregate in aggregates for event in aggregate.collect_events()]
        self.log += [(event, self._correlation) for event in new]
        return len(self.log) if new else None

    def max_position(self) -> int:
        return len(self.log)

    @contextlib.contextmanager
    def correlated(self, correlation_id: str | None) -> Iterator[None]:
        self._correlation = correlation_id
        try:
            yield
        finally:
            self._correlation = None


class MemoryTables:
    def __init__(self) -> None:
        self.number = FIRST_CAMPAIGN_ID - 1
        self.keys: dict[tuple[str, str], IdempotencyKey] = {}

    def next_number_sync(self) -> int:
        self.number += 1
        return self.number

    def find_key_sync(self, account_id: str, key: str) -> IdempotencyKey | None:
        return self.keys.get((account_id, key))

    def reserve_key_sync(
        self, account_id: str, key: str, request_hash: str, campaign_id: int
    ) -> IdempotencyKey:
        held = self.keys.get((account_id, key))
        if held is not None:
            return held
        self.keys[(account_id, key)] = IdempotencyKey(campaign_id, request_hash, fresh=False)
        return IdempotencyKey(campaign_id, request_hash, fresh=True)


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW


async def test_commands_run_on_fakes_of_the_ports() -> None:
    events, tables = MemoryEvents(), MemoryTables()
    settings = CampaignSettings(relay=False, database_url="postgresql://nowhere.invalid/x")
    service = bootstrap(settings, clock=FixedClock(), events=events, tables=tables)
    assert service.store is None  # nothing was opened: the fakes are the ports
    options = CampaignOptions(
        name="Акция", audio=TtsAudio(text="Алло"), start_at=NOW + dt.timedelta(hours=1)
    )
    phones = PhoneBaseRef(bucket="phone-bases", name="f" * 64, count=1, sha256="f" * 64)
    create = c.CreateCampaign(
        account_id="acc_1",
        account_tz="UTC",
        options=options,
        phones=phones,
        idempotency_key="k1",
        request_hash="h",
    )
    created = await handle(create, service.deps)
    replayed = await handle(create, service.deps)
    assert isinstance(created, CommandOk) and isinstance(replayed, CommandOk)
    assert created.campaign is not None and replayed.campaign is not None
    assert created.campaign.campaign_id == replayed.campaign.campaign_id == FIRST_CAMPAIGN_ID
    assert replayed.campaign.replayed and len(events.log) == 1
    accept = c.ModerateCampaign(
        account_id="acc_1", campaign_id=FIRST_CAMPAIGN_ID, decision="accepted", decided_by="rules"
    )
    moderated = await handle(accept, service.deps)
    # The start is an hour ahead of the fixed clock: scheduled.
    assert isinstance(moderated, CommandOk) and moderated.campaign is not None
    assert moderated.campaign.status is Status.SCHEDULED
    assert moderated.position == len(events.log) == 3  # created, moderated, scheduled
