"""The create form (pure): its fields turned into the JSON create body of docs/API.md, so
the page goes through the very validation the API uses (`domain.validation`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from zvonar_contracts.options import WEEKDAYS

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
