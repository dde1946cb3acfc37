"""The one decoder: the length is the decoded sound's, a lying header is refused, and
decoding stops as soon as a cap is passed, keeping memory bounded."""

from __future__ import annotations

import io
import math
import struct
import tracemalloc
import wave

import pytest

from zvonar_audio import (
    MAX_DURATION_S,
    AudioRejected,
    AudioTooLong,
    decode,
    measure,
    pcm_to_wav,
)

# MPEG-2.5 Layer III, 8 kbit/s, 8 kHz, mono: 72 bytes play 576 samples (72 ms).
LOW_RATE_FRAME = bytes([0xFF, 0xE3, 0x18, 0xC0]) + bytes(68)
FRAME_S = 0.072


def low_rate_mp3(seconds: float) -> bytes:
    return LOW_RATE_FRAME * round(seconds / FRAME_S)


def tone_wav(seconds: float, *, rate: int = 8000, channels: int = 1) -> bytes:
    frames = round(seconds * rate)
    one = [round(8000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(frames)]
    samples = [s for s in one for _ in range(channels)]
    return pcm_to_wav(struct.pack(f"<{len(samples)}h", *samples), rate, channels)


def test_a_wav_is_measured_by_the_samples_it_holds() -> None:
    decoded = measure(tone_wav(1.5, rate=22050, channels=2))
    assert (decoded.format, decoded.sample_rate, decoded.channels) == ("wav", 22050, 2)
    assert decoded.duration_s == 1.5
    assert decoded.pcm == b""  # measuring keeps no samples


def test_a_data_chunk_that_claims_more_than_the_file_holds_is_refused() -> None:
    wav = bytearray(tone_wav(1.0))
    at = wav.index(b"data")
    wav[at + 4 : at + 8] = (0xFFFFFF00).to_bytes(4, "little")
    with pytest.raises(AudioRejected, match="claims 4,294,967,040 bytes, the file holds 16,000"):
        decode(bytes(wav))


def test_any_chunk_that_claims_more_than_the_file_holds_is_refused() -> None:
    wav = tone_wav(0.5)
    trailer = b"LIST" + (1000).to_bytes(4, "little") + b"INFO"  # a LIST chunk cut short
    with pytest.raises(AudioRejected, match="'LIST' chunk claims"):
        decode(wav + trailer)


def test_decoding_converts_to_the_asked_rate_and_channels() -> None:
    decoded = decode(
        tone_wav(2.0, rate=22050, channels=2), sample_rate=8000, channels=1, keep_pcm=True
    )
    assert (decoded.sample_rate, decoded.channels) == (8000, 1)
    assert len(decoded.pcm) == decoded.frames * 2
    assert decoded.duration_s == pytest.approx(2.0, abs=0.01)
    with wave.open(io.BytesIO(decoded.wav()), "rb") as out:
        assert (out.getframerate(), out.getnchannels(), out.getnframes()) == (
            8000,
            1,
            decoded.frames,
        )


def test_an_mp3_is_measured_by_its_decoded_frames() -> None:
    decoded = measure(LOW_RATE_FRAME * 834)
    assert (decoded.format, decoded.sample_rate, decoded.channels) == ("mp3", 8000, 1)
    assert decoded.duration_s == 60.048  # 834 frames of 72 ms


def test_ten_minutes_pass_and_one_frame_more_does_not() -> None:
    frames = int(MAX_DURATION_S / FRAME_S)
    assert measure(LOW_RATE_FRAME * frames).duration_s <= MAX_DURATION_S
    with pytest.raises(AudioTooLong, match="10 minutes"):
        measure(LOW_RATE_FRAME * (frames + 1))


def test_the_pcm_cap_counts_samples_at_the_files_own_rate_and_channels() -> None:
    stereo = tone_wav(1.0, rate=8000, channels=2)  # 32,000 bytes of PCM
    assert measure(stereo).frames == 8000
    # Converted to mono it would be 16,000 bytes; the cap still counts the file's 32,000.
    with pytest.raises(AudioTooLong, match="MB of PCM"):
        decode(stereo, channels=1, max_pcm_bytes=20_000)
    assert decode(stereo, channels=1, max_pcm_bytes=32_000).frames == 8000


def test_decoding_stops_at_the_cap_with_memory_bounded() -> None:
    """An hour of MP3 in 2.6 MB: decoding it whole to 8 kHz PCM would keep 57.6 MB; it
    stops at ten minutes (9.6 MB at most) and keeps nothing once refused."""
    hour = low_rate_mp3(3600)
    tracemalloc.start()
    try:
        with pytest.raises(AudioTooLong):
            decode(hour, keep_pcm=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    ten_minutes_of_pcm = MAX_DURATION_S * 8000 * 2
    assert peak < ten_minutes_of_pcm * 2.5  # the kept blocks, their join, one block
    assert peak < 3600 * 8000 * 2 / 2


def xing_mp3(claimed_frames: int, frames: int) -> bytes:
    """MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono: a Xing frame claiming `claimed_frames`,
    then `frames` silent frames of 1152 samples."""
    header = bytes([0xFF, 0xFB, 0x90, 0xC0])
    tag = bytes(17) + b"Xing" + (1).to_bytes(4, "big") + claimed_frames.to_bytes(4, "big")
    first = header + tag + bytes(417 - len(header) - len(tag))
    return first + (header + bytes(413)) * frames


def test_an_mp3_whose_vbr_header_claims_more_than_it_holds_is_refused() -> None:
    assert measure(xing_mp3(10, 10)).frames == 10 * 1152  # an honest header passes
    with pytest.raises(AudioRejected, match=r"claims 2,612.2 s, the file holds 0.3 s"):
        measure(xing_mp3(100_000, 10))


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"hello, this is a text file" * 20,
        b"RIFF\x00\x00\x00\x00WAVEjunk",
        bytes([0xFF, 0xFB]) + bytes(999),
        b"%PDF-1.7\n" + bytes(100),
        b"ID3\x04\x00\x00\x00\x00",
    ],
)
def test_what_is_not_wav_or_mp3_is_refused(garbage: bytes) -> None:
    with pytest.raises(AudioRejected):
        decode(garbage)
