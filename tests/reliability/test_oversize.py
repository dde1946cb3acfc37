"""Issue 14 point 1 against the running stack: no request of one account may stop a service
for every account.

- The reproduction: a create whose body is just under 1 MiB, the bulk in one field
  (`ivr.lead_words`, `integration.secret`, `integration.webhook_url`, `audio.name`), is a 422
  naming that field; nothing is stored, other accounts' creates keep working, `/healthz`
  stays 200.
- An event too large for NATS written straight into the campaign service's event store
  (below the gateway and every check) is parked — a row in `relay_parked`, an `event_parked`
  log line, `zvonar_messages_parked_total` — and every other account keeps working, after a
  restart of the campaign service too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.helpers import create
from tests.oversize import comment_too_large_for, store_comment
from tests.stack import Stack, wait_for
from zvonar_campaign.adapters.eventstore import POSTGRES_SCHEMA
from zvonar_campaign.bootstrap import open_store

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

ONE_MIB = 1024 * 1024
MAX_PAYLOAD = ONE_MIB  # nats-server's default, which the stack runs with
PHONES = ["+79161234560", "+79161234561"]
TTS = {"kind": "tts", "text": "Здравствуйте! Это проверка."}


@pytest.fixture(scope="module")
def victim(api_stack: Stack) -> Iterator[httpx.Client]:
    with api_stack.new_account("Огромные поля") as account:
        yield account


@pytest.fixture(scope="module")
def others(api_stack: Stack) -> Iterator[list[httpx.Client]]:
    clients = [api_stack.new_account(f"Сосед {n}") for n in range(2)]
    yield clients
    for client in clients:
        client.close()


def healthy(stack: Stack) -> None:
    answer = httpx.get(f"{stack.base_url}/healthz", timeout=10)
    assert answer.status_code == 200, answer.text


def others_keep_working(stack: Stack, others: list[httpx.Client]) -> None:
    for client in others:
        created = create(client, name="Соседская рассылка", phones=PHONES)
        answer = client.get(f"/api/v1/campaigns/{created['id']}")
        assert answer.status_code == 200, answer.text
    healthy(stack)


def near_one_mib(field: str) -> dict[str, Any]:
    """A create body just under 1 MiB, nearly all of it in `field`."""
    room = ONE_MIB - 1024
    body: dict[str, Any] = {"name": "Огромная", "phones": PHONES, "audio": TTS}
    if field == "ivr.lead_words":
        body["ivr"] = {"kind": "words", "lead_words": ["слово" * 9] * (room // 94)}
    elif field == "integration.secret":
        body["integration"] = {"webhook_url": "https://example.com/h", "secret": "s" * room}
    elif field == "integration.webhook_url":
        body["integration"] = {"webhook_url": "https://example.com/" + "u" * room, "secret": "s"}
    elif field == "audio.name":
        body["audio"] = {"kind": "file", "file_id": "f", "name": "n" * room}
    return body


@pytest.mark.parametrize(
    "field", ["ivr.lead_words", "integration.secret", "integration.webhook_url", "audio.name"]
)
def test_a_create_just_under_1_mib_is_422_naming_the_field(
    api_stack: Stack, victim: httpx.Client, others: list[httpx.Client], field: str
) -> None:
    body = json.dumps(near_one_mib(field), ensure_ascii=False).encode()
    assert ONE_MIB - 8192 < len(body) < ONE_MIB
    before = victim.get("/api/v1/campaigns").json()["total"]
    answer = victim.post(
        "/api/v1/campaigns", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text[:500]
    error = answer.json()["error"]
    assert field in {d["field"] for d in error["details"]}, error["details"]
    assert victim.get("/api/v1/campaigns").json()["total"] == before
    others_keep_working(api_stack, others)


def parked_rows(stack: Stack) -> list[tuple[Any, ...]]:
    assert stack.database_url
    with psycopg.connect(stack.database_url) as conn:
        return conn.execute(
            f"SELECT position, event_type, size, reason FROM {POSTGRES_SCHEMA}.relay_parked"
        ).fetchall()


def parked_lines(stack: Stack) -> list[dict[str, Any]]:
    lines = []
    for line in stack.log_path("campaign").read_text(errors="replace").splitlines():
        if '"event_parked"' in line:
            lines.append(json.loads(line))
    return lines


def log_events(stack: Stack, event: str) -> int:
    text = stack.log_path("campaign").read_text(errors="replace")
    return text.count(f'"event": "{event}"')


def parked_metric(stack: Stack) -> float:
    port = stack.monitor_ports["campaign"]
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    for line in text.splitlines():
        if line.startswith("zvonar_messages_parked_total{") and 'reason="too_large"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_an_oversize_event_below_the_gateway_is_parked_and_nobody_else_notices(
    api_stack: Stack, victim: httpx.Client, others: list[httpx.Client], tmp_path: Any
) -> None:
    campaign = create(victim, name="Жертва", phones=PHONES)
    store = open_store(api_stack.database_url, lambda: tmp_path / "unused.sqlite3", 1)
    try:
        text = comment_too_large_for(store.app, campaign["id"], MAX_PAYLOAD)
        position = store_comment(store.app, campaign["id"], text)
    finally:
        store.close()

    rows = wait_for(lambda: parked_rows(api_stack), 60, 0.2, "the event to be parked")
    assert [(r[0], r[1]) for r in rows] == [(position, "CampaignCommentChanged")]
    assert rows[0][2] > MAX_PAYLOAD - 100 and rows[0][3].startswith("too_large")
    lines = wait_for(lambda: parked_lines(api_stack), 30, 0.2, "the event_parked log line")
    assert [line["position"] for line in lines] == [position]
    assert lines[0]["level"] == "error"
    assert parked_metric(api_stack) == 1.0
    others_keep_working(api_stack, others)
    # The victim's account works too; its other campaigns are untouched.
    create(victim, name="После", phones=PHONES)

    # A restart starts past the parked event: nothing parked again, everyone still served.
    readies = log_events(api_stack, "ready")
    api_stack.restart("campaign")
    wait_for(lambda: log_events(api_stack, "ready") > readies, 120, 0.2, "campaign restarted")
    api_stack.wait_healthy()
    others_keep_working(api_stack, others)
    assert len(parked_rows(api_stack)) == 1
    assert parked_metric(api_stack) == 0.0  # a fresh process: nothing parked by it
