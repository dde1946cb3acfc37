"""The exporter's rules without NATS: subject filters, phone hashing and secrets for every
event type of the contracts, the typed Parquet schema of each, row groups."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zvonar_cli import export as exporting
from zvonar_cli.export import (
    CALL,
    CAMPAIGN,
    EVENT_TYPES,
    PHONE_FIELDS,
    SECRET_FIELD,
    Event,
    ExportError,
    Filters,
    ParquetSink,
    Privacy,
    arrow_schema,
)

AT = dt.datetime(2026, 6, 17, 13, 0, tzinfo=dt.UTC)
# Field names that hold a phone number wherever they appear in a contract.
PHONE_NAMES = frozenset({"phone", "phones", "caller", "number", "caller_number"})


def _text(info: msgspec.inspect.Type) -> bool:
    """A string, an optional one or a list of them: what can hold phone numbers."""
    mi = msgspec.inspect
    if isinstance(info, mi.Metadata):
        return _text(info.type)
    if isinstance(info, mi.UnionType):
        return any(_text(t) for t in info.types)
    if isinstance(info, mi.ListType):
        return _text(info.item_type)
    return isinstance(info, mi.StrType)


def _fields(info: msgspec.inspect.Type, prefix: str = "") -> list[str]:
    """Every text field's path in a struct type, nested structs (and unions) included."""
    mi = msgspec.inspect
    if isinstance(info, mi.UnionType):
        return [p for t in info.types for p in _fields(t, prefix)]
    if isinstance(info, mi.Metadata):
        return _fields(info.type, prefix)
    if not isinstance(info, mi.StructType):
        return []
    found = []
    for f in info.fields:
        path = f"{prefix}{f.encode_name}"
        found += [path] if _text(f.type) else []
        found += _fields(f.type, path + ".")
    return found


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_every_phone_field_of_every_event_type_is_hashed(type_name: str) -> None:
    paths = _fields(msgspec.inspect.type_info(EVENT_TYPES[type_name][1]))
    phone_like = {p for p in paths if p.rsplit(".", 1)[-1] in PHONE_NAMES}
    assert phone_like == set(PHONE_FIELDS.get(type_name, ())), (
        f"{type_name}: phone fields {sorted(phone_like)}, hashed {PHONE_FIELDS.get(type_name)}"
    )


@pytest.mark.parametrize("type_name", sorted(EVENT_TYPES))
def test_every_event_type_has_a_typed_schema_without_secrets(type_name: str) -> None:
    schema = arrow_schema(type_name)
    assert schema.names[:4] == ["stream", "seq", "subject", "type"]
    assert schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("schema_version").type == pa.int64()

    def names(t: Any, prefix: str = "") -> list[str]:
        if pa.types.is_struct(t):
            return [n for f in t for n in [prefix + f.name, *names(f.type, f"{prefix}{f.name}.")]]
        if pa.types.is_list(t):
            return names(t.value_type, prefix)
        return []

    every = [n for f in schema for n in [f.name, *names(f.type, f.name + ".")]]
    assert not [n for n in every if SECRET_FIELD.search(n)]
    assert not [f.name for f in schema if f.type == pa.string() and f.name == "payload"]


def test_subject_filters_narrow_the_read_and_never_overlap() -> None:
    assert Filters().subjects(CAMPAIGN) == ["campaign.events.>"]
    assert Filters().subjects(CALL) == ["call.events.>"]
    both = Filters(campaigns=frozenset({7, 5}))
    assert both.subjects(CAMPAIGN) == ["campaign.events.5.>", "campaign.events.7.>"]
    assert both.subjects(CALL) == ["call.events.5.>", "call.events.7.>"]
    calls = Filters(types=frozenset({"CallCompleted"}))
    assert calls.subjects(CAMPAIGN) == []  # nothing to read there
    assert calls.subjects(CALL) == ["call.events.*.CallCompleted"]
    mixed = Filters(
        types=frozenset({"CampaignCreated", "StopListPhonesAdded"}), accounts=frozenset({"acc_1"})
    )
    assert mixed.subjects(CAMPAIGN) == [
        "campaign.events.*.CampaignCreated",
        "campaign.events.stoplist.acc_1.StopListPhonesAdded",
    ]
    scoped = Filters(types=frozenset({"StopListPhonesAdded"}), campaigns=frozenset({5}))
    assert scoped.subjects(CAMPAIGN) == []  # stop-list events belong to no campaign


def test_bad_filters_are_refused() -> None:
    with pytest.raises(ExportError, match="unknown event type CallLost"):
        Filters(types=frozenset({"CallLost"}))
    with pytest.raises(ExportError, match="--since must be before --until"):
        Filters(since=AT, until=AT)
    with pytest.raises(ExportError, match="ZVONAR_EXPORT_HASH_KEY"):
        Privacy()
    with pytest.raises(ExportError, match="STREAM=SEQUENCE"):
        exporting.parse_positions(["stats=3"], "--from-seq")
    assert exporting.parse_moment("2026-06-17", "--since") == dt.datetime(
        2026, 6, 17, tzinfo=dt.UTC
    )


def test_a_webhook_url_loses_its_credentials_and_query() -> None:
    record = {
        "options": {
            "integration": {
                "webhook_url": "https://u:p@hooks.example:8443/zvonar/in?token=t#f",
                "secret_ref": "r",
                "secret": "s",
            }
        },
        "api_key": "zk",
        "text": "ok",
    }
    clean = Privacy(key=b"k").scrub("CampaignCreated", record)
    assert clean == {
        "options": {"integration": {"webhook_url": "https://hooks.example:8443/zvonar/in"}},
        "text": "ok",
    }


def test_hashes_are_keyed_and_ignore_the_plus() -> None:
    one, two = Privacy(key=b"one"), Privacy(key=b"two")
    assert one.phone("+79160000001") == one.phone("79160000001") != two.phone("+79160000001")
    assert Privacy(include_phones=True).phone("+79160000001") == "+79160000001"


def _event(seq: int) -> Event:
    fields = {
        "campaign_id": 1,
        "account_id": "a",
        "at": AT,
        "schema_version": 1,
        "call_id": f"1-0-h-{seq}",
        "phone": "h:00",
        "part": 0,
        "attempt": seq,
        "started_at": AT,
        "outcome": "answered",
        "duration_s": 1.0,
        "billed_s": 1,
        "cost": Decimal("0.10"),
        "answer_text": "",
        "lead": False,
        "recording": None,
        "caller_number": None,
        "final": True,
        "reason": "",
    }
    return Event(CALL, seq, "call.events.1.CallCompleted", "CallCompleted", fields)


def test_parquet_is_written_a_row_group_at_a_time_and_moved_in_place(tmp_path: Path) -> None:
    sink = ParquetSink(tmp_path / "out", "part-1-1", row_group=2)
    for seq in range(1, 6):
        sink.write(_event(seq))
    final = tmp_path / "out" / "CallCompleted" / "part-1-1.parquet"
    assert not final.exists()  # written aside until the export is complete
    sink.commit()
    table = pq.ParquetFile(final)
    assert table.metadata.num_row_groups == 3
    assert table.read().column("seq").to_pylist() == [1, 2, 3, 4, 5]
    assert [p.name for p in final.parent.iterdir()] == ["part-1-1.parquet"]


def test_a_discarded_parquet_export_leaves_nothing(tmp_path: Path) -> None:
    sink = ParquetSink(tmp_path / "out", "part-1-1", row_group=2)
    for seq in range(1, 4):
        sink.write(_event(seq))
    sink.discard()
    assert list((tmp_path / "out").rglob("*.parquet*")) == []


def test_jsonl_keeps_times_and_money_exact(tmp_path: Path) -> None:
    out = tmp_path / "e.jsonl"
    sink = exporting.JsonlSink(out, open(tmp_path / "unused", "w"))
    sink.write(_event(1))
    sink.commit()
    [line] = [json.loads(x) for x in out.read_text().splitlines()]
    assert line["event"]["cost"] == "0.10" and line["event"]["at"] == "2026-06-17T13:00:00+00:00"
