"""The `Backend` through which the gateway talks to the other services over NATS: commands
to campaign, queries to stats, requests to the dialer, objects and sealed secrets in
JetStream. It is the adapter of the service layer's `Backend` port (service_layer/ports.py).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, TypeVar

import msgspec
import nats.errors
import structlog
from nats.aio.client import Client
from nats.js.errors import NotFoundError, ObjectNotFoundError

from zvonar_contracts.codec import (
    decode,
    decode_command_reply,
    decode_query_reply,
    encode,
    type_name,
)
from zvonar_contracts.commands import CampaignCommand, CommandError, CommandOk
from zvonar_contracts.dialer import DialerRequest
from zvonar_contracts.queries import (
    CampaignDetail,
    CampaignPage,
    QueryError,
    ReportPage,
    ReportRows,
    StatsQuery,
    StopListPage,
)
from zvonar_contracts.subjects import (
    campaign_command_subject,
    dialer_request_subject,
    stats_query_subject,
)
from zvonar_gateway.domain.storable import largest_field, nul_fields_of
from zvonar_gateway.service_layer import position as client_position
from zvonar_gateway.service_layer.errors import ApiError, unavailable
from zvonar_runtime.correlation import correlation_headers
from zvonar_runtime.metrics import MESSAGES_TOO_LARGE
from zvonar_runtime.payload import MessageTooLarge, check_fits
from zvonar_runtime.retry import retry
from zvonar_runtime.secrets import SecretStore

T = TypeVar("T")

log = structlog.get_logger("zvonar.gateway.backend")


def refuse_unstorable(message: msgspec.Struct, payload: bytes) -> None:
    """Every command and query passes here: text with a NUL is a 422 before it is sent."""
    fields = nul_fields_of(message, payload)
    if fields:
        details = [{"field": field, "message": "contains a NUL character"} for field in fields]
        raise ApiError(422, "validation", "text may not contain NUL characters", details)


# Room left under the broker's max payload for the headers (correlation id, reply inbox).
HEADERS_ROOM = 4096


def refuse_oversize(message: msgspec.Struct, payload: bytes, max_payload: int) -> None:
    """A message the broker would refuse is a 422 naming its largest field, before it is
    sent (nats-py would raise, and nats-server close the connection, on one over the limit)."""
    if len(payload) + HEADERS_ROOM <= max_payload:
        return
    field, _ = largest_field(msgspec.to_builtins(message))
    limit = max_payload - HEADERS_ROOM
    detail = {"field": field, "message": f"too large: the request must fit {limit:,} bytes"}
    raise ApiError(422, "validation", "the request is too large to carry out", [detail])


_COMMAND_STATUS = {"invalid_transition": 409, "not_found": 404, "validation": 422, "conflict": 409}
# Failures of the NATS link itself: the service behind is unreachable, not the input bad.
_LINK_ERRORS = (asyncio.TimeoutError, TimeoutError, nats.errors.Error)
# How long to keep asking when no service instance is subscribed (seconds).
NO_RESPONDERS_PATIENCE = 3.0
# nats-py's object-store get waits for missing chunks without a limit; a read or write
# not done by then is answered 503 instead of holding the request for ever.
OBJECT_TIMEOUT_S = 60.0
# Accounts whose last write position is remembered for read-your-writes (oldest dropped).
MAX_REMEMBERED_ACCOUNTS = 100_000


class NatsBackend:
    """How the gateway talks to the other services over NATS; one per app."""

    def __init__(
        self,
        nc: Client,
        *,
        command_timeout: float = 10.0,
        query_timeout: float = 10.0,
        secrets_key: bytes | None = None,
    ) -> None:
        self._nc = nc
        self._stores: dict[str, Any] = {}
        # Webhook secrets are sealed under the key the dialer shares (ZVONAR_SECRETS_KEY);
        # without one (tests) a key of its own, so what it seals only it can open.
        self._secrets = SecretStore(nc, secrets_key or os.urandom(32))
        # account id -> position of its last acknowledged write, oldest first
        self._written: dict[str, int] = {}
        # Used when a call gives no timeout of its own (the gateway's configured waits).
        self.command_timeout = command_timeout
        self.query_timeout = query_timeout

    @property
    def nc(self) -> Client:
        return self._nc

    async def _request(self, subject: str, payload: bytes, timeout: float, what: str) -> bytes:
        headers = correlation_headers()
        # A request the server would refuse (payload and headers over its max payload) is
        # never sent: nats-server would close the connection every request shares.
        try:
            check_fits(self._nc, subject, payload, headers)
        except MessageTooLarge as exc:
            MESSAGES_TOO_LARGE.labels(f"{what}_request").inc()
            log.warning("request_too_large", subject=subject, size=exc.size, limit=exc.limit)
            raise ApiError(
                413,
                "payload_too_large",
                f"the request is too large to carry out ({exc.size:,} bytes "
                f"to the {what} service, at most {exc.limit:,})",
            ) from exc
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        # No responders: nobody received it (a service restarting, a subscriber being
        # replaced). Asking again is safe, and usually answered within a moment.
        @retry(
            on=nats.errors.NoRespondersError,
            attempts=None,
            timeout=min(timeout, NO_RESPONDERS_PATIENCE),
            wait_initial=0.05,
            wait_max=0.5,
            wait_jitter=0,
        )
        async def ask() -> bytes:
            msg = await self._nc.request(
                subject, payload, headers=headers, timeout=max(deadline - loop.time(), 0.05)
            )
            return bytes(msg.data)

        try:
            return await ask()
        except _LINK_ERRORS as exc:  # no responders for too long, a time-out, a lost link
            log.warning("backend_unavailable", subject=subject, error=repr(exc))
            raise unavailable(what) from exc

    def check_command(self, command: CampaignCommand) -> bytes:
        """The command encoded, once it is known to be storable and sendable (422 if not):
        a use case checks this before it stores anything the command refers to."""
        payload = encode(command)
        refuse_unstorable(command, payload)
        refuse_oversize(command, payload, self._nc.max_payload)
        return payload

    async def command(self, command: CampaignCommand, *, timeout: float | None = None) -> CommandOk:
        subject = campaign_command_subject(type_name(command))
        wait = self.command_timeout if timeout is None else timeout
        payload = self.check_command(command)
        reply = decode_command_reply(await self._request(subject, payload, wait, "campaign"))
        if isinstance(reply, CommandError):
            details = [{"field": d.field, "message": d.message} for d in reply.details]
            raise ApiError(_COMMAND_STATUS.get(reply.code, 409), reply.code, reply.message, details)
        if command.account_id is not None:
            self._remember_write(command.account_id, reply.position)
        return reply

    def _remember_write(self, account_id: str, position: int) -> None:
        if len(self._written) >= MAX_REMEMBERED_ACCOUNTS and account_id not in self._written:
            self._written.pop(next(iter(self._written)))
        self._written[account_id] = max(position, self._written.get(account_id, 0))
        client_position.note_write(account_id, position)  # the response carries it

    def _read_your_writes(self, query: StatsQuery) -> StatsQuery:
        """An account's reads wait for the log position of its own last acknowledged write
        (docs/API.md "Read your own writes"), whatever the handler asked for."""
        account_id = getattr(query, "account_id", None)
        written = 0
        if account_id:  # this replica's memory, or the position the client brought
            written = max(
                self._written.get(account_id, 0), client_position.client_position(account_id)
            )
        if written > query.min_position:
            return msgspec.structs.replace(query, min_position=written)
        return query

    async def query(
        self, query: StatsQuery, *, timeout: float | None = None
    ) -> CampaignPage | CampaignDetail | ReportPage | ReportRows | StopListPage:
        subject = stats_query_subject(type_name(query))
        wait = self.query_timeout if timeout is None else timeout
        query = self._read_your_writes(query)
        payload = encode(query)
        refuse_unstorable(query, payload)
        reply = decode_query_reply(await self._request(subject, payload, wait, "stats"))
        if isinstance(reply, QueryError):
            status = 404 if reply.code == "not_found" else 422
            raise ApiError(status, reply.code, reply.message)
        return reply

    async def dialer(
        self, request: DialerRequest, reply_type: type[T], *, timeout: float = 10.0
    ) -> T:
        subject = dialer_request_subject(type_name(request))
        data = await self._request(subject, encode(request), timeout, "dialer")
        return decode(data, reply_type)

    async def put_secret(self, secret: str) -> str:
        """Seal a webhook secret into its bucket; the reference the campaign carries."""
        try:
            async with asyncio.timeout(OBJECT_TIMEOUT_S):
                return await self._secrets.put(secret)
        except _LINK_ERRORS as exc:
            raise unavailable("secret store") from exc

    async def drop_secret(self, ref: str) -> None:
        """Forget a secret no campaign came to hold (its create was refused)."""
        try:
            async with asyncio.timeout(OBJECT_TIMEOUT_S):
                await self._secrets.delete(ref)
        except _LINK_ERRORS:
            log.warning("secret_not_dropped", secret_ref=ref)

    async def _store(self, bucket: str) -> Any:
        if bucket not in self._stores:
            try:
                self._stores[bucket] = await self._nc.jetstream().object_store(bucket)
            except _LINK_ERRORS as exc:
                raise unavailable("object store") from exc
        return self._stores[bucket]

    async def put_object(self, bucket: str, name: str, data: bytes) -> None:
        store = await self._store(bucket)
        try:
            async with asyncio.timeout(OBJECT_TIMEOUT_S):
                await store.put(name, data)
        except _LINK_ERRORS as exc:
            raise unavailable("object store") from exc

    async def get_object(self, bucket: str, name: str) -> bytes:
        store = await self._store(bucket)
        try:
            async with asyncio.timeout(OBJECT_TIMEOUT_S):
                result = await store.get(name)
        except (ObjectNotFoundError, NotFoundError) as exc:
            raise ApiError(404, "not_found", f"no such object: {name}") from exc
        except _LINK_ERRORS as exc:
            raise unavailable("object store") from exc
        return bytes(result.data or b"")

    async def delete_object(self, bucket: str, name: str) -> None:
        store = await self._store(bucket)
        try:
            async with asyncio.timeout(OBJECT_TIMEOUT_S):
                await store.delete(name)
        except (ObjectNotFoundError, NotFoundError):
            return
        except _LINK_ERRORS as exc:
            raise unavailable("object store") from exc

    async def object_exists(self, bucket: str, name: str) -> bool:
        """Whether `name` is in `bucket`, read from its metadata (the content stays put)."""
        store = await self._store(bucket)
        try:
            await store.get_info(name)
        except (ObjectNotFoundError, NotFoundError):
            return False
        except _LINK_ERRORS as exc:
            raise unavailable("object store") from exc
        return True

    async def list_objects(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        store = await self._store(bucket)
        try:
            infos = await store.list(ignore_deletes=True)
        except NotFoundError:
            return []
        except _LINK_ERRORS as exc:
            raise unavailable("object store") from exc
        return sorted(
            (info.name, int(info.size or 0))
            for info in infos
            if info.name.startswith(prefix) and not info.deleted
        )
