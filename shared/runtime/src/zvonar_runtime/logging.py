"""structlog set-up: JSON lines when stdout is not a terminal, a console renderer when it
is; the correlation id and the service name ride along on every line.

Every logger goes through it: structlog's own, and the standard library's (faststream, nats,
uvicorn, Litestar — the gateway builds its app with `logging_config=None` and runs uvicorn
with `log_config=None`, so neither installs a plain-text handler of its own). Exceptions are
rendered as a traceback string in "exception"."""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog


def configure_logging(
    service: str, level: str = "info", fmt: str = "auto", *, stream: TextIO | None = None
) -> None:
    """Every logger (structlog's and the standard library's) to `stream` (stdout)."""
    stream = stream or sys.stdout
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=True,
    )
    # Libraries that use the standard logging module (faststream, nats, uvicorn) go
    # through the same renderer so the output stays one format.
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                # A stdlib record's exc_info becomes a formatted "exception" string, not
                # the repr of a traceback object.
                structlog.processors.format_exc_info,
                renderer,
            ],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # `warnings.warn` from libraries: a log line of logger "py.warnings", not plain stderr.
    # Off, then on: captureWarnings(True) does nothing once it has been on, even when
    # something (a test runner's warning capture) has put its own hook back since.
    logging.captureWarnings(False)
    logging.captureWarnings(True)
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)
