"""Fuzzing the RUNNING stack (issue 9, point 4): schemathesis reads the gateway's own
/schema/openapi.json and sends generated requests with a real API key (the admin token for
the admin and moderation operations), through the gateway to the services on NATS and
PostgreSQL. Checks: no 5xx, answers conform to the schema (status codes, content types,
bodies). Positive cases (that fit the schema) and negative ones (that do not) both.

Then hostile strategies of its own (issue 14, point 5) over the same operations: a string
field grown to up to 1.5 MB, a JSON body or form whose text is not UTF-8, and references to
a second account's objects (its campaign ids in paths and bodies, its audio file_id).
Checks: never a 5xx; a refused request stores nothing (the fuzzing account's campaigns,
stop-list and profile, the audio and phone-base stores are as before); text that is not
UTF-8 is always refused; the other account's objects are neither reached nor changed.

`make test` runs a short version (a few hundred requests); `make test-faults` a long one of
thousands. Each records its request count, status codes and findings in
test-output/reliability/fuzz-*.json."""

from __future__ import annotations

import io
import json
import time
import wave
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.helpers import create, get
from tests.openapi_operations import operations_of
from tests.reliability.load import record
from tests.reliability.test_bad_input import snapshot, stored_objects
from tests.stack import Stack, wait_for
from zvonar_contracts.subjects import AUDIO_BUCKET, PHONE_BASES_BUCKET

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
        operations = operations_of(api)
        assert len(operations) > 15
        for operation in operations:
            for mode, checks in (
                (GenerationMode.POSITIVE, POSITIVE_CHECKS),
                (GenerationMode.NEGATIVE, NEGATIVE_CHECKS),
            ):
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
            response = case.call(
                base_url=self.stack.base_url, session=self.session, headers=headers, timeout=60
            )
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


# --- hostile strategies (issue 14, point 5) ------------------------------------------------

SIZES = (20_000, 300_000, 1_500_000)
NOT_UTF8 = (b"\xff", b"\xfe\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80")
MARK = "\u2603MARK\u2603"
# A create body with every optional field present, so that each of its text fields (the
# webhook's URL and secret, IVR words, the caller number...) is grown in turn.
FULL_CREATE: dict[str, Any] = {
    "name": "Полная",
    "phones": ["+79161239870", "+79161239871"],
    "audio": {"kind": "tts", "text": "Здравствуйте"},
    "speed": 800,
    "start_at": "2099-01-01T10:00:00+03:00",
    "routing": {"kind": "caller_id", "number": "+79161239999"},
    "ivr": {"kind": "words", "lead_words": ["да", "интересно"]},
    "smart": {"parts": 2, "delay_minutes": 30},
    "record": True,
    "window": {"days": ["mon", "tue"], "from": "09:00", "to": "21:00", "tz": "account"},
    "integration": {"webhook_url": "https://93.184.215.14/hook", "secret": "s3cr3t"},
    "amd": True,
    "comment": "полная",
}
# Endpoints that change which key works: not driven with the fuzzing account's key.
KEY_PATHS = ("/api/v1/me/keys/rotate", "/api/v1/accounts")


def leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Where the scalars of a JSON value sit."""
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in leaf_paths(item, (*path, key))]
    if isinstance(value, list):
        return [p for n, item in enumerate(value) for p in leaf_paths(item, (*path, n))]
    return [path]


def value_at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of `value` with the scalar at `path` replaced by `new`."""
    if not path:
        return new
    copy = value.copy()
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


def pick_leaf(body: Any, pick: int) -> tuple[Any, ...]:
    """One of the body's string fields (any field when it has none)."""
    leaves = leaf_paths(body)
    strings = [p for p in leaves if isinstance(value_at(body, p), str)]
    choices = strings or leaves
    return choices[pick % len(choices)]


class Sent:
    """A request the hostile strategies write themselves (no schemathesis case behind it)."""

    def __init__(self, method: str, path: str) -> None:
        self.method, self.path, self.formatted_path = method, path, path
        self.query: dict[str, Any] = {}


def silent_wav() -> bytes:
    """One second of silence as a PCM WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\0\0" * 8000)
    return out.getvalue()


class HostileFuzzer:
    """Oversize fields, text that is not UTF-8 and another account's references, sent with
    the fuzzing account's key through every operation that takes a JSON body or a campaign
    id; every refused request is checked to have stored nothing."""

    def __init__(self, fuzzer: Fuzzer) -> None:
        self.fuzzer = fuzzer
        self.stack = fuzzer.stack
        self.statuses: Counter[str] = Counter()
        self.failures: list[str] = []
        self.other = self.stack.new_account("Чужой для фаззинга")
        self.other_ids = [
            create(self.other, name=f"Чужая {n}", phones=["+79161234560"])["id"] for n in range(2)
        ]
        audio = self.other.post(
            "/api/v1/audio", files={"file": ("m.wav", silent_wav(), "audio/wav")}
        )
        assert audio.status_code == 201, audio.text
        self.other_file_id: str = audio.json()["file_id"]
        # Finished, so that nothing but a request of the fuzzing could change them now.
        wait_for(self._other_finished, 90, 0.3, "the other account's campaigns to finish")
        self.other_before = self.other_state()

    def _other_finished(self) -> bool:
        """Finished, and their calls counted: the call events come on a stream of their own
        and may follow CampaignFinished into the read model."""
        views = [get(self.other, cid) for cid in self.other_ids]
        return all(v["status"] == "finished" and v["size"]["in_progress"] == 0 for v in views)

    def other_state(self) -> tuple[Any, ...]:
        return (snapshot(self.other), *[get(self.other, cid) for cid in self.other_ids])

    def state(self) -> tuple[Any, ...]:
        """What a refused request must leave as it was: the fuzzing account's campaigns,
        stop-list and profile, the uploads in the audio store (not the messages the dialer
        stores meanwhile for campaigns accepted earlier) and the phone-base store."""
        uploads = {n for n in stored_objects(self.stack, AUDIO_BUCKET) if "/upload/" in n}
        return (
            snapshot(self.fuzzer.account),
            uploads,
            stored_objects(self.stack, PHONE_BASES_BUCKET),
        )

    def send(self, strategy: str, case: Any, content: bytes, content_type: str) -> tuple[int, str]:
        """The request with the fuzzing account's key: its status and error code (a 5xx
        fails, and so does a refused request that stored anything)."""
        headers = {"Authorization": f"Bearer {self.fuzzer.key}", "Content-Type": content_type}
        before = self.state()
        response = self.fuzzer.session.request(
            case.method,
            f"{self.stack.base_url}{case.formatted_path}",
            params=case.query,
            data=content,
            headers=headers,
            timeout=60,
        )
        self.statuses[f"{strategy} {response.status_code}"] += 1
        assert response.status_code < 500, f"{response.status_code}: {response.text[:300]}"
        if response.status_code < 400:
            return response.status_code, ""
        assert self.state() == before, f"a refused {strategy} request stored something"
        return response.status_code, response.json()["error"]["code"]

    def oversize(self, case: Any, size: int, pick: int) -> None:
        assume(isinstance(case.body, dict | list) and case.body)
        body = replaced(case.body, pick_leaf(case.body, pick), "я" * (size // 2))
        self.send("oversize", case, json.dumps(body).encode(), "application/json")

    def not_utf8(self, case: Any, junk: bytes, pick: int) -> None:
        assume(isinstance(case.body, dict | list) and case.body)
        body = json.dumps(replaced(case.body, pick_leaf(case.body, pick), MARK)).encode()
        body = body.replace(json.dumps(MARK).encode()[1:-1], b"a" + junk + b"z")
        status, _ = self.send("not_utf8", case, body, "application/json")
        assert status >= 400, f"text that is not UTF-8 was accepted ({status})"

    def oversize_every_create_field(self) -> None:
        request = Sent("POST", "/api/v1/campaigns")
        for path in leaf_paths(FULL_CREATE):
            if isinstance(value_at(FULL_CREATE, path), str):
                body = replaced(FULL_CREATE, path, "я" * 750_000)
                self.send("oversize", request, json.dumps(body).encode(), "application/json")

    def not_utf8_form(self, junk: bytes) -> None:
        form = (
            b'--B\r\ncontent-disposition: form-data; name="campaign"\r\n\r\n'
            b'{"audio": {"kind": "tts", "text": "' + junk + b'"}}\r\n'
            b'--B\r\ncontent-disposition: form-data; name="phones_file"; filename="b.csv"'
            b"\r\n\r\n+79161234567\r\n--B--\r\n"
        )
        request = Sent("POST", "/api/v1/campaigns")
        status, _ = self.send("not_utf8_form", request, form, "multipart/form-data; boundary=B")
        assert status == 400, f"a form whose text is not UTF-8 answered {status}"

    def cross_account(self, case: Any, pick: int) -> None:
        """Another account's object is refused exactly like one that does not exist: the
        same status and error code (docs/API.md), and it is neither shown nor changed."""
        body = case.body if isinstance(case.body, dict | list) else None
        theirs, unknown = dict(case.path_parameters or {}), dict(case.path_parameters or {})
        if "campaign_id" in theirs:
            theirs["campaign_id"] = self.other_ids[pick % len(self.other_ids)]
            unknown["campaign_id"] = 999_999_999_999 + pick
        their_body, unknown_body = body, body
        if isinstance(body, dict) and "ids" in body:
            their_body, unknown_body = {**body, "ids": self.other_ids}, {**body, "ids": [10**12]}
        if isinstance(body, dict) and "audio" in body:
            audio = {"kind": "file", "file_id": self.other_file_id}
            their_body = {**body, "audio": audio}
            unknown_body = {**body, "audio": {**audio, "file_id": f"upload/none-{pick}.wav"}}
        answers = []
        for params, sent in ((theirs, their_body), (unknown, unknown_body)):
            case.path_parameters = params
            content = b"" if sent is None else json.dumps(sent).encode()
            answers.append(self.send("cross_account", case, content, "application/json"))
        if theirs != unknown or their_body != unknown_body:
            assert answers[0] == answers[1], f"another account's object answered {answers}"

    def run(self, examples: int) -> None:
        api = schemathesis.openapi.from_url(f"{self.stack.base_url}/schema/openapi.json")
        picks = st.integers(0, 1_000)
        for operation in operations_of(api):
            if operation.path in KEY_PATHS:
                continue
            cases = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
            takes_json = "application/json" in operation.get_request_payload_content_types()
            if takes_json:
                self._fuzz(
                    operation.label,
                    "oversize",
                    self.oversize,
                    examples,
                    cases,
                    st.sampled_from(SIZES),
                    picks,
                )
                self._fuzz(
                    operation.label,
                    "not_utf8",
                    self.not_utf8,
                    examples,
                    cases,
                    st.sampled_from(NOT_UTF8),
                    picks,
                )
            if takes_json or "{campaign_id}" in operation.path:
                self._fuzz(
                    operation.label, "cross_account", self.cross_account, examples, cases, picks
                )
        try:
            self.oversize_every_create_field()
        except Exception as exc:
            self.failures.append(f"POST /api/v1/campaigns [oversize, every field]: {exc}")
        self._fuzz(
            "POST /api/v1/campaigns (form)",
            "not_utf8",
            self.not_utf8_form,
            examples,
            st.sampled_from(NOT_UTF8),
        )
        after = self.other_state()
        if after != self.other_before:
            self.failures.append(
                f"cross_account: the other account's objects changed: {self.other_before!r} "
                f"-> {after!r}"
            )

    def _fuzz(
        self, label: str, strategy: str, check: Callable[..., None], n: int, *strategies: Any
    ) -> None:
        @given(args=st.tuples(*strategies))
        # No shrinking: each example is a round trip to the stack, and the finding is reported
        # with its request as it is.
        @settings(
            max_examples=n,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
        )
        def run(args: tuple[Any, ...]) -> None:
            check(*args)

        try:
            run()
        except Exception as exc:  # collected, so one run reports every operation at fault
            self.failures.append(f"{label} [{strategy}]: {str(exc)[:1500]}")

    def figures(self) -> dict[str, object]:
        errors = sum(n for key, n in self.statuses.items() if int(key.rsplit(" ", 1)[1]) >= 500)
        return {
            "requests": sum(self.statuses.values()),
            "status_codes": dict(sorted(self.statuses.items())),
            "server_errors": errors,
            "findings": self.failures,
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
    hostile = HostileFuzzer(fuzzer)
    hostile.run(max(examples // 2, 4))
    hostile.other.close()
    figures = {**fuzzer.figures(time.monotonic() - started), "hostile": hostile.figures()}
    record(name, figures)
    assert not fuzzer.failures, "\n\n".join(fuzzer.failures)
    assert not hostile.failures, "\n\n".join(hostile.failures)
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
