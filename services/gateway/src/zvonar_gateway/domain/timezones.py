"""The timezones an account may choose: the real zones of the tz database's `zone.tab`
(one per region of a country — no "localtime", "Factory", "posixrules", no legacy aliases
such as "W-SU" or "US/Eastern") and UTC. The page lists Russia's zones first, each with its
UTC offset now and its city; then the rest of the world by offset, each with its city in
the page's language (CLDR's exemplar cities, through Babel)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import cache
from importlib import resources
from pathlib import Path

import msgspec
from babel.dates import get_timezone_location

# Russia's zones (zone.tab, country RU) with their cities in Russian and English.
RUSSIA: dict[str, tuple[str, str]] = {
    "Europe/Kaliningrad": ("Калининград", "Kaliningrad"),
    "Europe/Moscow": ("Москва", "Moscow"),
    "Europe/Kirov": ("Киров", "Kirov"),
    "Europe/Volgograd": ("Волгоград", "Volgograd"),
    "Europe/Astrakhan": ("Астрахань", "Astrakhan"),
    "Europe/Saratov": ("Саратов", "Saratov"),
    "Europe/Ulyanovsk": ("Ульяновск", "Ulyanovsk"),
    "Europe/Samara": ("Самара, Ижевск", "Samara, Izhevsk"),
    "Asia/Yekaterinburg": ("Екатеринбург", "Yekaterinburg"),
    "Asia/Omsk": ("Омск", "Omsk"),
    "Asia/Novosibirsk": ("Новосибирск", "Novosibirsk"),
    "Asia/Barnaul": ("Барнаул", "Barnaul"),
    "Asia/Tomsk": ("Томск", "Tomsk"),
    "Asia/Novokuznetsk": ("Новокузнецк, Кемерово", "Novokuznetsk, Kemerovo"),
    "Asia/Krasnoyarsk": ("Красноярск", "Krasnoyarsk"),
    "Asia/Irkutsk": ("Иркутск, Улан-Удэ", "Irkutsk, Ulan-Ude"),
    "Asia/Chita": ("Чита", "Chita"),
    "Asia/Yakutsk": ("Якутск", "Yakutsk"),
    "Asia/Khandyga": ("Хандыга", "Khandyga"),
    "Asia/Vladivostok": ("Владивосток", "Vladivostok"),
    "Asia/Ust-Nera": ("Усть-Нера", "Ust-Nera"),
    "Asia/Magadan": ("Магадан", "Magadan"),
    "Asia/Sakhalin": ("Южно-Сахалинск", "Yuzhno-Sakhalinsk"),
    "Asia/Srednekolymsk": ("Среднеколымск", "Srednekolymsk"),
    "Asia/Kamchatka": ("Петропавловск-Камчатский", "Petropavlovsk-Kamchatsky"),
    "Asia/Anadyr": ("Анадырь", "Anadyr"),
}


class ZoneOption(msgspec.Struct, frozen=True):
    name: str  # the IANA name, the option's value
    label: str  # "UTC+03:00 — Москва"


def _zone_tab() -> str:
    """zone.tab of the tz database zoneinfo reads: the system's, else the tzdata package's."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return (resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return ""


@cache
def real_zones() -> frozenset[str]:
    """Every zone named in zone.tab that zoneinfo can load, and UTC."""
    named = set(RUSSIA)
    for line in _zone_tab().splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and not line.startswith("#"):
            named.add(fields[2].strip())
    # One walk of the tz folder: asked inside the loop it was walked once per name (~400
    # walks of ~600 files), which held the event loop for seconds — a minute under load.
    loadable = zoneinfo.available_timezones()
    return frozenset(named & loadable) | {"UTC"}


@cache
def timezone_names() -> list[str]:
    return sorted(real_zones())


def offset_text(name: str, now: dt.datetime) -> str:
    offset = now.astimezone(zoneinfo.ZoneInfo(name)).utcoffset() or dt.timedelta()
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "\u2212"  # a minus sign, not a hyphen: "UTC−05:00"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _minutes(name: str, now: dt.datetime) -> int:
    offset = now.astimezone(zoneinfo.ZoneInfo(name)).utcoffset() or dt.timedelta()
    return int(offset.total_seconds()) // 60


@cache
def city(name: str, lang: str) -> str:
    """The zone's city (and region where the name alone is ambiguous) in the page's
    language: "Нью-Йорк", "Нокс, Индиана"; the IANA name when CLDR has none."""
    try:
        return str(
            get_timezone_location(name, locale="ru" if lang == "ru" else "en", return_city=True)
        )
    except (LookupError, ValueError):
        return name.replace("_", " ")


def zone_label(name: str, lang: str, now: dt.datetime | None = None) -> str:
    """One zone as the profile's list names it: "UTC+03:00 — Москва"."""
    if name not in real_zones():
        return name
    moment = now or dt.datetime.now(dt.UTC)
    place = RUSSIA[name][0 if lang == "ru" else 1] if name in RUSSIA else city(name, lang)
    return f"{offset_text(name, moment)} — {place}"


def zone_options(
    lang: str, current: str | None = None, now: dt.datetime | None = None
) -> list[ZoneOption]:
    """Russia's zones (west to east), then UTC and the world by offset, each labelled
    with its offset at `now` (summer time moves it). An account's zone that is no longer
    offered (set before this list) is kept, last, so the select still shows it."""
    moment = now or dt.datetime.now(dt.UTC)
    index = 0 if lang == "ru" else 1
    russia = sorted(RUSSIA, key=lambda z: (_minutes(z, moment), z))
    options = [
        ZoneOption(name, f"{offset_text(name, moment)} — {RUSSIA[name][index]}") for name in russia
    ]
    rest = sorted(real_zones() - set(RUSSIA), key=lambda z: (_minutes(z, moment), z))
    for name in rest:
        place = "UTC" if name == "UTC" else city(name, lang)
        options.append(ZoneOption(name, f"{offset_text(name, moment)} — {place}"))
    if current and current not in real_zones():
        options.append(ZoneOption(current, current))
    return options
