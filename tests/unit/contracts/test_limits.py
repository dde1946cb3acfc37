"""The contract's length limits (docs/API.md "Limits and hostile input"), declared once on
the structs: decoding a command refuses anything over them and names the field, and the
largest command they allow is still far below NATS's 1 MiB max payload."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest

from zvonar_contracts import limits
from zvonar_contracts.codec import decode, encode
from zvonar_contracts.commands import (
    AddToStopList,
    CreateCampaign,
    DeleteCampaigns,
    FailCampaign,
    ModerateCampaign,
    PauseCampaign,
    SetComment,
    StopCampaign,
)
from zvonar_contracts.limits import field_error
from zvonar_contracts.options import (
    CallerIdRouting,
    CallingWindow,
    CampaignOptions,
    FileAudio,
    Integration,
    KeysIvr,
    PhoneBaseRef,
    TtsAudio,
    WordsIvr,
)

ONE_MIB = 1024 * 1024
PHONES = PhoneBaseRef(bucket="phone-bases", name="a" * 64, count=3, sha256="a" * 64)


def create_json(**options: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "Акция", "audio": {"kind": "tts", "text": "Привет"}}
    base.update(options)
    return {
        "type": "CreateCampaign",
        "account_id": "acc_1",
        "account_tz": "Europe/Moscow",
        "options": base,
        "phones": msgspec.to_builtins(PHONES),
    }


def refused_field(raw: dict[str, Any], type_: type = CreateCampaign) -> str:
    with pytest.raises(msgspec.ValidationError) as caught:
        decode(msgspec.json.encode(raw), type_)
    return field_error(caught.value)[0]


# Every documented limit: the value at the limit is taken, one more is refused, by name.
CASES: list[tuple[str, Any, Any]] = [
    ("options.name", {"name": "я" * 200}, {"name": "я" * 201}),
    ("options.comment", {"comment": "c" * 1000}, {"comment": "c" * 1001}),
    (
        "options.audio.text",
        {"audio": {"kind": "tts", "text": "t" * 5000}},
        {"audio": {"kind": "tts", "text": "t" * 5001}},
    ),
    (
        "options.audio.name",
        {"audio": {"kind": "file", "file_id": "f", "name": "n" * 255}},
        {"audio": {"kind": "file", "file_id": "f", "name": "n" * 256}},
    ),
    (
        "options.ivr.lead_words",
        {"ivr": {"kind": "words", "lead_words": ["да"] * 20}},
        {"ivr": {"kind": "words", "lead_words": ["да"] * 21}},
    ),
    (
        "options.ivr.lead_words[3]",
        {"ivr": {"kind": "words", "lead_words": ["да", "ок", "хочу", "w" * 50]}},
        {"ivr": {"kind": "words", "lead_words": ["да", "ок", "хочу", "w" * 51]}},
    ),
    (
        "options.ivr.lead_keys",
        {"ivr": {"kind": "keys", "lead_keys": ["1"] * 12}},
        {"ivr": {"kind": "keys", "lead_keys": ["1"] * 13}},
    ),
    (
        "options.integration.webhook_url",
        {"integration": {"webhook_url": "https://x.test/" + "u" * 1985}},
        {"integration": {"webhook_url": "https://x.test/" + "u" * 1986}},
    ),
    (
        "options.integration.secret_ref",
        {"integration": {"webhook_url": "https://x.test/", "secret_ref": "r" * 128}},
        {"integration": {"webhook_url": "https://x.test/", "secret_ref": "r" * 129}},
    ),
    (
        "options.routing.number",
        {"routing": {"kind": "caller_id", "number": "1" * 32}},
        {"routing": {"kind": "caller_id", "number": "1" * 33}},
    ),
]


@pytest.mark.parametrize(("field", "at_limit", "over"), CASES, ids=[c[0] for c in CASES])
def test_each_option_limit_names_its_field(field: str, at_limit: Any, over: Any) -> None:
    decode(msgspec.json.encode(create_json(**at_limit)), CreateCampaign)
    assert refused_field(create_json(**over)) == field


def test_idempotency_key_and_other_command_texts_are_limited() -> None:
    raw = create_json()
    assert refused_field({**raw, "idempotency_key": "k" * 201}) == "idempotency_key"
    decode(msgspec.json.encode({**raw, "idempotency_key": "k" * 200}), CreateCampaign)
    base = {"campaign_id": 1_000_001}
    for type_, extra, field in [
        (ModerateCampaign, {"decision": "rejected", "decided_by": "moderator"}, "reason"),
        (PauseCampaign, {}, "reason"),
        (StopCampaign, {}, "reason"),
        (FailCampaign, {}, "reason"),
        (SetComment, {}, "text"),
    ]:
        raw = {"type": type_.__name__, **base, **extra, field: "r" * 1001}
        assert refused_field(raw, type_) == field
    stop = {"type": "AddToStopList", "account_id": "a", "phones": ["+79161234567"] * 10_001}
    assert refused_field(stop, AddToStopList) == "phones"
    delete = {"type": "DeleteCampaigns", "account_id": "a", "campaign_ids": [1] * 1001}
    assert refused_field(delete, DeleteCampaigns) == "campaign_ids"


def test_the_largest_allowed_create_is_far_below_the_broker_limit() -> None:
    # U+0001 is written as \\u0001 in JSON: six bytes a character, the worst case there is.
    worst = "\x01"
    options = CampaignOptions(
        name=worst * limits.MAX_NAME,
        audio=TtsAudio(text=worst * limits.MAX_TTS_TEXT),
        start_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC),
        routing=CallerIdRouting(number=worst * limits.MAX_PHONE),
        ivr=WordsIvr(lead_words=[worst * limits.MAX_LEAD_WORD] * limits.MAX_LEAD_WORDS),
        window=CallingWindow(days=["mon"] * limits.MAX_WEEKDAYS, from_="09:00", to="18:00"),
        integration=Integration(
            webhook_url=worst * limits.MAX_WEBHOOK_URL, secret_ref=worst * limits.MAX_HASH
        ),
        comment=worst * limits.MAX_COMMENT,
    )
    command = CreateCampaign(
        account_id="acc_1",
        account_tz=worst * limits.MAX_TIMEZONE,
        options=options,
        phones=PhoneBaseRef(
            bucket=worst * limits.MAX_OBJECT_NAME,
            name=worst * limits.MAX_OBJECT_NAME,
            count=1,
            sha256=worst * limits.MAX_HASH,
        ),
        idempotency_key=worst * limits.MAX_IDEMPOTENCY_KEY,
        request_hash=worst * limits.MAX_HASH,
    )
    payload = encode(command)
    assert decode(payload, CreateCampaign) == command  # every field at its limit is taken
    assert len(payload) < ONE_MIB / 8, len(payload)
    file_audio = msgspec.structs.replace(
        options, audio=FileAudio(file_id=worst * 255, name=worst * 255), ivr=KeysIvr(["1"] * 12)
    )
    assert len(encode(msgspec.structs.replace(command, options=file_audio))) < ONE_MIB / 8
    stop = AddToStopList(account_id="a", phones=["+999999999999999"] * 10_000)
    assert decode(encode(stop), AddToStopList) == stop
    assert len(encode(stop)) < ONE_MIB / 4, len(encode(stop))


def test_stop_list_commands_carry_e164_numbers_only() -> None:
    stop = {"type": "AddToStopList", "account_id": "a", "phones": ["+79161234567", "8916"]}
    assert refused_field(stop, AddToStopList) == "phones[1]"
