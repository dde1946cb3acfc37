"""The rulebook: topics of words and phrases, each with an action (reject with a reason, or
send to a moderator for clarification), as read from the rules file."""

from __future__ import annotations

import tomllib
from typing import Any, Literal

import msgspec

Action = Literal["reject", "clarify"]


class RulesError(ValueError):
    """A rules file that cannot be used: bad TOML, unknown keys, empty topics."""


class Topic(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    name: str
    action: Action
    words: list[str]
    reason: str = ""


class Rulebook(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    topics: list[Topic] = []


def parse_rulebook(text: str) -> Rulebook:
    """Read a rulebook from TOML text (`[[topics]]` tables); raise RulesError if unusable."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"rules file is not valid TOML: {exc}") from exc
    try:
        rulebook = msgspec.convert(data, Rulebook)
    except msgspec.ValidationError as exc:
        raise RulesError(f"rules file: {exc}") from exc
    for topic in rulebook.topics:
        _check_topic(topic)
    return rulebook


def _check_topic(topic: Topic) -> None:
    if not topic.words or any(not word.strip() for word in topic.words):
        raise RulesError(f"topic {topic.name!r}: words must be a non-empty list of phrases")
    # The reason becomes the customer's system comment, so a rejection must explain itself.
    if topic.action == "reject" and not topic.reason.strip():
        raise RulesError(f"topic {topic.name!r}: a reject topic needs a reason")
