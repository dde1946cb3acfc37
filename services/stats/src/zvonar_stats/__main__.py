"""Entry point of the stats service: `zvonar-stats` (or `serve`) runs the service;
`rebuild` and `check` are the operator's commands. (The event log for analysts is
`zvonar events export`, in tools/cli.)"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import NoReturn

import typer

from zvonar_runtime.cli import (
    EXIT_CONFIG,
    EXIT_UNREACHABLE,
    load_settings,
    package_version,
    run_click_app,
)
from zvonar_runtime.logging import configure_logging
from zvonar_runtime.natsconn import NatsAuth
from zvonar_runtime.settings import SettingsError
from zvonar_stats.settings import StatsSettings

app = typer.Typer(add_completion=False, help="Zvonar stats: read models and queries.")


def _settings() -> StatsSettings:
    return load_settings(StatsSettings, "zvonar-stats", service="stats")


@dataclass
class _State:
    debug: bool = False


state = _State()


def _fail(message: str, code: int) -> NoReturn:
    """One line on stderr and the exit code (the README's table); --debug: the traceback."""
    typer.echo(f"zvonar-stats: {message}", err=True)
    raise typer.Exit(code)


def _operator(settings: StatsSettings, timeout: float) -> None:
    """Before an operator's command: its log on stderr (quiet unless --debug), and NATS
    answering within `timeout` seconds, or a one-line error and exit 3 (not a hang)."""
    configure_logging(
        "stats", "debug" if state.debug else "error", settings.log_format, stream=sys.stderr
    )
    from zvonar_runtime.jetstream import connect
    from zvonar_runtime.natsconn import NatsRefused

    async def probe() -> None:
        auth = NatsAuth.from_settings(settings)
        nc = await asyncio.wait_for(
            connect(settings.nats_url, "zvonar-stats-cli", auth=auth), timeout
        )
        await nc.close()

    try:
        asyncio.run(probe())
    except (NatsRefused, SettingsError) as exc:
        if state.debug:
            raise
        _fail(str(exc), EXIT_CONFIG)
    except (TimeoutError, OSError):
        if state.debug:
            raise
        _fail(
            f"no NATS server answered at {settings.nats_url} within {timeout:g} s", EXIT_UNREACHABLE
        )


TIMEOUT_OPTION = typer.Option(
    10.0, "--timeout", min=0.1, help="seconds to wait for NATS before giving up (exit 3)"
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(package_version("zvonar-stats"))
        raise typer.Exit(0)


@app.callback(invoke_without_command=True)
def _default(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=_print_version, help="print the version"
    ),
    debug: bool = typer.Option(False, "--debug", help="tracebacks and the NATS client's log"),
) -> None:
    state.debug = debug
    if ctx.invoked_subcommand is None:
        run_service()


@app.command("serve")
def run_service() -> None:
    """Run the service: project both streams and answer queries."""
    # Imported here: the operator's commands start without faststream (seconds on a busy box).
    from faststream.nats import NatsBroker

    from zvonar_runtime.service import Resources, serve
    from zvonar_stats.bootstrap import bootstrap

    settings = _settings()

    async def setup(broker: NatsBroker) -> Resources:
        _, resources = await bootstrap(settings, nc=broker.connection)
        return resources

    asyncio.run(serve(settings, setup))


@app.command()
def rebuild(timeout: float = TIMEOUT_OPTION) -> None:
    """Rebuild every read model from sequence 1 of both streams, aside, then swap."""
    from zvonar_stats.entrypoints.rebuild import rebuild_cli

    settings = _settings()
    _operator(settings, timeout)
    asyncio.run(rebuild_cli(settings))


@app.command()
def check(timeout: float = TIMEOUT_OPTION) -> None:
    """Recompute every row's counters and cost from the streams; exit 1 on a difference."""
    from zvonar_stats.entrypoints.check import check_cli

    settings = _settings()
    _operator(settings, timeout)
    differences = asyncio.run(check_cli(settings))
    raise typer.Exit(1 if differences else 0)


def main(argv: list[str] | None = None) -> None:
    sys.exit(run_click_app(app, "zvonar-stats", argv))


if __name__ == "__main__":
    main()
