"""The Campaign aggregate: every decision about one campaign, recorded as past-tense events.

Command methods check the invariants (the table of allowed moves, smart parts, the caller
number) and raise a `DomainError` before anything is recorded, so a refused command changes
nothing. Each event carries its contract struct (zvonar_contracts.campaign_events), with the
campaign number and the account id: what is stored and what the relay publishes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from zvonar_campaign.domain.errors import InvalidTransition, ValidationFailed
from zvonar_campaign.domain.events import STATUS_AFTER, payload_type, status_after
from zvonar_campaign.domain.ids import campaign_uuid
from zvonar_campaign.domain.transitions import can_move, is_final
from zvonar_contracts import campaign_events as w
from zvonar_contracts.limits import MAX_COMMENT
from zvonar_contracts.options import CallerIdRouting, CampaignOptions, PhoneBaseRef, Status

PartState = Literal["pending", "started", "finished", "cancelled"]
RESUME_TARGETS = frozenset({Status.IN_PROGRESS, Status.SCHEDULED, Status.PAUSED_WINDOW})


class SmartPart(msgspec.Struct, frozen=True):
    """One re-dial round; `part_campaign_id` is the number of its own list row."""

    part: int
    state: PartState = "pending"
    part_campaign_id: int | None = None


class Campaign(Aggregate):
    """Each event carries its contract struct (`payload`), the one declaration of its fields;
    the event classes here say only what an event does to the campaign. The status after a
    lifecycle event is `status_after` (domain/events.py), the same rule the wire carries."""

    class Created(Aggregate.Created):
        payload: w.CampaignCreated

    class Event(Aggregate.Event):
        payload: w.CampaignEventBase

        def apply(self, campaign: Any) -> None:
            status = status_after(self.payload)
            if status is not None:
                campaign.status_value = status.value

    class Moderated(Event):
        payload: w.CampaignModerated

        def apply(self, campaign: Any) -> None:
            super().apply(campaign)
            if self.payload.decision == "rejected":
                campaign.system_comment = self.payload.reason

    class Scheduled(Event):
        payload: w.CampaignScheduled

    class Started(Event):
        payload: w.CampaignStarted  # `note`: "" in events stored before the note existed

        def apply(self, campaign: Any) -> None:
            super().apply(campaign)
            campaign.started_at = self.payload.started_at
            campaign.system_note = self.payload.note
            if self.payload.note:
                campaign.system_comment = self.payload.note

    class Paused(Event):
        payload: w.CampaignPaused

        def apply(self, campaign: Any) -> None:
            super().apply(campaign)
            campaign.paused_by = self.payload.paused_by

    class Resumed(Event):
        payload: w.CampaignResumed

        def apply(self, campaign: Any) -> None:
            super().apply(campaign)
            campaign.paused_by = None

    class OutOfWindow(Event):
        payload: w.CampaignOutOfWindow

    class Finished(Event):
        payload: w.CampaignFinished

    class Stopped(Event):
        payload: w.CampaignStopped

    class Failed(Event):
        payload: w.CampaignFailed

        def apply(self, campaign: Any) -> None:
            super().apply(campaign)
            campaign.system_comment = self.payload.reason

    class CommentChanged(Event):
        payload: w.CampaignCommentChanged

        def apply(self, campaign: Any) -> None:
            campaign.user_comment = self.payload.text

    class NumberReleased(Event):
        payload: w.CampaignNumberReleased

        def apply(self, campaign: Any) -> None:
            campaign.caller_number = None
            campaign.number_released = True

    class SmartPartStarted(Event):
        payload: w.SmartPartStarted

        def apply(self, campaign: Any) -> None:
            fact = self.payload
            campaign.set_part(fact.part, state="started", part_campaign_id=fact.part_campaign_id)

    class SmartPartFinished(Event):
        payload: w.SmartPartFinished

        def apply(self, campaign: Any) -> None:
            campaign.set_part(self.payload.part, state="finished")

    class SmartPartsCancelled(Event):
        payload: w.SmartPartsCancelled

        def apply(self, campaign: Any) -> None:
            for part in self.payload.parts:
                campaign.set_part(part, state="cancelled")

    class Copied(Event):
        payload: w.CampaignCopied

    class Deleted(Event):
        payload: w.CampaignDeleted

        def apply(self, campaign: Any) -> None:
            campaign.deleted = True

    class Idle(Event):
        payload: w.CampaignIdle

    @staticmethod
    def create_id(payload: w.CampaignCreated, **_: Any) -> UUID:
        return campaign_uuid(payload.campaign_id)

    @classmethod
    def new(
        cls,
        campaign_id: int,
        account_id: str,
        account_tz: str,
        options: CampaignOptions,
        phones: PhoneBaseRef,
        copied_from: int | None,
    ) -> Campaign:
        """A new campaign, awaiting moderation: its CampaignCreated event is recorded."""
        at = cls.Created.create_timestamp()
        payload = w.CampaignCreated(
            campaign_id=campaign_id,
            account_id=account_id,
            at=at,
            options=options,
            phones=phones,
            account_tz=account_tz,
            copied_from=copied_from,
        )
        return cls._create(cls.Created, timestamp=at, payload=payload)

    def __init__(self, payload: w.CampaignCreated) -> None:
        """The state a CampaignCreated leaves (eventsourcing calls it from the event)."""
        options = payload.options
        self.campaign_id = payload.campaign_id
        self.account_id = payload.account_id
        self.account_tz = payload.account_tz
        self.options = options
        self.phones = payload.phones
        self.copied_from = payload.copied_from
        self.status_value = Status.MODERATION.value
        self.started_at: dt.datetime | None = None
        self.user_comment = options.comment
        self.system_comment = ""
        self.system_note = ""  # what the dialer said at the start it cannot do (IVR words)
        routing = options.routing
        self.caller_number = routing.number if isinstance(routing, CallerIdRouting) else None
        self.number_released = False
        self.paused_by: str | None = None
        self.smart_parts = [SmartPart(k) for k in range(1, (options.smart or _NO_SMART).parts + 1)]
        self.deleted = False

    # --- state -----------------------------------------------------------------------------
    @property
    def status(self) -> Status:
        return Status(self.status_value)

    def smart_part(self, part: int) -> SmartPart | None:
        if 1 <= part <= len(self.smart_parts):
            return self.smart_parts[part - 1]
        return None

    # --- commands --------------------------------------------------------------------------
    def moderate(self, decision: str, decided_by: str, reason: str, start_ahead: bool) -> None:
        if decision == "accepted":
            target = Status.SCHEDULED if start_ahead else Status.ACCEPTED
        elif decision == "rejected":
            target = Status.REJECTED
        else:
            target = Status.CLARIFICATION
        self._require_move(target)
        self._record(
            self.Moderated,
            decision=decision,
            decided_by=decided_by,
            status=target,
            reason=reason,
        )
        if target is Status.SCHEDULED and self.options.start_at is not None:
            self._record(self.Scheduled, start_at=self.options.start_at)

    def start(self, started_at: dt.datetime, note: str = "") -> None:
        if self.status is Status.IN_PROGRESS:
            return  # the dialer retried: it is started already
        if self.status not in (Status.ACCEPTED, Status.SCHEDULED):
            # A paused campaign goes back to calls by a resume, never by a second start.
            raise InvalidTransition(f"campaign {self.campaign_id} is {self.status.value}")
        self._require_move(Status.IN_PROGRESS)
        self._record(self.Started, started_at=started_at, note=note)

    def pause(self, paused_by: str, reason: str) -> None:
        self._require_move(Status.PAUSED)
        self._record(self.Paused, paused_by=paused_by, reason=reason)

    def resume(self, target: Status) -> None:
        if target not in RESUME_TARGETS:
            raise ValidationFailed("status", f"cannot resume to {target.value}")
        if self.status not in (Status.PAUSED, Status.PAUSED_WINDOW):
            raise InvalidTransition(f"campaign {self.campaign_id} is {self.status.value}")
        self._require_move(target)
        # The standing note of the start comes back in place of the pause's reason (an
        # aggregate from before notes existed, or from a snapshot of one, has none).
        self._record(self.Resumed, status=target, note=getattr(self, "system_note", ""))

    def mark_out_of_window(self, reopens_at: dt.datetime | None) -> None:
        if self.status is Status.PAUSED_WINDOW:
            return  # the dialer retried
        self._require_move(Status.PAUSED_WINDOW)
        self._record(self.OutOfWindow, reopens_at=reopens_at)

    def finish(self) -> None:
        if self.status is Status.FINISHED:
            return  # the dialer retried
        self._require_move(Status.FINISHED)
        self._record(self.Finished)

    def stop(self, stopped_by: str, reason: str) -> None:
        self._require_move(Status.STOPPED)
        self._record(self.Stopped, stopped_by=stopped_by, reason=reason)

    def fail(self, reason: str) -> None:
        self._require_move(Status.ERROR)
        self._record(self.Failed, reason=reason)

    def set_comment(self, text: str) -> None:
        if len(text) > MAX_COMMENT:
            raise ValidationFailed("text", f"a comment has at most {MAX_COMMENT} characters")
        self._record(self.CommentChanged, text=text)

    def release_number(self) -> None:
        if self.caller_number is None:
            raise InvalidTransition(f"campaign {self.campaign_id} has no caller number")
        self._record(self.NumberReleased, number=self.caller_number)

    def check_smart_part_can_start(self, part: int, phone_count: int) -> None:
        state = self._existing_part(part)
        if state.state != "pending":
            raise InvalidTransition(f"smart part {part} is {state.state}")
        if is_final(self.status):
            raise InvalidTransition(f"campaign {self.campaign_id} is {self.status.value}")
        if phone_count < 0:
            raise ValidationFailed("phone_count", "must not be negative")

    def start_smart_part(
        self,
        part: int,
        part_campaign_id: int,
        phone_count: int,
        started_at: dt.datetime | None = None,
    ) -> None:
        self.check_smart_part_can_start(part, phone_count)
        self._record(
            self.SmartPartStarted,
            part=part,
            part_campaign_id=part_campaign_id,
            phone_count=phone_count,
            started_at=started_at,
        )

    def finish_smart_part(self, part: int) -> None:
        state = self._existing_part(part)
        if state.state == "finished":
            return  # the dialer retried
        if state.state != "started" or state.part_campaign_id is None:
            raise InvalidTransition(f"smart part {part} is {state.state}")
        self._record(self.SmartPartFinished, part=part, part_campaign_id=state.part_campaign_id)

    def cancel_last_smart_part(self) -> None:
        unfinished = self._unfinished_parts()
        self._record(self.SmartPartsCancelled, parts=unfinished[-1:])

    def cancel_all_smart_parts(self) -> None:
        self._record(self.SmartPartsCancelled, parts=self._unfinished_parts())

    def record_copy(self, new_campaign_id: int) -> None:
        self._require_present()
        self._record(self.Copied, new_campaign_id=new_campaign_id)

    def delete(self) -> None:
        """Bulk delete: a running campaign is stopped first, then it leaves the list."""
        self._require_present()
        if not is_final(self.status):
            self._record(self.Stopped, stopped_by="customer", reason="deleted")
        self._record(self.Deleted)

    def report_idle(self, reason: str, until: dt.datetime | None) -> None:
        if is_final(self.status):
            raise InvalidTransition(f"campaign {self.campaign_id} is {self.status.value}")
        self._record(self.Idle, reason=reason, until=until)

    # --- helpers ---------------------------------------------------------------------------
    def _record(self, event_class: type[Campaign.Event], **fields: Any) -> None:
        """Records `event_class` with its contract struct built from `fields`, the campaign's
        number and account, the event's time and (a lifecycle event) the status it leads to."""
        self._require_present()
        contract = payload_type(event_class)
        assert contract is not None, event_class
        at = event_class.create_timestamp()
        if contract in STATUS_AFTER:
            fields.setdefault("status", STATUS_AFTER[contract])
        payload = contract(
            campaign_id=self.campaign_id, account_id=self.account_id, at=at, **fields
        )
        self.trigger_event(event_class, timestamp=at, payload=payload)

    def _require_present(self) -> None:
        if self.deleted:
            raise InvalidTransition(f"campaign {self.campaign_id} is deleted")

    def _require_move(self, target: Status) -> None:
        if not can_move(self.status, target):
            raise InvalidTransition(
                f"campaign {self.campaign_id} cannot go from {self.status.value} to {target.value}"
            )

    def _existing_part(self, part: int) -> SmartPart:
        state = self.smart_part(part)
        if state is None:
            raise InvalidTransition(f"campaign {self.campaign_id} has no smart part {part}")
        return state

    def _unfinished_parts(self) -> list[int]:
        parts = [p.part for p in self.smart_parts if p.state in ("pending", "started")]
        if not parts:
            raise InvalidTransition(f"campaign {self.campaign_id} has no smart part to cancel")
        return parts

    def set_part(self, part: int, **changes: Any) -> None:
        parts = list(self.smart_parts)
        parts[part - 1] = msgspec.structs.replace(parts[part - 1], **changes)
        self.smart_parts = parts


class _NoSmart(msgspec.Struct, frozen=True):
    parts: int = 0


_NO_SMART = _NoSmart()
