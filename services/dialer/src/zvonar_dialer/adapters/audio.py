"""Audio files: uploaded WAV or MP3 turned into the 16-bit PCM WAV the dialer plays.

A 16-bit PCM WAV passes through untouched once it has been read; other WAV encodings
(8/24/32-bit, float) and MP3 are decoded with miniaudio. Anything else is refused.
"""

from __future__ import annotations

import io
import wave

import miniaudio

SAMPLE_WIDTH = 2  # 16-bit PCM
_MPEG_SYNC = 0xE0


class AudioError(ValueError):
    """Bytes that are not a playable WAV or MP3."""


def pcm_to_wav(pcm: bytes, sample_rate: int, channels: int = 1) -> bytes:
    """Wraps 16-bit little-endian PCM samples in a WAV container."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
    return buffer.getvalue()


def wav_duration(wav: bytes) -> float:
    """Length of a PCM WAV in seconds."""
    try:
        with wave.open(io.BytesIO(wav), "rb") as source:
            return source.getnframes() / float(source.getframerate())
    except (wave.Error, EOFError) as exc:
        raise AudioError(f"not a readable WAV: {exc}") from exc


def is_wav(data: bytes) -> bool:
    return len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE"


def is_mp3(data: bytes) -> bool:
    if data[:3] == b"ID3":
        return True
    # An MPEG audio frame starts with eleven set bits.
    return len(data) >= 4 and data[0] == 0xFF and data[1] & _MPEG_SYNC == _MPEG_SYNC


def _plain_pcm_wav(data: bytes) -> bool:
    """A WAV the dialer can play as it is: 16-bit PCM with at least one frame."""
    try:
        with wave.open(io.BytesIO(data), "rb") as source:
            return source.getsampwidth() == SAMPLE_WIDTH and source.getnframes() > 0
    except (wave.Error, EOFError):
        return False


def _decoded_to_wav(decoded: miniaudio.DecodedSoundFile) -> bytes:
    if decoded.num_frames <= 0:
        raise AudioError("the audio holds no sound")
    return pcm_to_wav(decoded.samples.tobytes(), decoded.sample_rate, decoded.nchannels)


def to_wav(data: bytes) -> bytes:
    """The audio as 16-bit PCM WAV; raises AudioError for anything not WAV or MP3."""
    if not data:
        raise AudioError("the audio file is empty")
    try:
        if is_wav(data):
            if _plain_pcm_wav(data):
                return data
            return _decoded_to_wav(miniaudio.wav_read_s16(data))
        if is_mp3(data):
            return _decoded_to_wav(miniaudio.mp3_read_s16(data))
    except miniaudio.DecodeError as exc:
        raise AudioError(f"the audio file cannot be decoded: {exc}") from exc
    raise AudioError("the audio file is neither WAV nor MP3")


def to_pcm(data: bytes, *, sample_rate: int, channels: int = 1) -> bytes:
    """16-bit PCM samples of a WAV or MP3, converted to the given rate and channels."""
    wav = to_wav(data)
    try:
        decoded = miniaudio.decode(wav, output_format=miniaudio.SampleFormat.SIGNED16,
                                   nchannels=channels, sample_rate=sample_rate)  # fmt: skip
    except miniaudio.DecodeError as exc:
        raise AudioError(f"the audio cannot be converted: {exc}") from exc
    return decoded.samples.tobytes()


__all__ = ["AudioError", "is_mp3", "is_wav", "pcm_to_wav", "to_pcm", "to_wav", "wav_duration"]
