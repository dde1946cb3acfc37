"""The StopList aggregate: one per account; adds and removes only what changes."""

from __future__ import annotations

import pytest

from zvonar_campaign.domain.errors import ValidationFailed
from zvonar_campaign.domain.ids import stop_list_uuid
from zvonar_campaign.domain.stop_list import StopList


def test_one_stop_list_per_account_with_a_derived_id() -> None:
    stop_list = StopList(account_id="acc_1")
    assert stop_list.id == stop_list_uuid("acc_1") != stop_list_uuid("acc_2")


def test_adding_records_only_numbers_not_yet_listed() -> None:
    stop_list = StopList(account_id="acc_1")
    stop_list.add(["+79161234567", "+79161234567", "+79161234568"])
    stop_list.add(["+79161234567"])
    events = stop_list.collect_events()
    assert [type(e).__name__ for e in events] == ["Created", "PhonesAdded"]
    assert events[1].payload.phones == ["+79161234567", "+79161234568"]  # type: ignore[attr-defined]


def test_removing_records_only_listed_numbers() -> None:
    stop_list = StopList(account_id="acc_1")
    stop_list.add(["+79161234567"])
    stop_list.collect_events()
    stop_list.remove(["+79161234567", "+79990000000"])
    (removed,) = stop_list.collect_events()
    assert removed.payload.phones == ["+79161234567"]  # type: ignore[attr-defined]
    assert stop_list.phones == []


@pytest.mark.parametrize(
    "phones", [[], ["8 916 123"], ["+7abc"], ["+01234567890"], ["+7916123456789012"]]
)
def test_bad_numbers_are_refused_and_nothing_is_recorded(phones: list[str]) -> None:
    stop_list = StopList(account_id="acc_1")
    stop_list.collect_events()
    with pytest.raises(ValidationFailed):
        stop_list.add(phones)
    assert stop_list.collect_events() == []
