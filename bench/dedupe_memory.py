"""What a JetStream duplicate window costs in server memory per message id, measured on a
real nats-server: `python -m bench.dedupe_memory [--count N] [--payload BYTES]`.

For each of two runs — messages with a unique `Nats-Msg-Id`, and the same messages without
one — a fresh nats-server (file store, monitoring on a free port) gets a stream configured
like the call-events one (`stream_config`) and `count` messages of `payload` bytes. The
server's resident memory (`/varz` `mem`; a Go GC cannot be forced from outside, so it is
read a few times and the smallest kept) is read before and after. The difference between the
runs' growth, divided by `count`, is the dedupe map's cost per id; the run without ids shows
what the messages themselves cost (the file store's block cache). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import nats

from zvonar_devtools.natsserver import NatsServer, free_port
from zvonar_runtime.jetstream import stream_config

WINDOW = 1000  # acknowledged publishes in flight


def resident_bytes(monitor: int, reads: int = 5) -> int:
    """The server's resident memory: the smallest of a few reads 0.2 s apart."""
    found = []
    for _ in range(reads):
        found.append(int(httpx.get(f"http://127.0.0.1:{monitor}/varz", timeout=5).json()["mem"]))
        time.sleep(0.2)
    return min(found)


async def publish(url: str, count: int, payload: bytes, with_ids: bool) -> float:
    nc = await nats.connect(url, name="dedupe-memory")
    js = nc.jetstream()
    # A window far longer than the run: every id is still kept when memory is read.
    await js.add_stream(stream_config("DEDUPE", ("dedupe.>",), window_seconds=7200.0))
    started = time.monotonic()
    sent = 0
    while sent < count:
        batch = min(WINDOW, count - sent)
        for i in range(sent, sent + batch):
            headers = {"Nats-Msg-Id": f"{i // 1000}-0-7916{i:07d}-1"} if with_ids else None
            await js.publish_async(f"dedupe.{i % 100}.CallCompleted", payload, headers=headers)
        await js.publish_async_completed()
        sent += batch
    info = await js.stream_info("DEDUPE")
    assert info.state.messages == count, info.state
    await nc.close()
    return time.monotonic() - started


def one_run(count: int, payload: bytes, with_ids: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="dedupe-memory-") as root:
        monitor = free_port()
        server = NatsServer(
            Path(root), extra_args=["-m", str(monitor)], log_file=Path(root) / "nats.log"
        ).start()
        try:
            before = resident_bytes(monitor)
            seconds = asyncio.run(publish(server.url, count, payload, with_ids))
            after = resident_bytes(monitor)
        finally:
            server.stop()
    return {
        "with_ids": with_ids,
        "resident_before_bytes": before,
        "resident_after_bytes": after,
        "growth_bytes": after - before,
        "publish_seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500_000)
    parser.add_argument("--payload", type=int, default=300, help="bytes per message")
    args = parser.parse_args()
    if args.count < 1000 or args.payload < 1:
        parser.error("--count at least 1000, --payload at least 1")
    payload = b"x" * args.payload
    without = one_run(args.count, payload, with_ids=False)
    with_ids = one_run(args.count, payload, with_ids=True)
    per_id = (with_ids["growth_bytes"] - without["growth_bytes"]) / args.count
    print(
        json.dumps(
            {
                "count": args.count,
                "payload_bytes": args.payload,
                "runs": [without, with_ids],
                "dedupe_bytes_per_id": round(per_id, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
