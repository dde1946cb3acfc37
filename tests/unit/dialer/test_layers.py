"""The dialer's dependency rules: its domain and service layer import no adapter, no
entry point and no infrastructure; they reach the outside world through service_layer.ports,
which the adapters implement and `bootstrap` wires."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import zvonar_dialer

PACKAGE = Path(zvonar_dialer.__file__).parent
# What the inner rooms may not import (a module or anything under it).
FORBIDDEN = {
    "domain": (
        "zvonar_dialer.adapters",
        "zvonar_dialer.entrypoints",
        "zvonar_dialer.service_layer",
        "zvonar_dialer.bootstrap",
        "zvonar_runtime",
        "nats",
        "faststream",
    ),
    "service_layer": (
        "zvonar_dialer.adapters",
        "zvonar_dialer.entrypoints",
        "zvonar_dialer.bootstrap",
        "zvonar_runtime.db",
        "zvonar_audio",
        "nats",
        "faststream",
        "httpx",
    ),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolved against the module's own package
                package = ".".join(path.relative_to(PACKAGE.parent).parent.parts)
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.add(f"{base}.{node.module}" if node.module else base)
            elif node.module is not None:
                names.add(node.module)
    return names


def breaks(module: str, forbidden: tuple[str, ...]) -> bool:
    return any(module == f or module.startswith(f + ".") for f in forbidden)


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_the_inner_rooms_import_no_outer_one(room: str) -> None:
    files = sorted((PACKAGE / room).glob("*.py"))
    assert files, f"no modules in {room}"
    found = {
        f"{path.name}: {module}"
        for path in files
        for module in imported_modules(path)
        if breaks(module, FORBIDDEN[room])
    }
    assert found == set()
