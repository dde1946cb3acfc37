"""Audio for calls: every message is decoded once, by the service's one decoder
(`zvonar_audio`, the gateway checks uploads with it too), into the form a telephone line
carries — 8 kHz mono 16-bit PCM (G.711 is 8 kHz mono, docs/TELEPHONY.md). Its length, the
decoded sound's, is what an answered call plays and is billed for; a header's word is never
taken. Anything that is not WAV or MP3, a header that claims more than the file holds, and
a file over the caps (10 minutes, 200 MB of PCM) are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from zvonar_audio import SAMPLE_WIDTH, AudioRejected, decode, pcm_to_wav
from zvonar_dialer.service_layer.ports import UnplayableAudio

LINE_RATE = 8000  # Hz: what the message is played at

AudioError = AudioRejected  # bytes that are not a playable WAV or MP3


@dataclass(frozen=True, slots=True)
class Message:
    """A campaign's message as it is played: mono 16-bit PCM at `sample_rate`."""

    pcm: bytes
    sample_rate: int

    @property
    def nbytes(self) -> int:
        return len(self.pcm)

    @property
    def duration_s(self) -> float:
        return round(len(self.pcm) / SAMPLE_WIDTH / self.sample_rate, 3)

    def wav(self) -> bytes:
        return pcm_to_wav(self.pcm, self.sample_rate)


def to_message(data: bytes) -> Message:
    """Decode a WAV or MP3 (an upload, a synthesized text) into the message as played."""
    decoded = decode(data, sample_rate=LINE_RATE, channels=1, keep_pcm=True)
    return Message(decoded.pcm, decoded.sample_rate)


class AudioDecoder:
    """The service layer's `AudioCodec`: a refused file is its `UnplayableAudio`."""

    def to_message(self, data: bytes) -> Message:
        try:
            return to_message(data)
        except AudioRejected as exc:
            raise UnplayableAudio(str(exc)) from exc

    def duration_s(self, data: bytes) -> float:
        try:
            return wav_duration(data)
        except AudioRejected as exc:
            raise UnplayableAudio(str(exc)) from exc


def to_pcm(data: bytes, *, sample_rate: int, channels: int = 1) -> bytes:
    """16-bit PCM samples of a WAV or MP3, converted to the given rate and channels."""
    return decode(data, sample_rate=sample_rate, channels=channels, keep_pcm=True).pcm


def wav_duration(data: bytes) -> float:
    """The decoded length of a WAV (or MP3) in seconds."""
    return decode(data).duration_s


__all__ = [
    "LINE_RATE",
    "SAMPLE_WIDTH",
    "AudioDecoder",
    "AudioError",
    "Message",
    "pcm_to_wav",
    "to_message",
    "to_pcm",
    "wav_duration",
]
