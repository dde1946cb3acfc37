"""Webhook secrets, kept apart from the events: the gateway seals a secret with AES-GCM under
a key from the environment and puts the ciphertext in the NATS KV bucket
`subjects.WEBHOOK_SECRETS_BUCKET` under a fresh reference; the campaign's options (and so its
events, the read model and the API) carry only that reference (`Integration.secret_ref`). The
dialer reads it back to sign the webhooks. Neither reads the other's tables.

The key is `ZVONAR_SECRETS_KEY` (32 bytes in URL-safe base64, `new_key_text()` makes one);
unset, it is the file `secrets.key` under the data folder, created on first use (`make run`
creates it there and hands it to every service). The gateway and the dialer must share it.
The reference is the AES-GCM associated data: a ciphertext moved under another reference
does not open.
"""

from __future__ import annotations

import base64
import binascii
import os
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from nats.aio.client import Client
from nats.js.errors import NotFoundError
from nats.js.kv import KeyValue

from zvonar_contracts.subjects import WEBHOOK_SECRETS_BUCKET

SECRETS_KEY_ENV = "ZVONAR_SECRETS_KEY"
KEY_FILE = "secrets.key"
_NONCE_BYTES = 12
_CACHED = 1024


class SecretsKeyError(ValueError):
    """ZVONAR_SECRETS_KEY (or the key file) is not 32 bytes in URL-safe base64."""


class SecretUnreadable(LookupError):
    """No secret under this reference, or one that does not open with this key."""


def new_key_text() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def parse_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError) as exc:
        raise SecretsKeyError(f"{SECRETS_KEY_ENV} is not URL-safe base64") from exc
    if len(key) != 32:
        raise SecretsKeyError(f"{SECRETS_KEY_ENV} must hold 32 bytes, it holds {len(key)}")
    return key


def key_text(data_dir: Path, env: Mapping[str, str] | None = None) -> str:
    """ZVONAR_SECRETS_KEY, else the key file under `data_dir` (created if missing)."""
    given = (env if env is not None else os.environ).get(SECRETS_KEY_ENV, "").strip()
    if given:
        return given
    return text_file_once(data_dir / KEY_FILE, new_key_text)


def text_file_once(path: Path, make: Callable[[], str]) -> str:
    """The text of `path` (stripped); a missing file is first written with `make()`, readable
    by its owner only. O_EXCL: two processes starting at once keep the one file the first
    wrote."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as file:
                file.write(make())
    return path.read_text().strip()


def secrets_key(data_dir: Path, env: Mapping[str, str] | None = None) -> bytes:
    return parse_key(key_text(data_dir, env))


class SecretBox:
    """AES-GCM sealing of one secret under its reference."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, ref: str, secret: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode("utf-8"), ref.encode())

    def open(self, ref: str, sealed: bytes) -> str:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        try:
            return self._aead.decrypt(nonce, ciphertext, ref.encode()).decode("utf-8")
        except (InvalidTag, ValueError) as exc:
            raise SecretUnreadable(f"secret {ref} does not open with this key") from exc


class SecretStore:
    """Sealed secrets in the KV bucket; what was read is kept (a reference's secret never
    changes), up to a thousand of them."""

    def __init__(self, nc: Client, key: bytes) -> None:
        self._nc = nc
        self._bucket_handle: KeyValue | None = None
        self._box = SecretBox(key)
        self._read: OrderedDict[str, str] = OrderedDict()

    async def _bucket(self) -> KeyValue:
        if self._bucket_handle is None:
            self._bucket_handle = await self._nc.jetstream().key_value(WEBHOOK_SECRETS_BUCKET)
        return self._bucket_handle

    async def put(self, secret: str) -> str:
        """Seal and store `secret`; its new reference."""
        ref = uuid.uuid4().hex
        await (await self._bucket()).put(ref, self._box.seal(ref, secret))
        return ref

    async def get(self, ref: str) -> str:
        if ref in self._read:
            self._read.move_to_end(ref)
            return self._read[ref]
        try:
            entry = await (await self._bucket()).get(ref)
        except NotFoundError as exc:  # no bucket, no key, a deleted key
            raise SecretUnreadable(f"no secret {ref}") from exc
        secret = self._box.open(ref, bytes(entry.value or b""))
        self._read[ref] = secret
        if len(self._read) > _CACHED:
            self._read.popitem(last=False)
        return secret

    async def delete(self, ref: str) -> None:
        self._read.pop(ref, None)
        await (await self._bucket()).delete(ref)
