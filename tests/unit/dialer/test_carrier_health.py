"""The carrier's circuit breaker: down after `threshold` failures in a row, up on the first
answer, probes spaced out more each time it goes down again without a call placed."""

from __future__ import annotations

from zvonar_dialer.domain.carrier_health import PROBE_AT_MOST_S, PROBE_EVERY_S, CarrierHealth


def test_it_goes_down_after_the_threshold_of_failures_in_a_row() -> None:
    health = CarrierHealth(threshold=3)
    assert [health.failed(OSError("refused"), 0.0) for _ in range(4)] == [False, False, True, False]
    assert health.down
    assert health.last_error == "OSError: refused"


def test_a_call_placed_in_between_resets_the_count() -> None:
    health = CarrierHealth(threshold=2)
    health.failed(OSError(), 0.0)
    health.placed()
    assert health.failed(OSError(), 0.0) is False
    assert not health.down


def test_the_first_answer_puts_it_back_up() -> None:
    health = CarrierHealth(threshold=1)
    assert health.failed(TimeoutError("t"), 0.0)
    assert health.answered() is True
    assert not health.down
    assert health.answered() is False  # already up: nothing to announce


def test_probes_wait_after_the_trip_and_back_off_while_it_keeps_going_down() -> None:
    health = CarrierHealth(threshold=1)
    health.failed(OSError(), 100.0)
    assert not health.probe_due(100.0)
    assert health.probe_due(100.0 + PROBE_EVERY_S)
    assert not health.probe_due(100.0 + PROBE_EVERY_S + 1)  # the next one is further on

    health.answered()
    health.failed(OSError(), 200.0)  # down again with no call placed: twice as long
    assert health.probe_every_s == 2 * PROBE_EVERY_S
    assert not health.probe_due(200.0 + PROBE_EVERY_S)
    assert health.probe_due(200.0 + 2 * PROBE_EVERY_S)

    for _ in range(20):
        health.answered()
        health.failed(OSError(), 0.0)
    assert health.probe_every_s == PROBE_AT_MOST_S

    health.placed()  # calls went through: short probes again next time
    assert health.probe_every_s == PROBE_EVERY_S
