"""What the aggregates' events are made of: each domain event carries its contract struct
(zvonar_contracts.campaign_events) as `payload`, the one declaration of its fields; the
event class itself only adds what the event does to its aggregate (`apply`).

`payload_type` is that struct's type for an event class (None for an event that carries none:
StopList.Created, which only opens an account's stop-list, and snapshots); `status_after` is
the status a campaign is in after a lifecycle event, the rule written once."""

from __future__ import annotations

import typing
from functools import cache

import msgspec

from zvonar_contracts import campaign_events as w
from zvonar_contracts.options import Status

PAYLOAD = "payload"

# The status each lifecycle event leads to, where the event does not name it itself
# (a moderation decision and a resume carry where the campaign goes).
STATUS_AFTER: dict[type[w.CampaignEventBase], Status] = {
    w.CampaignScheduled: Status.SCHEDULED,
    w.CampaignStarted: Status.IN_PROGRESS,
    w.CampaignPaused: Status.PAUSED,
    w.CampaignOutOfWindow: Status.PAUSED_WINDOW,
    w.CampaignFinished: Status.FINISHED,
    w.CampaignStopped: Status.STOPPED,
    w.CampaignFailed: Status.ERROR,
}


@cache
def payload_type(event_class: type) -> type[msgspec.Struct] | None:
    """The contract struct an event class carries as `payload`, None if it carries none."""
    if not any(PAYLOAD in vars(k).get("__annotations__", {}) for k in event_class.__mro__):
        return None  # eventsourcing's own (snapshots): their hints are not ours to resolve
    hint = typing.get_type_hints(event_class).get(PAYLOAD)
    if isinstance(hint, type) and issubclass(hint, msgspec.Struct):
        return hint
    return None


def status_after(event: w.CampaignEventBase) -> Status | None:
    """The campaign's status after `event`; None: the event leaves it as it was."""
    carried = getattr(event, "status", None)
    if carried is not None:
        return Status(carried)
    return STATUS_AFTER.get(type(event))


def with_status(event: w.CampaignEventBase) -> w.CampaignEventBase:
    """`event` with its `status` filled in (an event stored before events carried it)."""
    if type(event) in STATUS_AFTER and getattr(event, "status", None) is None:
        return msgspec.structs.replace(event, status=STATUS_AFTER[type(event)])
    return event
