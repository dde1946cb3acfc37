"""The dialer's settings, read once from the environment at start-up."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field

from zvonar_runtime.settings import ServiceSettings, env

DEFAULT_CALLER_POOL = "+74950000001,+74950000002,+74950000003,+74950000004"


class DialerSettings(ServiceSettings):
    service: str = "dialer"
    # This dialer among several (docs/scaling.md "Dialers"): the holder named on its leases.
    instance: str = Field("", validation_alias=env("DIALER_INSTANCE_ID", "ZVONAR_INSTANCE"))
    # A campaign is dialled by the holder of its partition's lease (campaign id modulo the
    # partitions; the count is fixed by the first dialer on a database). A lease not renewed
    # for this many seconds is over: another dialer takes the partition.
    lease_ttl_s: float = Field(10.0, gt=0, validation_alias=env("DIALER_LEASE_TTL_S"))
    lease_partitions: int = Field(
        16, ge=1, le=1024, validation_alias=env("DIALER_LEASE_PARTITIONS")
    )
    # The dialer's clock runs this many times faster than the wall clock.
    time_scale: float = Field(1.0, validation_alias=env("DIALER_TIME_SCALE"))
    # The caller numbers (the older variable; DIALER_CALLER_NUMBERS replaces it when set).
    caller_pool: str = Field(DEFAULT_CALLER_POOL, validation_alias=env("ZVONAR_CALLER_POOL"))
    caller_numbers_list: str = Field("", validation_alias=env("DIALER_CALLER_NUMBERS"))
    # Empty: the tariff shipped with the dialer
    tariff_path: str = Field("", validation_alias=env("DIALER_TARIFF"))
    # Wall seconds between two scheduler passes; calls due meanwhile go out as one burst.
    tick_seconds: float = Field(0.02, validation_alias=env("DIALER_TICK_SECONDS"))
    # At most this many calls of one campaign per pass (keeps a pass short and fair).
    max_burst: int = Field(500, validation_alias=env("DIALER_MAX_BURST"))
    # Calls of one burst handed to the telephony port at once (one `place_calls` each; the
    # simulated carrier records them in one transaction).
    call_concurrency: int = Field(500, validation_alias=env("DIALER_CALL_CONCURRENCY"))
    # PostgreSQL connections: concurrent transactions run side by side (SQLite: one writer).
    db_workers: int = Field(16, validation_alias=env("DIALER_DB_WORKERS"))
    # Bursts in a row the carrier could not place before running campaigns are paused by
    # the system (they resume by themselves once it answers again).
    carrier_failures: int = Field(3, validation_alias=env("DIALER_CARRIER_FAILURES"))
    # Webhook posts (docs/webhooks.md): each attempt's timeout; the wait after a failed
    # attempt doubles from the first to the longest (with jitter) until the post is given
    # up, this long after the call result.
    webhook_timeout_s: float = Field(5.0, validation_alias=env("DIALER_WEBHOOK_TIMEOUT"))
    webhook_retry_first_s: float = Field(5.0, validation_alias=env("DIALER_WEBHOOK_RETRY_FIRST_S"))
    webhook_retry_max_s: float = Field(3600.0, validation_alias=env("DIALER_WEBHOOK_RETRY_MAX_S"))
    webhook_give_up_s: float = Field(24 * 3600.0, validation_alias=env("DIALER_WEBHOOK_GIVE_UP_S"))
    webhook_concurrency: int = Field(16, validation_alias=env("DIALER_WEBHOOK_CONCURRENCY"))
    # Memory for the campaigns' decoded messages kept for recordings (least recently used
    # out; 8 kHz mono is 0.94 MB a minute, so the default holds 6 ten-minute messages).
    message_cache_mb: int = Field(64, validation_alias=env("DIALER_MESSAGE_CACHE_MB"))
    # Webhooks to loopback, private and reserved addresses too (a customer's own network,
    # tests); off: only public addresses (docs/API.md "Limits and hostile input").
    webhook_allow_private: bool = Field(False, validation_alias=env("ZVONAR_WEBHOOK_ALLOW_PRIVATE"))
    # The telephony (docs: ../shared/docs/TELEPHONY.md): `simulated` or `sip`.
    carrier: str = Field("simulated", validation_alias=env("DIALER_CARRIER"))
    # sip:host[:port][;transport=udp|tcp]
    sip_trunk: str = Field("", validation_alias=env("DIALER_SIP_TRUNK"))
    sip_user: str = Field("", validation_alias=env("DIALER_SIP_USER"))
    sip_password: str = Field("", validation_alias=env("DIALER_SIP_PASSWORD"))
    sip_bind: str = Field("0.0.0.0:5060", validation_alias=env("DIALER_SIP_BIND"))
    # empty: the local address of the route to the trunk
    sip_public_host: str = Field("", validation_alias=env("DIALER_SIP_PUBLIC_HOST"))
    rtp_ports: str = Field("20000-20999", validation_alias=env("DIALER_RTP_PORTS"))
    # digits | e164 | national
    sip_dial_format: str = Field("digits", validation_alias=env("DIALER_SIP_DIAL_FORMAT"))
    sip_channels: int = Field(30, validation_alias=env("DIALER_SIP_CHANNELS"))
    sip_cps: float = Field(10.0, validation_alias=env("DIALER_SIP_CPS"))
    sip_ring_timeout_s: float = Field(30.0, validation_alias=env("DIALER_SIP_RING_TIMEOUT_S"))
    sip_no_answer_s: float = Field(32.0, validation_alias=env("DIALER_SIP_NO_ANSWER_S"))
    sip_max_call_s: float = Field(300.0, validation_alias=env("DIALER_SIP_MAX_CALL_S"))
    ivr_wait_s: float = Field(5.0, validation_alias=env("DIALER_IVR_WAIT_S"))

    @property
    def instance_id(self) -> str:
        return self.instance or f"{socket.gethostname()}-{os.getpid()}"

    @property
    def caller_numbers(self) -> list[str]:
        pool = self.caller_numbers_list or self.caller_pool
        return [n.strip() for n in pool.split(",") if n.strip()]

    @property
    def tariff_file(self) -> Path | None:
        return Path(self.tariff_path) if self.tariff_path else None
