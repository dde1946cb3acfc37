"""Uploaded audio: make sure a file really is WAV or MP3 and measure how long it plays.

The check reads the content, never trusts the file name: a WAV is a RIFF/WAVE file with a
sane `fmt ` chunk and a non-empty `data` chunk (any codec: telephony WAVs are often A-law or
µ-law, which the stdlib `wave` module refuses); an MP3 is a run of valid MPEG audio frames
right after any ID3 tags, as mutagen reads them.
"""

from __future__ import annotations

import io
import struct
from typing import Literal

import msgspec
from mutagen.mp3 import MPEGInfo, skip_id3

MAX_AUDIO_BYTES = 20 * 1024 * 1024


class AudioCheck(msgspec.Struct, frozen=True):
    format: Literal["wav", "mp3"]
    duration_s: float


class AudioRejected(ValueError):
    """Not an audio file the service can play (422)."""


class AudioTooLarge(ValueError):
    """Over the 20 MB limit of docs/API.md (413)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"audio files are limited to 20 MB, this one has {size:,} bytes")
        self.size = size


def check_audio(data: bytes) -> AudioCheck:
    """The format and duration of an uploaded file, or a clear error saying why not."""
    if len(data) > MAX_AUDIO_BYTES:
        raise AudioTooLarge(len(data))
    if data[:4] == b"RIFF":
        return AudioCheck(format="wav", duration_s=wav_duration(data))
    return AudioCheck(format="mp3", duration_s=mp3_duration(data))


def _chunks(data: bytes) -> dict[bytes, bytes]:
    """The first of each chunk of a RIFF/WAVE file; a truncated last chunk keeps what is there
    (recorders that die mid-file leave such WAVs, and they still play)."""
    chunks: dict[bytes, bytes] = {}
    offset = 12
    while offset + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, offset)
        chunks.setdefault(chunk_id, data[offset + 8 : offset + 8 + size])
        offset += 8 + size + (size & 1)  # chunks are padded to an even length
    return chunks


def wav_duration(data: bytes) -> float:
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioRejected("not a WAV file: no RIFF/WAVE header")
    chunks = _chunks(data)
    fmt = chunks.get(b"fmt ")
    if fmt is None or len(fmt) < 16:
        raise AudioRejected("not a valid WAV file: the fmt chunk is missing or short")
    _codec, channels, sample_rate, byte_rate, block_align, _bits = struct.unpack_from(
        "<HHIIHH", fmt
    )
    if not channels or not sample_rate or not byte_rate or not block_align:
        raise AudioRejected("not a valid WAV file: the fmt chunk describes no audio")
    samples = chunks.get(b"data")
    if not samples:
        raise AudioRejected("not a valid WAV file: there is no audio data")
    return round(len(samples) / byte_rate, 3)


def mp3_duration(data: bytes) -> float:
    stream = io.BytesIO(data)
    try:
        skip_id3(stream)
        audio_start = stream.tell()
        info = MPEGInfo(stream)
    except Exception as exc:  # mutagen raises several error types for garbage
        raise AudioRejected("not a WAV or MP3 file: no valid MPEG audio frames") from exc
    # mutagen hunts for a sync anywhere in the first megabyte; a real MP3 starts with audio.
    if info.sketchy or info.frame_offset != audio_start:
        raise AudioRejected("not a WAV or MP3 file: no valid MPEG audio frames at its start")
    if info.length <= 0:
        raise AudioRejected("not a valid MP3 file: it holds no audio")
    return round(info.length, 3)
