"""The campaigns' decoded messages kept in memory for recordings, within a byte budget.

A message is decoded once, when its campaign is prepared, and stored decoded (8 kHz mono
WAV) in the audio bucket. Recordings need its samples for every answered call: they come
from here, least recently used first out once the budget is full, and are read back from
the bucket on a miss — one read for all the calls of a burst that miss at the same time.
A message bigger than the whole budget is used and not kept.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable

from zvonar_dialer.service_layer.ports import Message

DEFAULT_BUDGET_BYTES = 64 * 1024 * 1024


class MessageCache:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[int, Message] = OrderedDict()
        self._loading: dict[int, asyncio.Task[Message]] = {}
        self._size = 0

    @property
    def size_bytes(self) -> int:
        """Bytes of samples held now; never over the budget."""
        return self._size

    def __contains__(self, campaign_id: object) -> bool:
        return campaign_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, campaign_id: int) -> Message | None:
        message = self._entries.get(campaign_id)
        if message is not None:
            self._entries.move_to_end(campaign_id)
        return message

    def put(self, campaign_id: int, message: Message) -> None:
        self.discard(campaign_id)
        if message.nbytes > self.budget_bytes:
            return
        self._entries[campaign_id] = message
        self._size += message.nbytes
        while self._size > self.budget_bytes:
            _, oldest = self._entries.popitem(last=False)
            self._size -= oldest.nbytes

    def discard(self, campaign_id: int) -> None:
        message = self._entries.pop(campaign_id, None)
        if message is not None:
            self._size -= message.nbytes

    def keep_only(self, campaign_ids: Iterable[int]) -> None:
        """Forget the messages of every campaign not in `campaign_ids` (those that are over)."""
        keep = set(campaign_ids)
        for campaign_id in [c for c in self._entries if c not in keep]:
            self.discard(campaign_id)

    async def get_or_load(
        self, campaign_id: int, load: Callable[[], Awaitable[Message]]
    ) -> Message:
        """The cached message, or `load()`'s — called once however many callers wait."""
        cached = self.get(campaign_id)
        if cached is not None:
            return cached
        task = self._loading.get(campaign_id)
        if task is None:
            task = asyncio.ensure_future(self._load(campaign_id, load))
            self._loading[campaign_id] = task
        # A caller that is cancelled leaves the load to the others.
        return await asyncio.shield(task)

    async def _load(self, campaign_id: int, load: Callable[[], Awaitable[Message]]) -> Message:
        try:
            message = await load()
            self.put(campaign_id, message)
            return message
        finally:
            self._loading.pop(campaign_id, None)
