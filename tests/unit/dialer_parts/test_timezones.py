"""A callee's zone from the number; ambiguous or unknown numbers fall back."""

from __future__ import annotations

from zvonar_dialer.domain.timezones import callee_timezone


def test_a_vladivostok_landline_is_in_vladivostok() -> None:
    assert callee_timezone("+74232123456", "Europe/Moscow") == "Asia/Vladivostok"


def test_a_moscow_landline_is_in_moscow() -> None:
    assert callee_timezone("+74951234567", "Asia/Vladivostok") == "Europe/Moscow"


def test_a_russian_mobile_spans_many_zones_and_falls_back_to_the_account() -> None:
    assert callee_timezone("+79161234567", "Asia/Vladivostok") == "Asia/Vladivostok"
    assert callee_timezone("+79161234567", "Europe/Moscow") == "Europe/Moscow"


def test_a_new_york_number_is_in_new_york() -> None:
    assert callee_timezone("+12125551234", "Europe/Moscow") == "America/New_York"


def test_unknown_or_malformed_numbers_fall_back() -> None:
    assert callee_timezone("not a number", "Europe/Moscow") == "Europe/Moscow"
    assert callee_timezone("+999123", "Europe/Berlin") == "Europe/Berlin"
