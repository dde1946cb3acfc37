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
from importlib.metadata import PackageNotFoundError, version

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
