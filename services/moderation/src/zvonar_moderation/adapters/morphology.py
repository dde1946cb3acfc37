"""Russian morphology with pymorphy3: a word's possible lemmas (normal forms).

The analyser loads its dictionaries once (slow); lemmas of a word are cached because the
same words come again and again (names, greetings, rule phrases).
"""

from __future__ import annotations

from functools import lru_cache

import pymorphy3

from zvonar_moderation.domain.matching import Lemmatize


def pymorphy_lemmatizer(cache_size: int = 50_000) -> Lemmatize:
    analyzer = pymorphy3.MorphAnalyzer(lang="ru")

    @lru_cache(maxsize=cache_size)
    def lemmatize(word: str) -> frozenset[str]:
        return frozenset(parse.normal_form for parse in analyzer.parse(word))

    return lemmatize
