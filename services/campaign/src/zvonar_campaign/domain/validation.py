"""Checks on what a new campaign is created with; each failure names its field.

Lengths are the contract's own (`msgspec.Meta` on the structs, zvonar_contracts.limits): the
options are converted again against their declared type, so a command built in-process is
held to the same limits as one decoded from the wire.
"""

from __future__ import annotations

import re
import zoneinfo

import msgspec

from zvonar_campaign.domain.errors import ValidationFailed
from zvonar_contracts.limits import field_error
from zvonar_contracts.options import CallerIdRouting, CampaignOptions, PhoneBaseRef
from zvonar_contracts.time_of_day import TIME_OF_DAY_MESSAGE, is_time_of_day

MAX_PHONES = 1_000_000
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def check_new_campaign(options: CampaignOptions, phones: PhoneBaseRef, account_tz: str) -> None:
    _check_declared(options, CampaignOptions, "")
    _check_declared(phones, PhoneBaseRef, "phones.")
    _check(1 <= options.speed <= 100_000, "speed", "must be between 1 and 100000 calls/hour")
    _check(1 <= phones.count <= MAX_PHONES, "phones", "a base holds 1..1000000 numbers")
    _check(bool(_SHA256.match(phones.sha256)), "phones", "sha256 must be 64 hex digits")
    _check(bool(phones.bucket and phones.name), "phones", "bucket and name are required")
    if options.smart is not None:
        _check(1 <= options.smart.parts <= 5, "smart.parts", "must be between 1 and 5")
        _check(
            0 <= options.smart.delay_minutes <= 10_080,
            "smart.delay_minutes",
            "must be between 0 and 10080",
        )
    if isinstance(options.routing, CallerIdRouting):
        _check(is_e164(options.routing.number), "routing.number", "must be an E.164 number")
    if options.window is not None:
        window = options.window
        _check(bool(window.days), "window.days", "at least one day")
        # The campaign service keeps its rule of 00:00..23:59 at both ends (no 24:00).
        _check(is_time_of_day(window.from_), "window.from", TIME_OF_DAY_MESSAGE)
        _check(is_time_of_day(window.to), "window.to", TIME_OF_DAY_MESSAGE)
    if options.start_at is not None:
        _check(options.start_at.tzinfo is not None, "start_at", "must carry a UTC offset")
    _check(_is_zone(account_tz), "account_tz", f"unknown timezone {account_tz!r}")


def _check_declared(value: msgspec.Struct, type_: type[msgspec.Struct], prefix: str) -> None:
    """Every constraint the contract declares on `type_` (lengths of texts and lists)."""
    try:
        msgspec.convert(msgspec.to_builtins(value), type_)
    except msgspec.ValidationError as exc:
        field, message = field_error(exc)
        raise ValidationFailed(prefix + field if field else prefix.rstrip("."), message) from exc


def _check(ok: bool, field: str, message: str) -> None:
    if not ok:
        raise ValidationFailed(field, message)


def _is_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def is_e164(phone: str) -> bool:
    """The one E.164 check of the service (caller numbers, stop-lists): `+`, a country code
    that does not start with 0, 7 to 15 digits in all."""
    return _E164.match(phone) is not None
