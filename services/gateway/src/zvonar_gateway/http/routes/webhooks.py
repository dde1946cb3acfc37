"""A campaign's webhook delivery log: each post of a call result to the campaign's URL, how
many attempts it took, the last answer, and when the next attempt is due (docs/webhooks.md).

The dialer keeps the log (its webhook outbox); the gateway checks the campaign is the
caller's (another account's answers the same 404 as an unknown id) and asks the dialer for
one page, small enough for one NATS message.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from zvonar_contracts.dialer import (
    MAX_DELIVERIES_PAGE,
    DeliveryState,
    ListWebhookDeliveries,
    WebhookDelivery,
    WebhookDeliveryPage,
)
from zvonar_gateway.domain.account import Account
from zvonar_gateway.http.providers import BackendDep
from zvonar_gateway.http.render import render_time
from zvonar_gateway.http.routes.common import check_id
from zvonar_gateway.http.schemas import WebhookDeliveryOut, WebhookDeliveryPageOut, documented
from zvonar_gateway.service_layer.campaigns import read_detail
from zvonar_gateway.service_layer.errors import ApiError


def render_delivery(item: WebhookDelivery, tz: str) -> WebhookDeliveryOut:
    return WebhookDeliveryOut(
        id=item.id,
        event=item.event,
        call_id=item.call_id,
        state=item.state,
        attempts=item.attempts,
        last_status=item.last_status,
        last_error=item.last_error,
        created_at=render_time(item.created_at, tz),
        next_attempt_at=render_time(item.next_attempt_at, tz),
        delivered_at=render_time(item.delivered_at, tz),
    )


@get(
    "/api/v1/campaigns/{campaign_id:int}/webhooks",
    tags=["campaigns"],
    summary="The campaign's webhook deliveries, newest first",
    responses=documented(200, WebhookDeliveryPageOut, "a page of webhook deliveries"),
)
async def list_webhook_deliveries(
    account: NamedDependency[Account],
    backend: BackendDep,
    campaign_id: FromPath[int],
    # `state` is a name Litestar keeps for the app state: the query key is given apart.
    delivery_state: Annotated[DeliveryState | None, QueryParameter(name="state")] = None,
    page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=MAX_DELIVERIES_PAGE)] = 50,
) -> WebhookDeliveryPageOut:
    campaign_id = check_id(campaign_id)
    await read_detail(backend, account.id, campaign_id)  # 404 unless it is the caller's
    request = ListWebhookDeliveries(
        campaign_id=campaign_id,
        account_id=account.id,
        state=delivery_state,
        page=page,
        per_page=per_page,
    )
    try:
        reply = await backend.dialer(request, WebhookDeliveryPage)
    except msgspec.ValidationError as exc:  # a refusal or an answer of another shape
        raise ApiError(
            503,
            "service_unavailable",
            "the dialer answered out of turn",
            headers={"Retry-After": "1"},
        ) from exc
    return WebhookDeliveryPageOut(
        items=[render_delivery(item, account.timezone) for item in reply.items],
        total=reply.total,
        page=reply.page,
        per_page=reply.per_page,
    )


HANDLERS = [list_webhook_deliveries]
