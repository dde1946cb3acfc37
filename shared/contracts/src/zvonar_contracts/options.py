"""Campaign options as they travel on the wire: the body of docs/API.md "Create", phones aside.

Tags and statuses are closed vocabularies, spelled as the API spells them.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from zvonar_contracts.limits import (
    MAX_WEEKDAYS,
    CommentText,
    FileName,
    Hash,
    LeadKeys,
    LeadWords,
    Name,
    ObjectName,
    Phone,
    SecretRef,
    TimeOfDay,
    TtsText,
    WebhookUrl,
)


class Status(StrEnum):
    MODERATION = "moderation"
    CLARIFICATION = "clarification"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    PAUSED_WINDOW = "paused_window"
    FINISHED = "finished"
    STOPPED = "stopped"
    REJECTED = "rejected"
    ERROR = "error"


FINAL_STATUSES: frozenset[Status] = frozenset(
    {Status.FINISHED, Status.STOPPED, Status.REJECTED, Status.ERROR}
)


class Tag(StrEnum):
    RECOGNITION = "recognition"
    SMART = "smart"
    NO_CALLER_ID = "no_caller_id"
    TTS = "tts"
    AUDIO_FILE = "audio_file"
    RECORDING = "recording"
    WINDOW = "window"
    INTEGRATION = "integration"
    AMD = "amd"


class TtsAudio(msgspec.Struct, frozen=True, tag="tts", tag_field="kind"):
    text: TtsText


class FileAudio(msgspec.Struct, frozen=True, tag="file", tag_field="kind"):
    file_id: ObjectName
    name: FileName = ""


Audio = TtsAudio | FileAudio


class CarouselRouting(msgspec.Struct, frozen=True, tag="carousel", tag_field="kind"):
    pass


class CallerIdRouting(msgspec.Struct, frozen=True, tag="caller_id", tag_field="kind"):
    number: Phone


Routing = CarouselRouting | CallerIdRouting


class WordsIvr(msgspec.Struct, frozen=True, tag="words", tag_field="kind"):
    lead_words: LeadWords


class KeysIvr(msgspec.Struct, frozen=True, tag="keys", tag_field="kind"):
    lead_keys: LeadKeys


Ivr = WordsIvr | KeysIvr

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class SmartOptions(msgspec.Struct, frozen=True):
    parts: int
    delay_minutes: int = 0


class CallingWindow(msgspec.Struct, frozen=True, rename={"from_": "from"}):
    days: Annotated[list[Weekday], msgspec.Meta(max_length=MAX_WEEKDAYS)]
    from_: TimeOfDay  # "HH:MM"
    to: TimeOfDay  # "HH:MM"
    tz: Literal["account", "callee"] = "account"


class Integration(msgspec.Struct, frozen=True):
    """Where each call result is posted. The webhook secret itself is never here (nor in any
    event, reply or log): it is sealed in bucket WEBHOOK_SECRETS_BUCKET under `secret_ref`
    (None: none was given). Old events' `secret` field is ignored when decoded."""

    webhook_url: WebhookUrl
    secret_ref: SecretRef | None = None


class CampaignOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a campaign was created with except the phone base itself."""

    name: Name
    audio: Audio
    speed: int = 800
    start_at: dt.datetime | None = None
    routing: Routing = CarouselRouting()
    ivr: Ivr | None = None
    smart: SmartOptions | None = None
    record: bool = False
    window: CallingWindow | None = None
    integration: Integration | None = None
    amd: bool = False
    comment: CommentText = ""


def tags_of(options: CampaignOptions, *, smart_part: int | None = None) -> list[Tag]:
    """Tags are derived from the options, never typed by hand (docs/PRODUCT.md)."""
    tags: list[Tag] = []
    if isinstance(options.ivr, WordsIvr):
        tags.append(Tag.RECOGNITION)
    if options.smart is not None or smart_part is not None:
        tags.append(Tag.SMART)
    if isinstance(options.routing, CarouselRouting):
        tags.append(Tag.NO_CALLER_ID)
    tags.append(Tag.TTS if isinstance(options.audio, TtsAudio) else Tag.AUDIO_FILE)
    if options.record:
        tags.append(Tag.RECORDING)
    if options.window is not None:
        tags.append(Tag.WINDOW)
    if options.integration is not None:
        tags.append(Tag.INTEGRATION)
    if options.amd:
        tags.append(Tag.AMD)
    return tags


class PhoneBaseRef(msgspec.Struct, frozen=True):
    """A normalised phone base kept in the object store: one E.164 number a line, UTF-8."""

    bucket: ObjectName
    name: ObjectName
    count: int
    sha256: Hash


class Size(msgspec.Struct, frozen=True):
    """The six counters of docs/PRODUCT.md "Size"."""

    total: int = 0
    stop_listed: int = 0
    answered: int = 0
    leads: int = 0
    not_answered: int = 0
    in_progress: int = 0
