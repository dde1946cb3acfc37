"""The ports of the dialer: what the service layer needs from the outside world, as
Protocols it owns. Adapters implement them (`adapters/`); `bootstrap` wires real ones or a
test's fakes. Nothing here names a database, NATS or a codec.

- `Transactions` / `Tx`: the dialer's own state, one transaction at a time;
- `Leases`: the lease partitions' leases several dialers share (docs/scaling.md "Dialers");
- `Telephony`: placing calls and asking what became of them (idempotent on the call id);
- `CommandSender`, `CampaignLog`: the campaign service's commands and event stream;
- `BlobStore`, `SecretReader`: the object store and sealed webhook secrets;
- `SpeechSynthesizer`, `AudioCodec`, `SimulatedRecorder`: sound in and out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, Protocol, TypeVar

import msgspec

from zvonar_contracts.call_events import CallOutcome
from zvonar_contracts.commands import CampaignCommand, CommandReply
from zvonar_contracts.options import Ivr
from zvonar_dialer.domain.campaign import Campaign

T = TypeVar("T")


# --- the state store ------------------------------------------------------------------------
class Number(NamedTuple):
    """A number of a part's queue: its place in the base, the phone, the zone of its window."""

    seq: int
    phone: str
    tz: str


class PlacedCall(NamedTuple):
    """A number claimed for a call: the intent recorded (`placing`) before anyone is dialled."""

    campaign_id: int
    part: int
    seq: int
    phone: str
    call_id: str
    started_at: dt.datetime
    caller_number: str | None


class Final(NamedTuple):
    """A number's final result: which number, its outcome and call id."""

    seq: int
    outcome: str
    call_id: str


class NewDelivery(NamedTuple):
    """A webhook post to make, written with the call result that causes it."""

    webhook_id: str
    campaign_id: int
    account_id: str
    event: str
    call_id: str | None
    url: str
    secret_ref: str | None
    payload: bytes
    created_at: float  # wall-clock seconds since the epoch; due at once


class DeliveryRow(NamedTuple):
    """One webhook post as the delivery log shows it."""

    webhook_id: str
    event: str
    call_id: str | None
    state: str
    attempts: int
    last_status: int | None
    last_error: str | None
    created_at: float
    next_attempt_at: float | None
    delivered_at: float | None


class Tx(Protocol):
    """One transaction on the dialer's state: every question and change inside it commits
    together (a state change, its outbox row and the consumer position in one step)."""

    # the campaign stream's position
    def applied_sequence(self) -> int: ...
    def set_applied_sequence(self, sequence: int) -> None: ...

    # campaigns (a load locks the campaign's row until the transaction ends)
    def load_campaign(self, campaign_id: int) -> Campaign | None: ...
    def save_campaign(self, campaign: Campaign) -> None: ...
    def active_campaign_ids(self) -> list[int]: ...
    def paused_campaign_ids(self) -> list[int]: ...

    # numbers: queued -> placing -> done (or cancelled)
    def has_numbers(self, campaign_id: int, part: int) -> bool: ...
    def count_numbers(self, campaign_id: int, part: int) -> int: ...
    def insert_numbers(self, campaign_id: int, part: int, numbers: Iterable[Number]) -> None: ...
    def has_state(self, campaign_id: int, part: int, state: str) -> bool: ...
    def queued_timezones(self, campaign_id: int, part: int) -> list[str]: ...
    def queued_numbers(
        self,
        campaign_id: int,
        part: int,
        timezones: Sequence[str],
        limit: int,
        after_seq: int = -1,
    ) -> list[Number]: ...
    def mark_placing(self, calls: Sequence[PlacedCall]) -> None: ...
    def mark_done(
        self, campaign_id: int, part: int, seq: int, outcome: str, call_id: str | None
    ) -> bool: ...
    def mark_done_many(self, campaign_id: int, part: int, finals: Sequence[Final]) -> set[int]: ...
    def cancel_queued(self, campaign_id: int, parts: Sequence[int]) -> None: ...
    def placing_calls(self) -> list[PlacedCall]: ...
    def placing_zones(self, calls: Sequence[PlacedCall]) -> dict[str, str]: ...
    def unplace(self, calls: Sequence[PlacedCall], state: str) -> None: ...
    def part_results(self, campaign_id: int, part: int) -> list[tuple[int, str, str, str]]: ...

    # stop-lists
    def stop_list_add(self, account_id: str, phones: Sequence[str]) -> None: ...
    def stop_list_remove(self, account_id: str, phones: Sequence[str]) -> None: ...
    def stop_listed(self, account_id: str, phones: Sequence[str]) -> set[str]: ...

    # caller numbers: the pool's use per day, and which campaign a call back reaches
    def caller_usage(self, day: str, pool: Sequence[str]) -> dict[str, int]: ...
    def add_caller_usage(self, day: str, calls: dict[str, int]) -> None:
        """Count `calls` more calls on each number today (added in the statement: two
        transactions choosing at once both count)."""
        ...

    def route_to(self, caller_numbers: Iterable[str], campaign_id: int) -> None: ...
    def drop_routes(self, campaign_id: int) -> None: ...
    def route_of(self, caller_number: str) -> int | None: ...

    # the outboxes: events to publish, webhook posts to make
    # (campaign_id: whose row it is, so the dialer holding the campaign's lease partition
    # publishes it; None: any dialer's)
    def outbox_add(
        self, msg_id: str, subject: str, payload: bytes, campaign_id: int | None = None
    ) -> None: ...
    def outbox_add_many(
        self, rows: Sequence[tuple[str, str, bytes]], campaign_id: int | None = None
    ) -> None: ...
    def webhook_add_many(self, rows: Sequence[NewDelivery]) -> None: ...
    def webhook_page(
        self, campaign_id: int, account_id: str, state: str | None, page: int, per_page: int
    ) -> tuple[list[DeliveryRow], int]: ...

    # the lease partitions' fencing tokens (docs/scaling.md "Dialers")
    def fence_of(self, part_no: int) -> int | None:
        """The partition's fencing token stored now (None: never taken); read to check
        that the token a dialer took is still the current one."""
        ...

    def take_fence(self, part_no: int, holder: str) -> int:
        """Record `holder` under a token higher than any before: the token."""
        ...

    def partition_placing(self, partitions: int, part_no: int) -> set[str]:
        """The call ids being dialled (`placing`) of the partition's campaigns."""
        ...


class Transactions(Protocol):
    async def run(self, work: Callable[[Tx], T]) -> T:
        """Run `work` in one transaction (off the event loop) and return its result."""
        ...

    def is_transient(self, exc: BaseException) -> bool:
        """Whether `exc` says the database is out of reach for now (retry, do not park)."""
        ...


# --- leases ---------------------------------------------------------------------------------
class Leases(Protocol):
    """Named leases with an age limit and compare-and-set renewals, shared by the dialers of
    one database (adapters/leases.py: NATS KV `dialer-leases`); the revision a dialer wrote
    last proves it still holds a lease."""

    ttl_s: float

    async def acquire(self, name: str) -> int | None:
        """Take the lease if free (or its holder is gone): its revision; None if held."""
        ...

    async def renew(self, name: str, revision: int) -> int | None:
        """Renew a lease held under `revision`: the new revision; None if it was lost."""
        ...

    async def release(self, name: str, revision: int) -> None: ...

    async def heartbeat(self) -> None:
        """Say this dialer is alive."""
        ...

    async def leave(self) -> None:
        """Say this dialer is gone (a stop)."""
        ...

    async def members(self) -> set[str]:
        """The ids of the dialers alive now."""
        ...


# --- telephony ------------------------------------------------------------------------------
# The dialer hands every call a deterministic call id (campaign, part, phone, attempt). An
# adapter must be idempotent on it: placing a call id it has seen returns the first call's
# result and rings nobody, and `result_of` answers for calls placed before a crash. The
# simulated carrier is the default adapter; adapters/sip is the SIP trunk.


class CallRequest(msgspec.Struct, frozen=True):
    """One call to place: who, from which number, and what the callee will hear."""

    call_id: str
    campaign_id: int  # the main campaign (smart parts too): whose message the callee hears
    part: int  # 0 = the main pass, n = smart part n
    phone: str  # E.164
    caller_number: str | None  # None: the carrier's anonymous line
    message_duration_s: float
    amd: bool  # detect answering machines (outcome "machine" instead of "answered")
    ivr: Ivr | None  # listen for words or keys after the message
    record: bool
    started_at: dt.datetime  # the dialer's clock


class CallResult(msgspec.Struct, frozen=True):
    """What became of a call. `duration_s` is the talk time (0 when nobody answered)."""

    call_id: str
    outcome: CallOutcome
    duration_s: float
    answer_text: str = ""  # the word said or the key pressed
    lead: bool = False  # the answer is one of the IVR's lead words or keys
    reason: str = ""  # why a call failed without reaching the carrier ("interrupted")
    # A failure the carrier-health breaker counts (the trunk refused or did not answer).
    carrier_error: str = ""
    recording_wav: bytes | None = None  # the callee's side, when the carrier records it


class Telephony(Protocol):
    @property
    def background(self) -> bool:
        """Calls take real time (a trunk): the dialer does not wait for them in a pass, and
        a call whose result could not be recorded stays `placing` for recovery."""
        ...

    @property
    def channels_total(self) -> int | None:
        """The lines the carrier has (the scheduler claims no more calls than are free);
        None: as many as asked for."""
        ...

    def note_for(self, ivr: Ivr | None) -> str:
        """What this carrier cannot do for a campaign with this IVR ("" for nothing): the
        campaign's system comment at its start."""
        ...

    async def place_call(self, request: CallRequest) -> CallResult:
        """Places the call (once per call id) and waits for its result."""
        ...

    async def place_calls(self, requests: Sequence[CallRequest]) -> list[CallResult]:
        """Places a burst (each call id once) and returns their results in request order.
        The adapter bounds its own concurrency; a raise leaves every call of the burst
        unresolved (the dialer asks `result_of` or places them again with the same ids)."""
        ...

    async def result_of(self, call_id: str) -> CallResult | None:
        """The result of a call placed earlier, or None if it was never placed."""
        ...


# --- the campaign service -------------------------------------------------------------------
class CommandSender(Protocol):
    async def send(self, command: CampaignCommand) -> CommandReply | None:
        """Ask the campaign service to record something; None when nobody answers."""
        ...


class CampaignLog(Protocol):
    async def behind(self) -> int:
        """How many campaign events in the stream when first asked are not yet applied to
        the store (0: caught up)."""
        ...


# --- objects and secrets --------------------------------------------------------------------
class BlobStore(Protocol):
    async def get(self, bucket: str, name: str) -> bytes:
        """The object's content; a LookupError when there is no such object."""
        ...

    async def put(self, bucket: str, name: str, data: bytes) -> None: ...


class SecretReader(Protocol):
    async def get(self, ref: str) -> str:
        """The webhook secret sealed under `ref`; a LookupError when it cannot be read."""
        ...


# --- sound ----------------------------------------------------------------------------------
class SynthesisError(RuntimeError):
    """Speech could not be synthesized (empty text, unknown voice, library failure)."""


class SpeechSynthesizer(Protocol):
    def synthesize(self, text: str, voice: str = "ru") -> bytes:
        """WAV bytes of `text` spoken; a SynthesisError when it cannot be."""
        ...


class UnplayableAudio(ValueError):
    """Bytes that are not a playable message (not WAV or MP3, a header that lies, too long)."""


class Message(Protocol):
    """A campaign's message decoded once into the form it is played in: mono 16-bit PCM."""

    @property
    def pcm(self) -> bytes: ...

    @property
    def sample_rate(self) -> int: ...

    @property
    def nbytes(self) -> int: ...

    @property
    def duration_s(self) -> float: ...

    def wav(self) -> bytes: ...


class AudioCodec(Protocol):
    def to_message(self, data: bytes) -> Message:
        """The message of an upload or a synthesized text; UnplayableAudio if it is none."""
        ...

    def duration_s(self, data: bytes) -> float:
        """The decoded length of a WAV or MP3, in seconds."""
        ...


# The recording of a call the simulated carrier placed: the message, then what the callee
# answered (`answer_text`), as one WAV (a real carrier hands the dialer its own).
SimulatedRecorder = Callable[[Message, str], bytes]
