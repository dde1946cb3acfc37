"""Recordings: the message followed by the callee's answer, in one WAV."""

from __future__ import annotations

import io
import wave

import pytest

from zvonar_dialer.adapters.audio import Message, to_message
from zvonar_dialer.adapters.recording import PAUSE_S, make_recording
from zvonar_dialer.adapters.tts import Synthesizer, wav_duration


@pytest.fixture(scope="module")
def synthesizer() -> Synthesizer:
    return Synthesizer()


@pytest.fixture(scope="module")
def message(synthesizer: Synthesizer) -> Message:
    return to_message(synthesizer.synthesize("Здравствуйте, приглашаем вас на распродажу."))


def test_a_spoken_answer_follows_the_message(synthesizer: Synthesizer, message: Message) -> None:
    recording = make_recording(message, "да", synthesizer)
    assert wav_duration(recording) > message.duration_s + PAUSE_S
    with wave.open(io.BytesIO(recording), "rb") as source:
        assert (source.getnchannels(), source.getsampwidth()) == (1, 2)
        assert source.getframerate() == message.sample_rate
        assert source.readframes(len(message.pcm) // 2) == message.pcm


def test_a_pressed_key_is_its_tone(synthesizer: Synthesizer, message: Message) -> None:
    recording = make_recording(message, "1", synthesizer)
    assert wav_duration(recording) == pytest.approx(message.duration_s + PAUSE_S + 0.25, abs=0.001)


def test_no_answer_leaves_just_the_message(synthesizer: Synthesizer, message: Message) -> None:
    assert wav_duration(make_recording(message, "", synthesizer)) == message.duration_s


def test_a_stereo_message_at_another_rate_is_joined_in_mono(synthesizer: Synthesizer) -> None:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\x10\x00\x20\x00" * 8000)  # one second
    recording = make_recording(to_message(buffer.getvalue()), "нет", synthesizer)
    with wave.open(io.BytesIO(recording), "rb") as source:
        assert (source.getnchannels(), source.getframerate()) == (1, 8000)
    assert wav_duration(recording) > 1.0 + PAUSE_S
