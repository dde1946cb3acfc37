"""Call recordings of the simulated carrier: the message, then what the callee answered.

Nobody really speaks on a simulated line, so the callee's word is synthesized and a
pressed key becomes its DTMF tone. The message comes already decoded (`ports.Message`, the
form it is played in: it is not decoded again per call); the answer is brought to its sample
rate, mono, 16-bit, and both are joined with a short pause into one WAV.
"""

from __future__ import annotations

import math
import struct

from zvonar_dialer.service_layer.ports import Message, SpeechSynthesizer

from .audio import pcm_to_wav, to_pcm

PAUSE_S = 0.3
KEY_TONE_S = 0.25
_KEY_AMPLITUDE = 8000
# The DTMF keypad: each key is the sum of one low and one high tone (Hz).
_DTMF: dict[str, tuple[int, int]] = {
    "1": (697, 1209),
    "2": (697, 1336),
    "3": (697, 1477),
    "4": (770, 1209),
    "5": (770, 1336),
    "6": (770, 1477),
    "7": (852, 1209),
    "8": (852, 1336),
    "9": (852, 1477),
    "*": (941, 1209),
    "0": (941, 1336),
    "#": (941, 1477),
}


def _silence(seconds: float, sample_rate: int) -> bytes:
    return b"\x00\x00" * round(seconds * sample_rate)


def key_tone(key: str, sample_rate: int, seconds: float = KEY_TONE_S) -> bytes:
    """16-bit mono PCM of the DTMF tone of one keypad key."""
    low, high = _DTMF[key]
    frames = round(seconds * sample_rate)
    samples = (
        round(
            _KEY_AMPLITUDE
            * (
                math.sin(2 * math.pi * low * n / sample_rate)
                + math.sin(2 * math.pi * high * n / sample_rate)
            )
        )
        for n in range(frames)
    )
    return struct.pack(f"<{frames}h", *samples)


def _answer_pcm(answer_text: str, synthesizer: SpeechSynthesizer, sample_rate: int) -> bytes:
    answer = answer_text.strip()
    if len(answer) == 1 and answer in _DTMF:
        return key_tone(answer, sample_rate)
    spoken = synthesizer.synthesize(answer, voice="ru")
    return to_pcm(spoken, sample_rate=sample_rate)


def make_recording(message: Message, answer_text: str, synthesizer: SpeechSynthesizer) -> bytes:
    """One mono 16-bit WAV: the message, a short pause and the callee's answer, if any."""
    sample_rate = message.sample_rate
    if not answer_text.strip():
        return pcm_to_wav(message.pcm, sample_rate)
    answer = _answer_pcm(answer_text, synthesizer, sample_rate)
    return pcm_to_wav(message.pcm + _silence(PAUSE_S, sample_rate) + answer, sample_rate)


__all__ = ["SpeechSynthesizer", "key_tone", "make_recording"]
