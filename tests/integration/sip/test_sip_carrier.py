"""The SIP carrier against SIPp on 127.0.0.1: each final answer of TELEPHONY.md's table, the
CANCEL at the ring timeout, digest auth, the message out and back (-rtp_echo) into a
recording, an RFC 4733 key, AMD — and SIPp's own record of what we sent."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Awaitable, Callable, Sequence
from types import SimpleNamespace

import pytest

from zvonar_contracts.options import KeysIvr, WordsIvr
from zvonar_dialer.adapters.sip.carrier import CarrierUnavailable, SipCarrier
from zvonar_dialer.service_layer.ports import CallRequest

from .conftest import MESSAGE_S, Sipp, free_ports, wav_stats

pytestmark = [pytest.mark.integration]

SippFactory = Callable[..., Awaitable[Sipp]]
CarrierFactory = Callable[..., Awaitable[SipCarrier]]
PHONE = "+79161234567"


def call(call_id: str = "77-0-79161234567-1", **changes: object) -> CallRequest:
    fields: dict[str, object] = {
        "call_id": call_id,
        "phone": PHONE,
        "caller_number": "+74950000001",
        "message_duration_s": MESSAGE_S,
        "amd": False,
        "ivr": None,
        "record": False,
        "started_at": dt.datetime.now(dt.UTC),
        "campaign_id": 77,
        "part": 0,
    }
    fields.update(changes)
    return CallRequest(**fields)  # type: ignore[arg-type]


async def test_answered_call_plays_the_message_and_records_it_coming_back(
    sipp_factory: SippFactory, carrier_factory: CarrierFactory
) -> None:
    sipp = await sipp_factory("uas_answer", rtp_echo=True)
    carrier = await carrier_factory(sipp)

    result = await carrier.place_call(call(record=True))

    assert result.outcome == "answered"
    assert MESSAGE_S <= result.duration_s < MESSAGE_S + 2.0
    assert result.recording_wav is not None
    seconds, rms = wav_stats(result.recording_wav)
    assert seconds >= MESSAGE_S - 0.25  # the echoed message, 20 ms packets at real time
    assert rms > 1000  # a tone, not silence
    assert carrier.messages.conversions == 1
    await sipp.finished()
    (invite,) = sipp.received("INVITE")
    assert invite.first_line == f"INVITE sip:79161234567@127.0.0.1:{sipp.port} SIP/2.0"
    assert invite.header("X-Zvonar-Call-Id") == "77-0-79161234567-1"
    assert (invite.header("From") or "").startswith("<sip:74950000001@127.0.0.1>")
    for line in (
        "m=audio",
        " 8 0 101",
        "a=rtpmap:8 PCMA/8000",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=ptime:20",
    ):
        assert line in invite.text
    assert len(sipp.received("ACK")) == 1
    assert len(sipp.received("BYE")) == 1


@pytest.mark.parametrize(
    ("scenario", "outcome", "counted"),
    [
        ("uas_busy", "busy", False),
        ("uas_not_found", "failed", False),
        ("uas_unavailable", "failed", True),
    ],
)
async def test_refusals_map_to_outcomes_and_are_acknowledged(
    sipp_factory: SippFactory,
    carrier_factory: CarrierFactory,
    scenario: str,
    outcome: str,
    counted: bool,
) -> None:
    sipp = await sipp_factory(scenario)
    carrier = await carrier_factory(sipp, dial_format="national")

    result = await carrier.place_call(call())

    assert (result.outcome, bool(result.carrier_error)) == (outcome, counted)
    assert result.duration_s == 0.0
    await sipp.finished()
    (invite,) = sipp.received("INVITE")
    assert invite.first_line.startswith("INVITE sip:89161234567@")
    assert len(sipp.received("ACK")) == 1  # the non-2xx final answer is ACKed


async def test_ring_timeout_cancels_the_call(
    sipp_factory: SippFactory, carrier_factory: CarrierFactory
) -> None:
    sipp = await sipp_factory("uas_ring")
    carrier = await carrier_factory(sipp, ring_timeout_s=1.0)

    result = await carrier.place_call(call())

    assert result.outcome == "no_answer"
    assert not result.carrier_error
    await sipp.finished()
    assert len(sipp.received("INVITE")) == 1
    assert len(sipp.received("CANCEL")) == 1
    assert len(sipp.received("ACK")) == 1  # of the 487


async def test_a_cancel_never_answered_by_a_487_ends_the_call_after_timer_b(
    sipp_factory: SippFactory, carrier_factory: CarrierFactory
) -> None:
    # RFC 3261 §9.1: no final answer 64·T1 after the CANCEL, the INVITE counts as cancelled.
    sipp = await sipp_factory("uas_ring_no_487")
    carrier = await carrier_factory(sipp, ring_timeout_s=1.0, no_answer_s=2.0)

    async with asyncio.timeout(15):  # before the fix: waited for the 487 for ever
        result = await carrier.place_call(call())

    assert (result.outcome, result.carrier_error) == ("no_answer", "")
    assert len(sipp.received("CANCEL")) == 1


class SilentTrunk(asyncio.DatagramProtocol):
    """A trunk that never answers: it only keeps what reaches it (a UDP socket)."""

    def __init__(self) -> None:
        self.datagrams: list[bytes] = []

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.datagrams.append(data)


async def test_an_unanswered_invite_is_resent_per_timer_a_and_failed_by_timer_b(
    carrier_factory: CarrierFactory,
) -> None:
    loop = asyncio.get_running_loop()
    transport, trunk = await loop.create_datagram_endpoint(
        SilentTrunk, local_addr=("127.0.0.1", free_ports(1))
    )
    try:
        port = transport.get_extra_info("sockname")[1]
        carrier = await carrier_factory(SimpleNamespace(port=port, transport="u1"), no_answer_s=2.0)

        result = await carrier.place_call(call())
    finally:
        transport.close()

    assert (result.outcome, result.carrier_error) == ("failed", "no answer in 2 s")
    invites = [d for d in trunk.datagrams if d.startswith(b"INVITE ")]
    # T1 = 0.5 s: sent at 0, 0.5 and 1.5 s within Timer B's 2 s — the same transaction
    assert len(invites) >= 3
    branches = {re.search(rb"branch=([^;\r\n]+)", d)[1] for d in invites}  # type: ignore[index]
    assert len(branches) == 1


async def test_digest_challenge_is_answered_once_with_the_same_call_id(
    sipp_factory: SippFactory, carrier_factory: CarrierFactory
) -> None:
    sipp = await sipp_factory("uas_auth")
    carrier = await carrier_factory(sipp, user="zvonar", password="secret")

    result = await carrier.place_call(call())

    assert result.outcome == "answered"
    await sipp.finished()
    first, second = sipp.received("INVITE")
    assert first.header("Authorization") is None
    assert (second.header("Authorization") or "").startswith("Digest ")
    assert first.header("X-Zvonar-Call-Id") == second.header("X-Zvonar-Call-Id")
    assert first.header("Call-ID") == second.header("Call-ID")


async def test_wrong_password_is_a_carrier_failure(
    sipp_factory: SippFactory, carrier_factory: CarrierFactory
) -> None:
    sipp = await sipp_factory("uas_auth")
    carrier = await carrier_factory(sipp, user="zvonar", password="wrong")

    result = await carrier.place_call(call())

    assert result.outcome == "failed"
    assert result.carrier_error.startswith("403")


async def test_rfc4733_key_makes_a_lead(
    sipp_factory: SippFactory, carrier_factory: CarrierFactory
) -> None:
    sipp = await sipp_factory("uas_dtmf")
    carrier = await carrier_factory(sipp, ivr_wait_s=5.0)

    result = await carrier.place_call(call(ivr=KeysIvr(lead_keys=["1"])))

    assert (result.outcome, result.answer_text, result.lead) == ("answered", "1", True)


async def test_long_greeting_is_an_answering_machine(
    sipp_factory: SippFactory, carrier_factory: CarrierFactory
) -> None:
    sipp = await sipp_factory("uas_machine")
    carrier = await carrier_factory(sipp)

    result = await carrier.place_call(call(amd=True))

    assert result.outcome == "machine"
    assert 3.5 <= result.duration_s < 6.0  # hung up after 4 s of speech, not the message


async def test_silent_callee_is_a_person_for_amd(
    sipp_factory: SippFactory, carrier_factory: CarrierFactory
) -> None:
    sipp = await sipp_factory("uas_answer")  # no echo: silence from the callee
    carrier = await carrier_factory(sipp)

    result = await carrier.place_call(call(amd=True))

    assert result.outcome == "answered"
    assert result.duration_s >= 2.5 + MESSAGE_S  # 2.5 s of silence, then the message


async def test_tcp_trunk(sipp_factory: SippFactory, carrier_factory: CarrierFactory) -> None:
    sipp = await sipp_factory("uas_answer", transport="t1")
    carrier = await carrier_factory(sipp)

    result = await carrier.place_call(call())

    assert result.outcome == "answered"
    await sipp.finished()
    (invite,) = sipp.received("INVITE")
    assert "SIP/2.0/TCP" in (invite.header("Via") or "")


async def test_a_call_id_is_placed_once_and_unknown_ones_are_interrupted(
    sipp_factory: SippFactory, carrier_factory: CarrierFactory
) -> None:
    sipp = await sipp_factory("uas_busy")
    carrier = await carrier_factory(sipp)

    first = await carrier.place_call(call())
    again = await carrier.place_call(call())
    lost = await carrier.result_of("77-0-79160000000-1")

    assert first == again
    assert lost is not None and (lost.outcome, lost.reason) == ("failed", "interrupted")
    await sipp.finished()
    assert len(sipp.received("INVITE")) == 1


async def test_invites_keep_to_the_cps_limit(
    sipp_factory: SippFactory, carrier_factory: CarrierFactory
) -> None:
    sipp = await sipp_factory("uas_busy", calls=8)
    carrier = await carrier_factory(sipp, cps=4.0)

    results = await carrier.place_calls([call(f"77-0-7916000000{n}-1") for n in range(8)])

    assert [r.outcome for r in results] == ["busy"] * 8
    await sipp.finished()
    times = sorted(m.at for m in sipp.received("INVITE"))
    assert len(times) == 8
    # at most 4 in any 1-second window: the 5th comes a second after the 1st, and so on
    assert all(later - first >= 0.95 for first, later in zip(times, times[4:], strict=False))
    assert times[-1] - times[0] < 2.5  # and no slower than the limit asks


async def test_after_a_trunk_failure_probes_ping_the_trunk(
    sipp_factory: SippFactory, carrier_factory: CarrierFactory
) -> None:
    sipp = await sipp_factory("uas_unavailable")
    carrier = await carrier_factory(sipp, no_answer_s=1.0)
    assert (await carrier.place_call(call())).carrier_error
    await sipp.finished()

    with pytest.raises(CarrierUnavailable):  # nobody answers the OPTIONS
        await carrier.result_of("zvonar-carrier-probe")
    back = await sipp_factory("uas_options_and_answer", port=sipp.port)
    answer = await carrier.result_of("zvonar-carrier-probe")

    assert answer is not None and answer.reason == "interrupted"
    await back.finished()
    assert len(back.received("OPTIONS")) == 1


class HeardYes:
    """A recognizer double: records what it was given, hears "да"."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, int, list[str]]] = []

    async def recognize(self, pcm: bytes, rate: int, words: Sequence[str]) -> str:
        self.asked.append((len(pcm), rate, list(words)))
        return "да"


async def test_ivr_words_go_to_the_recognizer_port_or_stay_empty(
    sipp_factory: SippFactory, carrier_factory: CarrierFactory
) -> None:
    sipp = await sipp_factory("uas_machine", calls=2)  # the callee talks on through the wait
    recognizer = HeardYes()
    with_port = await carrier_factory(sipp, ivr_wait_s=1.0, recognizer=recognizer)
    without = await carrier_factory(sipp, ivr_wait_s=1.0)
    words = WordsIvr(lead_words=["Да"])

    heard = await with_port.place_call(call("77-0-1-1", ivr=words))
    nothing = await without.place_call(call("77-0-2-1", ivr=words))

    assert (heard.answer_text, heard.lead) == ("да", True)
    ((size, rate, asked_words),) = recognizer.asked
    assert rate == 8000 and asked_words == ["Да"]
    assert 0.7 * 16000 <= size <= 1.3 * 16000  # the callee's audio of the 1 s IVR wait
    assert (nothing.outcome, nothing.answer_text, nothing.lead) == ("answered", "", False)


async def test_sip_info_key_makes_a_lead(
    sipp_factory: SippFactory, carrier_factory: CarrierFactory
) -> None:
    sipp = await sipp_factory("uas_info")
    carrier = await carrier_factory(sipp)

    result = await carrier.place_call(call(ivr=KeysIvr(lead_keys=["1"])))

    assert (result.outcome, result.answer_text, result.lead) == ("answered", "1", True)
    await sipp.finished()
    assert sipp.process is not None and sipp.process.returncode == 0  # its INFO got our 200


async def test_a_call_whose_message_could_not_be_read_is_placed_again_later(
    sipp_factory: SippFactory,
    carrier_factory: CarrierFactory,
    message_source: Callable[[int], Awaitable[bytes]],
) -> None:
    sipp = await sipp_factory("uas_busy")
    reads = 0

    async def flaky(campaign_id: int) -> bytes:
        nonlocal reads
        reads += 1
        if reads == 1:
            raise LookupError("the audio bucket is away")
        return await message_source(campaign_id)

    carrier = await carrier_factory(sipp, message_source=flaky)

    with pytest.raises(LookupError):
        await carrier.place_call(call())
    assert await carrier.result_of(call().call_id) is None  # no INVITE left: not interrupted
    result = await carrier.place_call(call())

    assert result.outcome == "busy"
    await sipp.finished()
    assert len(sipp.received("INVITE")) == 1
