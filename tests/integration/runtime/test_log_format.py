"""One JSON format for every logger: structlog's, the standard library's (a stdlib exception
comes out with its traceback rendered), uvicorn's and Litestar's (the gateway's app does not
swap in a plain-text handler), and faststream's per-message lines only at debug."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
import uvicorn

from zvonar_runtime.logging import configure_logging
from zvonar_runtime.service import make_broker
from zvonar_runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def log_sink() -> Iterator[io.StringIO]:
    """Logging configured into a buffer for the test; the previous set-up restored after."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    warnings.simplefilter("always")
    saved_config = structlog.get_config()
    sink = io.StringIO()
    yield sink
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    structlog.configure(**saved_config)
    structlog.contextvars.clear_contextvars()
    logging.captureWarnings(False)
    warnings.resetwarnings()


def _records(sink: io.StringIO) -> list[dict[str, Any]]:
    lines = [line for line in sink.getvalue().splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"a line that is not JSON: {line!r}") from None
    return records


async def test_stdlib_exception_and_uvicorn_lines_are_json_with_a_traceback(
    log_sink: io.StringIO, nc: Any, tmp_path: Path
) -> None:
    from zvonar_gateway.adapters.accounts import AccountStore
    from zvonar_gateway.adapters.backend import NatsBackend
    from zvonar_gateway.bootstrap import bootstrap
    from zvonar_gateway.http.routes.system import HealthProbe
    from zvonar_gateway.settings import GatewaySettings
    from zvonar_runtime.db import Database

    configure_logging("gateway", "info", "json", stream=log_sink)
    db = Database(dialect="sqlite", sqlite_path=tmp_path / "gateway.sqlite3")
    accounts = AccountStore(db)
    await accounts.migrate()
    try:
        # Building the app must leave the logging set-up alone.
        app = bootstrap(
            settings=GatewaySettings(data_dir=tmp_path),
            backend=NatsBackend(nc),
            accounts=accounts,
            health=HealthProbe(nc),
            web=False,
        )
        # uvicorn as the gateway runs it (log_config=None): its own lines on its loggers.
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off")
        )
        serving = asyncio.create_task(server.serve())
        deadline = time.monotonic() + 60
        while not server.started and not serving.done():
            assert time.monotonic() < deadline, "uvicorn did not start"
            await asyncio.sleep(0.05)
        server.should_exit = True
        await asyncio.wait_for(serving, 30)
    finally:
        await db.aclose()
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        logging.getLogger("some.library").exception("library_failed")

    warnings.warn("a library's deprecation", DeprecationWarning, stacklevel=1)

    records = _records(log_sink)
    (warned,) = [r for r in records if r.get("logger") == "py.warnings"]
    assert "a library's deprecation" in warned["event"]
    assert warned["level"] == "warning"
    uvicorn_lines = [r for r in records if r.get("logger", "").startswith("uvicorn")]
    assert any("Uvicorn running on" in r["event"] for r in uvicorn_lines), records
    assert all(r["service"] == "gateway" and "timestamp" in r for r in uvicorn_lines)
    (failed,) = [r for r in records if r["event"] == "library_failed"]
    assert failed["level"] == "error"
    assert failed["logger"] == "some.library"
    assert "exc_info" not in failed
    assert failed["exception"].startswith("Traceback (most recent call last):")
    assert "ZeroDivisionError: division by zero" in failed["exception"]
    assert "<traceback object" not in log_sink.getvalue()


async def _handle_one(nats_url: str, level: str, sink: io.StringIO) -> list[dict[str, Any]]:
    """One message handled by a service broker; its log records once it was processed."""
    configure_logging("probe", level, "json", stream=sink)
    broker = make_broker(ServiceSettings(service="probe", nats_url=nats_url))
    handled = asyncio.Event()

    @broker.subscriber("probe.logline")
    async def handle(body: str) -> None:
        handled.set()

    await broker.start()
    try:
        await broker.publish("hello", "probe.logline")
        await asyncio.wait_for(handled.wait(), 30)
    finally:
        # Waits for the message in hand (graceful_timeout): "Processed" is written by then.
        await broker.stop()
    return _records(sink)


async def test_faststream_per_message_lines_are_debug_not_info(
    log_sink: io.StringIO, nats_url: str
) -> None:
    records = await _handle_one(nats_url, "info", log_sink)
    assert not [r for r in records if r["event"] in ("Received", "Processed")], records

    log_sink.seek(0)
    log_sink.truncate()
    records = await _handle_one(nats_url, "debug", log_sink)
    per_message = [r for r in records if r["event"] in ("Received", "Processed")]
    assert {r["event"] for r in per_message} == {"Received", "Processed"}, records
    assert {r["level"] for r in per_message} == {"debug"}
