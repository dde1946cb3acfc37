"""Fuzzing the RUNNING stack (issue 9, point 4): schemathesis reads the gateway's own
/schema/openapi.json and sends generated requests with a real API key (the admin token for
the admin and moderation operations), through the gateway to the services on NATS and
PostgreSQL. Checks: no 5xx, answers conform to the schema (status codes, content types,
bodies). Positive cases (that fit the schema) and negative ones (that do not) both.

`make test` runs a short version (a few hundred requests); `make test-faults` a long one of
thousands. Each records its request count, status codes and findings in
test-output/reliability/fuzz-*.json."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.helpers import create, get
from tests.reliability.load import record
from tests.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

POSITIVE_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# A request that breaks the schema gets a 4xx the schema may not list for that operation
# (a 400 for a body of the wrong type, say); what it must never get is a 5xx, or a body
# that breaks the documented shape of the status it does get.
NEGATIVE_CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


class Fuzzer:
    """Runs schemathesis over every operation against the stack and counts what it sent."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.session = requests.Session()
        self.session.hooks["response"].append(self._count)
        self.statuses: Counter[int] = Counter()
        self.per_operation: Counter[str] = Counter()
        self.failures: list[str] = []
        self.account = stack.new_account("Фаззинг")
        self.key = self.account.headers["Authorization"].removeprefix("Bearer ")
        # A few real campaigns, so that half the generated ids name one that exists and the
        # success answers are held to the schema too.
        self.known = [
            create(self.account, name=f"Фаззинг {n}", phones=["+79161234560", "+79161234569"])["id"]
            for n in range(3)
        ]

    def _count(self, response: requests.Response, *_: Any, **__: Any) -> None:
        self.statuses[response.status_code] += 1

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def token(self, path: str) -> str:
        if path == "/api/v1/me/keys/rotate":
            # Rotation kills the key it is called with: a throwaway account each time.
            with self.stack.admin() as admin:
                made = admin.post("/api/v1/accounts", json={"name": "ротация"})
            key: str = made.json()["api_key"]
            return key
        if "/moderation/" in path or path == "/api/v1/accounts":
            return self.stack.admin_token
        return self.key

    def run(self, examples: int) -> None:
        api = schemathesis.openapi.from_url(f"{self.stack.base_url}/schema/openapi.json")
        operations = [result.ok() for result in api.get_all_operations()]
        assert len(operations) > 15
        for operation in operations:
            for mode, checks in ((GenerationMode.POSITIVE, POSITIVE_CHECKS),
                                 (GenerationMode.NEGATIVE, NEGATIVE_CHECKS)):  # fmt: skip
                self._fuzz(operation, mode, checks, examples)

    def _fuzz(self, operation: Any, mode: GenerationMode, checks: list[Any], n: int) -> None:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=n,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            params = case.path_parameters or {}
            if isinstance(params.get("campaign_id"), int) and params["campaign_id"] % 2 == 0:
                params["campaign_id"] = self.known[params["campaign_id"] % len(self.known)]
            headers = {"Authorization": f"Bearer {self.token(case.path)}"}
            self.per_operation[f"{operation.label} [{mode}]"] += 1
            response = case.call(base_url=self.stack.base_url, session=self.session,
                                 headers=headers, timeout=60)  # fmt: skip
            case.validate_response(response, checks=checks, headers=headers)

        try:
            run()
        except Exception as exc:  # collected, so one run reports every operation at fault
            self.failures.append(f"{operation.label} [{mode}]: {str(exc)[:1500]}")

    def figures(self, seconds: float) -> dict[str, object]:
        return {
            "requests": self.requests,
            "seconds": round(seconds, 1),
            "operations": len({label.split(" [")[0] for label in self.per_operation}),
            "status_codes": {str(code): n for code, n in sorted(self.statuses.items())},
            "server_errors": sum(n for code, n in self.statuses.items() if code >= 500),
            "findings": self.failures,
            "cases_per_operation": dict(sorted(self.per_operation.items())),
        }


# One per test (on the module's stack), so each run counts only its own requests.
@pytest.fixture
def fuzzer(api_stack: Stack) -> Iterator[Fuzzer]:
    fuzzer = Fuzzer(api_stack)
    yield fuzzer
    fuzzer.account.close()
    fuzzer.session.close()


def fuzz(fuzzer: Fuzzer, name: str, examples: int, at_least: int) -> None:
    started = time.monotonic()
    fuzzer.run(examples)
    figures = fuzzer.figures(time.monotonic() - started)
    record(name, figures)
    assert not fuzzer.failures, "\n\n".join(fuzzer.failures)
    assert fuzzer.statuses and max(fuzzer.statuses) < 500, fuzzer.statuses
    assert fuzzer.requests >= at_least, figures
    # The stack is still whole after the fuzzing: every service answers, and the read side
    # still follows the log (an event it cannot store would stop its projection silently,
    # with no 5xx anywhere: a create then answers 404 for the campaign it just made).
    assert httpx.get(f"{fuzzer.stack.base_url}/healthz", timeout=10).status_code == 200
    after = create(fuzzer.account, name="После фаззинга", phones=["+79161234560"])
    assert get(fuzzer.account, after["id"])["name"] == "После фаззинга"
    stats_log = fuzzer.stack.log_path("stats").read_text(errors="replace")
    assert "batch_failed" not in stats_log, "the stats projection failed on a fuzzed event"


def test_short_fuzz_of_the_running_stack(fuzzer: Fuzzer) -> None:
    fuzz(fuzzer, "fuzz-short", examples=8, at_least=300)


@pytest.mark.faults
def test_long_fuzz_of_the_running_stack(fuzzer: Fuzzer) -> None:
    fuzz(fuzzer, "fuzz-long", examples=40, at_least=1000)
