"""The SIP test rig: SIPp (Debian's `sip-tester`) plays the trunk on 127.0.0.1 with the UAS
scenarios in scenarios/; its own message log (`-trace_msg`) is what the tests read back.

Without `sipp` the tests skip with the reason, except under CI=true where they fail
(.ci/run installs it with apt-get).
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import datetime as dt
import io
import math
import os
import random
import re
import shutil
import socket
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.dialer.conftest import dialer_settings, double  # noqa: F401 - fixtures
from zvonar_dialer.adapters.sip.carrier import SipCarrier
from zvonar_dialer.adapters.sip.config import sip_config

SCENARIOS = Path(__file__).parent / "scenarios"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
MESSAGE_S = 1.0


def sipp_binary() -> str:
    found = shutil.which("sipp")
    if found is None:
        reason = "sipp is not installed (Debian package sip-tester: apt-get install sip-tester)"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def _free(port: int, kind: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, step: int = 1) -> int:
    """The first of `count`×`step` consecutive ports free on 127.0.0.1 (UDP and TCP)."""
    for _ in range(200):
        first = random.randrange(31000, 59000, 2)
        ports = range(first, first + count * step)
        if all(_free(p, socket.SOCK_DGRAM) and _free(p, socket.SOCK_STREAM) for p in ports):
            return first
    raise RuntimeError("no free ports on 127.0.0.1")


def tone_wav(seconds: float = MESSAGE_S, rate: int = 16000) -> bytes:
    """A 440 Hz tone (16 kHz: the carrier has to convert it to 8 kHz G.711)."""
    count = int(seconds * rate)
    samples = array.array(
        "h", (int(12000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(count))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())
    return out.getvalue()


def wav_stats(data: bytes) -> tuple[float, float]:
    """(seconds, RMS) of a 16-bit mono WAV."""
    with wave.open(io.BytesIO(data)) as reader:
        frames = reader.readframes(reader.getnframes())
        seconds = reader.getnframes() / reader.getframerate()
    samples = array.array("h")
    samples.frombytes(frames)
    rms = math.sqrt(sum(s * s for s in samples) / len(samples)) if samples else 0.0
    return seconds, rms


@dataclass
class SipMessage:
    direction: str  # "received" or "sent", as SIPp saw it
    text: str
    at: float = 0.0  # when SIPp logged it (epoch seconds)

    @property
    def first_line(self) -> str:
        return self.text.split("\n", 1)[0].strip()

    def header(self, name: str) -> str | None:
        for line in self.text.splitlines()[1:]:
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == name.lower():
                return value.strip()
        return None


@dataclass
class Sipp:
    """One SIPp UAS on 127.0.0.1, stopped by its pid."""

    scenario: str
    workdir: Path
    rtp_echo: bool = False
    transport: str = "u1"
    calls: int = 1  # SIPp exits by itself after this many calls
    remote: str = ""  # host:port: SIPp is the caller (UAC) and calls there
    service: str = ""  # the number a UAC dials (-s)
    port: int = 0
    media_port: int = 0
    process: asyncio.subprocess.Process | None = None
    log_file: Path = field(init=False)
    err_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_file = self.workdir / f"sipp-{self.scenario}-{id(self)}.log"
        self.err_file = self.workdir / f"sipp-{self.scenario}-{id(self)}.err"

    async def start(self) -> None:
        binary = sipp_binary()
        self.port = self.port or free_ports(1)
        self.media_port = free_ports(4, 1)
        args = [
            binary,
            "-sf",
            str(SCENARIOS / f"{self.scenario}.xml"),
            "-i",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-mp",
            str(self.media_port),
            "-t",
            self.transport,
            "-trace_msg",
            "-message_file",
            str(self.log_file),
            "-nostdin",
            "-m",
            str(self.calls),
        ]
        if self.rtp_echo:
            args.append("-rtp_echo")
        if self.remote:
            args[1:1] = [self.remote, "-s", self.service]
        self.process = await asyncio.create_subprocess_exec(
            *args,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=self.err_file.open("wb"),
            cwd=self.workdir,
        )
        kind = socket.SOCK_STREAM if self.transport.startswith("t") else socket.SOCK_DGRAM
        deadline = asyncio.get_running_loop().time() + 15
        while _free(self.port, kind):  # until SIPp holds its port
            if self.process.returncode == 0 and self.remote:
                break  # a caller done already
            if self.process.returncode is not None:
                error = self.err_file.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"sipp exited with {self.process.returncode}: {error}")
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError("sipp did not bind its port in 15 s")
            await asyncio.sleep(0.05)

    async def finished(self, timeout_s: float = 30.0) -> None:
        """Until SIPp has ended its calls and exited (its message log is then complete)."""
        assert self.process is not None
        async with asyncio.timeout(timeout_s):
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.terminate()
        try:
            async with asyncio.timeout(10):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    def messages(self) -> list[SipMessage]:
        if not self.log_file.exists():
            return []
        text = self.log_file.read_text(errors="replace")
        found = []
        parts = re.split(r"-{10,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n", text)
        for stamp, block in zip(parts[1::2], parts[2::2], strict=True):
            match = re.match(r"\s*\S+ message (received|sent)[^\n]*\n\s*\n?", block)
            if match:
                at = dt.datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
                found.append(SipMessage(match[1], block[match.end() :].lstrip(), at))
        return found

    def received(self, method: str) -> list[SipMessage]:
        return [
            m
            for m in self.messages()
            if m.direction == "received" and m.first_line.startswith(f"{method} ")
        ]


@pytest.fixture
async def sipp_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Sipp]]]:
    started: list[Sipp] = []

    async def start(scenario: str, **options: object) -> Sipp:
        sipp = Sipp(scenario, tmp_path, **options)  # type: ignore[arg-type]
        started.append(sipp)
        await sipp.start()
        return sipp

    yield start
    for sipp in started:
        await sipp.stop()


@pytest.fixture
def message_source() -> Callable[[int], Awaitable[bytes]]:
    wav = tone_wav()

    async def source(campaign_id: int) -> bytes:
        return wav

    return source


@pytest.fixture
async def carrier_factory(
    message_source: Callable[[int], Awaitable[bytes]],
) -> AsyncIterator[Callable[..., Awaitable[SipCarrier]]]:
    carriers: list[SipCarrier] = []

    async def make(sipp: Sipp, **changes: object) -> SipCarrier:
        rtp = free_ports(40)
        options: dict[str, object] = {
            "trunk": f"sip:127.0.0.1:{sipp.port}"
            + (";transport=tcp" if sipp.transport.startswith("t") else ""),
            "user": "",
            "password": "",
            "bind": "127.0.0.1:0",
            "public_host": "127.0.0.1",
            "rtp_ports": f"{rtp}-{rtp + 39}",
            "dial_format": "digits",
            "channels": 30,
            "cps": 50.0,
            "ring_timeout_s": 2.0,
            "no_answer_s": 32.0,
            "max_call_s": 30.0,
            "ivr_wait_s": 1.0,
        }
        recognizer = changes.pop("recognizer", None)
        source = changes.pop("message_source", message_source)
        options.update(changes)
        carrier = SipCarrier(sip_config(**options), source, recognizer)  # type: ignore[arg-type]
        await carrier.start()
        carriers.append(carrier)
        return carrier

    yield make
    for carrier in carriers:
        with contextlib.suppress(Exception):
            await carrier.stop()
