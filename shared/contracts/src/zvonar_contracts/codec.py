"""Encoding and decoding of every wire type with msgspec JSON.

Decoders are built once per type; `decode_*` helpers take raw message bytes and return the
tagged-union member, so a consumer handles any event of a stream in one call.
"""

from __future__ import annotations

from collections.abc import Callable
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


def _decoding(type_: Any) -> Callable[[bytes | str], Any]:
    """`decode` bound to one type (a stream's, a subject's tagged union)."""
    return decoder_for(type_).decode


decode_campaign_stream_event: Callable[[bytes | str], CampaignStreamEvent] = _decoding(
    CampaignStreamEvent
)
decode_call_event: Callable[[bytes | str], CallEvent] = _decoding(CallEvent)
decode_command: Callable[[bytes | str], CampaignCommand] = _decoding(CampaignCommand)
decode_command_reply: Callable[[bytes | str], CommandReply] = _decoding(CommandReply)
decode_query: Callable[[bytes | str], StatsQuery] = _decoding(StatsQuery)
decode_query_reply: Callable[[bytes | str], QueryReply] = _decoding(QueryReply)
decode_dialer_request: Callable[[bytes | str], DialerRequest] = _decoding(DialerRequest)


def type_name(value: msgspec.Struct) -> str:
    """The wire tag of a struct (its `type`), used as the last token of its subject."""
    return type(value).__struct_config__.tag  # type: ignore[return-value]
