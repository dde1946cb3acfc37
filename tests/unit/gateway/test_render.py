"""The API's answers copy the read side's structs field for field (http/render.py): only the
fields the answer declares, so a field a newer service adds to the wire does not break the
answer, and a page answer takes the reply's total, page and per_page."""

from __future__ import annotations

import datetime as dt

import msgspec

from zvonar_contracts.dialer import WebhookDelivery, WebhookDeliveryPage
from zvonar_contracts.options import Size
from zvonar_gateway.http.render import copied, paged, render_size
from zvonar_gateway.http.routes.webhooks import render_delivery
from zvonar_gateway.http.schemas import SizeOut, WebhookDeliveryOut, WebhookDeliveryPageOut


class NewerSize(Size, frozen=True):
    """Size as a newer stats might send it: one counter more."""

    voicemail: int = 0


def test_a_copy_takes_the_answers_fields_and_leaves_a_newer_one_out() -> None:
    size = NewerSize(total=9, stop_listed=1, answered=4, leads=2, not_answered=3, voicemail=7)
    assert copied(size, SizeOut) == SizeOut(
        total=9, stop_listed=1, answered=4, leads=2, not_answered=3, in_progress=0
    )
    assert render_size(size) == copied(size, SizeOut)


def test_a_copy_takes_the_fields_given_in_place_of_the_values_own() -> None:
    at = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
    delivery = WebhookDelivery(
        id="msg_1",
        event="CallCompleted",
        call_id="7-1",
        state="delivered",
        attempts=2,
        last_status=200,
        last_error=None,
        created_at=at,
        next_attempt_at=None,
        delivered_at=at + dt.timedelta(minutes=1),
    )
    out = render_delivery(delivery, "Europe/Moscow")
    assert out == WebhookDeliveryOut(
        id="msg_1",
        event="CallCompleted",
        call_id="7-1",
        state="delivered",
        attempts=2,
        last_status=200,
        last_error=None,
        created_at="2026-03-01T12:30:00+03:00",
        next_attempt_at=None,
        delivered_at="2026-03-01T12:31:00+03:00",
    )
    page = WebhookDeliveryPage(items=[delivery], total=31, page=2, per_page=30)
    answer = paged(WebhookDeliveryPageOut, page, items=[out])
    assert msgspec.to_builtins(answer) == {
        "items": [msgspec.to_builtins(out)],
        "total": 31,
        "page": 2,
        "per_page": 30,
    }
