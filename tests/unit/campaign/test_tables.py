"""The relay's recorded position only moves forward: a relay that lost its lease mid-batch
and records late cannot move it back under the one that took over."""

from __future__ import annotations

from zvonar_campaign.bootstrap import Store


async def test_the_relay_position_never_moves_back(store: Store) -> None:
    tables = store.tables
    assert await tables.relay_position() == 0
    await tables.record_relay_position(10)
    await tables.record_relay_position(7)  # the late one
    assert await tables.relay_position() == 10
    await tables.record_relay_position(12)
    assert await tables.relay_position() == 12
    assert await tables.relay_position("other") == 0
