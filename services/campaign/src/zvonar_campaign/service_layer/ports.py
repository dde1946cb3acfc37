"""What the service layer needs from the world outside it: the Protocols it owns, which the
adapters implement (adapters/eventstore.py, adapters/tables.py, the dialer's clock reader)
and bootstrap.py wires. Nothing here imports an adapter.

The event store's refusals are eventsourcing's own (the aggregates are eventsourcing
aggregates): `load` raises `AggregateNotFoundError` for an unknown id, `save` raises
`IntegrityError` when another writer stored a version first.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from typing import Any, Protocol
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate


class DialerClock(Protocol):
    def now(self) -> dt.datetime:
        """The dialer's time (start times follow it), computed locally from the origin the
        dialer publishes (zvonar_runtime.dialer_clock.ClockReader): never a request."""
        ...


class EventStore(Protocol):
    """The Campaign and StopList aggregates, stored as their events. Blocking calls: the
    service layer makes them in a worker thread."""

    def load(self, aggregate_id: UUID) -> Any:
        """The aggregate with this id as its events leave it (AggregateNotFoundError)."""
        ...

    def save(self, *aggregates: Aggregate) -> int | None:
        """Stores the aggregates' new events in one transaction; the log position of the
        last one, None if there were none (IntegrityError: another writer was first)."""
        ...

    def max_position(self) -> int:
        """The position of the last event in the log (0 for none)."""
        ...

    def correlated(self, correlation_id: str | None) -> AbstractContextManager[None]:
        """Events saved inside this block carry the command's correlation id."""
        ...


class IdempotencyKey(msgspec.Struct, frozen=True):
    campaign_id: int
    request_hash: str
    fresh: bool  # True: this request reserved the key; False: an earlier request holds it


class CampaignTables(Protocol):
    """The service's own rows beside the event store. Blocking calls."""

    def next_number_sync(self) -> int:
        """A campaign number never handed out before, whatever the number of instances."""
        ...

    def find_key_sync(self, account_id: str, key: str) -> IdempotencyKey | None:
        """Who holds this Idempotency-Key (None: nobody, or it expired)."""
        ...

    def reserve_key_sync(
        self, account_id: str, key: str, request_hash: str, campaign_id: int
    ) -> IdempotencyKey:
        """Claims the key for `campaign_id`, or returns who holds it (a concurrent twin)."""
        ...
