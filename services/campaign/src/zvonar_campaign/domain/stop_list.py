"""The StopList aggregate: one per account, the numbers never to be called. Its events carry
their contract structs (`payload`), as the Campaign's do; `Created` only opens the list and
is no contract event."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from zvonar_campaign.domain.errors import ValidationFailed
from zvonar_campaign.domain.events import payload_type
from zvonar_campaign.domain.ids import stop_list_uuid
from zvonar_campaign.domain.validation import is_e164
from zvonar_contracts import campaign_events as w


class StopList(Aggregate):
    class Created(Aggregate.Created):
        account_id: str

    class PhonesAdded(Aggregate.Event):
        payload: w.StopListPhonesAdded  # the contract struct: the one declaration of its fields

        def apply(self, aggregate: Any) -> None:
            aggregate.phones = sorted(set(aggregate.phones) | set(self.payload.phones))

    class PhonesRemoved(Aggregate.Event):
        payload: w.StopListPhonesRemoved

        def apply(self, aggregate: Any) -> None:
            aggregate.phones = sorted(set(aggregate.phones) - set(self.payload.phones))

    @staticmethod
    def create_id(account_id: str, **_: Any) -> UUID:
        return stop_list_uuid(account_id)

    @event(Created)
    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        # A sorted list rather than a set: it survives a snapshot as JSON.
        self.phones: list[str] = []

    def add(self, phones: list[str]) -> None:
        """Records only the numbers not already listed; nothing new records nothing."""
        listed = set(self.phones)
        new = _dedupe(p for p in _checked(phones) if p not in listed)
        if new:
            self._record(self.PhonesAdded, new)

    def remove(self, phones: list[str]) -> None:
        listed = set(self.phones)
        gone = _dedupe(p for p in _checked(phones) if p in listed)
        if gone:
            self._record(self.PhonesRemoved, gone)

    def _record(self, event_class: type[Aggregate.Event], phones: list[str]) -> None:
        contract = payload_type(event_class)
        assert contract is not None, event_class
        at = event_class.create_timestamp()
        payload = contract(account_id=self.account_id, at=at, phones=phones)
        self.trigger_event(event_class, timestamp=at, payload=payload)


def _checked(phones: list[str]) -> list[str]:
    if not phones:
        raise ValidationFailed("phones", "at least one phone number is required")
    for phone in phones:
        if not is_e164(phone):
            raise ValidationFailed("phones", f"{phone!r} is not an E.164 number")
    return phones


def _dedupe(phones: Any) -> list[str]:
    return list(dict.fromkeys(phones))
