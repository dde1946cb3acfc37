"""The simulated carrier's last-digit table (docs/API.md), with and without AMD and IVR."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from zvonar_contracts.options import Ivr, KeysIvr, WordsIvr
from zvonar_dialer.adapters.simulated_carrier import KEY_ANSWER_S, SPOKEN_ANSWER_S, simulate
from zvonar_dialer.service_layer.ports import CallRequest, CallResult

MESSAGE_S = 12.0
WORDS = WordsIvr(lead_words=["да", "интересно"])
KEYS = KeysIvr(lead_keys=["1"])


def call(digit: int | str, *, amd: bool = False, ivr: Ivr | None = None) -> CallResult:
    phone = f"+7916123456{digit}"
    request = CallRequest(
        call_id=f"1000001-0-{phone[1:]}-1",
        campaign_id=1000001,
        part=0,
        phone=phone,
        caller_number=None,
        message_duration_s=MESSAGE_S,
        amd=amd,
        ivr=ivr,
        record=False,
        started_at=datetime(2026, 11, 25, 9, tzinfo=UTC),
    )
    return simulate(request)


@pytest.mark.parametrize("digit", range(6))
@pytest.mark.parametrize("amd", [False, True])
def test_0_to_5_answer_listen_and_say_no(digit: int, amd: bool) -> None:
    result = call(digit, amd=amd, ivr=WORDS)
    assert result.outcome == "answered"
    assert result.duration_s == MESSAGE_S + SPOKEN_ANSWER_S
    assert (result.answer_text, result.lead) == ("нет", False)


@pytest.mark.parametrize("digit", range(6))
def test_0_to_5_press_nothing_under_a_keys_ivr(digit: int) -> None:
    result = call(digit, ivr=KEYS)
    assert (result.outcome, result.duration_s, result.answer_text, result.lead) == (
        "answered",
        MESSAGE_S,
        "",
        False,
    )


def test_0_to_5_still_say_no_without_an_ivr_but_are_no_leads() -> None:
    result = call(3)
    assert (result.answer_text, result.lead, result.duration_s) == (
        "нет",
        False,
        MESSAGE_S + SPOKEN_ANSWER_S,
    )


@pytest.mark.parametrize("digit", [6, 7])
@pytest.mark.parametrize("amd", [False, True])
@pytest.mark.parametrize("ivr", [None, WORDS, KEYS])
def test_6_and_7_do_not_answer(digit: int, amd: bool, ivr: Ivr | None) -> None:
    result = call(digit, amd=amd, ivr=ivr)
    assert (result.outcome, result.duration_s, result.answer_text, result.lead) == (
        "no_answer",
        0.0,
        "",
        False,
    )


@pytest.mark.parametrize("ivr", [None, WORDS, KEYS])
def test_8_is_a_machine_detected_with_amd(ivr: Ivr | None) -> None:
    result = call(8, amd=True, ivr=ivr)
    assert (result.outcome, result.duration_s, result.lead) == ("machine", 0.0, False)


@pytest.mark.parametrize("ivr", [None, WORDS, KEYS])
def test_8_passes_for_a_person_without_amd_and_stays_silent(ivr: Ivr | None) -> None:
    result = call(8, amd=False, ivr=ivr)
    assert (result.outcome, result.duration_s, result.answer_text, result.lead) == (
        "answered",
        MESSAGE_S,
        "",
        False,
    )


@pytest.mark.parametrize("amd", [False, True])
def test_9_says_yes_and_is_a_lead_under_a_words_ivr(amd: bool) -> None:
    result = call(9, amd=amd, ivr=WORDS)
    assert (result.outcome, result.answer_text, result.lead) == ("answered", "да", True)
    assert result.duration_s == MESSAGE_S + SPOKEN_ANSWER_S


def test_9_presses_1_and_is_a_lead_under_a_keys_ivr() -> None:
    result = call(9, ivr=KEYS)
    assert (result.answer_text, result.lead, result.duration_s) == (
        "1",
        True,
        MESSAGE_S + KEY_ANSWER_S,
    )


def test_9_is_no_lead_when_the_ivr_does_not_list_its_answer() -> None:
    assert not call(9, ivr=WordsIvr(lead_words=["интересно"])).lead
    assert not call(9, ivr=KeysIvr(lead_keys=["2"])).lead


def test_9_without_an_ivr_says_yes_but_is_no_lead() -> None:
    result = call(9)
    assert (result.outcome, result.answer_text, result.lead) == ("answered", "да", False)


def test_a_number_not_ending_in_a_digit_fails() -> None:
    assert call("x").outcome == "failed"
