"""The one audio decoder of Zvonar: it checks an uploaded WAV or MP3, measures it and turns it
into the 16-bit PCM the dialer plays — the gateway and the dialer both use it, so the length
a customer is shown and the length a call is billed for come from the same decoded sound.

What holds (docs/API.md, "Limits and hostile input"):
- the content decides, never the file name: a WAV is a RIFF/WAVE file whose every chunk fits
  in the file (a header that claims more than the file holds is refused: a `data` chunk that
  says 0xFFFFFF00 bytes in a 16 KB file is a lie, not a long message); an MP3 is MPEG audio
  frames right after any ID3v2 tags, and one whose VBR header (Xing/Info, VBRI) claims more
  frames than decode is refused the same way;
- the length is that of the sound decoded, frame by frame (miniaudio), never a header's word;
- decoding stops as soon as the sound passes 10 minutes or 200 MB of PCM (16-bit samples at
  the file's own rate and channels), and the file is refused: memory stays bounded by the
  cap of what is kept (nothing, when only measuring) plus one block of samples.
"""

from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass
from typing import Literal

import miniaudio

MAX_DURATION_S = 10 * 60
MAX_PCM_BYTES = 200 * 1024 * 1024
SAMPLE_WIDTH = 2  # every decoded sample is 16-bit signed PCM
BLOCK_FRAMES = 16_384  # frames decoded at a time
_RIFF_HEADER = 12
_ID3_HEADER = 10
# MPEG audio frame header: 11 sync bits, then version, layer, bitrate, sample rate.
_MPEG_SYNC = 0xFFE0_0000

AudioFormat = Literal["wav", "mp3"]


class AudioRejected(ValueError):
    """Not audio the service will play: not WAV or MP3, a header that lies, no sound."""


class AudioTooLong(AudioRejected):
    """Decodes to more than the caps allow (10 minutes, 200 MB of PCM)."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """A decoded sound: 16-bit PCM at `sample_rate` with `channels` interleaved channels.
    `pcm` holds the samples when they were asked for (`keep_pcm`), else it is empty."""

    format: AudioFormat
    sample_rate: int
    channels: int
    frames: int
    pcm: bytes = b""

    @property
    def duration_s(self) -> float:
        return round(self.frames / self.sample_rate, 3)

    def wav(self) -> bytes:
        return pcm_to_wav(self.pcm, self.sample_rate, self.channels)


def pcm_to_wav(pcm: bytes, sample_rate: int, channels: int = 1) -> bytes:
    """16-bit little-endian PCM samples in a WAV container."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
    return buffer.getvalue()


# --- what the file is ---------------------------------------------------------------------


def _wav_format(data: bytes) -> tuple[int, int]:
    """(channels, sample rate) of a RIFF/WAVE file whose chunks all fit in the file.

    Walked here rather than with mutagen.wave: mutagen (1.48) takes a chunk's size on trust,
    so a `data` chunk claiming 2 GB in a small file is read as a 37-hour recording, and a
    LIST chunk claiming 1 GB is accepted without a word."""
    fmt: bytes | None = None
    has_data = False
    offset = _RIFF_HEADER
    while offset + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, offset)
        held = len(data) - offset - 8
        if size > held:
            raise AudioRejected(
                f"not a valid WAV file: its {chunk_id.decode('latin-1')!r} chunk claims "
                f"{size:,} bytes, the file holds {held:,}"
            )
        if chunk_id == b"fmt " and fmt is None:
            fmt = data[offset + 8 : offset + 8 + size]
        elif chunk_id == b"data":
            has_data = has_data or size > 0
        offset += 8 + size + (size & 1)  # chunks are padded to an even length
    if fmt is None or len(fmt) < 16:
        raise AudioRejected("not a valid WAV file: the fmt chunk is missing or short")
    _codec, channels, sample_rate, byte_rate, block_align, _bits = struct.unpack_from(
        "<HHIIHH", fmt
    )
    if not channels or not sample_rate or not byte_rate or not block_align:
        raise AudioRejected("not a valid WAV file: the fmt chunk describes no audio")
    if not has_data:
        raise AudioRejected("not a valid WAV file: there is no audio data")
    return channels, sample_rate


def _after_id3(data: bytes) -> int:
    """Where the audio starts: past every ID3v2 tag at the head of the file."""
    offset = 0
    while data[offset : offset + 3] == b"ID3" and len(data) >= offset + _ID3_HEADER:
        flags = data[offset + 5]
        size_bytes = data[offset + 6 : offset + 10]
        if any(b & 0x80 for b in size_bytes):
            raise AudioRejected("not a valid MP3 file: a broken ID3 tag")
        size = (size_bytes[0] << 21) | (size_bytes[1] << 14) | (size_bytes[2] << 7) | size_bytes[3]
        offset += _ID3_HEADER + size + (_ID3_HEADER if flags & 0x10 else 0)
    return offset


def _starts_with_mpeg_frame(data: bytes, offset: int) -> bool:
    if len(data) < offset + 4:
        return False
    header = int.from_bytes(data[offset : offset + 4], "big")
    version = (header >> 19) & 0b11
    layer = (header >> 17) & 0b11
    bitrate = (header >> 12) & 0b1111
    rate = (header >> 10) & 0b11
    return (
        header & _MPEG_SYNC == _MPEG_SYNC
        and version != 0b01
        and layer != 0b00
        and bitrate != 0b1111
        and rate != 0b11
    )


def _mp3_claimed_samples(data: bytes, offset: int) -> int | None:
    """The samples a VBR header in the first frame (Xing/Info, or VBRI) says the file holds:
    its frame count times the samples of a frame; None without one."""
    header = int.from_bytes(data[offset : offset + 4], "big")
    mpeg1 = (header >> 19) & 0b11 == 0b11
    if (header >> 17) & 0b11 != 0b01:  # the tags live in Layer III files only
        return None
    mono = (header >> 6) & 0b11 == 0b11
    side_info = (17 if mono else 32) if mpeg1 else (9 if mono else 17)
    per_frame = 1152 if mpeg1 else 576
    xing = offset + 4 + side_info
    if data[xing : xing + 4] in (b"Xing", b"Info") and len(data) >= xing + 12:
        if int.from_bytes(data[xing + 4 : xing + 8], "big") & 1:  # the frame count is there
            return int.from_bytes(data[xing + 8 : xing + 12], "big") * per_frame
    vbri = offset + 36
    if data[vbri : vbri + 4] == b"VBRI" and len(data) >= vbri + 18:
        return int.from_bytes(data[vbri + 14 : vbri + 18], "big") * per_frame
    return None


def audio_format(data: bytes) -> AudioFormat:
    """WAV or MP3 by content, or AudioRejected saying why not."""
    if not data:
        raise AudioRejected("the audio file is empty")
    if data[:4] == b"RIFF":
        if data[8:12] != b"WAVE":
            raise AudioRejected("not a WAV file: no RIFF/WAVE header")
        _wav_format(data)
        return "wav"
    if _starts_with_mpeg_frame(data, _after_id3(data)):
        return "mp3"
    raise AudioRejected("not a WAV or MP3 file: no valid MPEG audio frames at its start")


def _native(data: bytes, kind: AudioFormat) -> tuple[int, int]:
    if kind == "wav":
        return _wav_format(data)
    try:
        # Reads frame headers only (no samples are made): the MP3's own channels and rate.
        info = miniaudio.mp3_get_info(data)
    except miniaudio.DecodeError as exc:
        raise AudioRejected("not a valid MP3 file: no decodable MPEG audio frames") from exc
    if not info.nchannels or not info.sample_rate:
        raise AudioRejected("not a valid MP3 file: it holds no audio")
    return info.nchannels, info.sample_rate


# --- decoding -----------------------------------------------------------------------------


def _too_long(seconds: float, max_duration_s: float, max_pcm_bytes: int) -> AudioTooLong:
    if seconds > max_duration_s:
        return AudioTooLong(f"the audio plays longer than {max_duration_s / 60:g} minutes")
    return AudioTooLong(f"the audio decodes to over {max_pcm_bytes / 1024**2:g} MB of PCM")


def decode(
    data: bytes,
    *,
    sample_rate: int = 0,
    channels: int = 0,
    keep_pcm: bool = False,
    max_duration_s: float = MAX_DURATION_S,
    max_pcm_bytes: int = MAX_PCM_BYTES,
) -> Decoded:
    """Decode `data` (WAV or MP3) to 16-bit PCM, at `sample_rate` and `channels` (0: the
    file's own), counting the frames really there. Raises AudioRejected for anything that is
    not playable audio and AudioTooLong as soon as the sound passes a cap. The PCM cap counts
    16-bit samples at the file's own rate and channels, whatever the output asked for."""
    kind = audio_format(data)
    native_channels, native_rate = _native(data, kind)
    out_rate = sample_rate or native_rate
    out_channels = channels or native_channels
    # Both caps as a number of output frames: past it, decoding stops.
    native_frames = min(max_duration_s * native_rate, max_pcm_bytes / (native_channels * 2))
    limit = int(native_frames * out_rate / native_rate)
    try:
        stream = miniaudio.stream_memory(
            data,
            output_format=miniaudio.SampleFormat.SIGNED16,
            nchannels=out_channels,
            sample_rate=out_rate,
            frames_to_read=BLOCK_FRAMES,
        )
    except miniaudio.DecodeError as exc:
        raise AudioRejected(f"the {kind.upper()} file cannot be decoded") from exc
    frames = 0
    kept: list[bytes] = []
    try:
        for block in stream:
            frames += len(block) // out_channels
            if frames > limit:
                raise _too_long(frames / out_rate, max_duration_s, max_pcm_bytes)
            if keep_pcm:
                kept.append(block.tobytes())
    except miniaudio.DecodeError as exc:
        raise AudioRejected(f"the {kind.upper()} file cannot be decoded") from exc
    finally:
        stream.close()  # frees the decoder at once, also when a cap stopped it early
    if frames == 0:
        raise AudioRejected(f"the {kind.upper()} file holds no sound")
    if kind == "mp3":
        _check_mp3_claim(data, frames * native_rate / out_rate, native_rate)
    return Decoded(kind, out_rate, out_channels, frames, b"".join(kept))


def _check_mp3_claim(data: bytes, decoded_samples: float, rate: int) -> None:
    """An MP3 whose VBR header claims more frames than decode is refused, like a WAV whose
    data chunk claims more bytes than it holds (two frames' leeway for encoder padding)."""
    claimed = _mp3_claimed_samples(data, _after_id3(data))
    if claimed is not None and claimed > decoded_samples + 2 * 1152:
        raise AudioRejected(
            f"not a valid MP3 file: its header claims {claimed / rate:,.1f} s, "
            f"the file holds {decoded_samples / rate:,.1f} s"
        )


def measure(data: bytes) -> Decoded:
    """The format and decoded length of an upload, keeping no samples."""
    return decode(data)


__all__ = [
    "MAX_DURATION_S",
    "MAX_PCM_BYTES",
    "SAMPLE_WIDTH",
    "AudioFormat",
    "AudioRejected",
    "AudioTooLong",
    "Decoded",
    "audio_format",
    "decode",
    "measure",
    "pcm_to_wav",
]
