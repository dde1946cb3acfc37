"""What the service layer needs from the world outside the event store."""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from zvonar_contracts.options import Status


class Dialer(Protocol):
    async def clock(self) -> dt.datetime:
        """The dialer's clock (start times follow it); the wall clock if it is silent."""
        ...

    async def placement(self, campaign_id: int) -> Status:
        """Where a paused campaign belongs if resumed now; in_progress if it is silent."""
        ...
