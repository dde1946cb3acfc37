"""Each event stream gets the duplicate window sized for its rate (docs/scaling.md "The
duplicate window"): the campaign events 2 h, the call events 2 min — on a new server, and on
one whose streams an older release made with another window (only the window changes)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from nats.js.api import StreamConfig

from tests.stack import SecuredNats
from zvonar_contracts import subjects
from zvonar_contracts.subjects import SERVICES
from zvonar_devtools.natsserver import NatsServer
from zvonar_runtime.jetstream import connect, ensure_jetstream, stream_config
from zvonar_runtime.natsconn import NatsAuth


async def _windows(url: str) -> dict[str, float | None]:
    nc = await connect(url, "window-probe")
    try:
        js = nc.jetstream()
        await ensure_jetstream(js)
        return {
            name: (await js.stream_info(name)).config.duplicate_window
            for name in (subjects.CAMPAIGN_EVENTS_STREAM, subjects.CALL_EVENTS_STREAM)
        }
    finally:
        await nc.close()


def test_new_streams_get_the_window_of_their_rate(tmp_path: Path) -> None:
    with NatsServer(tmp_path / "nats", log_file=tmp_path / "nats.log") as server:
        windows = asyncio.run(_windows(server.url))
    assert windows == {"CAMPAIGN_EVENTS": 7200.0, "CALL_EVENTS": 120.0}
    assert subjects.CALL_EVENTS_DUPLICATE_WINDOW_SECONDS == 120


async def _old_release_then_this_one(url: str) -> tuple[StreamConfig, StreamConfig, int, int]:
    nc = await connect(url, "window-upgrade")
    try:
        js = nc.jetstream()
        old = stream_config(
            subjects.CALL_EVENTS_STREAM, subjects.CALL_EVENTS_SUBJECTS, window_seconds=7200.0
        )
        await js.add_stream(old)
        headers = {subjects.MSG_ID_HEADER: "1-0-79160000000-1"}
        await js.publish("call.events.1.CallCompleted", b"{}", headers=headers)
        before = await js.stream_info(subjects.CALL_EVENTS_STREAM)
        await ensure_jetstream(js)
        after = await js.stream_info(subjects.CALL_EVENTS_STREAM)
        # The window still drops a second copy of the same id.
        await js.publish("call.events.1.CallCompleted", b"{}", headers=headers)
        again = await js.stream_info(subjects.CALL_EVENTS_STREAM)
        return before.config, after.config, after.state.messages, again.state.messages
    finally:
        await nc.close()


def test_an_older_releases_stream_gets_the_new_window_and_keeps_the_rest(
    tmp_path: Path,
) -> None:
    with NatsServer(tmp_path / "nats", log_file=tmp_path / "nats.log") as server:
        before, after, kept, after_copy = asyncio.run(_old_release_then_this_one(server.url))
    assert before.duplicate_window == 7200.0
    assert after.duplicate_window == 120.0
    assert after.subjects == before.subjects and after.storage == before.storage
    assert after.max_msg_size == before.max_msg_size
    assert kept == 1 and after_copy == 1


async def _upgrade_as(url: str, admin: NatsAuth, service: NatsAuth) -> float | None:
    """An older release's CALL_EVENTS made by the operators' user, then this release's
    start-up as a service's own login."""
    nc = await connect(url, "window-admin", auth=admin)
    try:
        old = stream_config(
            subjects.CALL_EVENTS_STREAM, subjects.CALL_EVENTS_SUBJECTS, window_seconds=7200.0
        )
        await nc.jetstream().add_stream(old)
    finally:
        await nc.close()
    nc = await connect(url, "window-service", auth=service)
    try:
        js = nc.jetstream()
        await ensure_jetstream(js, wait_seconds=10)
        return (await js.stream_info(subjects.CALL_EVENTS_STREAM)).config.duplicate_window
    finally:
        await nc.close()


def test_each_services_login_may_set_the_window_on_the_deploy_config(tmp_path: Path) -> None:
    for service in SERVICES:
        secured = SecuredNats(tmp_path / service)
        secured.start(tmp_path / f"{service}-nats.log")
        try:
            admin = NatsAuth(user="zvonar", password=secured.passwords["zvonar"])
            login = NatsAuth(user=service, password=secured.passwords[service])
            window = asyncio.run(_upgrade_as(secured.url, admin, login))
        finally:
            secured.stop()
        assert window == 120.0, service
