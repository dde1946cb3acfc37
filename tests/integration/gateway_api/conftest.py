"""Fixtures for the gateway API tests: the app on a real nats-server, with small responders
playing the campaign and stats services and the dialer's delivery log (test doubles of
those ports), and an account store on SQLite."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from zvonar_contracts.codec import decode, decode_command, decode_query, encode
from zvonar_contracts.commands import (
    CampaignState,
    CommandError,
    CommandOk,
    CopyCampaign,
    CreateCampaign,
    DeleteCampaigns,
    ModerateCampaign,
    PauseCampaign,
    ResumeCampaign,
    SetComment,
    StopCampaign,
)
from zvonar_contracts.dialer import (
    CostQuote,
    ListWebhookDeliveries,
    QuoteCost,
    WebhookDelivery,
    WebhookDeliveryPage,
)
from zvonar_contracts.options import FINAL_STATUSES, CampaignOptions, Size, Status, tags_of
from zvonar_contracts.queries import (
    CampaignDetail,
    CampaignPage,
    CampaignView,
    Comment,
    GetCampaign,
    GetModerationQueue,
    GetStopList,
    HistoryEntry,
    ListCampaigns,
    QueryError,
    Start,
    StopListPage,
)
from zvonar_contracts.subjects import dialer_request_subject
from zvonar_gateway.adapters.accounts import AccountStore
from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.bootstrap import bootstrap
from zvonar_gateway.http.routes.system import HealthProbe
from zvonar_gateway.settings import GatewaySettings
from zvonar_runtime.db import Database

ADMIN = "admin-secret-token"


@dataclass
class FakeServices:
    """Campaign and stats as far as the gateway can tell: an in-memory write side whose
    positions grow with each stored event, and a read side that serves the same state."""

    campaigns: dict[int, tuple[CampaignView, CampaignOptions]] = field(default_factory=dict)
    history: dict[int, list[HistoryEntry]] = field(default_factory=dict)
    keys: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    stop_list: dict[str, list[str]] = field(default_factory=dict)
    position: int = 0
    next_id: int = 1000001
    commands: list[Any] = field(default_factory=list)
    queries: list[Any] = field(default_factory=list)
    silent: bool = False  # True: stop answering (a service that hangs)
    # The dialer's webhook deliveries by campaign, newest first, and the requests for them.
    deliveries: dict[int, list[WebhookDelivery]] = field(default_factory=dict)
    dialer_requests: list[ListWebhookDeliveries] = field(default_factory=list)
    dialer_silent: bool = False  # True: the dialer stops answering

    def _store(self, view: CampaignView, options: CampaignOptions, event: str) -> int:
        self.position += 1
        self.campaigns[view.id] = (view, options)
        self.history.setdefault(view.id, []).append(
            HistoryEntry(type=event, at=dt.datetime.now(dt.UTC), details={})
        )
        return self.position

    def _owned(self, account_id: str | None, campaign_id: int) -> CampaignView | None:
        found = self.campaigns.get(campaign_id)
        if found is None or (account_id is not None and found[0].account_id != account_id):
            return None
        return found[0]

    def _new_view(self, account_id: str, options: CampaignOptions, count: int) -> CampaignView:
        view = CampaignView(
            id=self.next_id,
            account_id=account_id,
            created_at=dt.datetime.now(dt.UTC),
            name=options.name,
            tags=tags_of(options),
            smart_part=None,
            parent_id=None,
            status=Status.MODERATION,
            start=Start(kind="scheduled", at=options.start_at)
            if options.start_at
            else Start(kind="not_started"),
            size=Size(total=count, in_progress=count),
            smart_size=Size() if options.smart else None,
            speed=options.speed,
            cost=Decimal("0"),
            comment=Comment(user=options.comment),
            caller_number=None,
        )
        self.next_id += 1
        return view

    def command(self, command: Any) -> CommandOk | CommandError:
        self.commands.append(command)
        if isinstance(command, CreateCampaign):
            assert command.account_id is not None
            key = (command.account_id, command.idempotency_key or "")
            if command.idempotency_key and key in self.keys:
                known_hash, known_id = self.keys[key]
                if known_hash != command.request_hash:
                    return CommandError(code="conflict", message="key reused with another body")
                state = CampaignState(
                    campaign_id=known_id,
                    account_id=command.account_id,
                    status=Status.MODERATION,
                    replayed=True,
                )
                return CommandOk(position=self.position, campaign=state)
            view = self._new_view(command.account_id, command.options, command.phones.count)
            position = self._store(view, command.options, "CampaignCreated")
            if command.idempotency_key:
                self.keys[key] = (command.request_hash, view.id)
            state = CampaignState(
                campaign_id=view.id, account_id=view.account_id, status=view.status
            )
            return CommandOk(position=position, campaign=state)
        if isinstance(command, DeleteCampaigns):
            deleted = [i for i in command.campaign_ids if self._owned(command.account_id, i)]
            for i in deleted:
                del self.campaigns[i]
            self.position += 1
            return CommandOk(position=self.position, deleted=deleted)
        if hasattr(command, "phones") and not isinstance(command, CreateCampaign):
            assert command.account_id is not None
            current = self.stop_list.setdefault(command.account_id, [])
            if type(command).__name__ == "AddToStopList":
                current.extend(p for p in command.phones if p not in current)
            else:
                current[:] = [p for p in current if p not in command.phones]
            self.position += 1
            return CommandOk(position=self.position)
        owned = self._owned(command.account_id, command.campaign_id)
        if owned is None:
            return CommandError(code="not_found", message=f"no campaign {command.campaign_id}")
        return self._act(owned, command)

    def _act(self, view: CampaignView, command: Any) -> CommandOk | CommandError:
        options = self.campaigns[view.id][1]
        changes: dict[str, Any] = {}
        if isinstance(command, PauseCampaign | StopCampaign | ResumeCampaign):
            if view.status in FINAL_STATUSES:
                return CommandError(
                    code="invalid_transition", message=f"a campaign in {view.status} cannot change"
                )
            target = {PauseCampaign: Status.PAUSED, StopCampaign: Status.STOPPED}
            changes["status"] = target.get(type(command), Status.IN_PROGRESS)
        elif isinstance(command, SetComment):
            changes["comment"] = Comment(user=command.text, system=view.comment.system)
        elif isinstance(command, ModerateCampaign):
            status = Status.ACCEPTED if command.decision == "accepted" else Status.REJECTED
            changes["status"] = status
            changes["comment"] = Comment(user=view.comment.user, system=command.reason)
        elif isinstance(command, CopyCampaign):
            copy = self._new_view(view.account_id, options, view.size.total)
            position = self._store(copy, options, "CampaignCreated")
            state = CampaignState(
                campaign_id=copy.id, account_id=copy.account_id, status=copy.status
            )
            return CommandOk(position=position, campaign=state)
        updated = msgspec.structs.replace(view, **changes)
        position = self._store(updated, options, type(command).__name__)
        state = CampaignState(
            campaign_id=view.id, account_id=view.account_id, status=updated.status
        )
        return CommandOk(position=position, campaign=state)

    def query(self, query: Any) -> Any:
        self.queries.append(query)
        if isinstance(query, GetCampaign):
            view = self._owned(query.account_id, query.campaign_id)
            if view is None:
                return QueryError(code="not_found", message=f"no campaign {query.campaign_id}")
            return CampaignDetail(
                campaign=view,
                options=self.campaigns[view.id][1],
                history=self.history[view.id],
                position=self.position,
            )
        if isinstance(query, ListCampaigns):
            rows = [v for v, _ in self.campaigns.values() if v.account_id == query.account_id]
            if query.statuses:
                rows = [v for v in rows if v.status in query.statuses]
            rows.sort(key=lambda v: v.id, reverse=True)
            start = (query.page - 1) * query.per_page
            return CampaignPage(
                items=rows[start : start + query.per_page],
                total=len(rows),
                page=query.page,
                per_page=query.per_page,
            )
        if isinstance(query, GetModerationQueue):
            rows = [v for v, _ in self.campaigns.values() if v.status == Status.CLARIFICATION]
            return CampaignPage(items=rows, total=len(rows), page=1, per_page=query.per_page)
        if isinstance(query, GetStopList):
            phones = self.stop_list.get(query.account_id, [])
            return StopListPage(
                phones=phones, total=len(phones), page=query.page, per_page=query.per_page
            )
        return QueryError(code="validation", message="unknown query")

    def webhook_deliveries(self, request: ListWebhookDeliveries) -> WebhookDeliveryPage:
        self.dialer_requests.append(request)
        owned = self._owned(request.account_id, request.campaign_id) is not None
        items = self.deliveries.get(request.campaign_id, []) if owned else []
        if request.state is not None:
            items = [i for i in items if i.state == request.state]
        start = (request.page - 1) * request.per_page
        return WebhookDeliveryPage(
            items=items[start : start + request.per_page],
            total=len(items),
            page=request.page,
            per_page=request.per_page,
        )

    def clarify(self, campaign_id: int) -> None:
        view, options = self.campaigns[campaign_id]
        self.campaigns[campaign_id] = (
            msgspec.structs.replace(view, status=Status.CLARIFICATION),
            options,
        )


async def start_doubles(nc: Client) -> tuple[FakeServices, list[Any]]:
    """Subscribe the campaign and stats doubles on `nc`; returns them and the subscriptions."""
    fake = FakeServices()

    async def on_command(msg: Msg) -> None:
        if not fake.silent:
            await msg.respond(encode(fake.command(decode_command(msg.data))))

    async def on_query(msg: Msg) -> None:
        if not fake.silent:
            await msg.respond(encode(fake.query(decode_query(msg.data))))

    async def on_deliveries(msg: Msg) -> None:
        if not (fake.silent or fake.dialer_silent):
            request = decode(msg.data, ListWebhookDeliveries)
            await msg.respond(encode(fake.webhook_deliveries(request)))

    async def on_quote(msg: Msg) -> None:
        # The dialer's quote as a flat 1.80 a call of 60 s (the real rule: the dialer's tests).
        request = decode(msg.data, QuoteCost)
        if not fake.silent:
            per_call = Decimal("1.80")
            reply = CostQuote(
                numbers=request.numbers,
                message_duration_s=request.message_duration_s or 3.0,
                billed_s=60,
                price_per_minute=per_call,
                per_call=per_call,
                total=per_call * request.numbers,
            )
            await msg.respond(encode(reply))

    subs = [
        await nc.subscribe("campaign.cmd.>", queue="campaign", cb=on_command),
        await nc.subscribe("stats.query.>", queue="stats", cb=on_query),
        await nc.subscribe("dialer.req.ListWebhookDeliveries", queue="dialer", cb=on_deliveries),
        await nc.subscribe(dialer_request_subject("QuoteCost"), queue="dialer", cb=on_quote),
    ]
    await nc.flush()
    return fake, subs


@pytest.fixture
async def services(nc: Client) -> AsyncIterator[FakeServices]:
    fake, subs = await start_doubles(nc)
    yield fake
    for sub in subs:
        await sub.unsubscribe()


@pytest.fixture(scope="session")
def doubles_starter() -> Any:
    return start_doubles


def make_settings(tmp_path: Path, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "admin_token": ADMIN,
        "command_timeout": 2.0,
        "query_timeout": 2.0,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@pytest.fixture
async def accounts(tmp_path: Path) -> AsyncIterator[AccountStore]:
    db = Database(dialect="sqlite", sqlite_path=tmp_path / "gateway.sqlite3")
    store = AccountStore(db)
    await store.migrate()
    yield store
    await db.aclose()


@pytest.fixture
def settings(tmp_path: Path) -> GatewaySettings:
    return make_settings(tmp_path)


@pytest.fixture
async def client(
    nc: Client, services: FakeServices, accounts: AccountStore, settings: GatewaySettings
) -> AsyncIterator[httpx.AsyncClient]:
    backend = NatsBackend(nc, command_timeout=1.0, query_timeout=1.0)
    app = bootstrap(
        settings=settings,
        backend=backend,
        accounts=accounts,
        health=HealthProbe(nc, ttl=0.0, timeout=0.2),
        web=False,
    )
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Litestar's scope types
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


@pytest.fixture
async def key(client: httpx.AsyncClient) -> str:
    """An account's API key (account "Тест", Europe/Moscow)."""
    answer = await client.post(
        "/api/v1/accounts",
        json={"name": "Тест", "timezone": "Europe/Moscow"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert answer.status_code == 201, answer.text
    api_key: str = answer.json()["api_key"]
    return api_key


@pytest.fixture
def headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN}"}
