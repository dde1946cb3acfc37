"""The calling window's HH:MM, checked by the one parser of zvonar_contracts, and the page's
words for its fault."""

from __future__ import annotations

import datetime as dt

import pytest

from zvonar_contracts.time_of_day import TIME_OF_DAY_MESSAGE
from zvonar_gateway.domain.validation import check_rules, convert_body
from zvonar_gateway.web.messages import field_error

NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)


def window_faults(start: str, end: str) -> list[dict[str, str]]:
    raw = {
        "phones": ["+79161234567"],
        "audio": {"kind": "tts", "text": "hello"},
        "window": {"days": ["mon"], "from": start, "to": end},
    }
    body, errors = convert_body(raw)
    assert body is not None and errors == []
    faults = check_rules(body, now=NOW, phone_number=lambda n: n, require_phones=True)
    return [f for f in faults if f["field"].startswith("window.")]


def test_a_window_in_hh_mm_passes() -> None:
    assert window_faults("09:00", "21:00") == []
    assert window_faults("00:00", "23:59") == []


@pytest.mark.parametrize(
    "text",
    ["9:00", "24:00", "23:60", "٠٩:٠٠", "09-00", ""],
)
def test_a_start_that_is_not_hh_mm_is_named(text: str) -> None:
    assert window_faults(text, "21:00") == [
        {"field": "window.from", "message": TIME_OF_DAY_MESSAGE}
    ]


def test_the_message_is_the_one_the_page_translates() -> None:
    assert TIME_OF_DAY_MESSAGE == "a time of day as HH:MM"
    assert field_error("window.from", TIME_OF_DAY_MESSAGE, "ru") == "Время в виде ЧЧ:ММ"
    assert field_error("window.to", TIME_OF_DAY_MESSAGE, "en") == "A time of day as HH:MM"
