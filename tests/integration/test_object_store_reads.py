"""Object-store reads end even when an object's chunks never come: nats-py's `get` waits
for them without a limit — in the dialer that holds the scheduler's pass (and so every
campaign), in the gateway an HTTP request."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from nats.js.api import ObjectStoreConfig

from zvonar_dialer.adapters import blobs
from zvonar_dialer.adapters.blobs import BlobNotFound, NatsBlobs
from zvonar_gateway.adapters import backend as gateway_backend
from zvonar_gateway.adapters.backend import NatsBackend
from zvonar_gateway.service_layer.errors import ApiError

pytestmark = pytest.mark.integration

LoseChunks = Callable[[str], Awaitable[None]]


@pytest.fixture
async def bucket(nc: Any) -> AsyncIterator[tuple[str, LoseChunks]]:
    """A fresh bucket, and a way to drop an object's chunks while its description stays
    (as when it is deleted in the middle of a read)."""
    js = nc.jetstream()
    name = f"blobs-test-{uuid.uuid4().hex[:8]}"
    store = await js.create_object_store(name, config=ObjectStoreConfig(bucket=name))

    async def lose_chunks(obj: str) -> None:
        info = await store.get_info(obj)
        await js.purge_stream(f"OBJ_{name}", subject=f"$O.{name}.C.{info.nuid}")

    yield name, lose_chunks
    await js.delete_object_store(name)


async def test_a_read_whose_chunks_are_gone_fails_in_time_instead_of_hanging(
    nc: Any, bucket: tuple[str, LoseChunks], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, lose_chunks = bucket
    reader = NatsBlobs(nc.jetstream())
    await reader.put(name, "message.wav", b"RIFF" + b"\x00" * 1000)
    assert (await reader.get(name, "message.wav")).startswith(b"RIFF")
    with pytest.raises(BlobNotFound):
        await reader.get(name, "no-such.wav")
    await lose_chunks("message.wav")
    monkeypatch.setattr(blobs, "BLOB_TIMEOUT_S", 1.0)
    with pytest.raises(TimeoutError):
        await reader.get(name, "message.wav")


async def test_the_gateway_answers_503_when_an_objects_chunks_never_come(
    nc: Any, bucket: tuple[str, LoseChunks], monkeypatch: pytest.MonkeyPatch
) -> None:
    name, lose_chunks = bucket
    backend = NatsBackend(nc)
    await backend.put_object(name, "report.csv", b"phone,outcome\n" * 100)
    assert (await backend.get_object(name, "report.csv")).startswith(b"phone,outcome")
    await lose_chunks("report.csv")
    monkeypatch.setattr(gateway_backend, "OBJECT_TIMEOUT_S", 1.0)
    with pytest.raises(ApiError) as refused:
        await backend.get_object(name, "report.csv")
    assert refused.value.status_code == 503
