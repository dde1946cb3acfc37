"""Validation of the create body of docs/API.md: every field checked, every fault named.

The body is converted field by field (not in one go) so that a request with several
mistakes gets all of them back in one 422, each with the field at fault.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import msgspec

from zvonar_contracts.limits import CommentText, Name, WebhookSecret, WebhookUrl
from zvonar_contracts.options import (
    Audio,
    CallerIdRouting,
    CallingWindow,
    CampaignOptions,
    CarouselRouting,
    FileAudio,
    Integration,
    Ivr,
    KeysIvr,
    Routing,
    SmartOptions,
    TtsAudio,
    WordsIvr,
)
from zvonar_contracts.time_of_day import TIME_OF_DAY_MESSAGE, is_time_of_day

MAX_PHONES = 1_000_000
MAX_SPEED = 100_000
MAX_SMART_PARTS = 5
MAX_SMART_DELAY = 10_080
_KEY = re.compile(r"^[0-9*#]$")

Details = list[dict[str, str]]


class IntegrationBody(msgspec.Struct, frozen=True):
    """`integration` as the customer sends it. The secret is write-only: the gateway seals it
    apart (zvonar_runtime.secrets) and the campaign's options keep only a reference."""

    webhook_url: WebhookUrl
    secret: WebhookSecret


class CreateCampaignBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The body of `POST /api/v1/campaigns` (only `phones` and `audio` are required)."""

    audio: Audio
    phones: list[str] | None = None
    # Lengths are the contract's (zvonar_contracts.limits), checked by the conversion.
    name: Name | None = None
    speed: int = 800
    start_at: dt.datetime | None = None
    routing: Routing = CarouselRouting()
    ivr: Ivr | None = None
    smart: SmartOptions | None = None
    record: bool = False
    window: CallingWindow | None = None
    integration: IntegrationBody | None = None
    amd: bool = False
    comment: CommentText = ""


_FIELDS = {f.encode_name: f for f in msgspec.structs.fields(CreateCampaignBody)}


class BodyInvalid(Exception):
    def __init__(self, details: Details) -> None:
        super().__init__("; ".join(f"{d['field']}: {d['message']}" for d in details))
        self.details = details


def detail(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def msgspec_detail(field: str, exc: msgspec.ValidationError) -> dict[str, str]:
    """Turn "Expected `int`, got `str` - at `$.parts`" into field `smart.parts`."""
    text = str(exc)
    message, _, path = text.partition(" - at `$")
    path = path.rstrip("`")
    if path:
        field = field + path
    return detail(field, message)


def convert_body(raw: Any) -> tuple[CreateCampaignBody | None, Details]:
    """Convert what can be converted, and name each field that cannot (wrong type, over the
    contract's length limits). A faulty optional field is left at its default, so the rules
    can still be checked on the rest and every fault is answered at once; None when a
    required field is at fault or the body is not an object at all."""
    if not isinstance(raw, dict):
        return None, [detail("body", "expected a JSON object")]
    errors: Details = []
    values: dict[str, Any] = {}
    for key in raw:
        if key not in _FIELDS:
            errors.append(detail(str(key), "unknown field"))
    complete = True  # every required field is there and converted
    for name, info in _FIELDS.items():
        if name not in raw:
            if info.required:
                errors.append(detail(name, "required"))
                complete = False
            continue
        try:
            values[info.name] = msgspec.convert(raw[name], info.type)
        except msgspec.ValidationError as exc:
            errors.append(msgspec_detail(name, exc))
            complete = complete and not info.required
    return (CreateCampaignBody(**values) if complete else None), errors


def check_rules(
    body: CreateCampaignBody,
    *,
    now: dt.datetime,
    phone_number: Callable[[str], str | None],
    require_phones: bool,
) -> Details:
    """Rules beyond types; `phone_number` gives the E.164 form of a valid number, else None."""
    errors: Details = []
    if require_phones and not body.phones:
        errors.append(detail("phones", "at least one phone number is required"))
    if isinstance(body.audio, TtsAudio):
        if not body.audio.text.strip():
            errors.append(detail("audio.text", "must not be empty"))
    elif not body.audio.file_id.strip():
        errors.append(detail("audio.file_id", "must not be empty"))
    if not 1 <= body.speed <= MAX_SPEED:
        errors.append(detail("speed", f"calls per hour, from 1 to {MAX_SPEED}"))
    if body.start_at is not None:
        if body.start_at.tzinfo is None:
            errors.append(detail("start_at", "must carry a UTC offset (RFC 3339)"))
        elif body.start_at <= now:
            errors.append(detail("start_at", "must be in the future"))
    if isinstance(body.routing, CallerIdRouting) and phone_number(body.routing.number) is None:
        errors.append(detail("routing.number", "not a valid phone number"))
    errors += _ivr_rules(body.ivr)
    errors += _smart_rules(body.smart)
    errors += _window_rules(body.window)
    errors += _integration_rules(body.integration)
    return errors


def _ivr_rules(ivr: Ivr | None) -> Details:
    if isinstance(ivr, WordsIvr):
        if not ivr.lead_words or any(not w.strip() for w in ivr.lead_words):
            return [detail("ivr.lead_words", "one or more non-empty words")]
    if isinstance(ivr, KeysIvr):
        if not ivr.lead_keys or any(not _KEY.match(k) for k in ivr.lead_keys):
            return [detail("ivr.lead_keys", "one or more keys, each one of 0-9, * or #")]
    return []


def _smart_rules(smart: SmartOptions | None) -> Details:
    errors: Details = []
    if smart is None:
        return errors
    if not 1 <= smart.parts <= MAX_SMART_PARTS:
        errors.append(detail("smart.parts", f"from 1 to {MAX_SMART_PARTS}"))
    if not 0 <= smart.delay_minutes <= MAX_SMART_DELAY:
        errors.append(detail("smart.delay_minutes", f"from 0 to {MAX_SMART_DELAY}"))
    return errors


def _window_rules(window: CallingWindow | None) -> Details:
    errors: Details = []
    if window is None:
        return errors
    if not window.days:
        errors.append(detail("window.days", "at least one day"))
    elif len(set(window.days)) != len(window.days):
        errors.append(detail("window.days", "a day is listed twice"))
    for name, value in (("from", window.from_), ("to", window.to)):
        if not is_time_of_day(value):
            errors.append(detail(f"window.{name}", TIME_OF_DAY_MESSAGE))
    if not errors and window.from_ >= window.to:
        errors.append(detail("window.to", "must be later than window.from"))
    return errors


def _integration_rules(integration: IntegrationBody | None) -> Details:
    if integration is None:
        return []
    url = urlsplit(integration.webhook_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        return [detail("integration.webhook_url", "an http:// or https:// URL")]
    return []


def default_name(now: dt.datetime) -> str:
    """docs/API.md: the creation time in the account's timezone, `DD.MM.YYYY (HH:MM:SS)`."""
    return now.strftime("%d.%m.%Y (%H:%M:%S)")


def to_options(
    body: CreateCampaignBody, *, name: str, caller_number: str | None, secret_ref: str | None = None
) -> CampaignOptions:
    """The options the campaign is created with: the webhook secret is already sealed away,
    `secret_ref` names it."""
    routing: Routing = body.routing
    if isinstance(routing, CallerIdRouting) and caller_number is not None:
        routing = CallerIdRouting(number=caller_number)
    audio: Audio = body.audio
    if isinstance(audio, FileAudio):
        audio = FileAudio(file_id=audio.file_id.strip(), name=audio.name)
    return CampaignOptions(
        name=name,
        audio=audio,
        speed=body.speed,
        start_at=body.start_at.astimezone(dt.UTC) if body.start_at else None,
        routing=routing,
        ivr=body.ivr,
        smart=body.smart,
        record=body.record,
        window=body.window,
        integration=None
        if body.integration is None
        else Integration(webhook_url=body.integration.webhook_url, secret_ref=secret_ref),
        amd=body.amd,
        comment=body.comment,
    )
