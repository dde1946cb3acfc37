"""Campaign use cases: create (shared by the API, the page and the demo seeding) and reads
after a write. The gateway keeps no campaign state: commands go to the campaign service,
reads to stats with the command's position (read-your-writes). Answers are the read side's
views; the API and the page render them (http/render.py, web/view.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from zvonar_contracts.commands import CommandOk, CreateCampaign
from zvonar_contracts.options import FileAudio
from zvonar_contracts.queries import CampaignDetail, CampaignView, GetCampaign
from zvonar_contracts.subjects import AUDIO_BUCKET, uploaded_audio_object
from zvonar_gateway.domain.account import Account
from zvonar_gateway.domain.validation import (
    MAX_PHONES,
    BodyInvalid,
    CreateCampaignBody,
    Details,
    IntegrationBody,
    check_rules,
    convert_body,
    default_name,
    detail,
    to_options,
)
from zvonar_gateway.files.phones import (
    PhoneImport,
    PhoneImportError,
    RejectedPhone,
    TooManyPhones,
    e164_or_reason,
    normalise_phones,
    parse_phone_file,
    phone_base,
)
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.ports import Backend
from zvonar_runtime.logging import get_logger
from zvonar_runtime.webhook_targets import (
    WebhookHostUnresolved,
    WebhookTargetRefused,
    checked_addresses,
)

log = get_logger("zvonar.gateway.campaigns")

MAX_REJECTED_SHOWN = 10_000
# A conservative pace at which the campaign service takes in a phone base.
CREATE_NUMBERS_PER_SECOND = 50_000


class Created(msgspec.Struct, frozen=True):
    """A new campaign as stats shows it, and the numbers of its base that were refused:
    the first MAX_REJECTED_SHOWN (a million bad lines would make a huge answer) and how many
    there were in all."""

    campaign: CampaignView
    rejected: list[RejectedPhone]
    rejected_total: int


def phone_number(value: str) -> str | None:
    e164, _ = e164_or_reason(value, "RU")
    return e164


def request_hash(raw: Any, file_bytes: bytes | None = None) -> str:
    """sha256 of the canonical body (keys sorted) and of the phone file, if any."""
    digest = hashlib.sha256(msgspec.json.encode(raw, order="sorted"))
    if file_bytes is not None:
        digest.update(b"\x00")
        digest.update(hashlib.sha256(file_bytes).digest())
    return digest.hexdigest()


async def import_json_phones(values: list[str]) -> PhoneImport:
    if len(values) > MAX_PHONES:
        raise too_many_phones(len(values))
    # A million numbers take a while to normalise: keep the event loop free meanwhile.
    try:
        return await asyncio.to_thread(normalise_phones, values)
    except TooManyPhones as exc:
        raise too_many_phones(exc.count) from exc


def too_many_phones(count: int) -> ApiError:
    return ApiError(
        413,
        "too_many_phones",
        f"a campaign takes at most {MAX_PHONES:,} numbers; this one has {count:,}",
        [detail("phones", f"at most {MAX_PHONES} numbers")],
    )


async def webhook_url_errors(
    integration: IntegrationBody | None, *, allow_private: bool
) -> list[Any]:
    """`integration.webhook_url` on a loopback, private, link-local or reserved address is a
    422 unless private targets are allowed. A host that does not resolve yet is let through:
    the dialer checks the address again at every delivery."""
    if integration is None or allow_private:
        return []
    try:
        await checked_addresses(integration.webhook_url, allow_private=False)
    except WebhookHostUnresolved as exc:
        log.info("webhook_host_unresolved", reason=str(exc))
    except WebhookTargetRefused as exc:
        return [detail("integration.webhook_url", str(exc))]
    return []


async def check_body(
    backend: Backend,
    account: Account,
    body: CreateCampaignBody | None,
    *,
    require_phones: bool,
    faults: Details | None = None,
    allow_private_webhooks: bool = False,
) -> str | None:
    """All rules of the body (422 naming each field), with the `faults` its conversion
    found; returns the caller number in E.164.

    An object the body names is looked up in the caller's own folder only: another
    account's `file_id` is unknown there, and refused exactly like a made-up one."""
    errors = list(faults or [])
    if body is None:
        raise BodyInvalid(errors)
    now = dt.datetime.now(dt.UTC)
    errors += check_rules(body, now=now, phone_number=phone_number, require_phones=require_phones)
    if not any(error["field"] == "integration.webhook_url" for error in errors):
        errors += await webhook_url_errors(body.integration, allow_private=allow_private_webhooks)
    file_id = body.audio.file_id.strip() if isinstance(body.audio, FileAudio) else ""
    if file_id and not await backend.object_exists(
        AUDIO_BUCKET, uploaded_audio_object(account.id, file_id)
    ):
        errors.append(detail("audio.file_id", "no uploaded audio with this file_id"))
    if errors:
        raise BodyInvalid(errors)
    routing = body.routing
    return phone_number(routing.number) if hasattr(routing, "number") else None


async def create_campaign(
    backend: Backend,
    account: Account,
    body: CreateCampaignBody,
    phones: PhoneImport,
    *,
    caller: str | None,
    idempotency_key: str | None,
    body_hash: str,
) -> Created:
    """Store the base, send CreateCampaign, answer the campaign as stats shows it.

    The command is checked (storable, not over the broker's limit) before the base is
    stored; a base this request stored is removed again if the campaign service refuses
    the command, so a refused request leaves nothing behind."""
    if not phones.numbers:
        raise ApiError(
            422,
            "no_valid_phones",
            "none of the phone numbers is valid",
            [detail("phones", "no valid phone number")],
        )
    now = dt.datetime.now(ZoneInfo(account.timezone))
    name = body.name.strip() if body.name and body.name.strip() else default_name(now)
    # The webhook secret is write-only: sealed apart, the campaign keeps a reference.
    secret = body.integration.secret if body.integration else ""
    secret_ref = await backend.put_secret(secret) if secret else None
    options = to_options(body, name=name, caller_number=caller, secret_ref=secret_ref)
    ref, content = phone_base(account.id, phones.numbers)
    command = CreateCampaign(
        account_id=account.id,
        account_tz=account.timezone,
        options=options,
        phones=ref,
        idempotency_key=idempotency_key,
        request_hash=body_hash,
    )
    try:
        backend.check_command(command)
        # The same base is stored once (named by its sha256): one already there is not ours
        # to remove, nor stored again.
        stored_here = not await backend.object_exists(ref.bucket, ref.name)
        if stored_here:
            await backend.put_object(ref.bucket, ref.name, content)
    except ApiError:
        if secret_ref is not None:  # no campaign will hold it
            await backend.drop_secret(secret_ref)
        raise
    # The campaign service reads the whole base before it answers: a big base earns more time.
    timeout = backend.command_timeout + len(phones.numbers) / CREATE_NUMBERS_PER_SECOND
    try:
        ok = await backend.command(command, timeout=timeout)
    except ApiError as exc:
        # Refused (4xx): no campaign refers to the base nor holds the secret. Unanswered
        # (503): one may, so they stay.
        if exc.status_code < 500:
            if stored_here:
                await backend.delete_object(ref.bucket, ref.name)
                log.info("phone_base_removed", name=ref.name, status=exc.status_code)
            if secret_ref is not None:
                await backend.drop_secret(secret_ref)
        raise
    campaign = await campaign_after(backend, account, ok)
    return Created(
        campaign=campaign,
        rejected=phones.rejected[:MAX_REJECTED_SHOWN],
        rejected_total=len(phones.rejected),
    )


async def checked_json_body(
    backend: Backend, account: Account, raw: Any, *, allow_private_webhooks: bool = False
) -> tuple[CreateCampaignBody, str | None, PhoneImport]:
    """A JSON create body converted and checked (422 naming each field), its caller number in
    E.164, and its phone numbers imported: what a create and a quote both start from."""
    converted, faults = convert_body(raw)
    caller = await check_body(
        backend,
        account,
        converted,
        require_phones=True,
        faults=faults,
        allow_private_webhooks=allow_private_webhooks,
    )
    assert converted is not None  # check_body refused it otherwise
    return converted, caller, await import_json_phones(converted.phones or [])


async def create_from_json(
    backend: Backend,
    account: Account,
    raw: Any,
    *,
    idempotency_key: str | None = None,
    allow_private_webhooks: bool = False,
) -> Created:
    """The JSON create of docs/API.md: the API's path and the demo seeding's."""
    body, caller, phones = await checked_json_body(
        backend, account, raw, allow_private_webhooks=allow_private_webhooks
    )
    return await create_campaign(
        backend,
        account,
        body,
        phones,
        caller=caller,
        idempotency_key=idempotency_key,
        body_hash=request_hash(raw),
    )


async def create_from_file(
    backend: Backend,
    account: Account,
    raw: Any,
    data: bytes,
    filename: str,
    *,
    idempotency_key: str | None = None,
    allow_private_webhooks: bool = False,
) -> Created:
    """The multipart create: the base in `phones_file`, the rest as JSON in `campaign`."""
    converted, faults = convert_body(raw)
    caller = await check_body(
        backend,
        account,
        converted,
        require_phones=False,
        faults=faults,
        allow_private_webhooks=allow_private_webhooks,
    )
    assert converted is not None  # check_body refused it otherwise
    body = converted
    if body.phones:
        raise BodyInvalid([detail("phones", "send the numbers in phones_file or here, not both")])
    try:
        phones = await asyncio.to_thread(parse_phone_file, data, filename)
    except TooManyPhones as exc:
        raise too_many_phones(exc.count) from exc
    except PhoneImportError as exc:
        raise ApiError(422, "validation", str(exc), [detail("phones_file", str(exc))]) from exc
    return await create_campaign(
        backend,
        account,
        body,
        phones,
        caller=caller,
        idempotency_key=idempotency_key,
        body_hash=request_hash(raw, data),
    )


def campaign_id_of(ok: CommandOk) -> int:
    if ok.campaign is None:
        raise ApiError(
            503,
            "service_unavailable",
            "the campaign service gave no campaign",
            headers={"Retry-After": "1"},
        )
    return ok.campaign.campaign_id


async def campaign_after(backend: Backend, account: Account, ok: CommandOk) -> CampaignView:
    """The campaign a command touched, as stats shows it once it has applied the command."""
    return await read_campaign(backend, account, campaign_id_of(ok), min_position=ok.position)


async def read_detail(
    backend: Backend, account_id: str | None, campaign_id: int, min_position: int = 0
) -> CampaignDetail:
    reply = await backend.query(
        GetCampaign(campaign_id=campaign_id, account_id=account_id, min_position=min_position)
    )
    if not isinstance(reply, CampaignDetail):
        raise ApiError(
            503,
            "service_unavailable",
            "the stats service answered out of turn",
            headers={"Retry-After": "1"},
        )
    return reply


async def owner_of(backend: Backend, campaign_id: int) -> str:
    """The account a campaign belongs to: a moderator's command acts for it (every command
    names its account, and the campaign service checks the campaign is that account's)."""
    return (await read_detail(backend, None, campaign_id)).campaign.account_id


async def read_campaign(
    backend: Backend, account: Account, campaign_id: int, *, min_position: int = 0
) -> CampaignView:
    """The account's campaign as stats shows it once it has reached `min_position`."""
    return (await read_detail(backend, account.id, campaign_id, min_position)).campaign
