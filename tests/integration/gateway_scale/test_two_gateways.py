"""Issue 17 point 3: K gateways behind a load balancer behave as one. Two replicas (own app,
own NATS connection, one account database): a write through one is read through the other
when the client sends the position back; an account's rate limit holds across both; a
sign-out on one is seen by the other; a rotated key is refused by both."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx
import pytest
from nats.js.errors import KeyNotFoundError

from tests.integration.gateway_api.conftest import FakeServices
from tests.integration.gateway_scale.conftest import ADMIN, Replica, ReplicasFactory
from tests.integration.web.conftest import csrf_of
from zvonar_contracts.queries import GetStopList
from zvonar_gateway.adapters.kv_ratelimit import RATE_LIMITS_BUCKET
from zvonar_gateway.domain.keys import hash_key
from zvonar_gateway.service_layer.position import POSITION_COOKIE, POSITION_HEADER

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

PHONE = "8 916 123-45-67"


async def new_account(replica: Replica, name: str = "Тест") -> str:
    answer = await replica.http.post(
        "/api/v1/accounts",
        json={"name": name, "timezone": "Europe/Moscow"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert answer.status_code == 201, answer.text
    key: str = answer.json()["api_key"]
    return key


def bearer(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


def last_stop_list_query(services: FakeServices) -> GetStopList:
    query = services.queries[-1]
    assert isinstance(query, GetStopList)
    return query


async def wait_until(condition: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    """Polls an async condition until it holds (a change travelling to another replica)."""
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


async def cached_on(replica: Replica, key: str) -> httpx.Response:
    """`/api/v1/me` on `replica` until its account cache keeps the key (it caches once its
    watch of account changes runs)."""
    answers: list[httpx.Response] = []

    async def cached() -> bool:
        answers.append(await replica.http.get("/api/v1/me", headers=bearer(key)))
        assert answers[-1].status_code == 200
        return bool(replica.accounts._by_hash)

    await wait_until(cached)
    return answers[-1]


# --- read your writes across replicas -----------------------------------------------------


async def test_a_write_through_one_replica_is_read_through_the_other_with_the_position(
    make_replicas: ReplicasFactory, services: FakeServices
) -> None:
    a, b = await make_replicas(2)
    key = await new_account(a)
    wrote = await a.http.post("/api/v1/stop-list", json={"phones": [PHONE]}, headers=bearer(key))
    assert wrote.status_code == 200, wrote.text
    token = wrote.headers[POSITION_HEADER]
    assert token.startswith(f"{services.position}.")

    # The other replica never saw the write: without the position its read waits for nothing.
    assert (await b.http.get("/api/v1/stop-list", headers=bearer(key))).status_code == 200
    assert last_stop_list_query(services).min_position == 0
    # With the position sent back, its read waits for the write.
    read = await b.http.get("/api/v1/stop-list", headers=bearer(key, **{POSITION_HEADER: token}))
    assert read.status_code == 200 and read.json()["phones"] == ["+79161234567"]
    assert last_stop_list_query(services).min_position == services.position
    assert POSITION_HEADER not in read.headers  # a read writes nothing: no position to carry

    # The replica that took the write still remembers it for a client that sends nothing.
    assert (await a.http.get("/api/v1/stop-list", headers=bearer(key))).status_code == 200
    assert last_stop_list_query(services).min_position == services.position


async def test_the_position_is_per_account_and_a_made_up_one_is_ignored(
    make_replicas: ReplicasFactory, services: FakeServices
) -> None:
    a, b = await make_replicas(2)
    first, second = await new_account(a, "Первый"), await new_account(a, "Второй")
    wrote = await a.http.post("/api/v1/stop-list", json={"phones": [PHONE]}, headers=bearer(first))
    token = wrote.headers[POSITION_HEADER]

    # Another account's position does not slow this account's reads.
    other = await b.http.get(
        "/api/v1/stop-list", headers=bearer(second, **{POSITION_HEADER: token})
    )
    assert other.status_code == 200
    assert last_stop_list_query(services).min_position == 0

    # A huge position with a made-up signature: well formed, so not refused, but not waited
    # for either (only positions the log gave carry a valid signature).
    forged = f"{10**17}.{'A' * 22}"
    started = time.monotonic()
    answer = await b.http.get(
        "/api/v1/stop-list", headers=bearer(first, **{POSITION_HEADER: forged})
    )
    assert answer.status_code == 200
    assert last_stop_list_query(services).min_position == 0
    assert time.monotonic() - started < 1.0
    # The real position with its number raised: the signature no longer matches.
    position, _, mac = token.partition(".")
    raised = f"{int(position) + 1000}.{mac}"
    await b.http.get("/api/v1/stop-list", headers=bearer(first, **{POSITION_HEADER: raised}))
    assert last_stop_list_query(services).min_position == 0


@pytest.mark.parametrize("value", ["12", "abc", "-1.AAAAAAAAAAAAAAAAAAAAAA", "1" * 30 + ".x"])
async def test_a_malformed_position_header_is_a_400_and_changes_nothing(
    make_replicas: ReplicasFactory, services: FakeServices, value: str
) -> None:
    (a,) = await make_replicas(1)
    key = await new_account(a)
    commands = len(services.commands)
    answer = await a.http.post(
        "/api/v1/stop-list",
        json={"phones": [PHONE]},
        headers=bearer(key, **{POSITION_HEADER: value}),
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "bad_request" and POSITION_HEADER in error["message"]
    assert error["details"] == [{"field": POSITION_HEADER, "message": "not a position token"}]
    assert len(services.commands) == commands


async def test_the_web_page_carries_the_position_in_a_cookie_to_the_other_replica(
    make_replicas: ReplicasFactory, services: FakeServices
) -> None:
    a, b = await make_replicas(2)
    key = await new_account(a)
    async with a.client() as browser:
        page = await browser.get("/")
        signed = await browser.post("/sign-in", data={"_csrf": csrf_of(page.text), "api_key": key})
        assert signed.status_code == 303
        csrf = csrf_of((await browser.get("/stop-list")).text)
        added = await browser.post("/stop-list/add", data={"_csrf": csrf, "phones_text": PHONE})
        assert added.status_code == 200
        cookie = re.search(rf"{POSITION_COOKIE}=([^;]+);[^,]*HttpOnly", added.headers["set-cookie"])
        assert cookie is not None
        assert browser.cookies[POSITION_COOKIE] == cookie.group(1)
        cookies = browser.cookies

    # The load balancer sends the browser's next page to the other replica.
    async with b.client(cookies=cookies) as browser:
        listed = await browser.get("/stop-list")
        assert listed.status_code == 200 and "+79161234567" in listed.text
        assert last_stop_list_query(services).min_position == services.position
        # A damaged cookie is ignored: the page still shows, without waiting.
        browser.cookies.set(POSITION_COOKIE, "garbage")
        assert (await browser.get("/stop-list")).status_code == 200
        assert last_stop_list_query(services).min_position == 0


# --- the rate limit is one across replicas ------------------------------------------------


async def test_an_accounts_rate_limit_holds_across_both_replicas(
    make_replicas: ReplicasFactory,
) -> None:
    rate, burst, chunk = 0.5, 12, 2
    a, b = await make_replicas(
        2, rate_limit_per_second=rate, rate_limit_burst=burst, rate_limit_chunk=chunk
    )
    key = await new_account(a)
    started = time.monotonic()
    allowed = {a.name: 0, b.name: 0}
    refused: list[httpx.Response] = []
    for turn in range(40):  # the balancer alternates: each replica alone would allow `burst`
        replica = (a, b)[turn % 2]
        answer = await replica.http.get("/api/v1/me", headers=bearer(key))
        if answer.status_code == 200:
            allowed[replica.name] += 1
        else:
            assert answer.status_code == 429
            refused.append(answer)
    refilled = int((time.monotonic() - started) * rate) + 1
    total = sum(allowed.values())
    # Never over the limit; under it by at most the tokens one replica holds unspent.
    assert burst - chunk <= total <= burst + refilled, allowed
    assert allowed[a.name] > 0 and allowed[b.name] > 0
    assert refused[0].json()["error"]["code"] == "rate_limited"
    assert int(refused[0].headers["Retry-After"]) >= 1

    # Another account is not touched by the first one's limit.
    other = await new_account(b, "Другой")
    assert (await a.http.get("/api/v1/me", headers=bearer(other))).status_code == 200
    assert (await b.http.get("/api/v1/me", headers=bearer(other))).status_code == 200


# --- sessions and keys ------------------------------------------------------------------


async def test_a_sign_out_on_one_replica_is_seen_by_the_other(
    make_replicas: ReplicasFactory,
) -> None:
    a, b = await make_replicas(2)
    key = await new_account(a)
    async with a.client() as browser:
        page = await browser.get("/")
        await browser.post("/sign-in", data={"_csrf": csrf_of(page.text), "api_key": key})
        cookies = httpx.Cookies()
        for cookie in browser.cookies.jar:
            cookies.jar.set_cookie(cookie)
        async with b.client(cookies=cookies) as elsewhere:
            assert (await elsewhere.get("/profile")).status_code == 200
        csrf = csrf_of((await browser.get("/profile")).text)
        assert (await browser.post("/sign-out", data={"_csrf": csrf})).status_code == 303
    async with b.client(cookies=cookies) as elsewhere:
        refused = await elsewhere.get("/profile")
        assert refused.status_code == 303 and refused.headers["location"] == "/"


async def test_a_rotated_key_is_refused_by_both_replicas(make_replicas: ReplicasFactory) -> None:
    a, b = await make_replicas(2)
    old = await new_account(a)
    for replica in (a, b):  # both have looked the key up, and keep it in their cache
        await cached_on(replica, old)

    rotated = await a.http.post("/api/v1/me/keys/rotate", headers=bearer(old))
    assert rotated.status_code == 201 or rotated.status_code == 200, rotated.text
    new = rotated.json()["api_key"]
    # Refused at once where it was rotated, and as soon as the change reaches the other.
    assert (await a.http.get("/api/v1/me", headers=bearer(old))).status_code == 401

    async def refused_by_b() -> bool:
        answer = await b.http.get("/api/v1/me", headers=bearer(old))
        return answer.status_code == 401

    await wait_until(refused_by_b)
    for replica in (a, b):
        assert (await replica.http.get("/api/v1/me", headers=bearer(new))).status_code == 200


async def test_a_timezone_changed_on_one_replica_shows_on_the_other(
    make_replicas: ReplicasFactory,
) -> None:
    a, b = await make_replicas(2)
    key = await new_account(a)
    before = await cached_on(b, key)
    assert before.json()["timezone"] == "Europe/Moscow"
    tokyo = {"timezone": "Asia/Tokyo"}
    changed = await a.http.patch("/api/v1/me", json=tokyo, headers=bearer(key))
    assert changed.status_code == 200

    async def shows_on_b() -> bool:
        answer = await b.http.get("/api/v1/me", headers=bearer(key))
        return bool(answer.json()["timezone"] == "Asia/Tokyo")

    await wait_until(shows_on_b)


async def test_the_openapi_schema_documents_the_position_header(
    make_replicas: ReplicasFactory,
) -> None:
    (a,) = await make_replicas(1)
    schema = (await a.http.get("/schema/openapi.json")).json()
    add = schema["paths"]["/api/v1/stop-list"]["post"]
    listed = schema["paths"]["/api/v1/stop-list"]["get"]
    for operation in (add, listed):
        (parameter,) = [p for p in operation["parameters"] if p["name"] == POSITION_HEADER]
        assert parameter["in"] == "header" and not parameter["required"]
    assert POSITION_HEADER in add["responses"]["200"]["headers"]  # a write's answer has it
    assert "headers" not in listed["responses"]["200"]  # a read's does not
    assert POSITION_HEADER in schema["info"]["description"]


async def test_wrong_keys_are_limited_by_each_replica_and_leave_nothing_in_nats(
    make_replicas: ReplicasFactory,
) -> None:
    (a,) = await make_replicas(1, rate_limit_per_second=0.5, rate_limit_burst=3)
    wrong = f"zv_wrong_{uuid.uuid4().hex}"
    codes = [(await a.http.get("/api/v1/me", headers=bearer(wrong))).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    kv = await a.nc.jetstream().key_value(RATE_LIMITS_BUCKET)
    with pytest.raises(KeyNotFoundError):
        await kv.get(hash_key(wrong))
