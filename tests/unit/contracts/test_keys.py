"""Names written by one service and read back by another come from one builder and parser;
a field named anew in Python keeps its name on the wire."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from zvonar_contracts import keys
from zvonar_contracts.call_events import InboundCallAnswered
from zvonar_contracts.codec import encode
from zvonar_contracts.dialer import InboundCall


def test_a_call_id_is_read_back_into_what_it_was_built_from() -> None:
    call_id = keys.call_id_of(1000042, 2, "+79161234567", 1)
    assert call_id == "1000042-2-79161234567-1"
    assert keys.parse_call_id(call_id) == keys.CallId(1000042, 2, "79161234567", 1)


@pytest.mark.parametrize(
    "call_id", ["", "1000042-0-7916", "x-0-79161234567-1", "1000042-0-+79161234567-1", "1-2-3-4-5"]
)
def test_anything_else_is_not_a_call_id(call_id: str) -> None:
    assert keys.parse_call_id(call_id) is None


def test_a_recording_is_filed_under_its_account_and_main_campaign_by_call_id() -> None:
    call_id = keys.call_id_of(1000042, 1, "+79161234567", 1)
    name = keys.recording_object("acc_1", 1000042, call_id)
    assert name == f"acc_1/1000042/{call_id}.wav"
    assert keys.call_id_of_recording(name) == call_id


def test_a_campaign_message_lives_in_its_folder() -> None:
    assert keys.message_object("acc_1", 1000042).startswith(keys.message_folder("acc_1", 1000042))


def test_an_account_id_that_would_leave_its_folder_is_refused() -> None:
    with pytest.raises(ValueError, match="not an account id"):
        keys.recording_object("acc/other", 1, "1-0-7-1")


def test_a_webhook_id_is_the_same_for_the_same_event_and_differs_for_another() -> None:
    first = keys.webhook_id_of(1000001, "CallCompleted", "1000001-0-79160000009-1")
    assert first == keys.webhook_id_of(1000001, "CallCompleted", "1000001-0-79160000009-1")
    assert first.startswith("msg_") and len(first) == 36
    assert first != keys.webhook_id_of(1000001, "CallCompleted", "1000001-0-79160000008-1")


def test_an_inbound_call_keeps_its_wire_names_under_its_python_names() -> None:
    request = msgspec.json.decode(
        b'{"type": "InboundCall", "caller": "+79990001122", "number": "+74950000001"}',
        type=InboundCall,
    )
    assert (request.phone, request.caller_number) == ("+79990001122", "+74950000001")
    event = InboundCallAnswered(
        campaign_id=1,
        account_id="a",
        at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        phone="+79990001122",
        caller_number="+74950000001",
        played=True,
    )
    wire = msgspec.json.decode(encode(event))
    assert (wire["caller"], wire["number"]) == ("+79990001122", "+74950000001")
