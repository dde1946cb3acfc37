"""Names the services build and read back: object names in the object-store buckets, call
ids and webhook ids. Each shape is written here once; whoever writes a name and whoever
reads it back use the same builder and parser.

Every object name starts with its account's id: a reference in a request body (an upload's
`file_id`) is a name inside the caller's own folder, so another account's object cannot be
named and is as unknown as a missing one.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

# --- objects --------------------------------------------------------------------------------


def account_folder(account_id: str) -> str:
    if not account_id or "/" in account_id:
        raise ValueError(f"not an account id: {account_id!r}")
    return f"{account_id}/"


def uploaded_audio_object(account_id: str, file_id: str) -> str:
    """An uploaded file (`file_id` as the API gives it, `upload/<hex>`), bucket `audio`."""
    return account_folder(account_id) + file_id


def message_folder(account_id: str, campaign_id: int) -> str:
    """Where the dialer keeps a (main) campaign's decoded message, bucket `audio`."""
    return f"{account_folder(account_id)}campaign/{campaign_id}/"


def message_object(account_id: str, campaign_id: int) -> str:
    return message_folder(account_id, campaign_id) + "message.wav"


def preview_object(account_id: str, digest: str) -> str:
    """A TTS preview of the web page's create form, bucket `audio`."""
    return f"{account_folder(account_id)}preview/{digest}.wav"


def recording_object(account_id: str, campaign_id: int, call_id: str) -> str:
    """A call's recording (`campaign_id` is the main campaign's), bucket `recordings`."""
    return f"{account_folder(account_id)}{campaign_id}/{call_id}.wav"


def call_id_of_recording(object_name: str) -> str:
    """The call id a recording's object name was built from (`recording_object`)."""
    return object_name.rsplit("/", 1)[-1].removesuffix(".wav")


def phone_base_object(account_id: str, sha256: str) -> str:
    """A normalised phone base, bucket `phone-bases`."""
    return account_folder(account_id) + sha256


# --- calls ----------------------------------------------------------------------------------
_CALL_ID = re.compile(r"(\d+)-(\d+)-(\d+)-(\d+)")


class CallId(NamedTuple):
    """What a call id is made of: the main campaign, the part (0 = the main pass), the
    phone's digits (E.164 without its `+`) and the attempt."""

    campaign_id: int
    part: int
    digits: str
    attempt: int


def call_id_of(campaign_id: int, part: int, phone: str, attempt: int) -> str:
    """The deterministic id of one attempt on one number in one part: a retry after a crash
    reuses it, so the carrier, the stream (Nats-Msg-Id) and every projection see one call."""
    return f"{campaign_id}-{part}-{phone.lstrip('+')}-{attempt}"


def parse_call_id(call_id: str) -> CallId | None:
    """The parts of a call id `call_id_of` built; None for anything else."""
    match = _CALL_ID.fullmatch(call_id)
    if match is None:
        return None
    return CallId(int(match[1]), int(match[2]), match[3], int(match[4]))


def webhook_id_of(campaign_id: int, event: str, key: str) -> str:
    """The id of the webhook post of one event (`key`: its call id): the same whenever that
    event is written again, so a replay queues nothing new and the receiver sees one id."""
    digest = hashlib.sha256(f"{campaign_id}\n{event}\n{key}".encode()).hexdigest()
    return f"msg_{digest[:32]}"


__all__ = [
    "CallId",
    "account_folder",
    "call_id_of",
    "call_id_of_recording",
    "message_folder",
    "message_object",
    "parse_call_id",
    "phone_base_object",
    "preview_object",
    "recording_object",
    "uploaded_audio_object",
    "webhook_id_of",
]
