"""Read your own writes: after an account's write is acknowledged, every read of that
account waits for the write's log position; other accounts' reads are not held up."""

from __future__ import annotations

from typing import Any

from zvonar_contracts.queries import GetModerationQueue, GetStopList, ListCampaigns
from zvonar_gateway.adapters.backend import NatsBackend


def backend() -> NatsBackend:
    nc: Any = object()  # no request is sent in these tests
    return NatsBackend(nc)


def test_an_accounts_reads_wait_for_its_last_write() -> None:
    gateway = backend()
    gateway._remember_write("acc_a", 41)
    gateway._remember_write("acc_a", 40)  # an older answer arriving late changes nothing
    assert gateway._read_your_writes(ListCampaigns(account_id="acc_a")).min_position == 41
    assert gateway._read_your_writes(GetStopList(account_id="acc_a")).min_position == 41


def test_other_accounts_and_later_positions_are_left_alone() -> None:
    gateway = backend()
    gateway._remember_write("acc_a", 41)
    assert gateway._read_your_writes(ListCampaigns(account_id="acc_b")).min_position == 0
    later = ListCampaigns(account_id="acc_a", min_position=99)
    assert gateway._read_your_writes(later).min_position == 99
    assert gateway._read_your_writes(GetModerationQueue()).min_position == 0
