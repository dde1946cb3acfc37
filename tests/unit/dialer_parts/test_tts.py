"""espeak-ng through ctypes: Russian text becomes a mono 16-bit WAV of plausible length."""

from __future__ import annotations

import io
import threading
import wave

import pytest

from zvonar_dialer.adapters.tts import SynthesisError, Synthesizer, wav_duration

TEXT = "Здравствуйте! Приглашаем вас на осеннюю распродажу в нашем магазине."


def test_russian_text_becomes_a_mono_16_bit_wav_of_plausible_length() -> None:
    wav = Synthesizer().synthesize(TEXT)
    with wave.open(io.BytesIO(wav), "rb") as source:
        assert (source.getnchannels(), source.getsampwidth()) == (1, 2)
        assert source.getframerate() >= 8000
        seconds = source.getnframes() / source.getframerate()
    # Ten words read aloud take a few seconds, not a blip and not a minute.
    assert 2.0 < seconds < 15.0
    assert wav_duration(wav) == pytest.approx(seconds, abs=0.001)  # to the millisecond


def test_the_sound_is_not_silence() -> None:
    wav = Synthesizer().synthesize("Добрый день")
    with wave.open(io.BytesIO(wav), "rb") as source:
        frames = source.readframes(source.getnframes())
    assert any(frames[i : i + 2] != b"\x00\x00" for i in range(0, len(frames), 2))


def test_longer_text_takes_longer() -> None:
    synthesizer = Synthesizer()
    short = wav_duration(synthesizer.synthesize("Да"))
    assert wav_duration(synthesizer.synthesize(TEXT)) > short * 3


def test_empty_text_fails_clearly() -> None:
    with pytest.raises(SynthesisError, match="no text"):
        Synthesizer().synthesize("   ")


def test_text_without_words_fails_clearly() -> None:
    with pytest.raises(SynthesisError, match="no words"):
        Synthesizer().synthesize("... !!! ---")


def test_an_unknown_voice_fails_clearly() -> None:
    with pytest.raises(SynthesisError, match="no voice"):
        Synthesizer().synthesize("Привет", voice="no-such-voice")


def test_threads_share_the_one_engine_safely() -> None:
    synthesizer = Synthesizer()
    expected = wav_duration(synthesizer.synthesize("Раз два три"))
    results: list[float] = []

    def speak() -> None:
        results.append(wav_duration(synthesizer.synthesize("Раз два три")))

    threads = [threading.Thread(target=speak) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # espeak-ng varies a few milliseconds between runs; interleaved runs would not.
    assert results == pytest.approx([expected] * 4, rel=0.05)
