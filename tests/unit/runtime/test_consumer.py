"""The consumer kit's pure parts: its settings, its back-off and how a delivery is read."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg

from zvonar_runtime.consumer import ConsumerError, ConsumerSpec, message_of


def spec(**overrides: object) -> ConsumerSpec:
    settings: dict[str, object] = {"stream": "S", "durable": "d", "filter_subject": "s.>"}
    return ConsumerSpec(**{**settings, **overrides})  # type: ignore[arg-type]  # test overrides by name


@pytest.mark.parametrize(
    "overrides",
    [
        {"batch": 0},
        {"filter_subject": ()},
        {"max_wait": 0},
        {"ack_wait": -1},
        {"park_after": 0},
        {"ack": "some"},
    ],
)
def test_bad_settings_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ConsumerError):
        spec(**overrides)


def test_the_back_off_doubles_per_delivery_up_to_the_ceiling() -> None:
    delays = [spec(retry_base=0.5, retry_ceiling=3.0).backoff(n) for n in range(1, 6)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert spec().backoff(10_000) == spec().retry_ceiling


def _msg(reply: str) -> Msg:
    return Msg(None, subject="a.b", reply=reply, data=b"{}", headers={"X": "1"})  # type: ignore[arg-type]  # no client needed to read


def test_a_delivery_is_read_from_its_ack_subject_in_both_forms() -> None:
    old = message_of(_msg("$JS.ACK.S.d.3.41.17.1700000000000000000.0"))
    assert (old.stream_seq, old.delivered) == (41, 3)
    new = message_of(_msg("$JS.ACK.dom.ACCHASH.S.d.2.99.5.1700000000000000000.4.tok"))
    assert (new.stream_seq, new.delivered) == (99, 2)
    assert new.headers == {"X": "1"}


def test_a_message_that_is_not_a_jetstream_delivery_is_refused() -> None:
    with pytest.raises(ConsumerError):
        message_of(_msg("_INBOX.abc"))
