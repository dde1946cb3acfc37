"""Properties of next_open over many windows, zones and moments (DST years included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from zvonar_contracts.options import WEEKDAYS, CallingWindow
from zvonar_dialer.domain.windows import is_open, next_open

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Europe/Moscow",
    "Asia/Vladivostok",
    "Australia/Lord_Howe",
    "America/Santiago",
    "UTC",
]
clock = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 30]))
windows = st.builds(
    lambda days, start, end: CallingWindow(days=days, from_=start, to=end),
    st.lists(st.sampled_from(WEEKDAYS), unique=True, max_size=7),
    clock,
    st.one_of(clock, st.just("24:00")),
)
moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
# Days around the 2026 DST changes of Berlin and New York, where most mistakes would hide.
CHANGES = [
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
]
near_changes = st.builds(
    lambda change, minutes: change + timedelta(minutes=minutes),
    st.sampled_from(CHANGES),
    st.integers(-3 * 24 * 60, 24 * 60),
)
STEP = timedelta(minutes=10)


@settings(max_examples=150, deadline=None)
@given(window=windows, zone=st.sampled_from(ZONES), at=moments)
def test_next_open_is_the_first_open_moment(window: CallingWindow, zone: str, at: datetime) -> None:
    assert_first_open_moment(window, zone, at)


@settings(max_examples=150, deadline=None)
@given(window=windows, zone=st.sampled_from(["Europe/Berlin", "America/New_York"]), at=near_changes)
def test_next_open_is_the_first_open_moment_around_dst_changes(
    window: CallingWindow, zone: str, at: datetime
) -> None:
    assert_first_open_moment(window, zone, at)


def assert_first_open_moment(window: CallingWindow, zone: str, at: datetime) -> None:
    found = next_open(window, zone, at)
    if not window.days:
        assert found is None
        return
    assert found is not None and found >= at and found.tzinfo is UTC
    assert is_open(window, zone, found)
    if found > at:
        assert not is_open(window, zone, found - timedelta(seconds=1))
        probe = at
        while probe < found:
            assert not is_open(window, zone, probe)
            probe += STEP


def test_a_window_closed_by_the_clock_set_back_reopens_at_its_second_start() -> None:
    """New York, Sunday 2026-11-01: 01:30 EDT (05:30 UTC) opens the window, 02:00 EDT turns
    into 01:00 EST (06:00 UTC) and closes it; it opens again at 01:30 EST (06:30 UTC), not a
    week later (found by the property above)."""
    window = CallingWindow(days=["sun"], from_="01:30", to="24:00", tz="account")
    at = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)
    assert not is_open(window, "America/New_York", at)
    assert next_open(window, "America/New_York", at) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert_first_open_moment(window, "America/New_York", at)
