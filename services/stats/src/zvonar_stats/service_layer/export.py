"""Export of the event log (both streams) for analysts: JSON Lines, one event a line with
its stream, sequence and subject, or a Parquet table of the same with the payload as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from nats.js import JetStreamContext

from zvonar_contracts import subjects
from zvonar_runtime.jetstream import connect
from zvonar_runtime.natsconn import NatsAuth
from zvonar_stats.adapters.streams import read_stream

STREAMS = (subjects.CAMPAIGN_EVENTS_STREAM, subjects.CALL_EVENTS_STREAM)


async def _records(js: JetStreamContext) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for stream in STREAMS:
        async for batch in read_stream(js, stream):
            for envelope in batch:
                event = json.loads(envelope.data)
                records.append(
                    {"stream": stream, "seq": envelope.seq, "subject": envelope.subject,
                     "type": event.get("type"), "campaign_id": event.get("campaign_id"),
                     "account_id": event.get("account_id"), "at": event.get("at"),
                     "event": event}
                )  # fmt: skip
    return records


def write_jsonl(records: list[dict[str, Any]], out: Path) -> None:
    with out.open("w", encoding="utf-8") as file:
        for record in records:
            file.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_parquet(records: list[dict[str, Any]], out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, list[Any]] = {
        name: [r[name] for r in records]
        for name in ("stream", "seq", "subject", "type", "campaign_id", "account_id", "at")
    }
    columns["payload"] = [json.dumps(r["event"], ensure_ascii=False) for r in records]
    schema = pa.schema(
        [("stream", pa.string()), ("seq", pa.int64()), ("subject", pa.string()),
         ("type", pa.string()), ("campaign_id", pa.int64()), ("account_id", pa.string()),
         ("at", pa.string()), ("payload", pa.string())]
    )  # fmt: skip
    pq.write_table(pa.table(columns, schema=schema), out)


async def export_log(
    nats_url: str, out: Path, kind: Literal["jsonl", "parquet"], auth: NatsAuth | None = None
) -> int:
    nc = await connect(nats_url, "stats-export", auth=auth)
    try:
        records = await _records(nc.jetstream())
    finally:
        await nc.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    (write_jsonl if kind == "jsonl" else write_parquet)(records, out)
    return len(records)
