"""Uploaded audio is checked by content: real WAV and MP3 pass with their duration, the rest is
refused, and anything over 20 MB is too large."""

from __future__ import annotations

import io
import struct
import wave

import pytest

from zvonar_audio import AudioTooLong
from zvonar_gateway.files.audio import (
    MAX_AUDIO_BYTES,
    AudioRejected,
    AudioTooLarge,
    check_audio,
)


def make_wav(seconds: float, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x01\x00" * int(rate * seconds))
    return buffer.getvalue()


# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, stereo, no CRC: each frame is 417 bytes long.
MP3_FRAME = b"\xff\xfb\x90\x00" + bytes(413)


def make_mp3(frames: int, id3: bool = True) -> bytes:
    tag = b"ID3\x03\x00\x00" + bytes([0, 0, 0, 10]) + bytes(10) if id3 else b""
    return tag + MP3_FRAME * frames


def test_a_wav_passes_with_its_duration() -> None:
    check = check_audio(make_wav(2.5))
    assert (check.format, check.duration_s) == ("wav", 2.5)


def test_an_alaw_wav_passes_too() -> None:
    samples = bytes(8000)
    fmt = struct.pack("<HHIIHH", 6, 1, 8000, 8000, 1, 8)  # A-law, as telephony writes it
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(samples)) + samples
    check = check_audio(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert (check.format, check.duration_s) == ("wav", 1.0)


def test_an_mp3_passes_with_its_duration() -> None:
    check = check_audio(make_mp3(100))
    assert check.format == "mp3"
    # 100 frames of 1152 samples at 44.1 kHz
    assert check.duration_s == pytest.approx(100 * 1152 / 44100, abs=0.01)


def test_an_mp3_without_tags_passes() -> None:
    assert check_audio(make_mp3(10, id3=False)).format == "mp3"


def test_a_binary_file_named_wav_is_refused() -> None:
    with pytest.raises(AudioRejected):
        check_audio(bytes(range(256)) * 100)


def test_a_riff_file_without_audio_is_refused() -> None:
    wav = make_wav(1.0)
    with pytest.raises(AudioRejected, match="no audio data"):
        check_audio(wav[: 44 - 8])  # the header alone, no data chunk
    with pytest.raises(AudioRejected, match="RIFF/WAVE"):
        check_audio(b"RIFF" + wav[4:8] + b"AVI " + wav[12:])


def test_an_mp3_with_a_broken_header_is_refused() -> None:
    broken = b"\xff\xfb\xf0\x00" + bytes(413)  # bitrate index 15 does not exist
    with pytest.raises(AudioRejected):
        check_audio(make_mp3(0) + broken * 20)


def test_garbage_before_the_frames_is_refused() -> None:
    with pytest.raises(AudioRejected):
        check_audio(b"hello, this is text" + MP3_FRAME * 20)


def test_a_text_file_is_refused() -> None:
    with pytest.raises(AudioRejected):
        check_audio("Здравствуйте! Это не звук.".encode())


def test_over_twenty_megabytes_is_too_large() -> None:
    with pytest.raises(AudioTooLarge):
        check_audio(make_wav(0.1) + bytes(MAX_AUDIO_BYTES))


def lying_wav(wav: bytes, claimed: int = 0xFFFFFF00) -> bytes:
    data = bytearray(wav)
    at = data.index(b"data")
    data[at + 4 : at + 8] = claimed.to_bytes(4, "little")
    return bytes(data)


def test_a_wav_whose_header_claims_more_than_it_holds_is_refused() -> None:
    """A 16 KB WAV whose data chunk claims 0xFFFFFF00 bytes was accepted as 1.0 s (and the
    dialer billed its header's 268,436 s)."""
    wav = make_wav(1.0)
    assert len(wav) < 16 * 1024
    with pytest.raises(AudioRejected, match="claims 4,294,967,040 bytes"):
        check_audio(lying_wav(wav))
    # A header one second too long is a lie just the same.
    with pytest.raises(AudioRejected, match="claims"):
        check_audio(lying_wav(wav, claimed=2 * 16000))


# MPEG-2.5 Layer III, 8 kbit/s, 8 kHz, mono: 72 bytes play 576 samples (72 ms).
LOW_RATE_FRAME = bytes([0xFF, 0xE3, 0x18, 0xC0]) + bytes(68)


def test_an_mp3_that_decodes_past_ten_minutes_is_refused() -> None:
    eleven_minutes = LOW_RATE_FRAME * round(11 * 60 / 0.072)
    assert len(eleven_minutes) < 700_000
    with pytest.raises(AudioTooLong, match="10 minutes"):
        check_audio(eleven_minutes)


def test_the_duration_is_the_decoded_one() -> None:
    check = check_audio(LOW_RATE_FRAME * 1000)
    assert (check.format, check.duration_s) == ("mp3", 72.0)
