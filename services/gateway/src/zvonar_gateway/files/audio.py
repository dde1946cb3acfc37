"""Uploaded audio: make sure a file really is WAV or MP3 and measure how long it plays.

The check and the measure are one decoding pass of `zvonar_audio` (the decoder the dialer
plays and bills with): the content decides, never the file name; a WAV header that claims
more than the file holds, a file that holds no sound, and one that decodes to over 10
minutes or 200 MB of PCM are refused (422); `duration_s` is the decoded sound's length.
"""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec

from zvonar_audio import AudioRejected, AudioTooLong, measure

MAX_AUDIO_BYTES = 20 * 1024 * 1024


class AudioCheck(msgspec.Struct, frozen=True):
    format: Literal["wav", "mp3"]
    duration_s: float


class AudioTooLarge(ValueError):
    """Over the 20 MB limit of docs/API.md (413)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"audio files are limited to 20 MB, this one has {size:,} bytes")
        self.size = size


def check_audio(data: bytes) -> AudioCheck:
    """The format and decoded duration of an uploaded file, or a clear error saying why not.
    CPU work for a long file: call it off the event loop."""
    if len(data) > MAX_AUDIO_BYTES:
        raise AudioTooLarge(len(data))
    decoded = measure(data)
    return AudioCheck(format=decoded.format, duration_s=decoded.duration_s)


def new_file_id() -> str:
    """The `file_id` of a new upload: a name inside the uploading account's folder
    (`zvonar_contracts.subjects.uploaded_audio_object`), so it names nothing elsewhere."""
    return f"upload/{uuid.uuid4().hex}"


def clip_duration(data: bytes) -> float:
    """The decoded length of a clip the dialer stored."""
    return measure(data).duration_s


__all__ = [
    "MAX_AUDIO_BYTES",
    "AudioCheck",
    "AudioRejected",
    "AudioTooLarge",
    "AudioTooLong",
    "check_audio",
    "clip_duration",
    "new_file_id",
]
