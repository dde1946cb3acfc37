"""The StopList aggregate: one per account, the numbers never to be called."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from zvonar_campaign.domain.errors import ValidationFailed
from zvonar_campaign.domain.ids import stop_list_uuid
from zvonar_campaign.domain.validation import is_e164


class StopList(Aggregate):
    class Created(Aggregate.Created):
        account_id: str

    class PhonesAdded(Aggregate.Event):
        account_id: str
        phones: list[str]

        def apply(self, aggregate: Any) -> None:
            aggregate.phones = sorted(set(aggregate.phones) | set(self.phones))

    class PhonesRemoved(Aggregate.Event):
        account_id: str
        phones: list[str]

        def apply(self, aggregate: Any) -> None:
            aggregate.phones = sorted(set(aggregate.phones) - set(self.phones))

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
            self.trigger_event(self.PhonesAdded, account_id=self.account_id, phones=new)

    def remove(self, phones: list[str]) -> None:
        listed = set(self.phones)
        gone = _dedupe(p for p in _checked(phones) if p in listed)
        if gone:
            self.trigger_event(self.PhonesRemoved, account_id=self.account_id, phones=gone)


def _checked(phones: list[str]) -> list[str]:
    if not phones:
        raise ValidationFailed("phones", "at least one phone number is required")
    for phone in phones:
        if not is_e164(phone):
            raise ValidationFailed("phones", f"{phone!r} is not an E.164 number")
    return phones


def _dedupe(phones: Any) -> list[str]:
    return list(dict.fromkeys(phones))
