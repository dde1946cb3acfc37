"""The whole Zvonar stack for end-to-end and reliability tests: its own nats-server, a
fresh PostgreSQL database (or SQLite), and the five services as real processes, each with
its own log file and monitor port. Services can be killed and restarted one by one.

A service may run as several instances (`instances={"dialer": 2, ...}`), and the campaign
relay as processes of its own (`relays=2`: `zvonar-campaign relay`, the command processes
then with CAMPAIGN_RELAY=0). The first instance of a service is named like the service
(`dialer`), the others `dialer-2`, `dialer-3`; relays are `relay`, `relay-2`. Every
instance has its own id (ZVONAR_INSTANCE and the service's own `<SERVICE>_INSTANCE_ID`, the
name here), log file, monitor port (/healthz, /readyz, /metrics) and, for a gateway, HTTP
port (the first gateway's is `http_port`)."""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

from tests.tlsfiles import TlsFiles
from zvonar_contracts.subjects import POSITION_HEADER, SERVICES
from zvonar_devtools.natsserver import NatsCluster, NatsServer, free_port
from zvonar_runtime.natsconn import NatsAuth

T = TypeVar("T")
RELAY = "relay"  # the campaign relay's instances when it runs as processes of its own
# Where each service reads its instance id from (besides ZVONAR_INSTANCE).
INSTANCE_ID_VARIABLES = {
    "dialer": "DIALER_INSTANCE_ID",
    "stats": "STATS_INSTANCE_ID",
    "gateway": "GATEWAY_INSTANCE_ID",
    RELAY: "CAMPAIGN_RELAY_INSTANCE_ID",
}
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
    # How many instances of a service run (1 when not named here).
    instances: dict[str, int] = field(default_factory=dict)
    # Campaign relays as processes of their own (0: the relay runs in the campaign process).
    relays: int = 0
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    monitor_ports: dict[str, int] = field(default_factory=dict)
    http_ports: dict[str, int] = field(default_factory=dict)  # gateway instance -> port
    # The transport of each client `new_account` spread over several gateways.
    transports: list[AlternatingTransport] = field(default_factory=list)

    def __post_init__(self) -> None:
        unknown = set(self.instances) - set(SERVICES)
        if unknown or any(n < 1 for n in self.instances.values()) or self.relays < 0:
            raise ValueError(f"bad instance counts: {self.instances}, relays={self.relays}")

    def instance_names(self, service: str) -> list[str]:
        """The instances of `service` (or of the relay, `RELAY`), first one first."""
        count = self.relays if service == RELAY else self.instances.get(service, 1)
        return [service if n == 1 else f"{service}-{n}" for n in range(1, count + 1)]

    def all_instances(self) -> list[str]:
        return [name for s in (*SERVICES, RELAY) for name in self.instance_names(s)]

    @staticmethod
    def service_of(instance: str) -> str:
        """`dialer-2` -> `dialer`; a relay instance -> `relay`."""
        head, _, tail = instance.rpartition("-")
        return head if head and tail.isdigit() else instance

    @property
    def gateway_urls(self) -> list[str]:
        """Every gateway's base URL, the first one's (`base_url`) first."""
        return [f"http://127.0.0.1:{self.http_ports[name]}" for name in self.http_ports]

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

    def env(self, instance: str) -> dict[str, str]:
        """The environment of an instance (`dialer`, `dialer-2`, `relay`, ...)."""
        service = self.service_of(instance)
        login = "campaign" if service == RELAY else service
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
        env.update(
            NATS_URL=self.nats_url,
            ZVONAR_DATA_DIR=str(self.root / "data"),
            ZVONAR_HTTP_HOST="127.0.0.1",
            ZVONAR_HTTP_PORT=str(self.http_ports.get(instance, self.http_port)),
            ZVONAR_ADMIN_TOKEN=self.admin_token,
            ZVONAR_DEMO="0",
            ZVONAR_LOG_FORMAT="json",
            ZVONAR_MONITOR_PORT=str(self.monitor_ports[instance]),
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
            env.update(self.secured.credentials(login))
        if instance != service or len(self.instance_names(service)) > 1:
            env["ZVONAR_INSTANCE"] = instance
            if service in INSTANCE_ID_VARIABLES:
                env[INSTANCE_ID_VARIABLES[service]] = instance
        if self.relays and service == "campaign":
            env["CAMPAIGN_RELAY"] = "0"
        env.update(self.extra_env)
        return env

    def log_path(self, instance: str) -> Path:
        return self.root / "logs" / f"{instance}.log"

    def start(self) -> Stack:
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        if self.cluster_size > 1:
            self.cluster = NatsCluster(self.root / "nats", self.cluster_size).start()
        elif self.secured is not None:
            self.nats = self.secured.start(self.root / "logs" / "nats.log")
        else:
            self.nats = NatsServer(self.root / "nats", log_file=self.root / "logs" / "nats.log")
            self.nats.start()
        for instance in self.all_instances():
            self.monitor_ports[instance] = free_port()
            if self.service_of(instance) == "gateway":
                first = instance == "gateway"
                self.http_ports[instance] = self.http_port if first else free_port()
        # The first instance of each service first: it creates the service's tables. Two
        # instances creating them at once on PostgreSQL can collide (stats: `CREATE TABLE IF
        # NOT EXISTS` racing, a unique violation on pg_type), which is not what a test of
        # several instances is about.
        # The relays (which open the campaign store) after the campaign service, too.
        later = [
            name
            for name in self.all_instances()
            if name != self.service_of(name) or self.service_of(name) == RELAY
        ]
        for instance in self.all_instances():
            if instance not in later:
                self.start_service(instance)
        if later:
            self.wait_healthy()
            for instance in later:
                self.start_service(instance)
        self.wait_healthy()
        return self

    def start_service(self, instance: str) -> None:
        """Start an instance (again): `dialer`, `dialer-2`, `relay`, ..."""
        service = self.service_of(instance)
        command = [sys.executable, "-m", f"zvonar_{service}"]
        if service == RELAY:
            command = [sys.executable, "-m", "zvonar_campaign", "relay"]
        log = self.log_path(instance).open("ab")
        self.processes[instance] = subprocess.Popen(
            command,
            env=self.env(instance),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def kill(self, instance: str) -> None:
        process = self.processes[instance]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def restart(self, instance: str) -> None:
        self.kill(instance)
        self.start_service(instance)

    def wait_healthy(self, timeout: float = 120.0) -> None:
        def healthy() -> bool:
            for service, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(
                        f"{service} exited with {process.returncode}:\n"
                        + self.log_path(service).read_text(errors="replace")[-4000:]
                    )
            # Every started instance ready, and every started gateway serving HTTP.
            started = list(self.processes)
            gateways = [self.http_ports[name] for name in started if name in self.http_ports]
            urls = [f"http://127.0.0.1:{port}" for port in gateways]
            monitors = [f"http://127.0.0.1:{self.monitor_ports[i]}/readyz" for i in started]
            try:
                return all(
                    httpx.get(f"{url}/healthz", timeout=2).status_code == 200
                    for url in urls or [self.base_url]
                ) and all(httpx.get(url, timeout=2).status_code == 200 for url in monitors)
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
        transport = None
        if len(self.gateway_urls) > 1:  # the client's requests go to each gateway in turn
            transport = AlternatingTransport(self.gateway_urls)
            self.transports.append(transport)
        client = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {key}"},
            timeout=30,
            transport=transport,
        )
        client.account = response.json()  # type: ignore[attr-defined]
        return client


class AlternatingTransport(httpx.BaseTransport):
    """Sends each request to the next of several base URLs in turn (the same path), as a
    load balancer in front of several gateways would. Cookies stay with the one client, and
    so does the read-your-writes position: the last `Zvonar-Position` a response carried is
    sent back with every request that brings none of its own, as the API asks a client to."""

    def __init__(self, base_urls: list[str]) -> None:
        if not base_urls:
            raise ValueError("no base URL to send requests to")
        self._targets = [httpx.URL(url) for url in base_urls]
        self._next = itertools.cycle(range(len(self._targets)))
        self._lock = threading.Lock()
        self._inner = httpx.HTTPTransport()
        self.sent: Counter[str] = Counter()  # requests per base URL
        self.position: str | None = None  # the last position a response gave

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            target = self._targets[next(self._next)]
            self.sent[str(target)] += 1
            position = self.position
        request.url = request.url.copy_with(
            scheme=target.scheme, host=target.host, port=target.port
        )
        request.headers["Host"] = request.url.netloc.decode("ascii")
        if position is not None and POSITION_HEADER not in request.headers:
            request.headers[POSITION_HEADER] = position
        response = self._inner.handle_request(request)
        given = response.headers.get(POSITION_HEADER)
        if given:
            with self._lock:
                self.position = given
        return response

    def close(self) -> None:
        self._inner.close()
