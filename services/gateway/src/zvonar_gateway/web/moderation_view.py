"""What the moderator reads in the queue: what the campaign says (the TTS text, or the
uploaded file's name beside a player), its lead words and number count, and the words the
rule caught marked where they stand in that text.

The rule's hit comes from the system comment moderation left ("... — «кредит» (название)").
Moderation matches by word forms, so "кредитом" in the text is a hit of "кредит": the marks
are placed the same way, by the lemmas pymorphy3 gives each word (the analyser moderation
itself uses), loaded once on first use.
"""

from __future__ import annotations

import asyncio
import re
from functools import cache, lru_cache

import msgspec
import pymorphy3

from zvonar_contracts.options import CampaignOptions, FileAudio, TtsAudio, WordsIvr

_WORD = re.compile(r"[^\W_]+")
_QUOTED = re.compile(r"«([^»]+)»")


class Piece(msgspec.Struct, frozen=True, array_like=True):
    text: str
    hit: bool


class Said(msgspec.Struct, frozen=True, kw_only=True):
    """One campaign as the moderator reads it."""

    name: list[Piece]
    text: list[Piece]  # the TTS text (empty for an uploaded file)
    file_name: list[Piece]  # the uploaded file's name (empty for TTS)
    has_file: bool
    lead_words: list[list[Piece]]
    lead_keys: list[str]
    numbers: int


@cache
def _analyzer() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer(lang="ru")


async def load_morphology() -> None:
    """Loads the dictionaries (a second or so) off the event loop."""
    await asyncio.to_thread(_analyzer)


@lru_cache(maxsize=20_000)
def lemmas(word: str) -> frozenset[str]:
    word = word.lower()
    forms = {word, *(parse.normal_form for parse in _analyzer().parse(word))}
    return frozenset(form.replace("ё", "е") for form in forms)


def caught_phrases(system_comment: str) -> list[str]:
    """The phrases a rule caught, as moderation quotes them in its comment."""
    return [found.strip() for found in _QUOTED.findall(system_comment) if found.strip()]


def mark(text: str, phrases: list[str]) -> list[Piece]:
    """`text` cut into pieces, the runs of words that match a phrase (by word forms) marked."""
    words = list(_WORD.finditer(text))
    spans: list[tuple[int, int]] = []
    word_lemmas = [lemmas(w.group()) for w in words]
    for phrase in phrases:
        wanted = [lemmas(w) for w in _WORD.findall(phrase)]
        size = len(wanted)
        if not size:
            continue
        for start in range(len(words) - size + 1):
            window = word_lemmas[start : start + size]
            if all(have & want for have, want in zip(window, wanted, strict=True)):
                spans.append((words[start].start(), words[start + size - 1].end()))
    pieces, at = [], 0
    for begin, end in sorted(spans):
        if begin < at:
            continue  # overlaps a mark already made
        if begin > at:
            pieces.append(Piece(text[at:begin], False))
        pieces.append(Piece(text[begin:end], True))
        at = end
    if at < len(text):
        pieces.append(Piece(text[at:], False))
    return pieces


def said(options: CampaignOptions, system_comment: str, numbers: int) -> Said:
    phrases = caught_phrases(system_comment)
    audio = options.audio
    ivr = options.ivr
    return Said(
        name=mark(options.name, phrases),
        text=mark(audio.text, phrases) if isinstance(audio, TtsAudio) else [],
        file_name=mark(audio.name, phrases) if isinstance(audio, FileAudio) else [],
        has_file=isinstance(audio, FileAudio),
        lead_words=[mark(w, phrases) for w in ivr.lead_words] if isinstance(ivr, WordsIvr) else [],
        lead_keys=list(ivr.lead_keys) if ivr is not None and not isinstance(ivr, WordsIvr) else [],
        numbers=numbers,
    )
