"""What a list of campaigns asks for: an account (or every account), a search, statuses,
tags, a creation window, ids. Times are the read model's UTC text (rules.utc_text)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zvonar_contracts.options import Status, Tag


@dataclass
class ListFilter:
    account_id: str | None
    q: str | None = None
    statuses: Sequence[Status] = ()
    tags: Sequence[Tag] = ()
    created_from: str | None = None
    created_to: str | None = None
    ids: Sequence[int] | None = None

    def counted_ahead(self) -> bool:
        """Account, statuses and tags only: the total is in account_counts already."""
        return self.account_id is not None and not (
            self.q or self.created_from or self.created_to or self.ids is not None
        )
