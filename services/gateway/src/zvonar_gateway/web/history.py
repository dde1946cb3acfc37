"""The report's status history written for people: each event's details as a phrase in the
page's language ("одобрена автоматической проверкой", "пауза: клиент"), moments in the
account's timezone, and nothing internal (no field names, no account timezone, no ids of
phone bases)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from zvonar_gateway.files.exports import page_time
from zvonar_gateway.web.i18n import Words

# key: (Russian, English); `{}` fields are filled in by the phrase functions below.
_PHRASES: dict[str, tuple[str, str]] = {
    "accepted": ("одобрена", "approved"),
    "rejected": ("отклонена", "rejected"),
    "clarification": ("отправлена модератору на уточнение", "sent to a moderator to clarify"),
    "by_rules": ("автоматической проверкой", "by the automatic check"),
    "by_moderator": ("модератором", "by a moderator"),
    "by_customer": ("клиентом", "by the customer"),
    "by_system": ("системой", "by the system"),
    "reason": ("причина: {}", "reason: {}"),
    "copy_of": ("копия рассылки {}", "a copy of campaign {}"),
    "starts_at": ("начало в {}", "starts at {}"),
    "began_at": ("первые звонки в {}", "calling began at {}"),
    "reopens_at": ("продолжится {}", "resumes {}"),
    "until": ("до {}", "until {}"),
    "now": ("статус: {}", "status: {}"),
    "number": ("номер {}", "number {}"),
    "part": ("часть {} (рассылка {})", "part {} (campaign {})"),
    "phone_count": ("номеров: {}", "{} numbers"),
    "parts": ("части: {}", "parts: {}"),
    "new_copy": ("создана копия: рассылка {}", "copied to campaign {}"),
    "comment": ("«{}»", "“{}”"),
}


def _time(value: Any, tz: str) -> str:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return page_time(moment, tz)


class _Phrasebook:
    def __init__(self, words: Words, tz: str) -> None:
        self.words, self.tz = words, tz
        self._index = 0 if words.lang == "ru" else 1

    def __call__(self, key: str, *values: Any) -> str:
        return _PHRASES[key][self._index].format(*values)

    def time(self, value: Any) -> str:
        return _time(value, self.tz)

    def by(self, who: Any) -> str:
        return self(f"by_{who}") if f"by_{who}" in _PHRASES else str(who)


def _created(p: _Phrasebook, d: Mapping[str, Any]) -> list[str]:
    return [p("copy_of", d["copied_from"])] if d.get("copied_from") else []


def _moderated(p: _Phrasebook, d: Mapping[str, Any]) -> list[str]:
    decision = str(d.get("decision", ""))
    said = p(decision) if decision in _PHRASES else decision
    return [f"{said} {p.by(d.get('decided_by'))}".strip()]


def _scheduled(p: _Phrasebook, d: Mapping[str, Any]) -> list[str]:
    return [p("starts_at", p.time(d["start_at"]))] if d.get("start_at") else []


def _started(p: _Phrasebook, d: Mapping[str, Any]) -> list[str]:
    return [p("began_at", p.time(d["started_at"]))] if d.get("started_at") else []


def _paused(p: _Phrasebook, d: Mapping[str, Any]) -> list[str]:
    who = d.get("paused_by") or d.get("stopped_by")
    return [p.by(who)] if who else []


def _resumed(p: _Phrasebook, d: Mapping[str, Any]) -> list[str]:
    return [p("now", p.words.status(d["status"]))] if d.get("status") else []


def _out_of_window(p: _Phrasebook, d: Mapping[str, Any]) -> list[str]:
    return [p("reopens_at", p.time(d["reopens_at"]))] if d.get("reopens_at") else []


def _comment(p: _Phrasebook, d: Mapping[str, Any]) -> list[str]:
    return [p("comment", d.get("text", ""))]


def _released(p: _Phrasebook, d: Mapping[str, Any]) -> list[str]:
    return [p("number", d["number"])] if d.get("number") else []


def _part(p: _Phrasebook, d: Mapping[str, Any]) -> list[str]:
    said = [p("part", d.get("part"), d.get("part_campaign_id"))]
    if d.get("phone_count") is not None:
        said.append(p("phone_count", d["phone_count"]))
    return said


def _parts_cancelled(p: _Phrasebook, d: Mapping[str, Any]) -> list[str]:
    return [p("parts", ", ".join(str(n) for n in d.get("parts") or []))]


def _copied(p: _Phrasebook, d: Mapping[str, Any]) -> list[str]:
    return [p("new_copy", d["new_campaign_id"])] if d.get("new_campaign_id") else []


def _idle(p: _Phrasebook, d: Mapping[str, Any]) -> list[str]:
    said = [p.words.idle_reason(str(d["reason"]))] if d.get("reason") else []
    if d.get("until"):
        said.append(p("until", p.time(d["until"])))
    return said


_EVENTS: dict[str, Callable[[_Phrasebook, Mapping[str, Any]], list[str]]] = {
    "CampaignCreated": _created,
    "CampaignModerated": _moderated,
    "CampaignScheduled": _scheduled,
    "CampaignStarted": _started,
    "CampaignPaused": _paused,
    "CampaignStopped": _paused,
    "CampaignResumed": _resumed,
    "CampaignOutOfWindow": _out_of_window,
    "CampaignCommentChanged": _comment,
    "CampaignNumberReleased": _released,
    "SmartPartStarted": _part,
    "SmartPartFinished": _part,
    "SmartPartsCancelled": _parts_cancelled,
    "CampaignCopied": _copied,
    "CampaignIdle": _idle,
}
# Events whose own words (a rejection's reason, a failure's) follow their phrase.
_WITH_REASON = {"CampaignModerated", "CampaignPaused", "CampaignStopped", "CampaignFailed"}


def _unknown(p: _Phrasebook, d: Mapping[str, Any]) -> list[str]:
    """An event this page does not know yet: its plain values, moments re-zoned."""
    said = []
    for key, value in sorted(d.items()):
        if value in ("", None) or isinstance(value, dict | list) or key.endswith("_id"):
            continue
        said.append(p.time(value) if key.endswith("_at") else str(value))
    return said


def history_rows(history: list[Any], tz: str, words: Words) -> list[tuple[str, str, str]]:
    """(time, event, what happened) for each entry of the report's status history."""
    book = _Phrasebook(words, tz)
    rows = []
    for entry in history:
        details: Mapping[str, Any] = entry.details or {}
        said = _EVENTS.get(entry.type, _unknown)(book, details)
        if entry.type in _WITH_REASON and details.get("reason"):
            said.append(book("reason", details["reason"]))
        at = "" if entry.at is None else page_time(entry.at, tz)
        rows.append((at, words.event(entry.type), ", ".join(said)))
    return rows
