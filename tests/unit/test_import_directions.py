"""Dependencies point inward (issue 16): in every service, modules under `domain/` import
nothing from its service layer, adapters, entrypoints or HTTP/web code, modules under
`service_layer/` import nothing from its adapters, entrypoints or HTTP/web code, and
adapters nothing from its entrypoints or HTTP/web code (they implement the service layer's
ports, and are plugged in by the bootstrap). Read from
the source files with `ast` (every import, `if TYPE_CHECKING:` ones too), so nothing needs
to be importable for the check to run."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"

# What each inner layer may not import (the layers of its own service).
FORBIDDEN: dict[str, frozenset[str]] = {
    "domain": frozenset({"service_layer", "adapters", "entrypoints", "http", "web"}),
    "service_layer": frozenset({"adapters", "entrypoints", "http", "web"}),
    "adapters": frozenset({"entrypoints", "http", "web"}),
}

# Drivers and frameworks only adapters, entrypoints and the HTTP/web code may use: the inner
# layers reach a database, NATS or HTTP through ports only.
DRIVERS: frozenset[str] = frozenset(
    {"zvonar_runtime.db", "nats", "psycopg", "sqlite3", "litestar", "faststream", "httpx"}
)


def _package_of(service: Path) -> Path:
    (package,) = (service / "src").glob("zvonar_*")
    return package


def _module_name(package: Path, path: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(module: str, path: Path, tree: ast.AST) -> set[str]:
    """The absolute names of every module `tree` imports (relative imports resolved)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            names.add(target)
            # `from pkg import adapters` imports the module pkg.adapters.
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def violations_of(package: Path) -> set[tuple[str, str]]:
    """Every `(module, imported)` of `package` where an inner layer imports an outer one."""
    found: set[tuple[str, str]] = set()
    root = package.name
    for layer, outer in FORBIDDEN.items():
        for path in sorted((package / layer).rglob("*.py")):
            module = _module_name(package, path)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for name in _imported(module, path, tree):
                parts = name.split(".")
                if len(parts) > 1 and parts[0] == root and parts[1] in outer:
                    found.add((module, ".".join(parts[:2])))
    return found


SERVICE_DIRS = sorted(path for path in SERVICES.iterdir() if (path / "src").is_dir())


def test_every_service_is_checked() -> None:
    names = sorted(path.name for path in SERVICE_DIRS)
    assert names == ["campaign", "dialer", "gateway", "moderation", "stats"]


@pytest.mark.parametrize("service", SERVICE_DIRS, ids=lambda path: path.name)
def test_inner_layers_import_nothing_outward(service: Path) -> None:
    assert sorted(violations_of(_package_of(service))) == [], "imports pointing outward"


@pytest.mark.parametrize("service", SERVICE_DIRS, ids=lambda path: path.name)
def test_inner_layers_use_no_driver(service: Path) -> None:
    package = _package_of(service)
    found = []
    for layer in ("domain", "service_layer"):
        for path in sorted((package / layer).rglob("*.py")):
            module = _module_name(package, path)
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for name in _imported(module, path, tree):
                if any(name == d or name.startswith(d + ".") for d in DRIVERS):
                    found.append((module, name))
    assert found == [], "the inner layers reach drivers through ports only"


def test_an_outward_import_is_found(tmp_path: Path) -> None:
    """The checker itself: absolute, relative and `from pkg import module` forms."""
    package = tmp_path / "zvonar_demo"
    (package / "domain").mkdir(parents=True)
    (package / "service_layer").mkdir()
    (package / "adapters").mkdir()
    (package / "domain" / "model.py").write_text("from ..adapters import db\n")
    (package / "adapters" / "db.py").write_text(
        "from zvonar_demo.service_layer import ports\nfrom ..entrypoints.cli import main\n"
    )
    (package / "service_layer" / "handlers.py").write_text(
        "import zvonar_demo.http.app\nfrom zvonar_demo import web\n"
        "from zvonar_demo.domain import model\nfrom zvonar_contracts import http\n"
    )
    assert violations_of(package) == {
        ("zvonar_demo.adapters.db", "zvonar_demo.entrypoints"),
        ("zvonar_demo.domain.model", "zvonar_demo.adapters"),
        ("zvonar_demo.service_layer.handlers", "zvonar_demo.http"),
        ("zvonar_demo.service_layer.handlers", "zvonar_demo.web"),
    }
