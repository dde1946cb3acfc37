"""One handler per command: gather what the decision needs (the dialer's clock, read locally),
then load, decide and save in one worker-thread step. Listed in COMMAND_HANDLERS."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from zvonar_campaign.domain.campaign import Campaign
from zvonar_campaign.domain.errors import InvalidTransition
from zvonar_campaign.domain.validation import check_new_campaign
from zvonar_campaign.service_layer.errors import Conflict, NotFound
from zvonar_campaign.service_layer.unit import Deps, ok
from zvonar_contracts import commands as c
from zvonar_contracts.clock import start_is_ahead
from zvonar_contracts.commands import CommandOk
from zvonar_contracts.options import Status


async def create(cmd: c.CreateCampaign, deps: Deps) -> CommandOk:
    check_new_campaign(cmd.options, cmd.phones, cmd.account_tz)
    return await deps.in_thread(lambda: _create(cmd, cmd.account_id, deps))


def _create(cmd: c.CreateCampaign, account_id: str, deps: Deps) -> CommandOk:
    key = cmd.idempotency_key
    held = deps.tables.find_key_sync(account_id, key) if key else None
    if held is None:
        number = deps.tables.next_number_sync()
        if not key:
            return _store_new(cmd, account_id, number, deps)
        held = deps.tables.reserve_key_sync(account_id, key, cmd.request_hash, number)
        if held.fresh:
            return _store_new(cmd, account_id, number, deps)
    if held.request_hash != cmd.request_hash:
        raise Conflict("this Idempotency-Key was used with a different request")
    try:
        first = deps.load_campaign(held.campaign_id, account_id)
    except NotFound:
        # The first request reserved the key but died before storing: finish its work.
        return _store_new(cmd, account_id, held.campaign_id, deps)
    return ok(first, deps.events.max_position(), replayed=True)


def _store_new(cmd: c.CreateCampaign, account_id: str, number: int, deps: Deps) -> CommandOk:
    campaign = Campaign.new(
        campaign_id=number,
        account_id=account_id,
        account_tz=cmd.account_tz,
        options=cmd.options,
        phones=cmd.phones,
        copied_from=None,
    )
    return ok(campaign, deps.save(campaign))


async def moderate(cmd: c.ModerateCampaign, deps: Deps) -> CommandOk:
    start_ahead = False
    if cmd.decision == "accepted":
        campaign = await deps.in_thread(lambda: deps.load_campaign(cmd.campaign_id, cmd.account_id))
        start_at = campaign.options.start_at
        start_ahead = start_is_ahead(start_at, deps.clock.now())
    return await _change(
        cmd, deps, lambda k: k.moderate(cmd.decision, cmd.decided_by, cmd.reason, start_ahead)
    )


async def start(cmd: c.StartCampaign, deps: Deps) -> CommandOk:
    return await _change(cmd, deps, lambda k: k.start(cmd.started_at, cmd.note))


async def pause(cmd: c.PauseCampaign, deps: Deps) -> CommandOk:
    return await _change(cmd, deps, lambda k: k.pause(cmd.paused_by, cmd.reason))


async def resume(cmd: c.ResumeCampaign, deps: Deps) -> CommandOk:
    if cmd.status is not None:  # the dialer's resume names where the campaign goes
        target = cmd.status
        return await _change(cmd, deps, lambda k: k.resume(target))
    # A customer's resume: scheduled while the start time is ahead of the dialer's clock,
    # else in_progress. The dialer places it after the event: if every zone it still has
    # numbers in is outside its window, it marks it out of window (paused_window) itself.
    now = deps.clock.now()

    def decide(campaign: Campaign) -> None:
        if campaign.status is not Status.PAUSED:
            raise InvalidTransition(f"campaign {cmd.campaign_id} is {campaign.status.value}")
        ahead = start_is_ahead(campaign.options.start_at, now)
        campaign.resume(Status.SCHEDULED if ahead else Status.IN_PROGRESS)

    return await _change(cmd, deps, decide)


async def stop(cmd: c.StopCampaign, deps: Deps) -> CommandOk:
    return await _change(cmd, deps, lambda k: k.stop(cmd.stopped_by, cmd.reason))


async def mark_out_of_window(cmd: c.MarkOutOfWindow, deps: Deps) -> CommandOk:
    return await _change(cmd, deps, lambda k: k.mark_out_of_window(cmd.reopens_at))


async def finish(cmd: c.FinishCampaign, deps: Deps) -> CommandOk:
    return await _change(cmd, deps, lambda k: k.finish())


async def fail(cmd: c.FailCampaign, deps: Deps) -> CommandOk:
    return await _change(cmd, deps, lambda k: k.fail(cmd.reason))


async def set_comment(cmd: c.SetComment, deps: Deps) -> CommandOk:
    return await _change(cmd, deps, lambda k: k.set_comment(cmd.text))


async def release_number(cmd: c.ReleaseNumber, deps: Deps) -> CommandOk:
    return await _change(cmd, deps, lambda k: k.release_number())


async def start_smart_part(cmd: c.StartSmartPart, deps: Deps) -> CommandOk:
    return await deps.in_thread(lambda: _start_smart_part(cmd, deps))


def _start_smart_part(cmd: c.StartSmartPart, deps: Deps) -> CommandOk:
    numbers: list[int] = []

    def attempt() -> CommandOk:
        campaign = deps.load_campaign(cmd.campaign_id, cmd.account_id)
        part = campaign.smart_part(cmd.part)
        if part is not None and part.part_campaign_id is not None:
            # The dialer retried: answer with the row number the part already has.
            return ok(campaign, deps.events.max_position(), part_campaign_id=part.part_campaign_id)
        campaign.check_smart_part_can_start(cmd.part, cmd.phone_count)
        if not numbers:
            numbers.append(deps.tables.next_number_sync())
        campaign.start_smart_part(cmd.part, numbers[0], cmd.phone_count, cmd.started_at)
        return ok(campaign, deps.save(campaign), part_campaign_id=numbers[0])

    return deps.retrying(attempt)


async def finish_smart_part(cmd: c.FinishSmartPart, deps: Deps) -> CommandOk:
    return await _change(cmd, deps, lambda k: k.finish_smart_part(cmd.part))


async def cancel_last_smart_part(cmd: c.CancelLastSmartPart, deps: Deps) -> CommandOk:
    return await _change(cmd, deps, lambda k: k.cancel_last_smart_part())


async def cancel_all_smart_parts(cmd: c.CancelAllSmartParts, deps: Deps) -> CommandOk:
    return await _change(cmd, deps, lambda k: k.cancel_all_smart_parts())


async def report_idle(cmd: c.ReportIdle, deps: Deps) -> CommandOk:
    return await _change(cmd, deps, lambda k: k.report_idle(cmd.reason, cmd.until))


async def copy(cmd: c.CopyCampaign, deps: Deps) -> CommandOk:
    return await deps.in_thread(lambda: _copy(cmd, deps))


def _copy(cmd: c.CopyCampaign, deps: Deps) -> CommandOk:
    numbers: list[int] = []

    def attempt() -> CommandOk:
        source = deps.load_campaign(cmd.campaign_id, cmd.account_id)
        if not numbers:
            numbers.append(deps.tables.next_number_sync())
        tz = cmd.account_tz or source.account_tz
        copy = Campaign.new(
            campaign_id=numbers[0],
            account_id=source.account_id,
            account_tz=tz,
            options=source.options,
            phones=source.phones,
            copied_from=source.campaign_id,
        )
        source.record_copy(numbers[0])
        return ok(copy, deps.save(copy, source))

    return deps.retrying(attempt)


async def delete(cmd: c.DeleteCampaigns, deps: Deps) -> CommandOk:
    return await deps.in_thread(lambda: deps.retrying(lambda: _delete(cmd, deps)))


def _delete(cmd: c.DeleteCampaigns, deps: Deps) -> CommandOk:
    deleted: list[Campaign] = []
    for campaign_id in dict.fromkeys(cmd.campaign_ids):
        try:
            campaign = deps.load_campaign(campaign_id, cmd.account_id)
        except NotFound:
            continue  # unknown, foreign or already deleted: skipped
        campaign.delete()
        deleted.append(campaign)
    position = deps.save(*deleted)
    return CommandOk(position=position, deleted=[k.campaign_id for k in deleted])


async def add_to_stop_list(cmd: c.AddToStopList, deps: Deps) -> CommandOk:
    return await deps.in_thread(
        lambda: _stop_list(cmd.account_id, deps, lambda s: s.add(cmd.phones))
    )


async def remove_from_stop_list(cmd: c.RemoveFromStopList, deps: Deps) -> CommandOk:
    return await deps.in_thread(
        lambda: _stop_list(cmd.account_id, deps, lambda s: s.remove(cmd.phones))
    )


def _stop_list(account_id: str, deps: Deps, decide: Callable[[Any], None]) -> CommandOk:
    def attempt() -> CommandOk:
        stop_list = deps.load_stop_list(account_id)
        decide(stop_list)
        return CommandOk(position=deps.save(stop_list))

    return deps.retrying(attempt)


async def _change(
    cmd: c.CampaignCommandBase, deps: Deps, decide: Callable[[Campaign], Any]
) -> CommandOk:
    return await deps.in_thread(lambda: deps.change(cmd.campaign_id, cmd.account_id, decide))


Handler = Callable[[Any, Deps], Awaitable[CommandOk]]

COMMAND_HANDLERS: dict[type, Handler] = {
    c.CreateCampaign: create,
    c.ModerateCampaign: moderate,
    c.StartCampaign: start,
    c.PauseCampaign: pause,
    c.ResumeCampaign: resume,
    c.StopCampaign: stop,
    c.MarkOutOfWindow: mark_out_of_window,
    c.FinishCampaign: finish,
    c.FailCampaign: fail,
    c.SetComment: set_comment,
    c.ReleaseNumber: release_number,
    c.StartSmartPart: start_smart_part,
    c.FinishSmartPart: finish_smart_part,
    c.CancelLastSmartPart: cancel_last_smart_part,
    c.CancelAllSmartParts: cancel_all_smart_parts,
    c.CopyCampaign: copy,
    c.ReportIdle: report_idle,
    c.DeleteCampaigns: delete,
    c.AddToStopList: add_to_stop_list,
    c.RemoveFromStopList: remove_from_stop_list,
}
