"""The eventsourcing application that stores Campaign and StopList aggregates.

Its environment is built explicitly from the service settings (SQLite file by default,
PostgreSQL schema `campaign` when DATABASE_URL is set). Stored events are readable JSON; the
correlation id of the command that caused an event is stored with it, so the relay can put
it back in the NATS header.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit
from uuid import UUID

import msgspec
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import (
    Mapper,
    StoredEvent,
    Transcoder,
    Transcoding,
)
from eventsourcing.utils import get_topic

from zvonar_campaign.domain.campaign import Campaign, SmartPart
from zvonar_campaign.domain.events import PAYLOAD, payload_type
from zvonar_campaign.domain.stop_list import StopList
from zvonar_contracts.options import CampaignOptions, PhoneBaseRef, Status

POSTGRES_SCHEMA = "campaign"
DB_FUNCTIONS_KEYS = ("POSTGRES_ENABLE_DB_FUNCTIONS", "CAMPAIGNS_POSTGRES_ENABLE_DB_FUNCTIONS")
_CORRELATION_KEY = "_correlation_id"
# eventsourcing's own keys of a stored event; every other key is a field of the payload.
_EVENT_KEYS = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic"})
_correlation: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "stored_event_correlation", default=None
)


@contextlib.contextmanager
def stored_with_correlation(correlation_id: str | None) -> Iterator[None]:
    """Events saved inside this block carry `correlation_id`."""
    token = _correlation.set(correlation_id)
    try:
        yield
    finally:
        _correlation.reset(token)


class StructTranscoding(Transcoding):
    """A msgspec Struct in an event or snapshot, stored as its plain JSON form."""

    def __init__(self, type_: type[msgspec.Struct], name: str) -> None:
        self.type = type_
        self.name = name

    def encode(self, obj: Any) -> Any:
        return msgspec.to_builtins(obj)

    def decode(self, data: Any) -> Any:
        return msgspec.convert(data, self.type)


class CorrelationMapper(Mapper[UUID]):
    """Stores each event flat: eventsourcing's keys, then the fields of the contract struct
    it carries (its `payload`), as events were stored before they carried one, so every
    stored event loads whichever code stored it, and code from before loads these. The
    payload's `at` is the event's timestamp; `schema_version` is stored when it is not 1."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        event_state = dict(vars(domain_event))
        payload = event_state.pop(PAYLOAD, None)
        if isinstance(payload, msgspec.Struct):
            event_state.update(_stored_fields(payload))
        originator_id = event_state.pop("originator_id")
        originator_version = event_state.pop("originator_version")
        correlation_id = _correlation.get()
        if correlation_id:
            event_state[_CORRELATION_KEY] = correlation_id
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(domain_event.__class__),
            state=self.transcoder.encode(event_state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        domain_event = super().to_domain_event(stored_event)
        state = vars(domain_event)
        state.pop(_CORRELATION_KEY, None)
        contract = payload_type(type(domain_event))
        if contract is not None:
            fields = {key: state.pop(key) for key in list(state) if key not in _EVENT_KEYS}
            state[PAYLOAD] = _payload(contract, state["timestamp"], fields)
        return domain_event

    def correlation_of(self, stored_event: StoredEvent) -> str | None:
        value = self.transcoder.decode(stored_event.state).get(_CORRELATION_KEY)
        return value if isinstance(value, str) else None


def _stored_fields(payload: msgspec.Struct) -> dict[str, Any]:
    fields = msgspec.structs.asdict(payload)  # nested structs and times stay objects
    del fields["at"]  # the event's timestamp
    if fields.get("schema_version") == 1:
        del fields["schema_version"]
    return fields


def _payload(contract: type[msgspec.Struct], at: Any, fields: dict[str, Any]) -> Any:
    if fields.get("status") is not None:
        fields["status"] = Status(fields["status"])  # JSON keeps the value only
    try:
        return contract(at=at, **fields)
    except TypeError as exc:  # a field this code does not know (stored by newer code)
        raise ValueError(f"stored {contract.__name__} does not fit its contract: {exc}") from exc


class Campaigns(Application[UUID]):
    name = "campaigns"
    # Campaigns have few events (the phone base is a reference), but a long-lived one or an
    # account's stop-list can grow; a snapshot bounds what a load replays.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Campaign: 50, StopList: 20}

    def construct_mapper(self) -> Mapper[UUID]:
        return CorrelationMapper(transcoder=self.construct_transcoder())

    def register_transcodings(self, transcoder: Transcoder) -> None:
        super().register_transcodings(transcoder)  # type: ignore[arg-type]
        transcoder.register(StructTranscoding(CampaignOptions, "campaign_options"))  # type: ignore[attr-defined]
        transcoder.register(StructTranscoding(PhoneBaseRef, "phone_base_ref"))  # type: ignore[attr-defined]
        transcoder.register(StructTranscoding(SmartPart, "smart_part"))  # type: ignore[attr-defined]

    @property
    def correlation_mapper(self) -> CorrelationMapper:
        assert isinstance(self.mapper, CorrelationMapper)
        return self.mapper

    def max_position(self) -> int:
        return self.recorder.max_notification_id() or 0


class StoredAggregates:
    """The service layer's `EventStore` port on the eventsourcing application."""

    def __init__(self, app: Campaigns) -> None:
        self.app = app

    def load(self, aggregate_id: UUID) -> Any:
        return self.app.repository.get(aggregate_id)

    def save(self, *aggregates: Aggregate) -> int | None:
        recordings = self.app.save(*aggregates)
        return recordings[-1].notification.id if recordings else None

    def max_position(self) -> int:
        return self.app.max_position()

    def correlated(self, correlation_id: str | None) -> contextlib.AbstractContextManager[None]:
        return stored_with_correlation(correlation_id)


def eventstore_env(
    database_url: str | None, sqlite_path: Path, pool_size: int = 4
) -> dict[str, str]:
    """The eventsourcing environment for these settings (never read from os.environ)."""
    if not database_url:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(sqlite_path),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    url = urlsplit(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_SCHEMA": POSTGRES_SCHEMA,
        # Saves serialise on the events table lock anyway; a small pool spares the server.
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_LOCK_TIMEOUT": "10",
        # Each insert takes the events table lock, so ids commit in their order. With
        # database functions there is no lock: a reader (the relay) could see id 3 before
        # id 2 commits and skip id 2 for ever. eventsourcing also reads os.environ, under
        # the plain and the application-prefixed name: both are pinned here.
        **{key: "n" for key in DB_FUNCTIONS_KEYS},
    }
