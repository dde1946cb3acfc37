"""The pure parts of issue 18's row points: "Скопировать" fills the create form with every
option of the campaign (and the form gives the same options back), and a row offers the
smart-part cancels only while its main campaign runs."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from tests.unit.web.test_web_units import RU, view
from zvonar_contracts.options import CampaignOptions, Size, Status
from zvonar_gateway.web.forms import form_to_body, options_to_values
from zvonar_gateway.web.view import row_view

NOW = dt.datetime(2026, 6, 17, 12, 0, tzinfo=dt.UTC)

FULL = {
    "name": "Весенняя акция",
    "audio": {"kind": "tts", "text": "Здравствуйте! Скидки."},
    "speed": 450,
    "start_at": "2026-06-18T07:00:00Z",
    "routing": {"kind": "caller_id", "number": "+79161234567"},
    "ivr": {"kind": "words", "lead_words": ["да", "хочу"]},
    "smart": {"parts": 2, "delay_minutes": 90},
    "record": True,
    "window": {"days": ["mon", "wed"], "from": "10:00", "to": "19:30", "tz": "callee"},
    "integration": {"webhook_url": "https://example.com/hook", "secret": "s3"},
    "amd": True,
    "comment": "мой",
}


def test_a_copied_campaign_fills_the_form_and_the_form_gives_its_options_back() -> None:
    options = msgspec.convert(FULL, CampaignOptions, strict=False)
    values, days = options_to_values(options, "Europe/Moscow", NOW)
    assert values["start_at"] == "2026-06-18T10:00"  # Moscow time, as the form shows it
    assert days == ["mon", "wed"]
    body, errors = form_to_body(values, days, "Europe/Moscow")
    assert errors == {}
    again = msgspec.convert(body, CampaignOptions, strict=False)
    assert again == options


def test_a_copy_of_a_file_campaign_keeps_its_file_and_drops_a_past_start() -> None:
    options = msgspec.convert(
        {
            **FULL,
            "audio": {"kind": "file", "file_id": "f1", "name": "message.wav"},
            "ivr": {"kind": "keys", "lead_keys": ["1", "#"]},
            "window": None,
            "start_at": "2026-06-01T07:00:00Z",
        },
        CampaignOptions,
        strict=False,
    )
    values, days = options_to_values(options, "Europe/Moscow", NOW)
    assert values["audio_kind"] == "file" and values["copy_audio"] == "f1"
    assert values["copy_audio_name"] == "message.wav" and "tts_text" not in values
    assert "start_at" not in values and "window_on" not in values
    assert values["ivr_kind"] == "keys" and values["ivr_keys"] == "1, #"
    assert days == ["mon", "tue", "wed", "thu", "fri"]


@pytest.mark.parametrize(
    ("status", "offered"),
    [
        (Status.SCHEDULED, True),
        (Status.IN_PROGRESS, True),
        (Status.PAUSED, True),
        (Status.FINISHED, False),
        (Status.STOPPED, False),
        (Status.REJECTED, False),
    ],
)
def test_smart_cancels_are_offered_only_while_the_main_campaign_runs(
    status: Status, offered: bool
) -> None:
    row = row_view(view(status=status), "Europe/Moscow", RU)
    assert row.has_smart and row.can_cancel_smart is offered
    plain = row_view(view(status=status, smart_size=None), "Europe/Moscow", RU)
    assert not plain.can_cancel_smart
    part = row_view(
        view(status=status, smart_part=1, parent_id=7, smart_size=Size()), "Europe/Moscow", RU
    )
    assert not part.can_cancel_smart and part.parent_id == 7 and part.smart_part == 1
