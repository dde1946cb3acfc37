"""The speech-recognizer port for IVR words over a real carrier.

The SIP carrier hands a recognizer the callee's audio after the message (8 kHz mono 16-bit
PCM, `DIALER_IVR_WAIT_S` of it) and the campaign's lead words; the answer is the word
heard ("" for nothing). No implementation ships in this version: without one a words
campaign's calls over SIP get an empty answer and no lead (TELEPHONY.md step 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Recognizer(Protocol):
    async def recognize(self, pcm: bytes, rate: int, words: Sequence[str]) -> str:
        """The word said in `pcm` (one of `words` if it was one of them), or ""."""
        ...


__all__ = ["Recognizer"]
