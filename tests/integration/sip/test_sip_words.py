"""IVR words over SIP with no recognizer, through every service against SIPp: the campaign
runs, its calls are answered with an empty `answer_text` and no lead, and its system comment
says why — once, from the start, in GET /campaigns/{id} and (in Russian) on the page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import create, get
from tests.stack import Stack, wait_for
from zvonar_dialer.adapters.sip.carrier import NO_RECOGNIZER

from .conftest import Sipp, free_ports

pytestmark = [pytest.mark.integration, pytest.mark.e2e, pytest.mark.postgres]

PHONES = ["+79161270001", "+79161270002"]
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


def page_in_russian(stack: Stack, key: str, campaign_id: int) -> str:
    """The campaign's report page as a signed-in customer sees it (Russian is the default)."""
    with httpx.Client(base_url=stack.base_url, timeout=30) as web:
        home = web.get("/")
        token = _CSRF.search(home.text)
        assert token, "the page carries no CSRF token"
        signed = web.post("/sign-in", data={"_csrf": token.group(1), "api_key": key})
        assert signed.status_code == 303, signed.text
        page = web.get(f"/campaigns/{campaign_id}/report")
        assert page.status_code == 200, page.text
        return page.text


def run_campaign(stack: Stack) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A words campaign to PHONES, run to its end: (the campaign, its report, the page)."""
    # The first account of a fresh stack can take tens of seconds on a busy machine.
    admin = {"Authorization": f"Bearer {stack.admin_token}"}
    body = {"name": "Слова по SIP", "timezone": "Europe/Moscow"}
    made = httpx.post(f"{stack.base_url}/api/v1/accounts", json=body, headers=admin, timeout=180)
    assert made.status_code == 201, made.text
    key = made.json()["api_key"]
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=stack.base_url, headers=auth, timeout=120) as client:
        created = create(
            client,
            name="Опрос словами",
            phones=PHONES,
            ivr={"kind": "words", "lead_words": ["да", "интересно"]},
        )
        cid = created["id"]

        def finished() -> dict[str, Any] | None:
            campaign = get(client, cid)
            return campaign if campaign["status"] == "finished" else None

        campaign = wait_for(finished, 180, 0.25, f"campaign {cid} to finish")
        report = client.get(f"/api/v1/campaigns/{cid}/report")
        assert report.status_code == 200, report.text
    return campaign, dict(report.json()), page_in_russian(stack, key, cid)


async def test_a_words_campaign_over_sip_says_why_it_has_no_answers(
    sipp_factory: Callable[..., Awaitable[Sipp]],
    pg_database_factory: Callable[[], str],
    tmp_path: Any,
) -> None:
    sipp = await sipp_factory("uas_answer", rtp_echo=True, calls=len(PHONES))
    rtp = free_ports(40)
    stack = Stack(
        root=tmp_path / "stack",
        database_url=pg_database_factory(),
        time_scale=1.0,
        extra_env={
            "DIALER_CARRIER": "sip",
            "DIALER_SIP_TRUNK": f"sip:127.0.0.1:{sipp.port}",
            "DIALER_SIP_BIND": f"127.0.0.1:{free_ports(1)}",
            "DIALER_SIP_PUBLIC_HOST": "127.0.0.1",
            "DIALER_RTP_PORTS": f"{rtp}-{rtp + 39}",
            "DIALER_SIP_CPS": "50",
            "DIALER_IVR_WAIT_S": "1",
        },
    )
    try:
        await asyncio.to_thread(stack.start)
        campaign, report, page = await asyncio.to_thread(run_campaign, stack)
    finally:
        await asyncio.to_thread(stack.stop)

    assert campaign["comment"]["system"] == NO_RECOGNIZER
    # Once per campaign: the start carries it, no call adds another.
    started = [h for h in campaign["history"] if h["type"] == "CampaignStarted"]
    assert len(started) == 1 and started[0].get("note") == NO_RECOGNIZER
    calls = report["calls"]
    assert sorted(c["phone"] for c in calls) == PHONES
    for call in calls:
        assert (call["outcome"], call["answer_text"], call["lead"]) == ("answered", "", False)
    assert campaign["size"]["answered"] == len(PHONES) and campaign["size"]["leads"] == 0
    assert "Ответы словами по SIP не распознаются" in page
    await sipp.finished()
    assert len(sipp.received("INVITE")) == len(PHONES)
