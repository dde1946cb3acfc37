"""deploy/nats/nats.conf on a real nats-server: one user per service with its permissions.

A service whose credentials the server refuses ends at once with one line saying so; only
the campaign service may publish campaign events; over TLS a client trusts the CA it is
given (NATS_TLS_CA); and the whole stack, each service logged in as its own user, takes a
campaign from its creation to the list without a single permissions violation in the
server's log."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from nats.errors import TimeoutError as NatsTimeoutError

from tests.e2e.helpers import create, wait_status
from tests.stack import SecuredNats, Stack, wait_for
from tests.tlsfiles import make_tls_files
from zvonar_contracts import subjects
from zvonar_contracts.subjects import SERVICES
from zvonar_devtools.natsserver import NatsServer
from zvonar_runtime.jetstream import connect, ensure_jetstream
from zvonar_runtime.natsconn import EXIT_CONFIG, NatsAuth, NatsRefused, NatsWatch
from zvonar_runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredNats]:
    root = tmp_path_factory.mktemp("secured-nats")
    nats = SecuredNats(root)
    nats.start(root / "nats.log")
    yield nats
    nats.stop()


def _auth(secured: SecuredNats, user: str, password: str | None = None) -> NatsAuth:
    return NatsAuth(user=user, password=password or secured.passwords[user])


def _service_env(secured: SecuredNats, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NATS_")}
    env.update(NATS_URL=secured.url, ZVONAR_DATA_DIR=str(tmp_path), ZVONAR_LOG_FORMAT="json")
    env.update(extra)
    return env


def test_a_service_with_a_wrong_password_exits_at_once_saying_so(
    secured: SecuredNats, tmp_path: Path
) -> None:
    env = _service_env(secured, tmp_path, NATS_USER="moderation", NATS_PASSWORD="not-this-one")
    done = subprocess.run(
        [sys.executable, "-m", "zvonar_moderation"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = done.stdout + done.stderr
    assert done.returncode == EXIT_CONFIG, output
    expected = f"NATS refused the credentials of user 'moderation' at {secured.url}: "
    assert expected + "Authorization Violation" in output, output
    assert "Traceback" not in output, output
    assert len(output.strip().splitlines()) == 1, output


def test_a_client_with_a_wrong_password_is_refused_not_retried(secured: SecuredNats) -> None:
    async def attempt() -> None:
        await connect(secured.url, "wrong", auth=_auth(secured, "stats", "wrong"))

    with pytest.raises(NatsRefused, match=r"user 'stats'.*Authorization Violation"):
        asyncio.run(asyncio.wait_for(attempt(), 30))


@dataclass
class _Collecting(NatsWatch):
    """Keeps what the server told the client went wrong (a refused publish among them)."""

    errors: list[str] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def on_error(self, exc: Exception) -> None:
        self.errors.append(str(exc))
        self.arrived.set()
        await super().on_error(exc)


def test_only_the_campaign_user_publishes_campaign_events(secured: SecuredNats) -> None:
    subject = subjects.campaign_event_subject(999_001, "CampaignCreated")

    async def scenario() -> tuple[list[str], int, int, int]:
        admin = await connect(secured.url, "admin", auth=_auth(secured, "zvonar"))
        await ensure_jetstream(admin.jetstream())
        campaign = await connect(secured.url, "campaign", auth=_auth(secured, "campaign"))
        watch = _Collecting(_auth(secured, "gateway"), secured.url)
        gateway = await connect(secured.url, "gateway", watch=watch)
        try:
            js = admin.jetstream()
            before = (await js.stream_info(subjects.CAMPAIGN_EVENTS_STREAM)).state.messages
            with pytest.raises(NatsTimeoutError):
                await gateway.jetstream().publish(subject, b"{}", timeout=1.0)
            after_gateway = (await js.stream_info(subjects.CAMPAIGN_EVENTS_STREAM)).state.messages
            ack = await campaign.jetstream().publish(subject, b"{}", timeout=5.0)
            after_campaign = (await js.stream_info(subjects.CAMPAIGN_EVENTS_STREAM)).state.messages
            assert ack.stream == subjects.CAMPAIGN_EVENTS_STREAM
            return watch.errors, before, after_gateway, after_campaign
        finally:
            for client in (gateway, campaign, admin):
                await client.close()

    errors, before, after_gateway, after_campaign = asyncio.run(scenario())
    assert any(_refused_publish(subject, e) for e in errors), errors
    assert after_gateway == before
    assert after_campaign == before + 1


def _refused_publish(subject: str, error: str) -> bool:
    pattern = rf"permissions violation for publish to \"?{re.escape(subject)}"
    return re.search(pattern, error, re.I) is not None


@pytest.mark.parametrize(
    ("subject", "owner"),
    [
        (subjects.campaign_event_subject(999_002, "CampaignStarted"), "campaign"),
        (subjects.stop_list_event_subject("acc_x", "PhonesAdded"), "campaign"),
        (subjects.call_event_subject(999_002, "CallFinished"), "dialer"),
    ],
)
def test_no_other_service_publishes_an_owners_events(
    secured: SecuredNats, subject: str, owner: str
) -> None:
    async def refused_for(user: str) -> bool:
        watch = _Collecting(_auth(secured, user), secured.url)
        nc = await connect(secured.url, user, watch=watch)
        try:
            await nc.publish(subject, b"{}")
            await nc.flush(timeout=5)
            async with asyncio.timeout(10):
                while not any(_refused_publish(subject, e) for e in watch.errors):
                    watch.arrived.clear()  # nothing can arrive between the check and here
                    await watch.arrived.wait()
            return True
        except TimeoutError:
            return False
        finally:
            await nc.close()

    others = [s for s in SERVICES if s != owner]

    async def everyone() -> list[bool]:
        return await asyncio.gather(*map(refused_for, others))

    refused = asyncio.run(asyncio.wait_for(everyone(), 60))
    assert dict(zip(others, refused, strict=True)) == dict.fromkeys(others, True)


def test_the_whole_stack_runs_on_the_deploy_config(tmp_path: Path) -> None:
    stack = Stack(root=tmp_path, secured=SecuredNats(tmp_path / "nats-auth"))
    try:
        stack.start()
        client = stack.new_account("Права")
        phones = [f"+7916123460{d}" for d in range(4)]
        campaign = create(client, name="По правам", phones=phones)
        wait_status(client, campaign["id"], "finished", timeout=120)

        def listed() -> bool:
            response = client.get("/api/v1/campaigns")
            assert response.status_code == 200, response.text
            return any(item["id"] == campaign["id"] for item in response.json()["items"])

        wait_for(listed, 30, 0.2, "the campaign in the list")
    finally:
        codes = stack.stop()
    log = (tmp_path / "logs" / "nats.log").read_text(errors="replace")
    violations = [line for line in log.splitlines() if "Violation" in line]
    assert violations == [], "\n".join(violations[:20])
    assert codes == dict.fromkeys(codes, 0), codes


def test_over_tls_a_service_trusts_the_servers_ca_and_nothing_else(tmp_path: Path) -> None:
    tls = make_tls_files(tmp_path / "tls")
    nats = SecuredNats(tmp_path / "nats", tls=tls)
    nats.start(tmp_path / "nats.log")
    try:

        async def ask_stream_info(auth: NatsAuth) -> int:
            nc = await connect(nats.url, "tls-test", auth=auth)
            try:
                await ensure_jetstream(nc.jetstream())
                info = await nc.jetstream().stream_info(subjects.CAMPAIGN_EVENTS_STREAM)
                return info.state.messages
            finally:
                await nc.close()

        trusted = NatsAuth.from_settings(
            ServiceSettings.from_env({"NATS_TLS_CA": str(tls.ca), **nats.credentials("stats")})
        )
        assert asyncio.run(asyncio.wait_for(ask_stream_info(trusted), 30)) == 0
        untrusted = _auth(nats, "stats")  # the system's CAs do not know the test CA
        with pytest.raises(NatsRefused, match=r"TLS with NATS at .* failed: .*certificate"):
            asyncio.run(asyncio.wait_for(ask_stream_info(untrusted), 30))
        env = _service_env(nats, tmp_path, **nats.credentials("moderation"))
        done = subprocess.run(
            [sys.executable, "-m", "zvonar_moderation"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == EXIT_CONFIG, done.stdout + done.stderr
        assert "TLS with NATS at" in done.stdout, done.stdout + done.stderr
    finally:
        nats.stop()


def test_a_token_server_takes_nats_token_and_refuses_another(tmp_path: Path) -> None:
    with NatsServer(tmp_path / "store", extra_args=["--auth", "t0ken"]) as server:

        async def ping(token: str) -> None:
            auth = NatsAuth.from_settings(ServiceSettings.from_env({"NATS_TOKEN": token}))
            nc = await connect(server.url, "token-test", auth=auth)
            try:
                await nc.flush(timeout=5)
            finally:
                await nc.close()

        asyncio.run(asyncio.wait_for(ping("t0ken"), 30))
        with pytest.raises(NatsRefused, match=r"NATS refused the token at .*Authorization"):
            asyncio.run(asyncio.wait_for(ping("other"), 30))
