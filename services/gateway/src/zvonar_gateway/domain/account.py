"""An account of the gateway: who a request acts for, and the timezone its times are shown in."""

from __future__ import annotations

import msgspec


class Account(msgspec.Struct, frozen=True):
    id: str
    name: str
    timezone: str
