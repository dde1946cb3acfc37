"""The moderator's view (signed in with the admin token): campaigns in clarification with
approve and reject-with-reason."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath

from zvonar_audio import AudioRejected, audio_format
from zvonar_contracts.commands import ModerateCampaign
from zvonar_contracts.limits import MAX_REASON
from zvonar_contracts.options import FileAudio
from zvonar_contracts.queries import CampaignPage, GetCampaign, GetModerationQueue
from zvonar_contracts.subjects import AUDIO_BUCKET, uploaded_audio_object
from zvonar_gateway.http.routes.common import accounts_of
from zvonar_gateway.service_layer.campaigns import owner_of, read_detail
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.web.auth import backend_of, require_moderator
from zvonar_gateway.web.moderation_view import load_morphology, said
from zvonar_gateway.web.render import flash, html, words_of
from zvonar_gateway.web.report_routes import page_number
from zvonar_gateway.web.session import check_csrf
from zvonar_gateway.web.view import row_view

PER_PAGE = 50


@get("/moderation", include_in_schema=False)
async def queue(request: Request[Any, Any, Any]) -> Response[str]:
    require_moderator(request)
    reply = await backend_of(request).query(
        GetModerationQueue(page=page_number(request.query_params.get("page")), per_page=PER_PAGE)
    )
    if not isinstance(reply, CampaignPage):
        raise ApiError(503, "service_unavailable", "the stats service answered out of turn")
    words, rows = words_of(request), []
    # What each campaign says is in its options: one read each, all at once.
    details = await asyncio.gather(
        *(read_detail(backend_of(request), None, view.id) for view in reply.items)
    )
    if details:
        await load_morphology()
    for view, detail in zip(reply.items, details, strict=True):
        # A moderator sees times in the owner's timezone, as the customer would.
        owner = await accounts_of(request).by_id(view.account_id)
        tz = owner.timezone if owner else "UTC"
        says = said(detail.options, view.comment.system, view.size.total)
        rows.append((row_view(view, tz, words), owner.name if owner else view.account_id, says))
    return html(request, "moderation.html", rows=rows, total=reply.total)


@get("/moderation/{campaign_id:int}/audio", include_in_schema=False)
async def uploaded_audio(
    request: Request[Any, Any, Any], campaign_id: FromPath[int]
) -> Response[bytes]:
    """The file a campaign in the queue would play, for the moderator to listen to."""
    require_moderator(request)
    detail = await read_detail(backend_of(request), None, campaign_id)
    audio = detail.options.audio
    if not isinstance(audio, FileAudio):
        raise ApiError(404, "not_found", "the campaign plays synthesized text, not a file")
    name = uploaded_audio_object(detail.campaign.account_id, audio.file_id)
    data = await backend_of(request).get_object(AUDIO_BUCKET, name)
    try:
        kind = audio_format(data)
    except AudioRejected as exc:
        raise ApiError(404, "not_found", "the uploaded file is not playable audio") from exc
    return Response(data, media_type="audio/mpeg" if kind == "mp3" else "audio/wav")


@post("/moderation/{campaign_id:int}/{decision:str}", status_code=200, include_in_schema=False)
async def decide(
    request: Request[Any, Any, Any], campaign_id: FromPath[int], decision: FromPath[str]
) -> Response[str]:
    require_moderator(request)
    await check_csrf(request)
    if decision not in ("approve", "reject"):
        raise ApiError(404, "not_found", "no such decision")
    form = await request.form()
    value = form.get("reason")
    reason = value.strip()[:MAX_REASON] if isinstance(value, str) else ""
    words = words_of(request)
    if decision == "reject" and not reason:
        return flash(request, words("reason_required"), error=True, refresh=False)
    command = ModerateCampaign(
        account_id=await owner_of(backend_of(request), campaign_id),
        campaign_id=campaign_id,
        decided_by="moderator",
        reason=reason,
        decision="accepted" if decision == "approve" else "rejected",
    )
    ok = await backend_of(request).command(command)
    await backend_of(request).query(GetCampaign(campaign_id=campaign_id, min_position=ok.position))
    # The decided row is replaced by a line saying so: the queue no longer holds it. The
    # heading's count is the queue's as stats now has it (others decide too), sent as an event.
    left = await backend_of(request).query(GetModerationQueue(page=1, per_page=1))
    total = left.total if isinstance(left, CampaignPage) else None
    headers = {"HX-Trigger": json.dumps({"queue-count": total})} if total is not None else None
    return html(
        request, "_decided.html", campaign_id=campaign_id, decision=decision, headers=headers
    )


HANDLERS = [queue, uploaded_audio, decide]
