"""`zvonar` — accounts and campaigns over the gateway's HTTP API, live events and exports
straight from the JetStream streams.

Configuration comes from the environment: ZVONAR_URL (gateway, default
http://127.0.0.1:8000), ZVONAR_API_KEY, ZVONAR_ADMIN_TOKEN, NATS_URL.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn
from rich.table import Table

from zvonar_contracts import subjects
from zvonar_runtime.jetstream import connect
from zvonar_runtime.natsconn import NatsAuth

app = typer.Typer(help="Zvonar operators' and analysts' command line.", no_args_is_help=True)
accounts = typer.Typer(help="Accounts (admin token).", no_args_is_help=True)
campaigns = typer.Typer(help="Campaigns of the account of ZVONAR_API_KEY.", no_args_is_help=True)
events = typer.Typer(help="The event streams.", no_args_is_help=True)
app.add_typer(accounts, name="accounts")
app.add_typer(campaigns, name="campaigns")
app.add_typer(events, name="events")
console = Console()

STREAMS = {"campaign": subjects.CAMPAIGN_EVENTS_STREAM, "call": subjects.CALL_EVENTS_STREAM}
SIZE_PARTS = ("total", "stop_listed", "answered", "leads", "not_answered", "in_progress")


def _gateway(token_var: str) -> httpx.Client:
    token = os.environ.get(token_var)
    if not token:
        raise typer.BadParameter(f"set {token_var}")
    return httpx.Client(
        base_url=os.environ.get("ZVONAR_URL", "http://127.0.0.1:8000"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def _answer(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json()
    try:
        error = response.json()["error"]
        message = f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        message = response.text
    console.print(f"[red]{response.status_code} {message}[/red]")
    raise typer.Exit(1)


@accounts.command("create")
def create_account(
    name: Annotated[str, typer.Option(help="Account name")],
    timezone: Annotated[str, typer.Option(help="IANA timezone")] = "Europe/Moscow",
) -> None:
    """Create an account and print its API key (shown once)."""
    with _gateway("ZVONAR_ADMIN_TOKEN") as client:
        body = _answer(client.post("/api/v1/accounts", json={"name": name, "timezone": timezone}))
    console.print(f"account [bold]{body['id']}[/bold] ({body['timezone']})")
    console.print(f"API key: [bold]{body['api_key']}[/bold]")


@campaigns.command("list")
def list_campaigns(
    q: Annotated[str | None, typer.Option(help="id or part of the name")] = None,
    status: Annotated[list[str] | None, typer.Option(help="status, repeatable")] = None,
    page: int = 1,
    per_page: int = 50,
) -> None:
    """List campaigns, newest first."""
    params: list[tuple[str, str | int | float | bool | None]] = [
        ("page", page),
        ("per_page", per_page),
    ]
    if q:
        params.append(("q", q))
    params += [("status", s) for s in status or []]
    with _gateway("ZVONAR_API_KEY") as client:
        body = _answer(client.get("/api/v1/campaigns", params=params))
    table = Table("Номер", "Создана", "Название", "Статус", "Размер", "Стоимость")
    for row in body["items"]:
        size = " / ".join(str(row["size"][k]) for k in SIZE_PARTS)
        table.add_row(
            str(row["id"]), row["created_at"], row["name"], row["status"], size, row["cost"]
        )
    console.print(table)
    console.print(f"{body['total']} in all, page {body['page']}")


async def _tail(stream: str, subject: str | None, from_start: bool, limit: int | None) -> None:
    nc = await connect(
        os.environ.get("NATS_URL", "nats://127.0.0.1:4222"), "zvonar-cli", auth=NatsAuth.from_env()
    )
    try:
        js = nc.jetstream()
        filter_subject = subject or (
            "campaign.events.>" if stream == "campaign" else "call.events.>"
        )
        policy = DeliverPolicy.ALL if from_start else DeliverPolicy.NEW
        sub = await js.subscribe(filter_subject, ordered_consumer=True, deliver_policy=policy)
        seen = 0
        async for msg in sub.messages:
            line = {"subject": msg.subject, "seq": msg.metadata.sequence.stream}
            line["event"] = json.loads(msg.data)
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
            sys.stdout.flush()
            seen += 1
            if limit is not None and seen >= limit:
                break
    finally:
        await nc.close()


@events.command("tail")
def tail(
    stream: Annotated[str, typer.Argument(help="campaign or call")] = "campaign",
    subject: Annotated[str | None, typer.Option(help="subject filter")] = None,
    from_start: Annotated[bool, typer.Option(help="replay from the first event")] = False,
    limit: Annotated[int | None, typer.Option(help="stop after this many events")] = None,
) -> None:
    """Print events as JSON lines as they arrive."""
    if stream not in STREAMS:
        raise typer.BadParameter("stream is campaign or call")
    try:
        asyncio.run(_tail(stream, subject, from_start, limit))
    except KeyboardInterrupt:
        pass


async def _export(out: Path) -> int:
    nc = await connect(
        os.environ.get("NATS_URL", "nats://127.0.0.1:4222"), "zvonar-cli", auth=NatsAuth.from_env()
    )
    written = 0
    try:
        js = nc.jetstream()
        with (
            out.open("w", encoding="utf-8") as sink,
            Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as progress,
        ):
            for name in STREAMS.values():
                try:
                    info = await js.stream_info(name)
                except NotFoundError:
                    continue
                last = info.state.last_seq
                task = progress.add_task(name, total=info.state.messages)
                if not info.state.messages:
                    continue
                sub = await js.subscribe(
                    f"{'campaign' if name == subjects.CAMPAIGN_EVENTS_STREAM else 'call'}.events.>",
                    ordered_consumer=True,
                    deliver_policy=DeliverPolicy.ALL,
                )
                async for msg in sub.messages:
                    seq = msg.metadata.sequence.stream
                    record = {"stream": name, "seq": seq, "subject": msg.subject}
                    record["event"] = json.loads(msg.data)
                    sink.write(json.dumps(record, ensure_ascii=False) + "\n")
                    written += 1
                    progress.advance(task)
                    if seq >= last:
                        break
                await sub.unsubscribe()
    finally:
        await nc.close()
    return written


@events.command("export")
def export(out: Annotated[Path, typer.Option(help="JSON-lines file to write")]) -> None:
    """Write every event of both streams to a JSON-lines file, with a progress bar."""
    written = asyncio.run(_export(out))
    console.print(f"{written} events written to {out}")
