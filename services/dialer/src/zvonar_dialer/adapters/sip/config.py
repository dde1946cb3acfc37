"""The SIP carrier's configuration, read from the dialer's settings and checked at start-up
(a bad trunk address fails the dialer at once, not its first call)."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from typing import Literal

from zvonar_runtime.settings import SettingsError

Transport = Literal["udp", "tcp"]
DialFormat = Literal["digits", "e164", "national"]
_TRUNK = re.compile(
    r"^sips?:(?:[^@;]+@)?(?P<host>\[[0-9a-fA-F:.]+\]|[^:;]+)(?::(?P<port>\d+))?(?P<params>(?:;[^;]*)*)$"
)


@dataclass(frozen=True)
class SipConfig:
    trunk_host: str
    trunk_port: int
    transport: Transport
    user: str
    password: str
    bind_host: str
    bind_port: int
    public_host: str
    rtp_ports: tuple[int, int]
    dial_format: DialFormat
    channels: int
    cps: float
    ring_timeout_s: float
    no_answer_s: float
    max_call_s: float
    ivr_wait_s: float

    @property
    def trunk_addr(self) -> tuple[str, int]:
        return self.trunk_host, self.trunk_port


def parse_trunk(uri: str) -> tuple[str, int, Transport]:
    """`sip:host[:port][;transport=udp|tcp]` → (host, port, transport)."""
    match = _TRUNK.match(uri.strip())
    if match is None:
        raise SettingsError(f"DIALER_SIP_TRUNK: not a SIP URI: {uri!r}")
    host = match["host"].strip("[]")
    port = int(match["port"] or 5060)
    transport: Transport = "udp"
    for param in (match["params"] or "").split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "transport":
            value = value.strip().lower()
            if value not in ("udp", "tcp"):
                raise SettingsError(f"DIALER_SIP_TRUNK: transport {value!r} (udp or tcp)")
            transport = "tcp" if value == "tcp" else "udp"
    if not 0 < port < 65536:
        raise SettingsError(f"DIALER_SIP_TRUNK: port {port}")
    return host, port, transport


def parse_host_port(text: str, name: str) -> tuple[str, int]:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise SettingsError(f"{name}: expected host:port, got {text!r}")
    return host.strip("[]"), int(port)


def parse_range(text: str) -> tuple[int, int]:
    low, sep, high = text.strip().partition("-")
    if not sep or not low.isdigit() or not high.isdigit() or int(low) + 1 >= int(high):
        raise SettingsError(f"DIALER_RTP_PORTS: expected low-high, got {text!r}")
    return int(low), int(high)


def route_host(trunk: tuple[str, int]) -> str:
    """The local address of the route to the trunk (no packet is sent)."""
    family = socket.AF_INET6 if ":" in trunk[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(trunk)
            return str(probe.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def sip_config(
    *,
    trunk: str,
    user: str,
    password: str,
    bind: str,
    public_host: str,
    rtp_ports: str,
    dial_format: str,
    channels: int,
    cps: float,
    ring_timeout_s: float,
    no_answer_s: float,
    max_call_s: float,
    ivr_wait_s: float,
) -> SipConfig:
    if not trunk:
        raise SettingsError("DIALER_SIP_TRUNK is required with DIALER_CARRIER=sip")
    host, port, transport = parse_trunk(trunk)
    bind_host, bind_port = parse_host_port(bind, "DIALER_SIP_BIND")
    if dial_format not in ("digits", "e164", "national"):
        raise SettingsError(f"DIALER_SIP_DIAL_FORMAT: {dial_format!r} (digits, e164, national)")
    if channels < 1 or cps <= 0:
        raise SettingsError("DIALER_SIP_CHANNELS and DIALER_SIP_CPS must be positive")
    if min(ring_timeout_s, no_answer_s, max_call_s) <= 0 or ivr_wait_s < 0:
        raise SettingsError("SIP timeouts must be positive")
    return SipConfig(
        trunk_host=host,
        trunk_port=port,
        transport=transport,
        user=user,
        password=password,
        bind_host=bind_host,
        bind_port=bind_port,
        public_host=public_host or route_host((host, port)),
        rtp_ports=parse_range(rtp_ports),
        dial_format=dial_format,  # type: ignore[arg-type]
        channels=channels,
        cps=cps,
        ring_timeout_s=ring_timeout_s,
        no_answer_s=no_answer_s,
        max_call_s=max_call_s,
        ivr_wait_s=ivr_wait_s,
    )


def dial_string(phone: str, dial_format: DialFormat) -> str:
    """The request-URI user for an E.164 number in the configured format."""
    digits = phone.lstrip("+")
    if dial_format == "e164":
        return f"+{digits}"
    if dial_format == "national" and digits.startswith("7") and len(digits) == 11:
        return f"8{digits[1:]}"
    return digits


def e164_of_digits(digits: str) -> str:
    """The E.164 number of a dialled string's digits: the national form 8XXXXXXXXXX (the
    inverse of `dial_string`'s) is +7XXXXXXXXXX, anything else is taken as it is."""
    if digits.startswith("8") and len(digits) == 11:
        return f"+7{digits[1:]}"
    return f"+{digits}"


def number_variants(user: str) -> set[str]:
    """The E.164 numbers a request-URI user may stand for, in any of the three formats."""
    digits = user.strip().lstrip("+")
    if not digits.isdigit():
        return set()
    return {f"+{digits}", e164_of_digits(digits)}
