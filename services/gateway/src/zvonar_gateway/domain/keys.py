"""API keys and account ids: random, high-entropy; only a key's sha256 is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_api_key() -> str:
    # 32 random bytes: a plain sha256 is then a safe store (no dictionary to attack).
    return "zv_" + secrets.token_urlsafe(32)


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def new_account_id() -> str:
    return "acc_" + secrets.token_hex(8)


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison of two secrets (the admin token)."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
