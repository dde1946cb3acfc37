"""The dialer's settings, read once from the environment at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from zvonar_runtime.settings import ServiceSettings

DEFAULT_CALLER_POOL = "+74950000001,+74950000002,+74950000003,+74950000004"


class DialerSettings(ServiceSettings, frozen=True, kw_only=True):
    service: str = "dialer"
    # The dialer's clock runs this many times faster than the wall clock.
    time_scale: float = 1.0
    caller_pool: str = DEFAULT_CALLER_POOL  # ZVONAR_CALLER_POOL, the older name
    caller_numbers_list: str = ""  # DIALER_CALLER_NUMBERS: replaces the pool when set
    tariff_path: str = ""  # empty: the tariff shipped with the dialer
    # Wall seconds between two scheduler passes; calls due meanwhile go out as one burst.
    tick_seconds: float = 0.02
    # At most this many calls of one campaign per pass (keeps a pass short and fair).
    max_burst: int = 500
    # Calls of one burst handed to the telephony port at once (one `place_calls` each; the
    # simulated carrier records them in one transaction).
    call_concurrency: int = 500
    # PostgreSQL connections: concurrent transactions run side by side (SQLite: one writer).
    db_workers: int = 16
    # Bursts in a row the carrier could not place before running campaigns are paused by
    # the system (they resume by themselves once it answers again).
    carrier_failures: int = 3
    # Webhook posts (docs/webhooks.md): each attempt's timeout; the wait after a failed
    # attempt doubles from the first to the longest (with jitter) until the post is given
    # up, this long after the call result.
    webhook_timeout_s: float = 5.0
    webhook_retry_first_s: float = 5.0
    webhook_retry_max_s: float = 3600.0
    webhook_give_up_s: float = 24 * 3600.0
    webhook_concurrency: int = 16
    # Memory for the campaigns' decoded messages kept for recordings (least recently used
    # out; 8 kHz mono is 0.94 MB a minute, so the default holds 6 ten-minute messages).
    message_cache_mb: int = 64
    # Webhooks to loopback, private and reserved addresses too (a customer's own network,
    # tests); off: only public addresses (docs/API.md "Limits and hostile input").
    webhook_allow_private: bool = False
    # The telephony (docs: ../shared/docs/TELEPHONY.md): `simulated` or `sip`.
    carrier: str = "simulated"
    sip_trunk: str = ""  # sip:host[:port][;transport=udp|tcp]
    sip_user: str = ""
    sip_password: str = ""
    sip_bind: str = "0.0.0.0:5060"
    sip_public_host: str = ""  # empty: the local address of the route to the trunk
    rtp_ports: str = "20000-20999"
    sip_dial_format: str = "digits"  # digits | e164 | national
    sip_channels: int = 30
    sip_cps: float = 10.0
    sip_ring_timeout_s: float = 30.0
    sip_no_answer_s: float = 32.0
    sip_max_call_s: float = 300.0
    ivr_wait_s: float = 5.0

    ENV: ClassVar[dict[str, str]] = {
        "time_scale": "DIALER_TIME_SCALE",
        "caller_pool": "ZVONAR_CALLER_POOL",
        "caller_numbers_list": "DIALER_CALLER_NUMBERS",
        "tariff_path": "DIALER_TARIFF",
        "tick_seconds": "DIALER_TICK_SECONDS",
        "max_burst": "DIALER_MAX_BURST",
        "call_concurrency": "DIALER_CALL_CONCURRENCY",
        "db_workers": "DIALER_DB_WORKERS",
        "carrier_failures": "DIALER_CARRIER_FAILURES",
        "webhook_timeout_s": "DIALER_WEBHOOK_TIMEOUT",
        "webhook_retry_first_s": "DIALER_WEBHOOK_RETRY_FIRST_S",
        "webhook_retry_max_s": "DIALER_WEBHOOK_RETRY_MAX_S",
        "webhook_give_up_s": "DIALER_WEBHOOK_GIVE_UP_S",
        "webhook_concurrency": "DIALER_WEBHOOK_CONCURRENCY",
        "message_cache_mb": "DIALER_MESSAGE_CACHE_MB",
        "webhook_allow_private": "ZVONAR_WEBHOOK_ALLOW_PRIVATE",
        "carrier": "DIALER_CARRIER",
        "sip_trunk": "DIALER_SIP_TRUNK",
        "sip_user": "DIALER_SIP_USER",
        "sip_password": "DIALER_SIP_PASSWORD",
        "sip_bind": "DIALER_SIP_BIND",
        "sip_public_host": "DIALER_SIP_PUBLIC_HOST",
        "rtp_ports": "DIALER_RTP_PORTS",
        "sip_dial_format": "DIALER_SIP_DIAL_FORMAT",
        "sip_channels": "DIALER_SIP_CHANNELS",
        "sip_cps": "DIALER_SIP_CPS",
        "sip_ring_timeout_s": "DIALER_SIP_RING_TIMEOUT_S",
        "sip_no_answer_s": "DIALER_SIP_NO_ANSWER_S",
        "sip_max_call_s": "DIALER_SIP_MAX_CALL_S",
        "ivr_wait_s": "DIALER_IVR_WAIT_S",
    }

    @property
    def caller_numbers(self) -> list[str]:
        pool = self.caller_numbers_list or self.caller_pool
        return [n.strip() for n in pool.split(",") if n.strip()]

    @property
    def tariff_file(self) -> Path | None:
        return Path(self.tariff_path) if self.tariff_path else None
