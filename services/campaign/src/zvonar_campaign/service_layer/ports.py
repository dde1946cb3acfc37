"""What the service layer needs from the world outside the event store."""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class DialerClock(Protocol):
    def now(self) -> dt.datetime:
        """The dialer's time (start times follow it), computed locally from the origin the
        dialer publishes (zvonar_runtime.dialer_clock.ClockReader): never a request."""
        ...
