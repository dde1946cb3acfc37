"""The read-your-writes position a client holds and a request wrote (see http/position.py
for how it travels in the `Zvonar-Position` header and cookie): the signed token, and the
per-request carrier the backend notes its writes in. No HTTP here: the backend adapter and
the HTTP middleware both depend on this module."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from contextvars import ContextVar
from dataclasses import dataclass, field

POSITION_HEADER = "Zvonar-Position"
POSITION_COOKIE = "zvonar_position"
# Positions are PostgreSQL bigints; 18 digits keep every valid one and refuse nonsense.
TOKEN = re.compile(r"^(0|[1-9][0-9]{0,17})\.([A-Za-z0-9_-]{22})$")


def _mac(key: bytes, account_id: str, position: int) -> str:
    digest = hmac.new(key, f"{account_id}\x00{position}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


class PositionSigner:
    """Makes and checks position tokens; the same key on every replica."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the position key must be at least 16 bytes")
        self._key = key

    @classmethod
    def from_secret(cls, secret: bytes) -> PositionSigner:
        """A key of its own derived from the session secret (a token is no cookie key)."""
        return cls(hashlib.sha256(b"zvonar-position\x00" + secret).digest())

    def token(self, account_id: str, position: int) -> str:
        return f"{position}.{_mac(self._key, account_id, position)}"

    def position_of(self, token: str, account_id: str) -> int:
        """The position `token` vouches for on `account_id`'s behalf; 0 if it does not."""
        parsed = TOKEN.match(token)
        if parsed is None:
            return 0
        position = int(parsed.group(1))
        if not hmac.compare_digest(parsed.group(2), _mac(self._key, account_id, position)):
            return 0
        return position


def well_formed(token: str) -> bool:
    return TOKEN.match(token) is not None


@dataclass
class Carrier:
    """The position state of one request: what the client sent, what the request wrote."""

    signer: PositionSigner
    given: str | None = None
    written: dict[str, int] = field(default_factory=dict)

    def given_for(self, account_id: str) -> int:
        return self.signer.position_of(self.given, account_id) if self.given else 0

    def note_write(self, account_id: str, position: int) -> None:
        self.written[account_id] = max(position, self.written.get(account_id, 0))

    def answer(self) -> str | None:
        """The token for the response: the last account written, at its highest position
        (never below what the client already held for it)."""
        if not self.written:
            return None
        account_id = next(reversed(self.written))
        position = max(self.written[account_id], self.given_for(account_id))
        return self.signer.token(account_id, position)


_current: ContextVar[Carrier | None] = ContextVar("zvonar_position_carrier", default=None)


def note_write(account_id: str, position: int) -> None:
    """Called by the backend for every acknowledged write: the response will carry it."""
    carrier = _current.get()
    if carrier is not None:
        carrier.note_write(account_id, position)


def client_position(account_id: str) -> int:
    """The position the client of the current request holds for `account_id` (0: none)."""
    carrier = _current.get()
    return 0 if carrier is None else carrier.given_for(account_id)
