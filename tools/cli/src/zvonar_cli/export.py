"""`zvonar events export`: the event log for analysts, streamed from JetStream.

Each stream is read by an ephemeral pull consumer (no acks, in memory) in batches, from a
start sequence up to the stream's tail when the export began (or `--to-seq`); a batch is
decoded with the contract types, filtered, scrubbed and written before the next is asked
for, so memory holds one batch (and, for Parquet, one row group per event type).

Filters: campaign and event type go into the consumer's subject filters (the server skips
the rest); account and time (the event's `at`) are checked here. Phone numbers are replaced
by a keyed hash (HMAC-SHA256) unless `include_phones`; secret-like fields never leave.

Output: JSON Lines (one `{"stream", "seq", "subject", "type", "event"}` a line), or a
Parquet folder with one typed table per event type: `<out>/<Type>/part-<c>-<k>.parquet`,
`c` and `k` the first sequences read from CAMPAIGN_EVENTS and CALL_EVENTS, so an export
resumed into the same folder adds a part and the same export run again replaces its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, Any, Final, Protocol
from urllib.parse import urlsplit, urlunsplit

import msgspec
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from zvonar_contracts import subjects
from zvonar_contracts.call_events import CALL_EVENT_TYPES, CallEvent
from zvonar_contracts.campaign_events import (
    CAMPAIGN_EVENT_TYPES,
    STOP_LIST_EVENT_TYPES,
    CampaignStreamEvent,
)

CAMPAIGN: Final = subjects.CAMPAIGN_EVENTS_STREAM
CALL: Final = subjects.CALL_EVENTS_STREAM
STREAM_NAMES: Final = {"campaign": CAMPAIGN, "call": CALL, CAMPAIGN: CAMPAIGN, CALL: CALL}


def _tag(cls: type) -> str:
    return str(cls.__struct_config__.tag)  # type: ignore[attr-defined]


CAMPAIGN_TYPES: Final = {_tag(c): c for c in CAMPAIGN_EVENT_TYPES}
STOP_LIST_TYPES: Final = {_tag(c): c for c in STOP_LIST_EVENT_TYPES}
CALL_TYPES: Final = {_tag(c): c for c in CALL_EVENT_TYPES}
# Every event type the streams carry -> (its stream, its contract type).
EVENT_TYPES: Final[dict[str, tuple[str, type]]] = {
    **{name: (CAMPAIGN, cls) for name, cls in CAMPAIGN_TYPES.items()},
    **{name: (CAMPAIGN, cls) for name, cls in STOP_LIST_TYPES.items()},
    **{name: (CALL, cls) for name, cls in CALL_TYPES.items()},
}
_DECODERS: Final = {
    CAMPAIGN: msgspec.json.Decoder(CampaignStreamEvent),
    CALL: msgspec.json.Decoder(CallEvent),
}


class ExportError(Exception):
    """Bad options (usage) — raised before anything is read or written."""


# --- Filters -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    since: dt.datetime | None = None  # at >= since
    until: dt.datetime | None = None  # at < until
    accounts: frozenset[str] = frozenset()
    campaigns: frozenset[int] = frozenset()
    types: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = sorted(self.types - EVENT_TYPES.keys())
        if unknown:
            raise ExportError(
                f"unknown event type {', '.join(unknown)} (one of: {', '.join(EVENT_TYPES)})"
            )
        if self.since and self.until and self.since >= self.until:
            raise ExportError("--since must be before --until")

    def subjects(self, stream: str) -> list[str]:
        """The consumer's subject filters for `stream` (none: nothing to read there). They
        never overlap, as the server requires."""
        campaigns = sorted(self.campaigns)
        if stream == CALL:
            wanted = sorted(t for t in self.types if t in CALL_TYPES)
            wanted = wanted or ([] if self.types else [">"])
            if campaigns:
                return [f"call.events.{c}.{t}" for c in campaigns for t in wanted]
            return [f"call.events.*.{t}" if t != ">" else "call.events.>" for t in wanted]
        if not self.types:
            if campaigns:  # stop-list events belong to no campaign
                return [f"campaign.events.{c}.>" for c in campaigns]
            return ["campaign.events.>"]
        lifecycle = sorted(t for t in self.types if t in CAMPAIGN_TYPES)
        stop_list = sorted(t for t in self.types if t in STOP_LIST_TYPES)
        if campaigns:
            return [f"campaign.events.{c}.{t}" for c in campaigns for t in lifecycle]
        found = [subjects.campaign_event_filter(t) for t in lifecycle]
        owners = sorted(self.accounts) or ["*"]
        found += [subjects.stop_list_event_subject(a, t) for a in owners for t in stop_list]
        return found

    def keeps(self, event: msgspec.Struct) -> bool:
        if self.accounts and getattr(event, "account_id", None) not in self.accounts:
            return False
        if self.campaigns and getattr(event, "campaign_id", None) not in self.campaigns:
            return False
        if self.types and _tag(type(event)) not in self.types:
            return False
        at: dt.datetime = event.at  # type: ignore[attr-defined]
        if self.since is not None and at < self.since:
            return False
        return self.until is None or at < self.until


def parse_moment(text: str, option: str) -> dt.datetime:
    """An ISO 8601 date or date-time; without an offset it is UTC."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ExportError(
            f"{option} is an ISO 8601 date or date-time (2026-06-17T13:00:00+03:00), not {text!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def parse_positions(values: Iterable[str], option: str) -> dict[str, int]:
    """`campaign=120` / `CALL_EVENTS=7` (repeatable) -> {stream: sequence}."""
    found: dict[str, int] = {}
    for value in values:
        name, sep, number = value.partition("=")
        stream = STREAM_NAMES.get(name.strip())
        if not sep or stream is None or not number.strip().isdigit():
            raise ExportError(
                f"{option} is STREAM=SEQUENCE with STREAM campaign or call "
                f"(campaign=120), not {value!r}"
            )
        found[stream] = int(number)
    return found


# --- Resume ----------------------------------------------------------------------------------


def read_resume_file(path: Path) -> dict[str, int]:
    """The last sequence exported of each stream; none yet (no file): {}."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        positions = raw["streams"]
        return {STREAM_NAMES[k]: int(v) for k, v in positions.items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ExportError(f"{path} is not a resume file of `zvonar events export`: {exc}") from None


def write_resume_file(path: Path, positions: Mapping[str, int]) -> None:
    """Written (atomically) only once the export is complete."""
    body = {
        "streams": dict(positions),
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


# --- Privacy ---------------------------------------------------------------------------------

# Fields that are never exported, wherever they are: the webhook secret (and its reference
# in the secrets bucket), and anything else named like a credential.
SECRET_FIELD = re.compile(r"secret|password|passwd|token|api_?key|credential", re.IGNORECASE)
# Fields holding one phone number (or a list of them), by event type; a dotted path for a
# nested one. Caller ids and the pool's numbers are hashed too: all numbers alike.
PHONE_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "CallCompleted": ("phone", "caller_number"),
    "InboundCallAnswered": ("caller", "number"),
    "CampaignNumberReleased": ("number",),
    "CampaignCreated": ("options.routing.number",),
    "StopListPhonesAdded": ("phones",),
    "StopListPhonesRemoved": ("phones",),
}
# Fields that embed the call's phone (call_id_of, recording_object): the digits are
# replaced by the same hash, so the ids stay unique and joinable.
PHONE_BEARING_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "CallCompleted": ("call_id", "recording"),
}
URL_FIELDS: Final = frozenset({"webhook_url"})
HASH_KEY_ENV: Final = "ZVONAR_EXPORT_HASH_KEY"


@dataclass(frozen=True)
class Privacy:
    include_phones: bool = False
    key: bytes = b""

    def __post_init__(self) -> None:
        if not self.include_phones and not self.key:
            raise ExportError(
                f"phone numbers are hashed with a key: set {HASH_KEY_ENV} (or --hash-key), "
                "or pass --include-phones"
            )

    def phone(self, value: str) -> str:
        """`h:` and 32 hex digits of HMAC-SHA256(key, the number in E.164): the same number
        gives the same value with the same key, in every export."""
        if self.include_phones:
            return value
        digits = value.lstrip("+")
        mac = hmac.new(self.key, f"+{digits}".encode(), hashlib.sha256).hexdigest()
        return f"h:{mac[:32]}"

    def scrub(self, type_name: str, record: dict[str, Any]) -> dict[str, Any]:
        """The event's builtins, secrets gone, URLs without credentials, phones hashed."""
        clean: dict[str, Any] = _without_secrets(record)
        if self.include_phones:
            return clean
        for field_name in PHONE_BEARING_FIELDS.get(type_name, ()):
            value, phone = clean.get(field_name), clean.get("phone")
            if isinstance(value, str) and isinstance(phone, str) and phone:
                clean[field_name] = value.replace(phone.lstrip("+"), self.phone(phone)[2:])
        for path in PHONE_FIELDS.get(type_name, ()):
            *parents, leaf = path.split(".")
            holder: Any = clean
            for name in parents:
                holder = holder.get(name) if isinstance(holder, dict) else None
            if not isinstance(holder, dict) or holder.get(leaf) is None:
                continue
            value = holder[leaf]
            holder[leaf] = (
                [self.phone(v) for v in value] if isinstance(value, list) else self.phone(value)
            )
        return clean


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (_safe_url(v) if k in URL_FIELDS and isinstance(v, str) else _without_secrets(v))
            for k, v in value.items()
            if not SECRET_FIELD.search(k)
        }
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


def _safe_url(url: str) -> str:
    """A URL without its user:password, query and fragment (tokens travel there)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


# --- Records -------------------------------------------------------------------------------

ENVELOPE: Final = ("stream", "seq", "subject", "type")


@dataclass(frozen=True)
class Event:
    stream: str
    seq: int
    subject: str
    type: str
    fields: dict[str, Any]  # the scrubbed event; datetimes and decimals as Python objects


def event_of(
    stream: str, seq: int, subject: str, data: bytes, privacy: Privacy, filters: Filters
) -> Event | None:
    """The message as an exported event; None when the filters leave it out. Raises
    msgspec.ValidationError/DecodeError for a message no contract type reads."""
    decoded = _DECODERS[stream].decode(data)
    if not filters.keeps(decoded):
        return None
    type_name = _tag(type(decoded))
    raw = msgspec.to_builtins(decoded, builtin_types=(dt.datetime, Decimal))
    return Event(stream, seq, subject, type_name, privacy.scrub(type_name, raw))


class Sink(Protocol):
    def write(self, event: Event) -> None: ...
    def commit(self) -> None: ...
    def discard(self) -> None: ...


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


class JsonlSink:
    """One JSON object a line. To a file: written aside and moved in place when complete."""

    def __init__(self, out: Path | None, stdout: IO[str]) -> None:
        self.out = out
        self._tmp = out.with_name(f".{out.name}.tmp") if out is not None else None
        self._file: IO[str] = (
            self._tmp.open("w", encoding="utf-8") if self._tmp is not None else stdout
        )

    def write(self, event: Event) -> None:
        line = {
            "stream": event.stream,
            "seq": event.seq,
            "subject": event.subject,
            "type": event.type,
            "event": event.fields,
        }
        self._file.write(json.dumps(line, ensure_ascii=False, default=_json_default) + "\n")

    def commit(self) -> None:
        self._file.flush()
        if self._tmp is not None and self.out is not None:
            self._file.close()
            self._tmp.replace(self.out)

    def discard(self) -> None:
        if self._tmp is not None:
            self._file.close()
            self._tmp.unlink(missing_ok=True)
        else:
            with contextlib.suppress(OSError):  # stdout may be a pipe nobody reads any more
                self._file.flush()


# --- Parquet ---------------------------------------------------------------------------------

MONEY_SCALE: Final = 6  # costs summed exactly, as the stats service does (micro-units)
MONEY = Decimal(1).scaleb(-MONEY_SCALE)


def arrow_schema(type_name: str) -> Any:
    """The typed Parquet schema of an event type, from its msgspec contract: ints as int64,
    times as timestamp[us, UTC], money as decimal(20, 6), literals and enums as strings,
    lists as lists, nested structs (and tagged unions of them) as struct columns; the
    secret-like fields left out. The envelope columns come first."""
    import pyarrow as pa

    info = msgspec.inspect.type_info(EVENT_TYPES[type_name][1])
    assert isinstance(info, msgspec.inspect.StructType)
    columns = [
        pa.field("stream", pa.string(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("subject", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
    ]
    columns += _struct_fields(info)
    return pa.schema(columns)


def _struct_fields(info: msgspec.inspect.StructType) -> list[Any]:
    import pyarrow as pa

    found = []
    if info.tag_field is not None and info.tag_field != "type":
        found.append(pa.field(info.tag_field, pa.string()))
    for f in info.fields:
        if SECRET_FIELD.search(f.encode_name):
            continue
        found.append(pa.field(f.encode_name, _arrow_type(f.type)))
    return found


def _arrow_type(info: msgspec.inspect.Type) -> Any:
    import pyarrow as pa

    mi = msgspec.inspect
    if isinstance(info, mi.Metadata):
        return _arrow_type(info.type)
    if isinstance(info, mi.BoolType):
        return pa.bool_()
    if isinstance(info, mi.IntType):
        return pa.int64()
    if isinstance(info, mi.FloatType):
        return pa.float64()
    if isinstance(info, mi.StrType | mi.LiteralType | mi.EnumType):
        return pa.string()
    if isinstance(info, mi.DecimalType):
        return pa.decimal128(20, MONEY_SCALE)
    if isinstance(info, mi.DateTimeType):
        return pa.timestamp("us", tz="UTC")
    if isinstance(info, mi.ListType):
        return pa.list_(_arrow_type(info.item_type))
    if isinstance(info, mi.StructType):
        return pa.struct(_struct_fields(info))
    if isinstance(info, mi.UnionType):
        members = [t for t in info.types if not isinstance(t, mi.NoneType)]
        if len(members) == 1:
            return _arrow_type(members[0])
        if all(isinstance(t, mi.StructType) for t in members):
            # A tagged union (Audio, Routing, Ivr): one struct with the tag and every
            # member's fields, null where a member has none.
            merged: dict[str, Any] = {}
            for member in members:
                for column in _struct_fields(member):  # type: ignore[arg-type]
                    merged.setdefault(column.name, column)
            return pa.struct(list(merged.values()))
        if all(isinstance(t, mi.StrType | mi.LiteralType | mi.EnumType) for t in members):
            return pa.string()
    raise TypeError(f"no Parquet column type for {info!r}")


def _money(value: Any) -> Any:
    """Decimals to the column's scale (charges are kopecks: exact)."""
    if isinstance(value, Decimal):
        return value.quantize(MONEY, rounding=ROUND_HALF_UP)
    if isinstance(value, dict):
        return {k: _money(v) for k, v in value.items()}
    return value


@dataclass
class _TypeWriter:
    final: Path
    tmp: Path
    schema: Any
    writer: Any
    rows: list[dict[str, Any]] = field(default_factory=list)


class ParquetSink:
    """A folder of typed tables, one per event type, each written a row group at a time
    with pyarrow's ParquetWriter (aside, moved in place when the export is complete)."""

    def __init__(self, out: Path, part: str, row_group: int = 10_000) -> None:
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise ExportError(
                "--format parquet needs pyarrow: `uv sync --group analyst` in the workspace, "
                "or `pip install 'zvonar-cli[parquet]'`"
            ) from None
        if out.exists() and not out.is_dir():
            raise ExportError(f"--out {out} is a file; the Parquet export writes a folder")
        self.out = out
        self.part = part
        self.row_group = row_group
        self._writers: dict[str, _TypeWriter] = {}

    def write(self, event: Event) -> None:
        writer = self._writers.get(event.type) or self._open(event.type)
        row = {
            "stream": event.stream,
            "seq": event.seq,
            "subject": event.subject,
            "type": event.type,
            **_money(event.fields),
        }
        writer.rows.append(row)
        if len(writer.rows) >= self.row_group:
            self._flush(writer)

    def _open(self, type_name: str) -> _TypeWriter:
        import pyarrow.parquet as pq

        folder = self.out / type_name
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{self.part}.parquet"
        tmp = folder / f".{self.part}.parquet.tmp"
        schema = arrow_schema(type_name)
        writer = _TypeWriter(final, tmp, schema, pq.ParquetWriter(tmp, schema))
        self._writers[type_name] = writer
        return writer

    def _flush(self, writer: _TypeWriter) -> None:
        import pyarrow as pa

        if writer.rows:
            writer.writer.write_table(pa.Table.from_pylist(writer.rows, schema=writer.schema))
            writer.rows = []

    def commit(self) -> None:
        for writer in self._writers.values():
            self._flush(writer)
            writer.writer.close()
        for writer in self._writers.values():
            writer.tmp.replace(writer.final)

    def discard(self) -> None:
        writers, self._writers = list(self._writers.values()), {}
        for writer in writers:
            try:
                writer.writer.close()
            finally:
                writer.tmp.unlink(missing_ok=True)


# --- Reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raw:
    seq: int
    subject: str
    data: bytes


def _positions(msg: Any) -> tuple[int, int, int]:
    """(stream sequence, consumer sequence, pending) from the ack subject, without nats-py's
    Metadata (a dataclass and a datetime a message)."""
    tokens = (msg.reply or "").split(".")
    if len(tokens) == 9 and tokens[0] == "$JS":
        return int(tokens[5]), int(tokens[6]), int(tokens[8])
    meta = msg.metadata
    return int(meta.sequence.stream), int(meta.sequence.consumer), int(meta.num_pending)


class StreamReader:
    """Reads `filters` of one stream from `start` to `end` in batches: an ephemeral pull
    consumer without acks, made again from the last sequence read if a message went
    missing on the way (its consumer sequences are counted, as an ordered consumer does)."""

    def __init__(
        self,
        js: JetStreamContext,
        stream: str,
        filters: list[str],
        start: int,
        end: int,
        *,
        batch: int,
        timeout: float,
    ) -> None:
        self.js, self.stream, self.filters = js, stream, filters
        self.start, self.end, self.batch, self.timeout = start, end, batch, timeout
        self.pending = 0  # messages matching the filters from `start`, as the server counts
        self._sub: Any = None
        self._consumer = ""

    async def _open(self, start: int) -> None:
        await self._close()
        config = ConsumerConfig(
            ack_policy=AckPolicy.NONE,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            filter_subjects=self.filters,
            inactive_threshold=30.0,
            mem_storage=True,
            num_replicas=1,
        )
        info = await self.js.add_consumer(self.stream, config)
        self._consumer = str(info.name)
        self.pending = int(info.num_pending or 0)
        self._sub = await self.js.pull_subscribe_bind(consumer=self._consumer, stream=self.stream)

    async def _close(self) -> None:
        if self._sub is not None:
            sub, self._sub = self._sub, None
            # Best effort: NATS may be gone (the consumer then goes by itself after 30 s
            # of inactivity), and the error that brought us here is the one to tell.
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
            with contextlib.suppress(Exception):
                await self.js.delete_consumer(self.stream, self._consumer)

    async def expected(self) -> int:
        """How many messages the export will read here (at most)."""
        if self._sub is None:
            await self._open(self.start)
        return min(self.pending, self.end - self.start + 1)

    async def batches(self) -> AsyncIterator[list[Raw]]:
        if self.end < self.start:
            return
        if self._sub is None:
            await self._open(self.start)
        last = self.start - 1
        consumer_seq = 0
        try:
            while self.pending > 0 and last < self.end:
                msgs = await self._sub.fetch(min(self.batch, self.pending), timeout=self.timeout)
                found: list[Raw] = []
                for msg in msgs:
                    seq, cseq, self.pending = _positions(msg)
                    if cseq != consumer_seq + 1 or seq <= last:  # one went missing: again
                        await self._open(last + 1)
                        consumer_seq = 0
                        break
                    consumer_seq = cseq
                    if seq > self.end:
                        self.pending = 0
                        break
                    found.append(Raw(seq, msg.subject, msg.data))
                    last = seq
                if found:
                    yield found
        finally:
            await self._close()


# --- The export ------------------------------------------------------------------------------


@dataclass
class Outcome:
    written: int = 0
    undecodable: list[int] = field(default_factory=list)  # sequences no contract reads
    positions: dict[str, int] = field(default_factory=dict)  # stream -> last sequence read


ProgressHook = Callable[[str, int | None, int], None]  # (stream, total or None, advance)


async def export_streams(
    js: JetStreamContext,
    sink: Sink,
    *,
    filters: Filters,
    privacy: Privacy,
    starts: Mapping[str, int],
    ends: Mapping[str, int],
    batch: int,
    timeout: float,
    progress: ProgressHook,
) -> Outcome:
    """Reads both streams (CAMPAIGN_EVENTS first) into `sink`. `starts`/`ends`: the first
    and last sequence to read per stream (default: 1 and the tail now). The sink is
    committed only when both streams are read; on any error it is discarded."""
    outcome = Outcome()
    try:
        for stream in (CAMPAIGN, CALL):
            try:
                info = await js.stream_info(stream)
            except NotFoundError:
                continue
            start = max(1, starts.get(stream, 1))
            end = min(int(info.state.last_seq), ends.get(stream, int(info.state.last_seq)))
            outcome.positions[stream] = max(end, start - 1)
            wanted = filters.subjects(stream)
            if not wanted or end < start:
                progress(stream, 0, 0)
                continue
            reader = StreamReader(js, stream, wanted, start, end, batch=batch, timeout=timeout)
            progress(stream, await reader.expected(), 0)
            async for raws in reader.batches():
                for raw in raws:
                    try:
                        event = event_of(stream, raw.seq, raw.subject, raw.data, privacy, filters)
                    except (msgspec.DecodeError, msgspec.ValidationError):
                        outcome.undecodable.append(raw.seq)
                        continue
                    if event is not None:
                        sink.write(event)
                        outcome.written += 1
                progress(stream, None, len(raws))
        sink.commit()
    except BaseException:
        sink.discard()
        raise
    return outcome
