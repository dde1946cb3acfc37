"""The create form (pure): its fields turned into the JSON create body of docs/API.md, so
the page goes through the very validation the API uses (`domain.validation`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from zvonar_contracts.options import (
    WEEKDAYS,
    CallerIdRouting,
    CampaignOptions,
    FileAudio,
    TtsAudio,
    WordsIvr,
)

Errors = dict[str, str]


def _int(values: Mapping[str, str], name: str, field: str, default: int, errors: Errors) -> int:
    text = (values.get(name) or "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        errors[field] = "a whole number"
        return default


def _words(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def local_start(text: str, tz: str) -> str | None:
    """`YYYY-MM-DDTHH:MM` typed in the account's timezone, as RFC 3339 with its offset."""
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    return moment.isoformat()


_DOTTED_DATE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


def _start_typed(values: Mapping[str, str]) -> str:
    """The start as the page asks it, ДД.ММ.ГГГГ and ЧЧ:ММ (midnight when no time), in
    the ISO form local_start reads; what does not read so is passed on to fail there."""
    date = (values.get("start_date") or "").strip()
    time = (values.get("start_time") or "").strip() or "00:00"
    time = f"0{time}" if re.fullmatch(r"\d:\d\d", time) else time
    if not date:
        return ""
    found = _DOTTED_DATE.fullmatch(date)
    iso = f"{found[3]}-{int(found[2]):02d}-{int(found[1]):02d}" if found else date
    return f"{iso}T{time}"


def form_to_body(
    values: Mapping[str, str], days: list[str], tz: str
) -> tuple[dict[str, Any], Errors]:
    """The create body (phones and an uploaded audio file aside) and the form's own faults."""
    errors: Errors = {}
    body: dict[str, Any] = {
        "speed": _int(values, "speed", "speed", 800, errors),
        "record": values.get("record") == "on",
        "amd": values.get("amd") == "on",
        "comment": values.get("comment") or "",
    }
    if (values.get("name") or "").strip():
        body["name"] = values["name"].strip()
    if values.get("audio_kind", "tts") == "tts":
        body["audio"] = {"kind": "tts", "text": values.get("tts_text") or ""}
    start = (values.get("start_at") or "").strip() or _start_typed(values)
    if start:
        try:
            body["start_at"] = local_start(start, tz)
        except ValueError:
            errors["start_at"] = "a date and a time"
    if values.get("routing_kind") == "caller_id":
        body["routing"] = {
            "kind": "caller_id",
            "number": (values.get("caller_number") or "").strip(),
        }
    ivr_kind = values.get("ivr_kind", "none")
    if ivr_kind == "words":
        body["ivr"] = {"kind": "words", "lead_words": _words(values.get("ivr_words") or "")}
    elif ivr_kind == "keys":
        body["ivr"] = {"kind": "keys", "lead_keys": _words(values.get("ivr_keys") or "")}
    parts = _int(values, "smart_parts", "smart.parts", 0, errors)
    if parts:
        delay = _int(values, "smart_delay", "smart.delay_minutes", 0, errors)
        body["smart"] = {"parts": parts, "delay_minutes": delay}
    if values.get("window_on") == "on":
        body["window"] = {
            "days": [day for day in days if day in WEEKDAYS],
            "from": (values.get("window_from") or "").strip(),
            "to": (values.get("window_to") or "").strip(),
            "tz": "callee" if values.get("window_tz") == "callee" else "account",
        }
    url = (values.get("webhook_url") or "").strip()
    if url:
        body["integration"] = {"webhook_url": url, "secret": values.get("webhook_secret") or ""}
    return body, errors


def options_to_values(
    options: CampaignOptions, tz: str, now: dt.datetime
) -> tuple[dict[str, str], list[str]]:
    """The create form's fields filled from a campaign's options ("Скопировать"): the
    inverse of `form_to_body`. A start time already past is left out (the copy starts when
    it is launched); an uploaded audio file is named by `copy_audio`."""
    values: dict[str, str] = {
        "name": options.name,
        "speed": str(options.speed),
        "comment": options.comment,
        "routing_kind": "carousel",
        "ivr_kind": "none",
        "window_from": "09:00",
        "window_to": "21:00",
        "smart_delay": "60",
    }
    if options.record:
        values["record"] = "on"
    if options.amd:
        values["amd"] = "on"
    if isinstance(options.audio, FileAudio):
        values["audio_kind"] = "file"
        values["copy_audio"] = options.audio.file_id
        values["copy_audio_name"] = options.audio.name
    elif isinstance(options.audio, TtsAudio):
        values["audio_kind"] = "tts"
        values["tts_text"] = options.audio.text
    if options.start_at is not None and options.start_at > now:
        values["start_at"] = options.start_at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")
    if isinstance(options.routing, CallerIdRouting):
        values["routing_kind"] = "caller_id"
        values["caller_number"] = options.routing.number
    if isinstance(options.ivr, WordsIvr):
        values["ivr_kind"] = "words"
        values["ivr_words"] = ", ".join(options.ivr.lead_words)
    elif options.ivr is not None:
        values["ivr_kind"] = "keys"
        values["ivr_keys"] = ", ".join(options.ivr.lead_keys)
    if options.smart is not None:
        values["smart_parts"] = str(options.smart.parts)
        values["smart_delay"] = str(options.smart.delay_minutes)
    days = ["mon", "tue", "wed", "thu", "fri"]
    if options.window is not None:
        values["window_on"] = "on"
        values["window_from"] = options.window.from_
        values["window_to"] = options.window.to
        values["window_tz"] = options.window.tz
        days = list(options.window.days)
    if options.integration is not None:
        values["webhook_url"] = options.integration.webhook_url
        # The secret is write-only (sealed apart, never read back): typed again for a copy.
    return values, days
