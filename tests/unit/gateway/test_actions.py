"""The action table (service_layer/actions.py) drives both the API's action routes and the
page's row buttons. The app is built through `bootstrap` around fakes of its ports: no NATS,
no database."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import httpx
import msgspec
import pytest

from tests.gateway_fakes import FakeAccounts, FakeHealth
from zvonar_contracts.commands import (
    CampaignCommand,
    CampaignState,
    CancelAllSmartParts,
    CancelLastSmartPart,
    CommandOk,
    CopyCampaign,
    DeleteCampaigns,
    PauseCampaign,
    ReleaseNumber,
    ResumeCampaign,
    SetComment,
    StopCampaign,
)
from zvonar_contracts.dialer import DialerRequest
from zvonar_contracts.options import FINAL_STATUSES, CampaignOptions, Size, Status, TtsAudio
from zvonar_contracts.queries import (
    CampaignDetail,
    CampaignView,
    Comment,
    GetCampaign,
    Start,
    StatsQuery,
)
from zvonar_gateway.bootstrap import bootstrap
from zvonar_gateway.domain.account import Account
from zvonar_gateway.service_layer.actions import ACTIONS, action_named, offered
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.ports import Accounts, Backend, Health, QueryReply
from zvonar_gateway.settings import GatewaySettings
from zvonar_gateway.web.i18n import Words
from zvonar_gateway.web.view import row_view

T = TypeVar("T")
ACCOUNT = Account(id="acc-1", name="Тест", timezone="Europe/Moscow")
KEY = "key-of-acc-1"
AUTH = {"Authorization": f"Bearer {KEY}"}


def view_of(campaign_id: int, status: Status = Status.IN_PROGRESS) -> CampaignView:
    return CampaignView(
        id=campaign_id,
        account_id=ACCOUNT.id,
        created_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        name=f"campaign {campaign_id}",
        tags=[],
        smart_part=None,
        parent_id=None,
        status=status,
        start=Start(kind="not_started"),
        size=Size(total=3, in_progress=3),
        smart_size=Size(),
        speed=10,
        cost=Decimal("1.5"),
        comment=Comment(),
        caller_number=None,
    )


class FakeBackend:
    """The Backend port in memory: commands answered from a counter, campaigns read back."""

    command_timeout = 1.0
    query_timeout = 1.0

    def __init__(self) -> None:
        self.commands: list[CampaignCommand] = []
        self.queries: list[StatsQuery] = []
        self.position = 0
        self.next_id = 100

    def check_command(self, command: CampaignCommand) -> bytes:
        return msgspec.json.encode(command)

    async def command(self, command: CampaignCommand, *, timeout: float | None = None) -> CommandOk:
        self.commands.append(command)
        self.position += 1
        if isinstance(command, DeleteCampaigns):
            return CommandOk(position=self.position, deleted=command.campaign_ids)
        campaign_id = getattr(command, "campaign_id", 0)
        if isinstance(command, CopyCampaign):
            campaign_id, self.next_id = self.next_id, self.next_id + 1
        state = CampaignState(campaign_id=campaign_id, account_id=ACCOUNT.id, status=Status.PAUSED)
        return CommandOk(position=self.position, campaign=state)

    async def query(self, query: StatsQuery, *, timeout: float | None = None) -> QueryReply:
        self.queries.append(query)
        if not isinstance(query, GetCampaign):
            raise ApiError(422, "validation", f"no {type(query).__name__} here")
        view = view_of(query.campaign_id)
        return CampaignDetail(campaign=view, options=_OPTIONS, history=[], position=self.position)

    async def dialer(
        self, request: DialerRequest, reply_type: type[T], *, timeout: float = 10.0
    ) -> T:
        raise ApiError(503, "service_unavailable", "no dialer here")

    async def put_secret(self, secret: str) -> str:
        return "ref"

    async def drop_secret(self, ref: str) -> None:
        return None

    async def put_object(self, bucket: str, name: str, data: bytes) -> None:
        return None

    async def get_object(self, bucket: str, name: str) -> bytes:
        raise ApiError(404, "not_found", f"no such object: {name}")

    async def delete_object(self, bucket: str, name: str) -> None:
        return None

    async def object_exists(self, bucket: str, name: str) -> bool:
        return False

    async def list_objects(self, bucket: str, prefix: str) -> list[tuple[str, int]]:
        return []


_OPTIONS = CampaignOptions(name="n", audio=TtsAudio(text="Здравствуйте"), speed=10)


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
async def api(backend: FakeBackend, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    ports: tuple[Backend, Accounts, Health] = (
        backend,
        FakeAccounts({KEY: ACCOUNT}),
        FakeHealth(),
    )
    app = bootstrap(
        GatewaySettings(data_dir=tmp_path),
        backend=ports[0],
        accounts=ports[1],
        health=ports[2],
        web=False,
    )
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Litestar's scope types
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


# The product's table (docs/API.md "Act"), written out: the path, the method, the answer's
# status and the command each action sends.
PRODUCT: dict[str, tuple[str, str, int, type[CampaignCommand]]] = {
    "pause": ("pause", "POST", 200, PauseCampaign),
    "resume": ("resume", "POST", 200, ResumeCampaign),
    "stop": ("stop", "POST", 200, StopCampaign),
    "cancel-last": ("smart/cancel-last", "POST", 200, CancelLastSmartPart),
    "cancel-all": ("smart/cancel-all", "POST", 200, CancelAllSmartParts),
    "release-number": ("release-number", "POST", 200, ReleaseNumber),
    "comment": ("comment", "PUT", 200, SetComment),
    "copy": ("copy", "POST", 201, CopyCampaign),
}


def test_the_table_is_the_products() -> None:
    assert {name: (a.path, a.method, 201 if a.creates else 200) for name, a in ACTIONS.items()} == {
        name: row[:3] for name, row in PRODUCT.items()
    }
    for name, (*_, kind) in PRODUCT.items():
        assert isinstance(ACTIONS[name].command(ACCOUNT, 7, "текст"), kind)


@pytest.mark.parametrize("name", list(PRODUCT))
async def test_each_action_of_the_table_is_an_api_route(
    api: httpx.AsyncClient, backend: FakeBackend, name: str
) -> None:
    path, method, status, kind = PRODUCT[name]
    body = {"text": "перезвонить"} if name == "comment" else None
    answer = await api.request(method, f"/api/v1/campaigns/7/{path}", headers=AUTH, json=body)
    assert answer.status_code == status, answer.text
    (command,) = backend.commands
    assert isinstance(command, kind)
    assert (command.account_id, getattr(command, "campaign_id", None)) == (ACCOUNT.id, 7)
    # The answer is the campaign after the command (the new one for a copy), read at the
    # command's position, rendered as CampaignOut in the account's timezone.
    (read,) = backend.queries
    assert isinstance(read, GetCampaign)
    assert read.min_position == backend.position
    campaign = answer.json()
    assert campaign["id"] == (100 if name == "copy" else 7)
    assert campaign["created_at"] == "2026-01-02T06:04:05+03:00"
    assert campaign["start"] == {"kind": "not_started"}
    assert campaign["cost"] == "1.50"
    if name == "comment":
        assert isinstance(command, SetComment) and command.text == "перезвонить"


async def test_an_unknown_action_is_no_route_and_no_command(
    api: httpx.AsyncClient, backend: FakeBackend
) -> None:
    answer = await api.post("/api/v1/campaigns/7/rewind", headers=AUTH)
    assert answer.status_code in (404, 405)
    assert backend.commands == []
    with pytest.raises(ApiError) as refused:
        action_named("rewind")
    assert (refused.value.status_code, refused.value.message) == (404, "no action 'rewind'")


async def test_delete_names_each_campaign_once(
    api: httpx.AsyncClient, backend: FakeBackend
) -> None:
    answer = await api.post("/api/v1/campaigns/delete", json={"ids": [3, 4, 3]}, headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"deleted": [3, 4]}
    (command,) = backend.commands
    assert isinstance(command, DeleteCampaigns) and command.campaign_ids == [3, 4]


# Which buttons a row shows, by status, written out from the product (docs/API.md "Act").
PAUSABLE = {Status.ACCEPTED, Status.SCHEDULED, Status.IN_PROGRESS, Status.PAUSED_WINDOW}


@pytest.mark.parametrize("status", list(Status), ids=str)
def test_a_row_offers_what_the_table_allows(status: Status) -> None:
    row = row_view(view_of(7, status), ACCOUNT.timezone, Words("en"))
    assert row.can_pause == (status in PAUSABLE) == offered(ACTIONS["pause"], status)
    assert row.can_resume == (status is Status.PAUSED) == offered(ACTIONS["resume"], status)
    not_final = status not in FINAL_STATUSES
    assert row.can_stop == not_final == offered(ACTIONS["stop"], status)
    assert row.can_cancel_smart == not_final == offered(ACTIONS["cancel-last"], status)
    for always in ("release-number", "comment", "copy"):
        assert offered(ACTIONS[always], status)


async def test_the_openapi_document_keeps_the_action_operations(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/schema/openapi.json")).json()["paths"]
    for name, (path, method, status, _) in PRODUCT.items():
        operation = paths[f"/api/v1/campaigns/{{campaign_id}}/{path}"][method.lower()]
        assert operation["summary"] == ACTIONS[name].summary
        schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/CampaignOut"}
    cancel_last = paths["/api/v1/campaigns/{campaign_id}/smart/cancel-last"]["post"]
    assert cancel_last["operationId"] == "ApiV1CampaignsCampaignIdSmartCancelLastCancelLast"
    comment = paths["/api/v1/campaigns/{campaign_id}/comment"]["put"]
    assert comment["operationId"] == "ApiV1CampaignsCampaignIdCommentSetComment"
