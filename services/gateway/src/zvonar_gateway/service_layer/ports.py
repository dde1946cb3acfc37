"""What the gateway's use cases need of the world outside, as Protocols the service layer
owns: the other services and the object store (`Backend`, adapters/backend.py over NATS) and
the account store (`Accounts`, adapters/accounts.py over SQL). HTTP handlers, the web page
and the use cases depend on these; `bootstrap` plugs the adapters (or a test's fakes) in."""

from __future__ import annotations

from typing import Protocol, TypeVar

from zvonar_contracts.commands import CampaignCommand, CommandOk
from zvonar_contracts.dialer import DialerRequest
from zvonar_contracts.queries import (
    CampaignDetail,
    CampaignPage,
    ReportPage,
    ReportRows,
    StatsQuery,
    StopListPage,
)
from zvonar_gateway.domain.account import Account

T = TypeVar("T")

QueryReply = CampaignPage | CampaignDetail | ReportPage | ReportRows | StopListPage


class Backend(Protocol):
    """Commands to the campaign service, queries to stats, requests to the dialer, objects
    and sealed secrets. Every method answers or raises `ApiError` (a refused command with
    its code, 503 when the service behind does not answer)."""

    # The waits a call uses when it gives none of its own (seconds).
    command_timeout: float
    query_timeout: float

    def check_command(self, command: CampaignCommand) -> bytes:
        """The command encoded, once it is known to be storable and sendable (422 if not)."""
        ...

    async def command(
        self, command: CampaignCommand, *, timeout: float | None = None
    ) -> CommandOk: ...

    async def query(self, query: StatsQuery, *, timeout: float | None = None) -> QueryReply: ...

    async def dialer(
        self, request: DialerRequest, reply_type: type[T], *, timeout: float = 10.0
    ) -> T: ...

    async def put_secret(self, secret: str) -> str: ...

    async def drop_secret(self, ref: str) -> None: ...

    async def put_object(self, bucket: str, name: str, data: bytes) -> None: ...

    async def get_object(self, bucket: str, name: str) -> bytes: ...

    async def delete_object(self, bucket: str, name: str) -> None: ...

    async def object_exists(self, bucket: str, name: str) -> bool: ...

    async def list_objects(self, bucket: str, prefix: str) -> list[tuple[str, int]]: ...


class AccountLookup(Protocol):
    """What authentication needs of the account store."""

    async def by_key(self, api_key: str) -> Account | None: ...


class Accounts(AccountLookup, Protocol):
    """The account store: accounts, their one live API key, and a few start-up facts."""

    async def migrate(self) -> None: ...

    async def create(self, name: str, timezone: str) -> tuple[Account, str]: ...

    async def by_id(self, account_id: str) -> Account | None: ...

    async def key_stamp(self, account_id: str) -> str | None: ...

    async def set_timezone(self, account_id: str, timezone: str) -> Account | None: ...

    async def rotate_key(self, account_id: str) -> str: ...

    async def get_meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None: ...


class RateLimits(Protocol):
    """The API's per-key rate limit: `acquire(key)` is 0.0 if a request may go on, else the
    seconds until a token is free (shared by every replica in production)."""

    rate: float
    burst: int

    async def acquire(self, key: str) -> float: ...


class Health(Protocol):
    """Whether each service answers ready (`/healthz`)."""

    async def services(self) -> dict[str, bool]: ...
