"""Text to speech with espeak-ng, called through ctypes, into mono 16-bit PCM WAV.

`espeakng-loader` ships the library and its data (Russian voice included) but no
command. espeak-ng keeps global state, so the library is initialised once per process
(synchronous output: samples arrive in a callback while `espeak_Synth` runs) and every
synthesis holds one process-wide lock. Synthesis blocks: call it from a worker thread
(`asyncio.to_thread`) in async code.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import espeakng_loader

from zvonar_dialer.service_layer.ports import SynthesisError

from .audio import SAMPLE_WIDTH, pcm_to_wav, wav_duration

AUDIO_OUTPUT_SYNCHRONOUS = 2
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
ESPEAK_RATE = 1
ESPEAK_INITIALIZE_DONT_EXIT = 0x8000  # report missing data instead of exiting the process
EE_OK = 0
MAX_TEXT_CHARS = 20_000

_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p
)


class _Espeak:
    """The process's one espeak-ng instance; use only while holding `_LOCK`."""

    def __init__(self) -> None:
        try:
            self.lib: Any = ctypes.CDLL(espeakng_loader.get_library_path())
            data_path = espeakng_loader.get_data_path().encode()
        except (OSError, RuntimeError) as exc:
            raise SynthesisError(f"espeak-ng library is not available: {exc}") from exc
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.sample_rate = self.lib.espeak_Initialize(
            AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, ESPEAK_INITIALIZE_DONT_EXIT
        )
        if self.sample_rate <= 0:
            raise SynthesisError(f"espeak-ng failed to initialise (code {self.sample_rate})")
        self._chunks: list[bytes] = []
        # Kept on the instance: ctypes must not collect a callback the library still holds.
        self._callback = _SynthCallback(self._collect)
        self.lib.espeak_SetSynthCallback(self._callback)

    def _collect(self, samples: Any, count: int, _events: Any) -> int:
        if samples and count > 0:
            self._chunks.append(ctypes.string_at(samples, count * SAMPLE_WIDTH))
        return 0  # 0 = go on synthesizing

    def synthesize(self, text: str, voice: str, rate_wpm: int) -> bytes:
        if self.lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
            raise SynthesisError(f"espeak-ng has no voice {voice!r}")
        self.lib.espeak_SetParameter(ESPEAK_RATE, rate_wpm, 0)
        self._chunks = []
        encoded = text.encode("utf-8")
        status = self.lib.espeak_Synth(
            encoded, len(encoded) + 1, 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None
        )
        pcm, self._chunks = b"".join(self._chunks), []
        if status != EE_OK:
            raise SynthesisError(f"espeak-ng failed to synthesize (code {status})")
        if not pcm:
            raise SynthesisError("espeak-ng produced no audio for the text")
        return pcm


_LOCK = threading.Lock()
_engine: _Espeak | None = None


def _espeak() -> _Espeak:
    global _engine
    if _engine is None:
        _engine = _Espeak()
    return _engine


class Synthesizer:
    """Speaks text into WAV bytes; all instances share the process's espeak-ng."""

    def __init__(self, rate_wpm: int = 160) -> None:
        self.rate_wpm = rate_wpm

    def synthesize(self, text: str, voice: str = "ru") -> bytes:
        spoken = text.strip()
        if not spoken:
            raise SynthesisError("there is no text to synthesize")
        if not any(char.isalnum() for char in spoken):
            raise SynthesisError("the text has no words to pronounce")
        if len(spoken) > MAX_TEXT_CHARS:
            raise SynthesisError(f"text is longer than {MAX_TEXT_CHARS} characters")
        with _LOCK:
            engine = _espeak()
            pcm = engine.synthesize(spoken, voice, self.rate_wpm)
            return pcm_to_wav(pcm, engine.sample_rate)


__all__ = ["SynthesisError", "Synthesizer", "pcm_to_wav", "wav_duration"]
