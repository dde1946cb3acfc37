"""Matching text against the rulebook by word forms.

Text and rule phrases are split into words (letters and digits; punctuation and case do not
count) and each word is reduced to its possible lemmas by the injected `Lemmatize` function.
A phrase matches where consecutive words of the text share a lemma with each of its words:
"ставок на спорт" matches "ставки на спорт", "кредитом" matches "кредит", and "кредо",
whose lemma is its own, does not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from zvonar_moderation.domain.rules import Rulebook, Topic

Lemmatize = Callable[[str], frozenset[str]]
Lemmas = frozenset[str]

_WORD = re.compile(r"[^\W_]+")


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _lemmas(word: str, lemmatize: Lemmatize) -> Lemmas:
    # "заём" and "заем" are the same word; the analyser's lemmas keep the ё.
    forms = {word, *lemmatize(word)}
    return frozenset(form.replace("ё", "е") for form in forms)


@dataclass(frozen=True)
class Phrase:
    text: str
    lemmas: tuple[Lemmas, ...]

    def occurs_in(self, text_lemmas: list[Lemmas]) -> bool:
        size = len(self.lemmas)
        for start in range(len(text_lemmas) - size + 1):
            window = text_lemmas[start : start + size]
            if all(word & rule for word, rule in zip(window, self.lemmas, strict=True)):
                return True
        return False


@dataclass(frozen=True)
class Hit:
    topic: Topic
    phrase: str


class Matcher:
    """A rulebook compiled to lemma sequences; build once per rules load."""

    def __init__(self, rulebook: Rulebook, lemmatize: Lemmatize) -> None:
        self.rulebook = rulebook
        self._lemmatize = lemmatize
        self._topics = [
            (topic, [self._phrase(words) for words in topic.words]) for topic in rulebook.topics
        ]

    def _phrase(self, text: str) -> Phrase:
        lemmas = tuple(_lemmas(word, self._lemmatize) for word in words_of(text))
        return Phrase(text=text, lemmas=lemmas)

    def hits(self, text: str) -> list[Hit]:
        """Every topic the text trips, in rulebook order, with the first phrase that did."""
        text_lemmas = [_lemmas(word, self._lemmatize) for word in words_of(text)]
        found: list[Hit] = []
        for topic, phrases in self._topics:
            phrase = next((p for p in phrases if p.lemmas and p.occurs_in(text_lemmas)), None)
            if phrase is not None:
                found.append(Hit(topic=topic, phrase=phrase.text))
        return found
