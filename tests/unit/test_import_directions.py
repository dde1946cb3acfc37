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

# Imports that break the rule today, each `(importing module, imported module)`, listed by
# the service that owns them; the engineers of those services are removing them (issue 16
# point 2). An entry gone from the code is not an error (their branches merge one by one),
# but no new one may appear. The gateway has none: its list stays empty.
KNOWN_VIOLATIONS: dict[str, frozenset[tuple[str, str]]] = {
    # campaign: the unit of work names the event store and the tables adapters.
    "campaign": frozenset(
        {
            ("zvonar_campaign.service_layer.unit", "zvonar_campaign.adapters"),
        }
    ),
    # dialer: Deps and the use cases use the SQL store, telephony, TTS, recording and
    # webhook adapters.
    "dialer": frozenset(
        {
            ("zvonar_dialer.service_layer.campaign_events", "zvonar_dialer.adapters"),
            ("zvonar_dialer.service_layer.deps", "zvonar_dialer.adapters"),
            ("zvonar_dialer.service_layer.dialling", "zvonar_dialer.adapters"),
            ("zvonar_dialer.service_layer.message_cache", "zvonar_dialer.adapters"),
            ("zvonar_dialer.service_layer.preparation", "zvonar_dialer.adapters"),
            ("zvonar_dialer.service_layer.recovery", "zvonar_dialer.adapters"),
            ("zvonar_dialer.service_layer.requests", "zvonar_dialer.adapters"),
            ("zvonar_dialer.service_layer.scheduler", "zvonar_dialer.adapters"),
            ("zvonar_dialer.service_layer.smart_parts", "zvonar_dialer.adapters"),
        }
    ),
    "gateway": frozenset(),
    "moderation": frozenset(),
    # stats: queries, projection, rebuild and check use the read model, schema,
    # checkpoint, projection and stream adapters.
    "stats": frozenset(
        {
            ("zvonar_stats.service_layer.check", "zvonar_stats.adapters"),
            ("zvonar_stats.service_layer.projection", "zvonar_stats.adapters"),
            ("zvonar_stats.service_layer.queries", "zvonar_stats.adapters"),
            ("zvonar_stats.service_layer.rebuild", "zvonar_stats.adapters"),
        }
    ),
}


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
    assert sorted(path.name for path in SERVICE_DIRS) == sorted(KNOWN_VIOLATIONS)


@pytest.mark.parametrize("service", SERVICE_DIRS, ids=lambda path: path.name)
def test_inner_layers_import_nothing_outward(service: Path) -> None:
    found = violations_of(_package_of(service))
    known = KNOWN_VIOLATIONS[service.name]
    assert sorted(found - known) == [], "imports pointing outward"


def test_the_gateway_allows_no_exception() -> None:
    assert KNOWN_VIOLATIONS["gateway"] == frozenset()


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
