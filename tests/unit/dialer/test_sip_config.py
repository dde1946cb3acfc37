"""DIALER_SIP_* are checked at start-up: a bad value stops the dialer with the variable's
name, not its first call."""

from __future__ import annotations

import asyncio

import pytest

from zvonar_dialer.adapters.sip.carrier import CpsLimit, e164_of, outcome_of, uri_user
from zvonar_dialer.adapters.sip.config import dial_string, number_variants, parse_trunk, sip_config
from zvonar_runtime.settings import SettingsError

GOOD = {
    "trunk": "sip:trunk.example:5070;transport=tcp",
    "user": "u",
    "password": "p",
    "bind": "127.0.0.1:5060",
    "public_host": "203.0.113.10",
    "rtp_ports": "20000-20999",
    "dial_format": "digits",
    "channels": 30,
    "cps": 10.0,
    "ring_timeout_s": 30.0,
    "no_answer_s": 32.0,
    "max_call_s": 300.0,
    "ivr_wait_s": 5.0,
}


def test_a_good_configuration() -> None:
    config = sip_config(**GOOD)  # type: ignore[arg-type]
    assert (config.trunk_host, config.trunk_port, config.transport) == (
        "trunk.example",
        5070,
        "tcp",
    )
    assert config.rtp_ports == (20000, 20999)


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("trunk", "", "DIALER_SIP_TRUNK"),
        ("trunk", "http://x", "DIALER_SIP_TRUNK"),
        ("trunk", "sip:x;transport=sctp", "DIALER_SIP_TRUNK"),
        ("bind", "5060", "DIALER_SIP_BIND"),
        ("rtp_ports", "20000", "DIALER_RTP_PORTS"),
        ("dial_format", "intl", "DIALER_SIP_DIAL_FORMAT"),
        ("channels", 0, "DIALER_SIP_CHANNELS"),
    ],
)
def test_bad_values_name_their_variable(field: str, value: object, named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        sip_config(**{**GOOD, field: value})  # type: ignore[arg-type]


def test_trunk_defaults_to_udp_5060() -> None:
    assert parse_trunk("sip:10.0.0.1") == ("10.0.0.1", 5060, "udp")


def test_dial_formats_and_back() -> None:
    assert [dial_string("+79161234567", f) for f in ("digits", "e164", "national")] == [
        "79161234567",
        "+79161234567",
        "89161234567",
    ]
    assert number_variants("89161234567") == {"+89161234567", "+79161234567"}
    assert number_variants("+79161234567") == {"+79161234567"}
    assert number_variants("service") == set()
    assert e164_of("89161234567") == "+79161234567"
    assert uri_user("sip:74950000009@10.0.0.1:5060;transport=udp") == "74950000009"


def test_final_answers_map_per_the_table() -> None:
    assert {
        s: outcome_of(s) for s in (486, 600, 480, 408, 487, 404, 484, 604, 403, 488, 500, 503)
    } == {
        486: ("busy", False),
        600: ("busy", False),
        480: ("no_answer", False),
        408: ("no_answer", False),
        487: ("no_answer", False),
        404: ("failed", False),
        484: ("failed", False),
        604: ("failed", False),
        403: ("failed", True),
        488: ("failed", True),
        500: ("failed", True),
        503: ("failed", True),
    }


async def test_cps_limit_spreads_starts() -> None:
    limit = CpsLimit(20.0)
    loop = asyncio.get_running_loop()
    starts = []
    for _ in range(5):
        await limit.take()
        starts.append(loop.time())
    # One every 50 ms on a schedule, never ahead of it (a late wake-up on a busy machine
    # may shorten the gap after it, back onto the schedule: not a burst).
    assert all(t - starts[0] >= 0.05 * n - 0.005 for n, t in enumerate(starts))
    assert starts[-1] - starts[0] >= 0.195
