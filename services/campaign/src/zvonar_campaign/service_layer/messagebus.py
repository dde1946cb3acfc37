"""Dispatches a decoded command to its handler and turns every refusal into a typed reply."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from zvonar_campaign.domain.errors import DomainError, ValidationFailed
from zvonar_campaign.service_layer.errors import Conflict, NotFound
from zvonar_campaign.service_layer.handlers import COMMAND_HANDLERS
from zvonar_campaign.service_layer.unit import Deps
from zvonar_contracts.codec import type_name
from zvonar_contracts.commands import (
    CampaignCommand,
    CommandError,
    CommandOk,
    CommandReply,
    ErrorDetail,
)

log = structlog.get_logger("zvonar.campaign.commands")


class CampaignLocks:
    """One lock per campaign, so an instance never races itself on one aggregate.

    Commands for one campaign that reach the same instance at once would otherwise all load
    the same version and all but one lose the save, each retrying against its siblings until
    the retry budget runs out on a busy machine (`conflict`). Holding them in line here leaves
    the optimistic retry for what it is for: a race with another instance.
    """

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @contextmanager
    def _entry(self, key: int) -> Iterator[asyncio.Lock]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            yield lock
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    async def run(self, command: CampaignCommand, deps: Deps) -> CommandReply:
        key = getattr(command, "campaign_id", None)
        if not isinstance(key, int):
            return await handle(command, deps)
        with self._entry(key) as lock:
            async with lock:
                return await handle(command, deps)

    def __len__(self) -> int:
        return len(self._locks)


async def handle(command: CampaignCommand, deps: Deps) -> CommandReply:
    handler = COMMAND_HANDLERS[type(command)]
    try:
        if not command.account_id:  # decoding refuses it too; a command built in-process
            raise ValidationFailed("account_id", "a command acts for an account")
        reply = await handler(command, deps)
    except ValidationFailed as exc:
        return _refused(
            command,
            CommandError(
                code="validation",
                message=str(exc),
                details=[ErrorDetail(field=exc.field, message=str(exc))],
            ),
        )
    except DomainError as exc:
        return _refused(command, CommandError(code="invalid_transition", message=str(exc)))
    except NotFound as exc:
        return _refused(command, CommandError(code="not_found", message=str(exc)))
    except Conflict as exc:
        return _refused(command, CommandError(code="conflict", message=str(exc)))
    deps.on_stored()
    if isinstance(reply, CommandOk):
        campaign_id = reply.campaign.campaign_id if reply.campaign else None
        log.info(
            "command_handled",
            command=type_name(command),
            campaign_id=campaign_id,
            position=reply.position,
        )
    return reply


def _refused(command: CampaignCommand, error: CommandError) -> CommandError:
    log.info("command_refused", command=type_name(command), code=error.code, message=error.message)
    return error
