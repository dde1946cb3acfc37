"""A campaign's message: WAV or MP3 decoded once to 8 kHz mono, lies and garbage refused."""

from __future__ import annotations

import io
import math
import struct
import wave

import pytest

from zvonar_dialer.adapters.audio import LINE_RATE, AudioError, to_message, to_pcm, wav_duration

MP3_FRAME_BYTES = 417  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding
MP3_FRAME_SAMPLES = 1152


def silent_mp3(frames: int) -> bytes:
    """A valid MP3 of silent frames: header, zero side info (no granule data), zero body.

    No MP3 encoder is installed, so the test builds the bitstream by hand.
    """
    header = bytes([0xFF, 0xFB, 0x90, 0xC0])  # sync, MPEG-1 L3, 128k, 44.1k, mono
    return (header + bytes(MP3_FRAME_BYTES - len(header))) * frames


def tone_wav(seconds: float, *, rate: int = 8000, width: int = 2, channels: int = 1) -> bytes:
    frames = round(seconds * rate)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        if width == 2:
            one = [round(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(frames)]
            samples = [s for s in one for _ in range(channels)]
            out.writeframes(struct.pack(f"<{len(samples)}h", *samples))
        else:
            out.writeframes(bytes(128 + (n % 50) for n in range(frames * channels)))
    return buffer.getvalue()


def test_a_wav_is_decoded_to_8_khz_mono_with_its_length() -> None:
    message = to_message(tone_wav(1.5, rate=22050, channels=2))
    assert message.sample_rate == LINE_RATE
    assert message.duration_s == pytest.approx(1.5, abs=0.001)
    with wave.open(io.BytesIO(message.wav()), "rb") as source:
        assert (source.getnchannels(), source.getsampwidth(), source.getframerate()) == (1, 2, 8000)
    assert wav_duration(message.wav()) == message.duration_s


def test_an_8_bit_wav_is_converted_to_16_bit() -> None:
    message = to_message(tone_wav(1.0, width=1))
    assert message.duration_s == pytest.approx(1.0, abs=0.01)
    assert message.nbytes == 8000 * 2


def test_an_mp3_is_decoded_to_the_same_length() -> None:
    message = to_message(silent_mp3(40))
    assert message.duration_s == pytest.approx(40 * MP3_FRAME_SAMPLES / 44100, abs=0.03)


def test_a_wav_whose_header_claims_more_than_it_holds_is_refused() -> None:
    """The dialer used to pass such a WAV through and take its header's length: a 16 KB file
    whose data chunk claims 0xFFFFFF00 bytes played "268,436 s" and an answered call was
    billed for that. Its decoder refuses it, as the gateway's does."""
    wav = bytearray(tone_wav(1.0))
    assert len(wav) < 16 * 1024
    at = wav.index(b"data")
    wav[at + 4 : at + 8] = (0xFFFFFF00).to_bytes(4, "little")
    with pytest.raises(AudioError, match="claims"):
        to_message(bytes(wav))


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"hello, this is a text file" * 20,
        b"RIFF\x00\x00\x00\x00WAVEjunk",
        bytes([0xFF, 0xFB]) + bytes(999),
        b"%PDF-1.7\n" + bytes(100),
    ],
)
def test_data_that_is_not_wav_or_mp3_is_refused(garbage: bytes) -> None:
    with pytest.raises(AudioError):
        to_message(garbage)


def test_to_pcm_resamples_and_downmixes() -> None:
    pcm = to_pcm(tone_wav(2.0, rate=22050, channels=2), sample_rate=8000)
    assert len(pcm) / 2 / 8000 == pytest.approx(2.0, abs=0.01)
