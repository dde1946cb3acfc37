"""What the handlers need from the outside world, as protocols (real adapters in
`adapters/`, fakes in the tests)."""

from __future__ import annotations

from typing import Protocol

from zvonar_contracts.commands import CommandReply, ModerateCampaign
from zvonar_moderation.domain.matching import Matcher
from zvonar_moderation.domain.verdict import Verdict


class CampaignServiceUnavailable(RuntimeError):
    """The campaign service did not answer a command in time: try again later."""


class CampaignService(Protocol):
    async def moderate(self, command: ModerateCampaign) -> CommandReply: ...


class DecisionStore(Protocol):
    async def is_decided(self, campaign_id: int) -> bool: ...

    async def record(self, campaign_id: int, verdict: Verdict, outcome: str) -> None: ...


class Rules(Protocol):
    def matcher(self) -> Matcher: ...

    def reload(self) -> bool:
        """Read the rules again (SIGHUP); False, with the last good rules kept, on failure."""
        ...
