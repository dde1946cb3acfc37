"""What the stats service layer needs from the outside, as Protocols it owns: the store
that holds the read models (adapters.store.SqlStore), and the leases that share the
projection's units between instances (adapters.leases.KvLeases). `bootstrap` wires them."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from zvonar_contracts.options import CampaignOptions
from zvonar_contracts.queries import CallRow, CampaignView, HistoryEntry, ReportKey
from zvonar_stats.domain.checkpoint import Checkpoint
from zvonar_stats.domain.envelope import Envelope
from zvonar_stats.domain.listing import ListFilter


class ProjectionStore(Protocol):
    """The write side: batches applied with their checkpoint in one transaction."""

    async def open(self) -> None:
        """Makes the tables if missing."""

    async def applied_position(self) -> int:
        """The campaign-log position the campaign stream's checkpoint has reached."""

    async def apply_campaign_events(self, batch: Sequence[Envelope]) -> Checkpoint: ...

    async def apply_call_events(
        self, batch: Sequence[Envelope], *, key: str, through: int
    ) -> Checkpoint:
        """Applies `batch` past checkpoint `key` and moves it to at least `through`."""

    async def checkpoint(self, key: str) -> int:
        """The last stream sequence applied under checkpoint `key`."""

    async def park(self, stream: str, key: str, envelope: Envelope, error: str) -> bool:
        """Records a message that cannot be stored and moves checkpoint `key` past it;
        False if it is behind the checkpoint already."""

    def is_transient(self, exc: BaseException) -> bool:
        """Whether `exc` says the store is out of reach (not that the message is bad)."""


class ReadModel(Protocol):
    """The read side: each call one consistent read."""

    async def list_campaigns(
        self, where: ListFilter, *, offset: int, limit: int, oldest_first: bool = False
    ) -> tuple[list[CampaignView], int]: ...

    async def get_campaign(
        self, campaign_id: int, account_id: str | None
    ) -> tuple[CampaignView, CampaignOptions, list[HistoryEntry]] | None: ...

    async def report(
        self, campaign_id: int, account_id: str, *, offset: int, limit: int
    ) -> tuple[CampaignView, list[CallRow], int] | None: ...

    async def report_rows(
        self, campaign_id: int, account_id: str, *, after: ReportKey | None, limit: int
    ) -> tuple[CampaignView, list[tuple[ReportKey, CallRow]]] | None: ...

    async def stop_list(
        self, account_id: str, *, offset: int, limit: int
    ) -> tuple[list[str], int]: ...


class Leases(Protocol):
    """Named leases that expire unless renewed, and a roll of the live instances."""

    async def open(self) -> None: ...

    async def attend(self, member: str) -> int:
        """Says `member` is alive (for a lease's time); how many members are alive."""

    async def acquire(self, unit: str, owner: str) -> int | None:
        """Takes `unit` if nobody holds it: its revision, or None."""

    async def renew(self, unit: str, owner: str, revision: int) -> int | None:
        """Extends a lease held at `revision`: the new revision, or None if it was lost."""

    async def release(self, unit: str, revision: int) -> None: ...

    async def leave(self, member: str) -> None: ...


# Runs the consumer of one unit (a lease's name) until it is cancelled.
RunUnit = Callable[[str], Coroutine[Any, Any, None]]
