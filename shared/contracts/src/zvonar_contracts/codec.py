"""Encoding and decoding of every wire type with msgspec JSON.

Decoders are built once per type; `decode_*` helpers take raw message bytes and return the
tagged-union member, so a consumer handles any event of a stream in one call.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

import msgspec

from zvonar_contracts.call_events import CallEvent
from zvonar_contracts.campaign_events import CampaignStreamEvent
from zvonar_contracts.commands import CampaignCommand, CommandReply
from zvonar_contracts.dialer import DialerRequest
from zvonar_contracts.queries import QueryReply, StatsQuery

T = TypeVar("T")

_encoder = msgspec.json.Encoder(decimal_format="string")


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


@cache
def decoder_for(type_: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(type_)


def decode(data: bytes | str, type_: type[T]) -> T:
    result: T = decoder_for(type_).decode(data)  # type: ignore[arg-type]
    return result


def decode_campaign_stream_event(data: bytes | str) -> CampaignStreamEvent:
    result: CampaignStreamEvent = decoder_for(CampaignStreamEvent).decode(data)
    return result


def decode_call_event(data: bytes | str) -> CallEvent:
    result: CallEvent = decoder_for(CallEvent).decode(data)
    return result


def decode_command(data: bytes | str) -> CampaignCommand:
    result: CampaignCommand = decoder_for(CampaignCommand).decode(data)
    return result


def decode_command_reply(data: bytes | str) -> CommandReply:
    result: CommandReply = decoder_for(CommandReply).decode(data)
    return result


def decode_query(data: bytes | str) -> StatsQuery:
    result: StatsQuery = decoder_for(StatsQuery).decode(data)
    return result


def decode_query_reply(data: bytes | str) -> QueryReply:
    result: QueryReply = decoder_for(QueryReply).decode(data)
    return result


def decode_dialer_request(data: bytes | str) -> DialerRequest:
    result: DialerRequest = decoder_for(DialerRequest).decode(data)
    return result


def type_name(value: msgspec.Struct) -> str:
    """The wire tag of a struct (its `type`), used as the last token of its subject."""
    return type(value).__struct_config__.tag  # type: ignore[return-value]
