"""Object-store reads end even when an object's chunks never come: nats-py's `get` waits
for them without a limit — in the dialer that holds the scheduler's pass (and so every
campaign), in the gateway an HTTP request."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from nats.js.api import ObjectStoreConfig

from zvonar_dialer.adapters import blobs
from zvonar_dialer.adapters.blobs import BlobNotFound, NatsBlobs
from zvonar_gateway.http import deps as gateway_deps
from zvonar_gateway.http.deps import ApiError, Backend

pytestmark = pytest.mark.integration


async def test_a_read_whose_chunks_are_gone_fails_in_time_instead_of_hanging(
    nc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    js = nc.jetstream()
    bucket = f"blobs-test-{uuid.uuid4().hex[:8]}"
    store = await js.create_object_store(bucket, config=ObjectStoreConfig(bucket=bucket))
    try:
        await store.put("message.wav", b"RIFF" + b"\x00" * 1000)
        reader = NatsBlobs(js)
        assert (await reader.get(bucket, "message.wav")).startswith(b"RIFF")
        with pytest.raises(BlobNotFound):
            await reader.get(bucket, "no-such.wav")

        # The object's description stays, its chunks go (as when it is deleted mid-read).
        info = await store.get_info("message.wav")
        await js.purge_stream(f"OBJ_{bucket}", subject=f"$O.{bucket}.C.{info.nuid}")
        monkeypatch.setattr(blobs, "BLOB_TIMEOUT_S", 1.0)
        with pytest.raises(TimeoutError):
            await reader.get(bucket, "message.wav")
    finally:
        await js.delete_object_store(bucket)


async def test_the_gateway_answers_503_when_an_objects_chunks_never_come(
    nc: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    js = nc.jetstream()
    bucket = f"blobs-test-{uuid.uuid4().hex[:8]}"
    store = await js.create_object_store(bucket, config=ObjectStoreConfig(bucket=bucket))
    try:
        backend = Backend(nc)
        await backend.put_object(bucket, "report.csv", b"phone,outcome\n" * 100)
        assert (await backend.get_object(bucket, "report.csv")).startswith(b"phone,outcome")
        info = await store.get_info("report.csv")
        await js.purge_stream(f"OBJ_{bucket}", subject=f"$O.{bucket}.C.{info.nuid}")
        monkeypatch.setattr(gateway_deps, "OBJECT_TIMEOUT_S", 1.0)
        with pytest.raises(ApiError) as refused:
            await backend.get_object(bucket, "report.csv")
        assert refused.value.status_code == 503
    finally:
        await js.delete_object_store(bucket)
