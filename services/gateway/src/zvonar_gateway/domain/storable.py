"""Text no store can hold: PostgreSQL refuses NUL (U+0000) in text columns, so a command
carrying one would be stored as an event and then stop every projection that reads it (the
stats service's batch fails on it again and again). The gateway refuses such text up front,
naming the fields, before anything is stored.

Nor can a message outgrow what the broker takes (NATS refuses one over its max payload):
such a request is refused naming its largest field, before anything is stored either."""

from __future__ import annotations

from typing import Any

import msgspec

NUL = "\x00"
# How msgspec writes U+0000 in JSON: a cheap test on the encoded payload before the walk.
_ENCODED_NUL = b"\\u0000"


def nul_fields(value: Any, path: str = "") -> list[str]:
    """The dotted paths of every string (or key) in `value` that holds a NUL."""
    found: list[str] = []
    if isinstance(value, str):
        if NUL in value:
            found.append(path or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and NUL in key:
                found.append(where)
            found.extend(nul_fields(item, where))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found.extend(nul_fields(item, f"{path}[{index}]"))
    return found


def nul_fields_of(message: msgspec.Struct, encoded: bytes) -> list[str]:
    """`nul_fields` of a command or query already encoded as JSON; the walk only runs when
    the encoding shows an escaped NUL (so a million phones cost one byte scan)."""
    if _ENCODED_NUL not in encoded:
        return []
    return nul_fields(msgspec.to_builtins(message))


def largest_field(value: Any, path: str = "") -> tuple[str, int]:
    """The dotted path and length of the longest string or list in `value`."""
    best = (path or "body", len(value) if isinstance(value, (str, list, tuple)) else 0)
    items: Any = ()
    if isinstance(value, dict):
        items = ((f"{path}.{key}" if path else str(key), item) for key, item in value.items())
    elif isinstance(value, (list, tuple)) and value and not isinstance(value[0], str):
        items = ((f"{path}[{index}]", item) for index, item in enumerate(value))
    for where, item in items:
        found = largest_field(item, where)
        if found[1] > best[1]:
            best = found
    return best
