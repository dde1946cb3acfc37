"""The verdict on a new campaign: which texts are checked and how hits become a decision.

Checked: the campaign name, the TTS text, the IVR lead words and an uploaded audio file's
name (its sound is not transcribed). A reject topic wins over a clarify topic; no hit means
accepted.
"""

from __future__ import annotations

import msgspec

from zvonar_contracts.campaign_events import Decision
from zvonar_contracts.limits import MAX_REASON
from zvonar_contracts.options import CampaignOptions, FileAudio, TtsAudio, WordsIvr
from zvonar_moderation.domain.matching import Hit, Matcher
from zvonar_moderation.domain.rules import Action

FIELD_LABELS = {
    "name": "название",
    "tts": "текст ролика",
    "ivr": "слова-лиды",
    "audio": "имя аудиофайла",
}


# A reject topic wins over a clarify topic, whatever the order of the hits.
_PRECEDENCE: tuple[tuple[Action, Decision], ...] = (
    ("reject", "rejected"),
    ("clarify", "clarification"),
)


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    decision: Decision
    reason: str = ""
    topic: str | None = None


def checked_texts(options: CampaignOptions) -> list[tuple[str, str]]:
    """(field, text) pairs the rules look at, each matched on its own."""
    texts = [("name", options.name)]
    if isinstance(options.audio, TtsAudio):
        texts.append(("tts", options.audio.text))
    elif isinstance(options.audio, FileAudio) and options.audio.name:
        texts.append(("audio", options.audio.name))
    if isinstance(options.ivr, WordsIvr):
        texts.extend(("ivr", word) for word in options.ivr.lead_words)
    return texts


def judge(options: CampaignOptions, matcher: Matcher) -> Verdict:
    hits = [(field, hit) for field, text in checked_texts(options) for hit in matcher.hits(text)]
    for action, decision in _PRECEDENCE:
        chosen = next(((f, h) for f, h in hits if h.topic.action == action), None)
        if chosen is not None:
            field, hit = chosen
            return Verdict(decision=decision, reason=_reason(hit, field), topic=hit.topic.name)
    return Verdict(decision="accepted")


def _reason(hit: Hit, field: str) -> str:
    where = f"«{hit.phrase}» ({FIELD_LABELS[field]})"
    if not hit.topic.reason:
        return f"найдено {where}"[:MAX_REASON]
    # At most the contract's length (a longer one is refused); the topic's text gives way.
    room = max(MAX_REASON - len(where) - 3, 0)
    return f"{hit.topic.reason[:room]} — {where}"[:MAX_REASON]
