# Zvonar — the two commands a fresh machine needs are `make run` and `make test`.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN := $(UV) run --frozen

.PHONY: run test lint typecheck pytest test-faults screens bench bench-quick sync uv fmt clean

uv:
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
		$(PYTHON) -m pip install --quiet --disable-pip-version-check uv

sync: uv
	@$(UV) sync --frozen --quiet

## Start nats-server and every service on SQLite under ./var; prints the URL and a demo key.
run: sync
	ZVONAR_DEMO=$${ZVONAR_DEMO:-1} $(RUN) zvonar-run

## Lint, format check, type check and the whole test suite.
test: sync lint typecheck pytest

lint:
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck:
	$(RUN) mypy

pytest:
	$(RUN) pytest -m "not faults" $(PYTEST_ARGS)

# Screenshots of every screen of the page, Russian and English, 1366x768 and 1920x1080,
# into test-output/screens/ (each Russian one also checked for English words).
screens: sync
	ZVONAR_SCREENS=1 $(RUN) pytest -m screens tests/e2e/web/test_web_screens.py $(PYTEST_ARGS)

test-faults: sync
	$(RUN) pytest -m faults $(PYTEST_ARGS)

bench: sync
	$(RUN) python -m bench $(BENCH_ARGS)

bench-quick: sync
	$(RUN) python -m bench --quick $(BENCH_ARGS)

fmt: sync
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache test-output
