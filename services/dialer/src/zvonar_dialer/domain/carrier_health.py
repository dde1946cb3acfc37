"""Whether the carrier can be dialled: a circuit breaker over the telephony port.

A burst of calls the port could not place at all is a failure; `threshold` failures in a
row and the carrier is taken as down — the dialer then pauses its running campaigns "by the
system" (instead of claiming number after number into calls nobody can place) and probes
the carrier now and then; the first answer puts it back up and the campaigns it paused
resume by themselves. Each time it goes down again without a call placed in between, the
probes wait twice as long (a carrier that answers probes but still refuses calls must not
make the campaigns flap between paused and running every few seconds).
"""

from __future__ import annotations

PROBE_EVERY_S = 5.0  # wall seconds between probes after the first trip
PROBE_AT_MOST_S = 300.0


class CarrierHealth:
    def __init__(self, threshold: int = 3) -> None:
        self.threshold = max(1, threshold)
        self.failures = 0  # bursts in a row the port could not place
        self.trips = 0  # times it went down without a call placed since
        self.last_error = ""
        self.next_probe_at = 0.0  # monotonic seconds

    def probe_due(self, now: float) -> bool:
        """Whether to probe the down carrier now (and when the next probe is due then)."""
        if now < self.next_probe_at:
            return False
        self.next_probe_at = now + self.probe_every_s
        return True

    @property
    def down(self) -> bool:
        return self.failures >= self.threshold

    @property
    def probe_every_s(self) -> float:
        return min(PROBE_AT_MOST_S, PROBE_EVERY_S * 2.0 ** max(0, self.trips - 1))

    def failed(self, error: BaseException, now: float) -> bool:
        """One more failure at monotonic `now`; True when this one took the carrier down."""
        self.last_error = f"{type(error).__name__}: {error}"[:200]
        was_down = self.down
        self.failures += 1
        if self.down and not was_down:
            self.trips += 1
            self.next_probe_at = now + self.probe_every_s
            return True
        return False

    def answered(self) -> bool:
        """The carrier answered (a probe, a recovery); True when that put it back up."""
        was_down = self.down
        self.failures = 0
        return was_down

    def placed(self) -> None:
        """Calls went through: the carrier is fully back, probes start short again."""
        self.failures = 0
        self.trips = 0
