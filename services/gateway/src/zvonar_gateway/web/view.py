"""What a campaign row shows on the page: pure formatting of the read model, in the
account's timezone and the page's language (the seed's formats: `DD.MM.YYYY (HH:MM:SS)`,
"1 / 0 / 0 / 0 / 0 / 1")."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import msgspec

from zvonar_contracts import campaign_events as ev
from zvonar_contracts.options import Status, Tag
from zvonar_contracts.queries import CampaignDetail, CampaignView
from zvonar_gateway.files.exports import money_text, page_time, size_text
from zvonar_gateway.service_layer.actions import ACTIONS, offered
from zvonar_gateway.web.i18n import Words
from zvonar_gateway.web.messages import system_comment

# Which actions a row offers, by status: the action table's `allowed_from`
# (service_layer/actions.py, docs/API.md "Act"); the rest are always there.
_PAUSE, _RESUME, _STOP, _CANCEL = (
    ACTIONS[name] for name in ("pause", "resume", "stop", "cancel-last")
)
_RUNNING = {
    Status.ACCEPTED,
    Status.SCHEDULED,
    Status.IN_PROGRESS,
    Status.PAUSED_WINDOW,
    Status.MODERATION,
    Status.CLARIFICATION,
}


class TagView(msgspec.Struct, frozen=True):
    code: str
    label: str


class RowView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    created: str
    name: str
    tags: list[TagView]
    status: str
    status_label: str
    start: str
    size: str
    smart_size: str
    speed: int
    cost: str
    comment_user: str
    comment_system: str
    can_pause: bool
    can_resume: bool
    can_stop: bool
    has_smart: bool
    can_cancel_smart: bool
    caller_number: str | None
    running: bool
    has_recordings: bool
    no_recordings_reason: str
    parent_id: int | None = None
    smart_part: int | None = None


def local_time(value: dt.datetime | None, tz: str) -> str:
    return "" if value is None else page_time(value, tz)


def start_label(view: CampaignView, tz: str, words: Words) -> str:
    kind, at = view.start.kind, view.start.at
    if kind == "out_of_window":
        return words("out_of_window")
    if kind == "scheduled" and at is not None:
        return f"{words('scheduled_for')} {page_time(at, tz)}"
    if kind == "started" and at is not None:
        return page_time(at, tz)
    return words("not_started")


def tag_views(view: CampaignView, words: Words) -> list[TagView]:
    tags = []
    for tag in view.tags:
        label = words.tag(tag)
        if tag is Tag.SMART and view.smart_part is not None:
            label = f"{label} [{view.smart_part}]"
        tags.append(TagView(code=str(tag), label=label))
    return tags


def has_recordings(view: CampaignView) -> bool:
    """Recordings are made of answered calls of a campaign that records (its smart parts'
    count for a main campaign, whose zip holds theirs too)."""
    answered = view.size.answered + (view.smart_size.answered if view.smart_size else 0)
    return Tag.RECORDING in view.tags and answered > 0


def unfinished_parts(detail: CampaignDetail) -> int:
    """Smart parts of a main campaign neither finished nor cancelled: what "Отменить ..."
    can still cancel (the campaign service refuses when there is none)."""
    smart = detail.options.smart
    if smart is None or detail.campaign.smart_part is not None:
        return 0
    done: set[int] = set()
    for entry in detail.history:
        if entry.type == ev.SmartPartFinished.__name__:
            done.add(int(entry.details.get("part", 0)))
        elif entry.type == ev.SmartPartsCancelled.__name__:
            done.update(int(p) for p in entry.details.get("parts", []))
    return len(set(range(1, smart.parts + 1)) - done)


def row_view(view: CampaignView, tz: str, words: Words) -> RowView:
    has_smart = view.smart_size is not None and view.smart_part is None
    recorded = has_recordings(view)
    if recorded:
        no_recordings = ""
    elif Tag.RECORDING not in view.tags:
        no_recordings = words("no_recordings_off")
    else:
        no_recordings = words("no_recordings_yet")
    return RowView(
        id=view.id,
        created=f"{page_time(view.created_at, tz)} (id {view.id})",
        name=view.name,
        tags=tag_views(view, words),
        status=str(view.status),
        status_label=words.status(view.status),
        start=start_label(view, tz, words),
        size=size_text(view.size),
        smart_size=size_text(view.smart_size),
        speed=view.speed,
        cost=money_text(view.cost),
        comment_user=view.comment.user,
        comment_system=system_comment(view.comment.system, words.lang),
        can_pause=offered(_PAUSE, view.status),
        can_resume=offered(_RESUME, view.status),
        can_stop=offered(_STOP, view.status),
        has_smart=has_smart,
        # Parts are cancelled while the main campaign runs: it finishes only after its last
        # part, so a finished (or stopped, rejected) one has none left to cancel. While it
        # runs, the list checks its parts (`unfinished_parts`) before offering to cancel.
        can_cancel_smart=has_smart and offered(_CANCEL, view.status),
        caller_number=view.caller_number,
        running=view.status in _RUNNING,
        has_recordings=recorded,
        no_recordings_reason=no_recordings,
        parent_id=view.parent_id,
        smart_part=view.smart_part,
    )


def size_counters(view: CampaignView) -> list[tuple[str, int]]:
    size = view.size
    return [
        ("size_total", size.total),
        ("size_stop", size.stop_listed),
        ("size_answered", size.answered),
        ("size_leads", size.leads),
        ("size_not_answered", size.not_answered),
        ("size_in_progress", size.in_progress),
    ]


def _bucket(span: dt.timedelta) -> tuple[dt.timedelta, str]:
    """Width of a bar and the label format: a few dozen to a few hundred bars whatever the
    campaign's span."""
    if span > dt.timedelta(days=14):
        return dt.timedelta(days=1), "%d.%m"
    if span > dt.timedelta(days=2):
        return dt.timedelta(hours=1), "%d.%m %H:00"
    if span > dt.timedelta(minutes=30):
        return dt.timedelta(minutes=1), "%d.%m %H:%M"
    return dt.timedelta(seconds=10), "%H:%M:%S"


_EPOCH = dt.datetime(2000, 1, 1)  # bars are cut on the local wall clock from here


def calls_over_time(starts: list[dt.datetime], tz: str) -> tuple[list[str], list[int]]:
    """Calls counted per bar of local time on a continuous axis: every bar from the first
    call's to the last's, the quiet ones at 0, so the gaps show as gaps."""
    if not starts:
        return [], []
    zone = ZoneInfo(tz)
    moments = sorted(
        (s if s.tzinfo else s.replace(tzinfo=dt.UTC)).astimezone(zone).replace(tzinfo=None)
        for s in starts
    )
    step, label = _bucket(moments[-1] - moments[0])

    def bar_of(moment: dt.datetime) -> dt.datetime:
        return _EPOCH + (moment - _EPOCH) // step * step

    counts = Counter(bar_of(moment) for moment in moments)
    bars, bar = [], bar_of(moments[0])
    while bar <= moments[-1]:
        bars.append(bar)
        bar += step
    return [b.strftime(label) for b in bars], [counts.get(b, 0) for b in bars]
