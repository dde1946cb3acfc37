"""`zvonar` — accounts and campaigns over the gateway's HTTP API, live events and exports
straight from the JetStream streams.

Configuration comes from the environment: ZVONAR_URL (gateway, default
http://127.0.0.1:8000), ZVONAR_API_KEY, ZVONAR_ADMIN_TOKEN, NATS_URL (and the NATS_* login
and TLS settings), ZVONAR_TIMEOUT (seconds to wait for the gateway or NATS, default 10).

Errors are one line on stderr (`--debug` adds the traceback), with the exit codes of
zvonar_runtime.cli: 0 done, 1 failed (the gateway refused the request), 2 usage (a bad option,
a missing setting), 3 unreachable (the gateway or NATS did not answer in time).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from nats.errors import Error as NatsError
from nats.js.api import DeliverPolicy
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TimeRemainingColumn,
)
from rich.table import Table

from zvonar_cli import export as exporting
from zvonar_contracts import subjects
from zvonar_runtime.cli import (
    EXIT_FAILED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    package_version,
    run_click_app,
)
from zvonar_runtime.jetstream import connect
from zvonar_runtime.logging import configure_logging
from zvonar_runtime.natsconn import NatsAuth, NatsRefused
from zvonar_runtime.settings import SettingsError

app = typer.Typer(help="Zvonar operators' and analysts' command line.", no_args_is_help=True)
accounts = typer.Typer(help="Accounts (admin token).", no_args_is_help=True)
campaigns = typer.Typer(help="Campaigns of the account of ZVONAR_API_KEY.", no_args_is_help=True)
events = typer.Typer(help="The event streams.", no_args_is_help=True)
app.add_typer(accounts, name="accounts")
app.add_typer(campaigns, name="campaigns")
app.add_typer(events, name="events")
console = Console()
# Progress bars and errors go to stderr (stdout carries the data); bars only on a terminal.
err_console = Console(stderr=True)
DEFAULT_TIMEOUT = 10.0
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left


class CliError(Exception):
    """A failure the user can act on: printed as one line on stderr, exit with `code`."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class _State:
    debug: bool = False


state = _State()


def _timeout() -> float:
    raw = os.environ.get("ZVONAR_TIMEOUT", "")
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT
    except ValueError:
        raise CliError(f"ZVONAR_TIMEOUT is a number of seconds, not {raw!r}", EXIT_USAGE) from None
    if value <= 0:
        raise CliError("ZVONAR_TIMEOUT must be above 0", EXIT_USAGE)
    return value


def _print_version(value: bool) -> None:
    if value:
        typer.echo(package_version("zvonar-cli"))
        raise typer.Exit(0)


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version."
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and NATS logs.")] = False,
) -> None:
    state.debug = debug
    # The NATS client's own warnings (every failed attempt) only with --debug, and on stderr.
    configure_logging("cli", "debug" if debug else "critical", "console", stream=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    """The `zvonar` command: the typer app, with a known failure as one line on stderr."""
    try:
        code = run_click_app(app, "zvonar", argv)
    except CliError as exc:
        if state.debug:
            raise
        err_console.print(f"zvonar: {exc}", style="red", highlight=False, soft_wrap=True)
        sys.exit(exc.code)
    sys.exit(code)


STREAMS = {"campaign": subjects.CAMPAIGN_EVENTS_STREAM, "call": subjects.CALL_EVENTS_STREAM}
SIZE_PARTS = ("total", "stop_listed", "answered", "leads", "not_answered", "in_progress")


@contextlib.contextmanager
def _gateway(token_var: str) -> Iterator[httpx.Client]:
    """A client of the gateway's API; a gateway that does not answer is a CliError."""
    token = os.environ.get(token_var)
    if not token:
        raise CliError(f"set {token_var}", EXIT_USAGE)
    base_url = os.environ.get("ZVONAR_URL", "http://127.0.0.1:8000")
    timeout = _timeout()
    try:
        with httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        ) as client:
            yield client
    except httpx.TimeoutException:
        raise CliError(
            f"the gateway at {base_url} did not answer within {timeout:g} s", EXIT_UNREACHABLE
        ) from None
    except httpx.TransportError as exc:
        raise CliError(
            f"the gateway at {base_url} does not answer: {exc or type(exc).__name__}",
            EXIT_UNREACHABLE,
        ) from None


async def _nats() -> Any:
    """A NATS client; none answering within the timeout (or refusing us) is a CliError."""
    url = os.environ.get("NATS_URL", "nats://127.0.0.1:4222")
    timeout = _timeout()
    try:
        auth = NatsAuth.from_env()
        return await asyncio.wait_for(connect(url, "zvonar-cli", auth=auth), timeout)
    except SettingsError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except NatsRefused as exc:
        raise CliError(str(exc), EXIT_FAILED) from None
    except (TimeoutError, ConnectionError, OSError):
        raise CliError(
            f"no NATS server answered at {url} within {timeout:g} s", EXIT_UNREACHABLE
        ) from None


async def _close(nc: Any) -> None:
    """Close the client; a connection already lost has nothing left to close."""
    with contextlib.suppress(Exception):
        await nc.close()


def _run_nats(job: Any) -> Any:
    """Run a NATS coroutine; NATS lost or silent on the way is a CliError."""
    try:
        return asyncio.run(job)
    except (TimeoutError, NatsError) as exc:
        raise CliError(
            f"NATS stopped answering: {exc or type(exc).__name__}", EXIT_UNREACHABLE
        ) from None


def _answer(response: httpx.Response) -> Any:
    if response.is_success:
        return response.json()
    try:
        error = response.json()["error"]
        message = f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        message = response.text
    raise CliError(f"{response.status_code} {message}", EXIT_FAILED)


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
    nc = await _nats()
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
        await _close(nc)


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
        _run_nats(_tail(stream, subject, from_start, limit))
    except KeyboardInterrupt:
        pass


def _progress() -> Progress:
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
    )


async def _export(sink: exporting.Sink, options: dict[str, Any]) -> exporting.Outcome:
    wait = _timeout()
    nc = await _nats()
    try:
        with _progress() as progress:
            tasks: dict[str, TaskID] = {}

            def advance(stream: str, total: int | None, step: int) -> None:
                if stream not in tasks:
                    tasks[stream] = progress.add_task(stream, total=total)
                progress.advance(tasks[stream], step)

            return await exporting.export_streams(
                nc.jetstream(), sink, timeout=wait, progress=advance, **options
            )
    finally:
        await _close(nc)


def _usage(exc: exporting.ExportError) -> CliError:
    return CliError(str(exc), EXIT_USAGE)


@events.command("export")
def export(
    out: Annotated[
        Path | None,
        typer.Option(
            help="JSON Lines: the file to write (default: stdout). Parquet: the folder, one "
            "sub-folder of typed parts per event type."
        ),
    ] = None,
    format: Annotated[str, typer.Option(help="jsonl or parquet")] = "jsonl",
    since: Annotated[
        str | None, typer.Option(help="events at or after this ISO 8601 time (UTC if no offset)")
    ] = None,
    until: Annotated[str | None, typer.Option(help="events before this ISO 8601 time")] = None,
    account: Annotated[list[str] | None, typer.Option(help="account id, repeatable")] = None,
    campaign: Annotated[
        list[int] | None, typer.Option(help="campaign number (its smart parts too), repeatable")
    ] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", help="event type (CallCompleted, CampaignCreated…), repeatable"),
    ] = None,
    from_seq: Annotated[
        list[str] | None,
        typer.Option(help="first stream sequence to read, STREAM=N (campaign=120), repeatable"),
    ] = None,
    to_seq: Annotated[
        list[str] | None,
        typer.Option(help="last stream sequence to read, STREAM=N (call=5000), repeatable"),
    ] = None,
    resume_file: Annotated[
        Path | None,
        typer.Option(
            help="continue after the sequences this file holds (none yet: from the start) and "
            "write the new ones to it once the export is complete"
        ),
    ] = None,
    include_phones: Annotated[
        bool, typer.Option(help="export phone numbers as they are instead of their hash")
    ] = False,
    hash_key: Annotated[
        str | None,
        typer.Option(
            envvar=exporting.HASH_KEY_ENV,
            show_envvar=True,
            help="the key of the phone numbers' HMAC-SHA256 (same key: same hashes)",
        ),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="messages per fetch")] = 1000,
) -> None:
    """Stream events of both streams as JSON Lines or typed Parquet, filtered; phone
    numbers hashed, secrets left out. A summary and the last sequences go to stderr."""
    try:
        if format not in ("jsonl", "parquet"):
            raise exporting.ExportError("--format is jsonl or parquet")
        filters = exporting.Filters(
            since=exporting.parse_moment(since, "--since") if since else None,
            until=exporting.parse_moment(until, "--until") if until else None,
            accounts=frozenset(account or ()),
            campaigns=frozenset(campaign or ()),
            types=frozenset(type_ or ()),
        )
        privacy = exporting.Privacy(include_phones, (hash_key or "").encode())
        starts = exporting.parse_positions(from_seq or (), "--from-seq")
        ends = exporting.parse_positions(to_seq or (), "--to-seq")
        if resume_file is not None:
            if starts:
                raise exporting.ExportError("--from-seq and --resume-file exclude each other")
            starts = {s: n + 1 for s, n in exporting.read_resume_file(resume_file).items()}
        if format == "parquet" and out is None:
            raise exporting.ExportError("--format parquet writes a folder: give --out")
        if out is not None and format == "jsonl" and out.is_dir():
            raise exporting.ExportError(f"--out {out} is a folder; JSON Lines go to a file")
        for option, path in (("--out", out), ("--resume-file", resume_file)):
            if path is not None and not path.absolute().parent.is_dir():
                raise exporting.ExportError(f"{option} {path}: no folder {path.parent}")

        sink: exporting.Sink
        if format == "parquet":
            assert out is not None
            first = (starts.get(exporting.CAMPAIGN, 1), starts.get(exporting.CALL, 1))
            sink = exporting.ParquetSink(out, "part-{:012d}-{:012d}".format(*first))
        else:
            sink = exporting.JsonlSink(out, sys.stdout)
    except exporting.ExportError as exc:
        raise _usage(exc) from None

    options = {
        "filters": filters,
        "privacy": privacy,
        "starts": starts,
        "ends": ends,
        "batch": batch,
    }
    try:
        outcome: exporting.Outcome = _run_nats(_export(sink, options))
    except BrokenPipeError:
        # Whoever read stdout stopped (`| head`): end quietly, as a shell pipeline does.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_BROKEN_PIPE)
    except BaseException:
        sink.discard()  # nothing half-written is left behind
        raise
    if resume_file is not None:
        exporting.write_resume_file(resume_file, outcome.positions)
    reached = ", ".join(f"{s} to {n}" for s, n in outcome.positions.items()) or "no stream"
    where = str(out) if out is not None else "stdout"
    err_console.print(
        f"{outcome.written} events written to {where} (read {reached})",
        highlight=False,
        soft_wrap=True,
    )
    if outcome.undecodable:
        shown = ", ".join(map(str, outcome.undecodable[:5]))
        err_console.print(
            f"zvonar: {len(outcome.undecodable)} events no contract type reads were left out "
            f"(sequences {shown}{'…' if len(outcome.undecodable) > 5 else ''})",
            style="yellow",
            highlight=False,
            soft_wrap=True,
        )
