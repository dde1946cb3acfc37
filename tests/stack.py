"""The whole Zvonar stack for end-to-end and reliability tests: its own nats-server, a
fresh PostgreSQL database (or SQLite), and the five services as real processes, each with
its own log file and monitor port. Services can be killed and restarted one by one."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

from tests.tlsfiles import TlsFiles
from zvonar_contracts.subjects import SERVICES
from zvonar_runtime.natsconn import NatsAuth
from zvonar_runtime.natsserver import NatsCluster, NatsServer, free_port

T = TypeVar("T")
DEPLOY_NATS = Path(__file__).resolve().parents[1] / "deploy" / "nats"
NATS_USERS = (*SERVICES, "zvonar")  # one per service, and the operators' user


def password_variable(user: str) -> str:
    return f"ZVONAR_NATS_{'ADMIN' if user == 'zvonar' else user.upper()}_PASSWORD"


@dataclass
class SecuredNats:
    """A nats-server on deploy/nats/nats.conf (its users and permissions, auth.conf), rendered
    with fresh passwords, a free port and a temporary store."""

    root: Path
    tls: TlsFiles | None = None  # clients must then speak TLS, trusting tls.ca
    passwords: dict[str, str] = field(
        default_factory=lambda: {user: "pw" + secrets.token_hex(16) for user in NATS_USERS}
    )
    server: NatsServer | None = None

    def start(self, log_file: Path | None = None) -> NatsServer:
        conf = self.root / "conf"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "auth.conf").write_text((DEPLOY_NATS / "auth.conf").read_text())
        text = (DEPLOY_NATS / "nats.conf").read_text()
        assert 'store_dir: "./var/nats"' in text
        store = self.root / "store"
        text = text.replace('store_dir: "./var/nats"', f'store_dir: "{store}"')
        if self.tls is not None:
            text += (
                f'\ntls {{\n  cert_file: "{self.tls.cert}"\n  key_file: "{self.tls.key}"\n'
                f"  timeout: 5\n}}\n"
            )
        (conf / "nats.conf").write_text(text)
        env = {password_variable(user): pw for user, pw in self.passwords.items()}
        self.server = NatsServer(store, config=conf / "nats.conf", env=env, log_file=log_file)
        self.server.start()
        return self.server

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    def credentials(self, user: str) -> dict[str, str]:
        """The environment a process needs to log in as `user`."""
        return {"NATS_USER": user, "NATS_PASSWORD": self.passwords[user]}

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


def wait_for(
    probe: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.1, what: str = ""
) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | AssertionError | None = None
    while True:
        try:
            found = probe()
        except AssertionError as exc:
            last = exc
        else:
            if found:
                return found
            last = found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or probe}: last={last!r}")
        time.sleep(interval)


@dataclass
class Stack:
    root: Path
    database_url: str | None = None
    time_scale: float = 3600.0
    extra_env: dict[str, str] = field(default_factory=dict)
    admin_token: str = field(default_factory=lambda: secrets.token_hex(16))
    http_port: int = field(default_factory=free_port)
    cluster_size: int = 1
    # NATS on deploy/nats/nats.conf, each service logged in as its own user
    secured: SecuredNats | None = None
    nats: NatsServer | None = None
    cluster: NatsCluster | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    monitor_ports: dict[str, int] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def nats_auth(self) -> NatsAuth:
        """How a test's own client logs in: as the operators' user on a secured stack."""
        if self.secured is None:
            return NatsAuth()
        return NatsAuth(user="zvonar", password=self.secured.passwords["zvonar"])

    @property
    def nats_url(self) -> str:
        if self.cluster is not None:
            return self.cluster.url
        assert self.nats is not None
        return self.nats.url

    def env(self, service: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
        env.update(
            NATS_URL=self.nats_url,
            ZVONAR_DATA_DIR=str(self.root / "data"),
            ZVONAR_HTTP_HOST="127.0.0.1",
            ZVONAR_HTTP_PORT=str(self.http_port),
            ZVONAR_ADMIN_TOKEN=self.admin_token,
            ZVONAR_DEMO="0",
            ZVONAR_LOG_FORMAT="json",
            ZVONAR_MONITOR_PORT=str(self.monitor_ports[service]),
            DIALER_TIME_SCALE=str(self.time_scale),
            # A test stack shares PostgreSQL (100 connections) with other stacks and tests.
            DIALER_DB_WORKERS="8",
            PYTHONUNBUFFERED="1",
        )
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.cluster is not None:
            env["ZVONAR_STREAM_REPLICAS"] = str(len(self.cluster.nodes))
        if self.secured is not None:
            env.update(self.secured.credentials(service))
        env.update(self.extra_env)
        return env

    def log_path(self, service: str) -> Path:
        return self.root / "logs" / f"{service}.log"

    def start(self) -> Stack:
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        if self.cluster_size > 1:
            self.cluster = NatsCluster(self.root / "nats", self.cluster_size).start()
        elif self.secured is not None:
            self.nats = self.secured.start(self.root / "logs" / "nats.log")
        else:
            self.nats = NatsServer(self.root / "nats", log_file=self.root / "logs" / "nats.log")
            self.nats.start()
        for service in SERVICES:
            self.monitor_ports[service] = free_port()
            self.start_service(service)
        self.wait_healthy()
        return self

    def start_service(self, service: str) -> None:
        log = self.log_path(service).open("ab")
        self.processes[service] = subprocess.Popen(
            [sys.executable, "-m", f"zvonar_{service}"],
            env=self.env(service),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def kill(self, service: str) -> None:
        process = self.processes[service]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def restart(self, service: str) -> None:
        self.kill(service)
        self.start_service(service)

    def wait_healthy(self, timeout: float = 120.0) -> None:
        def healthy() -> bool:
            for service, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{service} exited with {process.returncode}:\n"
                        + self.log_path(service).read_text(errors="replace")[-4000:]
                    )
            try:
                return httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, timeout, 0.25, "every service to be healthy")

    def stop(self) -> dict[str, int | None]:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for service, process in self.processes.items():
            try:
                codes[service] = process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                codes[service] = process.wait()
        if self.nats is not None:
            self.nats.stop()
        if self.cluster is not None:
            self.cluster.stop()
        return codes

    # --- HTTP helpers -----------------------------------------------------------------------
    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )

    def new_account(self, name: str = "Тест", timezone: str = "Europe/Moscow") -> httpx.Client:
        """Create an account over the admin API and return a client signed in with its key."""
        with self.admin() as admin:
            response = admin.post("/api/v1/accounts", json={"name": name, "timezone": timezone})
        assert response.status_code == 201, response.text
        key = response.json()["api_key"]
        client = httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        client.account = response.json()  # type: ignore[attr-defined]
        return client
