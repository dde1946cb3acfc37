"""Uploaded audio: WAV passes, MP3 and other WAV encodings are decoded, garbage is refused."""

from __future__ import annotations

import io
import math
import struct
import wave

import pytest

from zvonar_dialer.adapters.audio import AudioError, to_pcm, to_wav, wav_duration

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


def test_a_16_bit_wav_passes_through_unchanged() -> None:
    wav = tone_wav(1.5)
    assert to_wav(wav) is wav


def test_an_8_bit_wav_is_converted_to_16_bit() -> None:
    converted = to_wav(tone_wav(1.0, width=1))
    with wave.open(io.BytesIO(converted), "rb") as source:
        assert source.getsampwidth() == 2
    assert wav_duration(converted) == pytest.approx(1.0, abs=0.01)


def test_an_mp3_is_decoded_to_a_16_bit_wav_of_the_same_length() -> None:
    converted = to_wav(silent_mp3(40))
    with wave.open(io.BytesIO(converted), "rb") as source:
        assert (source.getsampwidth(), source.getframerate()) == (2, 44100)
    assert wav_duration(converted) == pytest.approx(40 * MP3_FRAME_SAMPLES / 44100, abs=0.03)


@pytest.mark.parametrize(
    "garbage",
    [b"", b"hello, this is a text file" * 20, b"RIFF\x00\x00\x00\x00WAVEjunk",
     bytes([0xFF, 0xFB]) + bytes(999), b"%PDF-1.7\n" + bytes(100)],
)  # fmt: skip
def test_data_that_is_not_wav_or_mp3_is_refused(garbage: bytes) -> None:
    with pytest.raises(AudioError):
        to_wav(garbage)


def test_to_pcm_resamples_and_downmixes() -> None:
    pcm = to_pcm(tone_wav(2.0, rate=22050, channels=2), sample_rate=8000)
    assert len(pcm) / 2 / 8000 == pytest.approx(2.0, abs=0.01)
