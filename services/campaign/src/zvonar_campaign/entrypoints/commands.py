"""Request-reply subscribers: one per command type on `campaign.cmd.<Type>`, queue group
`campaign`, so any number of instances share the load. Thin: decode, dispatch, encode."""

from __future__ import annotations

import msgspec
import structlog
from faststream.nats import NatsBroker
from faststream.nats.annotations import NatsMessage

from zvonar_campaign.service_layer import messagebus
from zvonar_campaign.service_layer.unit import Deps
from zvonar_contracts.codec import decode, encode
from zvonar_contracts.commands import (
    CAMPAIGN_COMMAND_TYPES,
    CampaignCommand,
    CommandError,
    ErrorDetail,
)
from zvonar_contracts.limits import field_error
from zvonar_contracts.subjects import CAMPAIGN_COMMANDS_QUEUE, campaign_command_subject

log = structlog.get_logger("zvonar.campaign.commands")


def register_commands(broker: NatsBroker, deps: Deps, *, workers: int = 8) -> None:
    locks = messagebus.CampaignLocks()
    for command_type in CAMPAIGN_COMMAND_TYPES:
        _register(broker, deps, locks, command_type, workers)


def _register(
    broker: NatsBroker,
    deps: Deps,
    locks: messagebus.CampaignLocks,
    command_type: type,
    workers: int,
) -> None:
    subject = campaign_command_subject(command_type.__struct_config__.tag)  # type: ignore[attr-defined]

    # Commands on different campaigns run side by side; one campaign's wait in line in this
    # instance (`locks`), and the aggregate's optimistic concurrency settles races with other
    # instances (a lost race is retried from the load).
    @broker.subscriber(subject, queue=CAMPAIGN_COMMANDS_QUEUE, max_workers=workers)
    async def on_command(msg: NatsMessage) -> bytes:
        # Decoding checks the contract's limits too (msgspec.Meta on the structs): a command
        # that got past no gateway (sent straight over NATS) is held to the same lengths.
        try:
            command: CampaignCommand = decode(msg.body, command_type)
        except msgspec.ValidationError as exc:
            field, message = field_error(exc)
            field = field.removeprefix("options.")
            log.info("malformed_command", subject=subject, field=field, error=message[:200])
            details = [ErrorDetail(field=field, message=message)]
            error = CommandError(code="validation", message=f"{field}: {message}", details=details)
            return encode(error)
        except msgspec.DecodeError as exc:
            log.info("malformed_command", subject=subject, error=str(exc)[:200])
            return encode(CommandError(code="validation", message=f"malformed command: {exc}"))
        return encode(await locks.run(command, deps))
