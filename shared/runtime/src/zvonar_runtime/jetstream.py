"""JetStream set-up shared by every service: the two event streams, the object-store
buckets and the key-value buckets (webhook secrets, the dialer's clock), created if missing
and left alone if present (any service may start first)."""

from __future__ import annotations

import asyncio

import nats
import structlog
from nats.aio.client import Client
from nats.errors import NoServersError
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    ObjectStoreConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import APIError, BadRequestError, NotFoundError, ServiceUnavailableError

from zvonar_contracts import subjects
from zvonar_runtime.natsconn import NatsAuth, NatsWatch
from zvonar_runtime.settings import split_servers

log = structlog.get_logger("zvonar.jetstream")

STREAMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (subjects.CAMPAIGN_EVENTS_STREAM, subjects.CAMPAIGN_EVENTS_SUBJECTS),
    (subjects.CALL_EVENTS_STREAM, subjects.CALL_EVENTS_SUBJECTS),
)
# Each stream's duplicate window in seconds (zvonar_contracts.subjects says why); a stream
# not named here (a benchmark's) gets the call events' one.
DUPLICATE_WINDOWS: dict[str, float] = {
    subjects.CAMPAIGN_EVENTS_STREAM: float(subjects.CAMPAIGN_EVENTS_DUPLICATE_WINDOW_SECONDS),
    subjects.CALL_EVENTS_STREAM: float(subjects.CALL_EVENTS_DUPLICATE_WINDOW_SECONDS),
}


# Created here so that any service may start first: the webhook secrets (gateway → dialer)
# and the dialer's clock (dialer → every service).
KEY_VALUE_BUCKETS: tuple[str, ...] = (
    subjects.WEBHOOK_SECRETS_BUCKET,
    subjects.DIALER_CLOCK_BUCKET,
)


def duplicate_window(name: str) -> float:
    return DUPLICATE_WINDOWS.get(name, float(subjects.CALL_EVENTS_DUPLICATE_WINDOW_SECONDS))


def stream_config(
    name: str,
    subject_list: tuple[str, ...],
    replicas: int = 1,
    *,
    window_seconds: float | None = None,
) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=list(subject_list),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        duplicate_window=duplicate_window(name) if window_seconds is None else window_seconds,
        num_replicas=replicas,
        max_msg_size=1024 * 1024,
    )


async def ensure_jetstream(
    js: JetStreamContext, replicas: int = 1, *, wait_seconds: float = 60.0
) -> None:
    """Create what is missing. A cluster that is still electing its JetStream leader
    answers with time-outs or 503s for a few seconds: keep trying for `wait_seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    next_log = loop.time()
    while True:
        try:
            await _ensure(js, replicas)
            return
        except (TimeoutError, NatsTimeoutError, ServiceUnavailableError) as exc:
            if loop.time() > deadline:
                raise
            if loop.time() >= next_log:
                log.warning(
                    "jetstream_unavailable",
                    error=str(exc) or type(exc).__name__,
                    retry_in_seconds=0.5,
                    gives_up_in_seconds=round(deadline - loop.time()),
                )
                next_log = loop.time() + 10.0
            await asyncio.sleep(0.5)


async def _ensure(js: JetStreamContext, replicas: int) -> None:
    for name, subject_list in STREAMS:
        try:
            info = await js.stream_info(name)
        except NotFoundError:
            try:
                await js.add_stream(stream_config(name, subject_list, replicas))
            except BadRequestError as exc:  # created meanwhile by another service
                if exc.err_code != 10058:
                    raise
        else:
            await _set_duplicate_window(js, info.config, duplicate_window(name))
    for bucket in subjects.ALL_BUCKETS:
        try:
            await js.object_store(bucket)
        except NotFoundError:
            try:
                await js.create_object_store(
                    bucket,
                    ObjectStoreConfig(storage=StorageType.FILE, replicas=replicas),
                )
            except BadRequestError as exc:
                if exc.err_code != 10058:
                    raise
    for bucket in KEY_VALUE_BUCKETS:
        try:
            await js.key_value(bucket)
        except NotFoundError:
            try:
                await js.create_key_value(
                    KeyValueConfig(
                        bucket=bucket,
                        storage=StorageType.FILE,
                        replicas=replicas,
                        max_value_size=4096,
                    )
                )
            except BadRequestError as exc:
                if exc.err_code != 10058:
                    raise


async def _set_duplicate_window(js: JetStreamContext, config: StreamConfig, window: float) -> None:
    """A stream made by an older release keeps everything but its duplicate window, which
    becomes this release's (both ways: the server keeps ids for the new length from now)."""
    if config.duplicate_window is not None and abs(config.duplicate_window - window) < 1e-3:
        return
    try:
        await js.update_stream(config.evolve(duplicate_window=window))
    except (TimeoutError, NatsTimeoutError, APIError) as exc:
        # Refused (a login without STREAM.UPDATE: deploy/nats/auth.conf grants it) or no
        # answer: the stream works with its old window; the next start tries again.
        log.warning(
            "stream_duplicate_window_not_changed",
            stream=config.name,
            seconds=config.duplicate_window,
            wanted_seconds=window,
            error=str(exc) or type(exc).__name__,
        )
        return
    log.info(
        "stream_duplicate_window_changed",
        stream=config.name,
        was_seconds=config.duplicate_window,
        now_seconds=window,
    )


async def connect(
    url: str,
    name: str,
    *,
    auth: NatsAuth | None = None,
    watch: NatsWatch | None = None,
    connect_timeout: float = 2.0,
) -> Client:
    """A nats-py client that keeps reconnecting for ever once it has connected; `url` may
    list several servers of a cluster separated by commas. `auth` (NatsAuth.from_settings)
    brings the credentials and TLS; a server that refuses them raises NatsRefused at once.
    A long-lived process passes a `watch` (which brings its own `auth`) and ends when the
    watch's `closed` is set."""
    watch = watch or NatsWatch(auth or NatsAuth(), url)
    try:
        client = await nats.connect(
            split_servers(url),
            name=name,
            connect_timeout=connect_timeout,
            max_reconnect_attempts=-1,
            reconnect_time_wait=watch.retry_seconds,
            **watch.auth.connect_kwargs(),
            **watch.callbacks(),
        )
    except NoServersError as exc:
        raise ConnectionError(f"no NATS server answers at {url}") from exc
    watch.connected = True
    watch.failed_attempts = 0
    return client
