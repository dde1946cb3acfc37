"""What every Zvonar command line shares: `--version` (the installed package's version) and
`--help` on the services' own argparse parsers, answered before anything starts.

Exit codes of every Zvonar command (documented in the README):

    0   done
    1   failed (a check found differences, a service stopped on an error)
    2   usage: an unknown option or argument, a missing setting
    3   unreachable: NATS or the gateway did not answer in time
    78  configuration refused (bad settings, credentials NATS will not take)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from zvonar_runtime.settings import ServiceSettings

S = TypeVar("S", bound="ServiceSettings")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
# A process whose configuration is wrong (sysexits EX_CONFIG): a supervisor may leave it
# down (systemd: RestartPreventExitStatus=78).
EXIT_CONFIG = 78


def package_version(distribution: str) -> str:
    """`<distribution> <version>` as installed (importlib.metadata)."""
    try:
        return f"{distribution} {version(distribution)}"
    except PackageNotFoundError:
        return f"{distribution} (not installed)"


def service_parser(
    prog: str, distribution: str, description: str | None
) -> argparse.ArgumentParser:
    """An argparse parser with `--version`; the caller adds its own arguments."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Settings come from the environment (NATS_URL, ZVONAR_*; see the README).",
    )
    parser.add_argument("--version", action="version", version=package_version(distribution))
    return parser


def load_settings(settings_cls: type[S], prog: str, **overrides: Any) -> S:
    """The service's settings from the environment; a bad value is one line on stderr
    naming the variable (`prog: DIALER_MAX_BURST: ...`) and exit status 78."""
    from zvonar_runtime.settings import SettingsError

    try:
        return settings_cls.from_env(**overrides)
    except SettingsError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


def run_click_app(app: Callable[..., Any], prog: str, argv: Sequence[str] | None = None) -> int:
    """Run a typer command line and return its exit status, a usage error as one line on
    stderr (`prog: No such option: --x (see 'prog sub --help')`) rather than a boxed
    panel; no arguments at all still print the help. For the typer-based commands only."""
    import typer

    try:
        result = app(
            args=list(argv) if argv is not None else None, prog_name=prog, standalone_mode=False
        )
    except typer.TyperException as exc:  # typer's (vendored click's) usage and other errors
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            help_text = ctx.get_help()  # typer's rich help prints itself and returns ""
            if help_text.strip():
                print(help_text, file=sys.stderr)
            return EXIT_USAGE
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        print(f"{prog}: {exc.format_message()}{hint}", file=sys.stderr)
        return int(getattr(exc, "exit_code", EXIT_USAGE))
    except (typer.Abort, KeyboardInterrupt):
        return 130
    return result if isinstance(result, int) else EXIT_OK
