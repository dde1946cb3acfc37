"""Every length limit of the contract, declared once (docs/API.md "Limits and hostile input").

The numbers are used as `msgspec.Meta` constraints on the contract structs (options.py,
commands.py), so any decode or convert of a command or of the create body checks them: the
gateway when it reads a request, the campaign service again when it decodes a command. A
check elsewhere imports the number from here instead of writing its own literal.

With these limits no accepted command, nor the event it stores, comes near NATS's 1 MiB
max payload; a message that would still exceed it is never sent (`zvonar_runtime.payload`).
"""

from __future__ import annotations

from typing import Annotated

import msgspec

MAX_NAME = 200
MAX_COMMENT = 1_000
MAX_TTS_TEXT = 5_000
MAX_LEAD_WORDS = 20
MAX_LEAD_WORD = 50
MAX_LEAD_KEYS = 12
MAX_WEBHOOK_URL = 2_000
MAX_WEBHOOK_SECRET = 200
MAX_IDEMPOTENCY_KEY = 200
MAX_REQUEST_ID = 128
# A reason given by a moderator, the dialer or a customer (reject, pause, stop, failure).
MAX_REASON = 1_000
# An uploaded audio file's own name, and the name of an object in a NATS object store.
MAX_FILE_NAME = 255
MAX_OBJECT_NAME = 255
MAX_PHONE = 32  # a phone number as typed, before normalisation (E.164 has at most 16)
MAX_TIMEZONE = 64
MAX_HASH = 128  # a hex digest (sha256: 64)
MAX_WEEKDAYS = 7
# Numbers per stop-list request: 10,000 E.164 numbers are about 170 kB on the wire.
MAX_STOP_LIST_PHONES = 10_000
# Campaigns per delete request.
MAX_DELETE_IDS = 1_000

Name = Annotated[str, msgspec.Meta(max_length=MAX_NAME)]
CommentText = Annotated[str, msgspec.Meta(max_length=MAX_COMMENT)]
TtsText = Annotated[str, msgspec.Meta(max_length=MAX_TTS_TEXT)]
LeadWord = Annotated[str, msgspec.Meta(max_length=MAX_LEAD_WORD)]
LeadWords = Annotated[list[LeadWord], msgspec.Meta(max_length=MAX_LEAD_WORDS)]
LeadKey = Annotated[str, msgspec.Meta(max_length=1)]
LeadKeys = Annotated[list[LeadKey], msgspec.Meta(max_length=MAX_LEAD_KEYS)]
WebhookUrl = Annotated[str, msgspec.Meta(max_length=MAX_WEBHOOK_URL)]
WebhookSecret = Annotated[str, msgspec.Meta(max_length=MAX_WEBHOOK_SECRET)]
SecretRef = Annotated[str, msgspec.Meta(max_length=MAX_HASH)]
IdempotencyKey = Annotated[str, msgspec.Meta(max_length=MAX_IDEMPOTENCY_KEY)]
Reason = Annotated[str, msgspec.Meta(max_length=MAX_REASON)]
FileName = Annotated[str, msgspec.Meta(max_length=MAX_FILE_NAME)]
ObjectName = Annotated[str, msgspec.Meta(max_length=MAX_OBJECT_NAME)]
Phone = Annotated[str, msgspec.Meta(max_length=MAX_PHONE)]
Timezone = Annotated[str, msgspec.Meta(max_length=MAX_TIMEZONE)]
Hash = Annotated[str, msgspec.Meta(max_length=MAX_HASH)]
TimeOfDay = Annotated[str, msgspec.Meta(max_length=5)]  # "HH:MM"
# A number the gateway normalised: "+" and at most 15 digits (ITU-T E.164).
E164 = Annotated[str, msgspec.Meta(pattern=r"^\+[1-9][0-9]{1,14}$")]
StopListPhones = Annotated[list[E164], msgspec.Meta(max_length=MAX_STOP_LIST_PHONES)]
DeleteIds = Annotated[list[int], msgspec.Meta(max_length=MAX_DELETE_IDS)]


def field_error(exc: msgspec.ValidationError) -> tuple[str, str]:
    """("ivr.lead_words", "Expected `array` of length <= 20") from msgspec's
    "Expected `array` of length <= 20 - at `$.ivr.lead_words`" ("" when it names no field)."""
    message, _, path = str(exc).partition(" - at `$")
    return path.rstrip("`").lstrip("."), message
