"""`python -m bench.sip_calls [--calls N] [--cps C]`: the `sip` row — answered calls one
dialer process holds at once against SIPp on loopback (`-rtp_echo`: every call's audio comes
back), while its RTP packets leave within 10 ms of their 20 ms schedule at p99; and the INVITE
rate against DIALER_SIP_CPS (SIPp's own timestamps). The carrier runs in this process, on
one event loop (one core); SIPp runs beside it."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import Result, write_json
from tests.integration.sip.conftest import Sipp, free_ports, tone_wav
from zvonar_dialer.adapters.sip.carrier import SipCarrier
from zvonar_dialer.adapters.sip.config import sip_config
from zvonar_dialer.service_layer.ports import CallRequest

GOAL = ">= 300 concurrent calls, RTP send p99 < 10 ms late, CPS within ±5 %"


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def measure(calls: int, cps: float, message_s: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        sipp = Sipp("uas_answer", Path(tmp), rtp_echo=True, calls=calls)
        await sipp.start()
        rtp = free_ports(2 * calls + 20)
        config = sip_config(
            trunk=f"sip:127.0.0.1:{sipp.port}",
            user="",
            password="",
            bind="127.0.0.1:0",
            public_host="127.0.0.1",
            rtp_ports=f"{rtp}-{rtp + 2 * calls + 19}",
            dial_format="digits",
            channels=calls,
            cps=cps,
            ring_timeout_s=30,
            no_answer_s=32,
            max_call_s=message_s + 30,
            ivr_wait_s=0,
        )
        wav = tone_wav(message_s, rate=8000)

        async def message(_: int) -> bytes:
            return wav

        carrier = SipCarrier(config, message)
        await carrier.start()
        now = dt.datetime.now(dt.UTC)
        requests = [
            CallRequest(
                call_id=f"bench-{n}",
                phone=f"+7916{n:07d}",
                caller_number="+74950000001",
                message_duration_s=message_s,
                amd=False,
                ivr=None,
                record=False,
                started_at=now,
                campaign_id=1,
                part=0,
            )
            for n in range(calls)
        ]
        started = time.perf_counter()
        cpu = time.process_time()
        results = await carrier.place_calls(requests)
        wall = time.perf_counter() - started
        cpu_used = time.process_time() - cpu
        await carrier.stop()
        await sipp.finished(60)
        invites = sorted({m.header("Call-ID"): m.at for m in sipp.received("INVITE")}.values())
    late = list(carrier.lateness_ms)
    answered = sum(1 for r in results if r.outcome == "answered")
    rate = (len(invites) - 1) / (invites[-1] - invites[0]) if len(invites) > 1 else 0.0
    return {
        "calls": calls,
        "answered": answered,
        "peak_concurrent": carrier.peak_channels,
        "rtp_packets": len(late),
        "rtp_late_p50_ms": round(_p(late, 0.50), 3),
        "rtp_late_p99_ms": round(_p(late, 0.99), 3),
        "rtp_late_max_ms": round(max(late, default=0.0), 3),
        "rtp_late_mean_ms": round(statistics.fmean(late), 3) if late else 0.0,
        "cps_set": cps,
        "cps_measured": round(rate, 2),
        "cps_error_pct": round(100 * (rate - cps) / cps, 1),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu_used, 1),
        "cpu_share_of_one_core": round(cpu_used / wall, 2),
        # CPU per second of an answered call's message: what a busy machine distorts least
        "cpu_ms_per_call_second": round(1000 * cpu_used / max(1, answered) / message_s, 3),
        "load_average_1m": os.getloadavg()[0],
    }


async def run(quick: bool = False) -> Result:
    calls, cps, message_s = (60, 20.0, 8.0) if quick else (300, 50.0, 20.0)
    figures = await measure(calls, cps, message_s)
    met = (
        figures["peak_concurrent"] >= 300
        and figures["answered"] == calls
        and figures["rtp_late_p99_ms"] < 10
        and abs(figures["cps_error_pct"]) <= 5
    )
    return Result(
        name="sip",
        what=f"{calls} answered SIP calls against SIPp (-rtp_echo), {message_s:g} s message, "
        f"DIALER_SIP_CPS={cps:g}",
        figure=figures["peak_concurrent"],
        unit="concurrent calls",
        goal=GOAL,
        met=met,
        details=figures,
        note=f"RTP p99 {figures['rtp_late_p99_ms']} ms late, CPS {figures['cps_measured']}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.sip_calls", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.quick))
    write_json(result, args.quick)
    print(result.details)


if __name__ == "__main__":
    main()
