"""The stats service layer depends on the Protocols it owns, not on adapters: its
projection, queries and lease sharing import no adapter, entry point or database code
(bootstrap wires the adapters in). rebuild and check, the operator's commands, are not yet
on ports and are left out."""

from __future__ import annotations

import ast
from pathlib import Path

import zvonar_stats

PACKAGE = Path(zvonar_stats.__file__).parent
ON_PORTS = ("ports", "projection", "queries", "partitions")
FORBIDDEN = (
    "zvonar_stats.adapters",
    "zvonar_stats.entrypoints",
    "zvonar_stats.bootstrap",
    "zvonar_runtime.db",
    "nats",
    "psycopg",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


def test_the_service_layer_imports_no_adapter() -> None:
    for module in ON_PORTS:
        imported = _imports(PACKAGE / "service_layer" / f"{module}.py")
        wrong = sorted(
            name
            for name in imported
            for bad in FORBIDDEN
            if name == bad or name.startswith(bad + ".")
        )
        assert wrong == [], (module, wrong)


def test_the_domain_imports_nothing_outward() -> None:
    for path in (PACKAGE / "domain").glob("*.py"):
        imported = _imports(path)
        outward = sorted(
            name
            for name in imported
            if name.startswith("zvonar_stats.") and not name.startswith("zvonar_stats.domain")
        )
        assert outward == [], (path.name, outward)
