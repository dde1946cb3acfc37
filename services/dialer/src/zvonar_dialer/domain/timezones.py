"""A callee's time zone, derived from the number with phonenumbers' timezone data.

A number whose prefix maps to exactly one zone gets it; a number mapping to several
zones (a Russian mobile range spans eleven) or to none falls back to the account's zone.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers
from phonenumbers import timezone as number_timezones

_UNKNOWN_ZONE = "Etc/Unknown"


@lru_cache(maxsize=65536)
def _zones_of(phone_e164: str) -> tuple[str, ...]:
    try:
        number = phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException:
        return ()
    zones = number_timezones.time_zones_for_number(number)
    return tuple(zone for zone in zones if zone != _UNKNOWN_ZONE)


def callee_timezone(phone_e164: str, fallback: str) -> str:
    """The IANA zone the callee lives in, or `fallback` when the number does not say."""
    zones = _zones_of(phone_e164)
    return zones[0] if len(zones) == 1 else fallback


__all__ = ["callee_timezone"]
