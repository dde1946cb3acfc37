"""Recovery: calls recorded as `placing` but never finished (a crash, a carrier error) are
resolved through the telephony port — the carrier's result if it placed the call, otherwise
the call placed now with the same call id — so nobody is dialled twice in a part and no
result is lost."""

from __future__ import annotations

import itertools
import time
from functools import partial

import structlog

from zvonar_dialer.adapters import store
from zvonar_dialer.service_layer.deps import Deps
from zvonar_dialer.service_layer.dialling import Placed, record, request_of

log = structlog.get_logger(__name__)


async def resolve_placing(deps: Deps) -> int:
    """Finish every call left `placing`; the number of calls resolved. While the carrier
    is down nothing is asked (the scheduler's probe says when it is back)."""
    if deps.carrier.down:
        return 0
    calls = await deps.db.run(store.placing_calls)
    calls = [c for c in calls if c.call_id not in deps.calls_in_progress]  # not lost: going on
    resolved = 0
    for campaign_id, group in itertools.groupby(calls, key=lambda c: c.campaign_id):
        campaign = await deps.db.run(partial(store.load_campaign, campaign_id=campaign_id))
        if campaign is None:
            continue
        results: list[Placed] = []
        for call in group:
            try:
                result = await deps.telephony.result_of(call.call_id)
                if result is None:
                    result = await deps.telephony.place_call(request_of(campaign, call))
            except Exception as exc:
                log.exception("call.recovery_failed", call_id=call.call_id)
                if deps.carrier.failed(exc, time.monotonic()):
                    log.error("carrier.down", error=deps.carrier.last_error)
                if deps.carrier.down:
                    break
                continue
            deps.carrier.answered()
            results.append((call, result))
        resolved += len(await record(deps, campaign, results))
        if deps.carrier.down:
            break
    if resolved:
        log.info("calls.recovered", count=resolved)
    return resolved
