"""`make run`: nats-server (unless NATS_URL is set) and the five services as separate
processes, each line of their output prefixed with the process name. Ctrl-C (SIGINT) or
SIGTERM stops them all; if one dies, the runner says which, stops the rest and exits 1."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from zvonar_contracts.subjects import SERVICES
from zvonar_runtime.health import wait_ready
from zvonar_runtime.jetstream import connect
from zvonar_runtime.natsserver import NatsServer
from zvonar_runtime.secrets import SECRETS_KEY_ENV, key_text

COLOURS = {"nats": 90, "campaign": 36, "moderation": 35, "dialer": 33, "stats": 32, "gateway": 34}
STOP_GRACE_SECONDS = 20.0


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    expected_exit: bool = False


def _prefix(name: str) -> str:
    width = max(len(n) for n in COLOURS)
    label = f"{name:<{width}} |"
    if sys.stdout.isatty():
        return f"\x1b[{COLOURS.get(name, 37)}m{label}\x1b[0m "
    return label + " "


async def _pump(name: str, stream: asyncio.StreamReader) -> None:
    prefix = _prefix(name)
    while line := await stream.readline():
        sys.stdout.write(prefix + line.decode(errors="replace"))
        sys.stdout.flush()


async def _spawn(
    name: str, args: list[str], env: dict[str, str]
) -> tuple[Child, asyncio.Task[None]]:
    process = await asyncio.create_subprocess_exec(
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )
    assert process.stdout is not None
    return Child(name, process), asyncio.create_task(_pump(name, process.stdout))


def service_command(service: str) -> list[str]:
    return [sys.executable, "-m", f"zvonar_{service}"]


async def run(env: dict[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    data_dir = Path(env.get("ZVONAR_DATA_DIR") or "./var").resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    env["ZVONAR_DATA_DIR"] = str(data_dir)
    # One key for the gateway (seals webhook secrets) and the dialer (opens them): the given
    # one, else the data folder's key file, made on the first run.
    env[SECRETS_KEY_ENV] = key_text(data_dir, env)
    env.setdefault("ZVONAR_LOG_FORMAT", "console" if sys.stdout.isatty() else "json")
    env["PYTHONUNBUFFERED"] = "1"

    nats_server: NatsServer | None = None
    if not env.get("NATS_URL"):
        nats_server = NatsServer(data_dir / "nats", log_file=data_dir / "logs" / "nats.log")
        nats_server.start()
        env["NATS_URL"] = nats_server.url
        print(f"{_prefix('nats')}nats-server with JetStream at {nats_server.url}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    children: list[Child] = []
    pumps: list[asyncio.Task[None]] = []
    for service in SERVICES:
        child, pump = await _spawn(service, service_command(service), env)
        children.append(child)
        pumps.append(pump)

    ready_task = asyncio.create_task(_announce_when_ready(env, data_dir))
    stop_task = asyncio.create_task(stop.wait())
    exits = {asyncio.create_task(c.process.wait()): c for c in children}
    done, _ = await asyncio.wait([stop_task, *exits], return_when=asyncio.FIRST_COMPLETED)

    code = 0
    died = [exits[t] for t in done if t in exits]
    if died:
        for child in died:
            print(
                f"{_prefix(child.name)}process exited with code {child.process.returncode}; "
                "stopping everything",
                flush=True,
            )
        code = 1
    ready_task.cancel()
    await _stop_all(children)
    await asyncio.gather(*pumps, return_exceptions=True)
    if nats_server is not None:
        nats_server.stop()
    unclean = [c for c in children if c.process.returncode not in (0, None)]
    for child in [] if died else unclean:
        print(f"{_prefix(child.name)}exited with code {child.process.returncode}", flush=True)
        code = 1
    return code


async def _stop_all(children: list[Child]) -> None:
    for child in children:
        if child.process.returncode is None:
            child.process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(
            asyncio.gather(*(c.process.wait() for c in children)), STOP_GRACE_SECONDS
        )
    except TimeoutError:
        for child in children:
            if child.process.returncode is None:
                print(f"{_prefix(child.name)}did not stop in time; killed", flush=True)
                child.process.kill()
        await asyncio.gather(*(c.process.wait() for c in children))


async def _announce_when_ready(env: dict[str, str], data_dir: Path) -> None:
    nc = await connect(env["NATS_URL"], "zvonar-runner")
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


def main() -> None:
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
