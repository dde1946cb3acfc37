"""The dialer's object-store reads end even when an object's chunks never come: nats-py's
`get` waits for them without a limit, which once held the scheduler's pass (and so every
campaign) for minutes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from nats.js.api import ObjectStoreConfig

from zvonar_dialer.adapters import blobs
from zvonar_dialer.adapters.blobs import BlobNotFound, NatsBlobs

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
