"""The size of a NATS message as the server counts it, and a check before sending one.

nats-server refuses a message whose payload and headers together exceed its `max_payload`
(1 MiB by default, announced in INFO and kept by nats-py as `Client.max_payload`) by closing
the connection; nats-py only compares the payload alone, and does not reconnect after that.
So every service checks the whole message first and never sends one that is too large: the
caller decides what to do instead (park it, answer an error).
"""

from __future__ import annotations

from collections.abc import Mapping

from nats.aio.client import Client

_HEADER_LINE = len(b"NATS/1.0\r\n")
_CRLF = 2


class MessageTooLarge(Exception):
    def __init__(self, subject: str, size: int, limit: int) -> None:
        super().__init__(f"a message of {size:,} bytes on {subject} exceeds the {limit:,} allowed")
        self.subject = subject
        self.size = size
        self.limit = limit


def message_size(payload: bytes, headers: Mapping[str, str] | None = None) -> int:
    """Payload plus the header block nats-py writes for `headers` (as it writes them)."""
    if not headers:
        return len(payload) + (0 if headers is None else _HEADER_LINE + _CRLF)
    size = _HEADER_LINE + _CRLF
    for key, value in headers.items():
        name = key.strip()
        if name:
            size += len(name.encode()) + 2 + len(value.strip().encode()) + _CRLF
    return len(payload) + size


def check_fits(
    nc: Client, subject: str, payload: bytes, headers: Mapping[str, str] | None = None
) -> None:
    """Raises MessageTooLarge for a message the server would refuse (and close the link for)."""
    size = message_size(payload, headers)
    if size > nc.max_payload:
        raise MessageTooLarge(subject, size, nc.max_payload)
