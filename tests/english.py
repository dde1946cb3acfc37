"""Latin words left on a Russian page: the check of issue 18 ("no English on the Russian
page"). Proper names, formats and units the product writes in Latin letters are allowed."""

from __future__ import annotations

import re
from html.parser import HTMLParser

ALLOWED = frozenset(
    {
        "zvonar",
        "csv",
        "xlsx",
        "txt",
        "wav",
        "mp3",
        "ivr",
        "callerid",
        "webhook",
        "url",
        "id",
        "api",
        "english",
        "zip",
        "http",
        "https",
        "utc",
        "msk",
        "gmt",
        "tts",
    }
)
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")


class _Text(HTMLParser):
    """The text a person reads: element text, no script/style, no attributes but the
    placeholder and title a person also reads."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in ("placeholder", "title", "aria-label") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def english_words(text: str, also_allowed: frozenset[str] = frozenset()) -> list[str]:
    """Latin words of `text` outside the allow-list, URLs and e-mail-like tokens aside."""
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"\S+@\S+", " ", text)
    text = re.sub(r"\S*/\S*", " ", text)  # paths, file ids, IANA zone names
    text = re.sub(r"\S+\.(?:wav|mp3|csv|txt|xlsx|zip)\b", " ", text, flags=re.I)  # file names
    allowed = ALLOWED | {w.lower() for w in also_allowed}
    return [w for w in _LATIN_WORD.findall(text) if w.lower() not in allowed]
