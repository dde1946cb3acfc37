"""A call's media on aiortp: the campaign's message out as G.711 RTP in 20 ms packets at
real-time pace, the callee's RTP in (recorded, read for AMD, its RFC 4733 keys collected).

The message is converted once per campaign to 8 kHz mono G.711 (both laws) and every call
of the campaign reads the same bytes: a call keeps only its position in them.

The per-packet work is kept small, since a dialer holds hundreds of calls on one core
(docs/performance.md, `sip` row): aiortp binds the sockets, answers STUN, runs RTCP and
parses what needs parsing, but
- a packet out is the call's own 12-byte header template (sequence number and timestamp
  packed into it in place) followed by a copy of the shared message's 160-byte slice, handed
  to the datagram transport — no per-packet packet object, no serialization;
- a packet in on a call that neither records, runs AMD nor listens for a recognizer is only
  counted and followed for symmetric RTP: it skips aiortp's parse, statistics, jitter buffer
  and G.711 decoding. RFC 4733 telephone-events, RTCP and STUN still take aiortp's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import struct
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import miniaudio
import structlog
from aiortp import RTPSession, get_codec
from aiortp.cn import measure_level

log = structlog.get_logger("zvonar.dialer.sip")

RATE = 8000
PTIME_S = 0.020
# The pacer serves its streams in this many groups, one group every PTIME_S / PHASES.
PHASES = 4
FRAME = 160  # samples (and G.711 bytes) in 20 ms
PCMU, PCMA = 0, 8
SILENCE = {PCMU: b"\xff" * FRAME, PCMA: b"\xd5" * FRAME}
# AMD (TELEPHONY.md step 4)
AMD_LISTEN_S = 4.0
AMD_PAUSE_S = 0.8
AMD_SILENCE_S = 2.5
VOICE_LEVEL = 45  # -dBov: a 20 ms frame louder than -45 dBov is voice
RTP_HEADER = 12
_SEQ_AND_TIMESTAMP = struct.Struct("!HI")  # at offset 2 of the header


def to_g711(wav: bytes) -> dict[int, bytes]:
    """The message as 8 kHz mono G.711: {payload type: bytes}, both laws."""
    decoded = miniaudio.decode(
        wav, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1, sample_rate=RATE
    )
    pcm = decoded.samples.tobytes()
    return {pt: get_codec(pt).encode(pcm) for pt in (PCMU, PCMA)}


class MessageCache:
    """Each campaign's message converted once, shared by all its calls."""

    def __init__(self, source: Callable[[int], Awaitable[bytes]]) -> None:
        self._source = source
        self._ready: dict[int, asyncio.Future[dict[int, bytes]]] = {}
        self.conversions = 0

    async def get(self, campaign_id: int) -> dict[int, bytes]:
        future = self._ready.get(campaign_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._ready[campaign_id] = future
            try:
                wav = await self._source(campaign_id)
                loop = asyncio.get_running_loop()
                future.set_result(await loop.run_in_executor(None, to_g711, wav))
                self.conversions += 1
            except BaseException as exc:
                del self._ready[campaign_id]
                future.set_exception(exc)
                future.exception()  # retrieved: a later call converts again
                raise
        return await asyncio.shield(future)

    def forget(self, keep: set[int]) -> None:
        for campaign_id in [c for c in self._ready if c not in keep]:
            del self._ready[campaign_id]


def wav_of(pcm: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(RATE)
        writer.writeframes(pcm)
    return out.getvalue()


@dataclass
class Amd:
    """Voice activity of the callee's first seconds, frame by frame (20 ms each)."""

    frames: int = 0
    first_voice: int | None = None
    last_voice: int | None = None
    longest_pause: int = 0  # frames of silence after the first voice, longest run

    def feed(self, pcm: bytes) -> None:
        voiced = measure_level(pcm) < VOICE_LEVEL
        if voiced:
            if self.first_voice is None:
                self.first_voice = self.frames
            elif self.last_voice is not None:
                self.longest_pause = max(self.longest_pause, self.frames - self.last_voice - 1)
            self.last_voice = self.frames
        self.frames += 1

    def verdict(self, elapsed_s: float) -> str | None:
        """ "machine", "person", or None (still listening) after `elapsed_s` from the answer."""
        pause = round(AMD_PAUSE_S / PTIME_S)
        if self.first_voice is None:
            return "person" if elapsed_s >= AMD_SILENCE_S else None
        assert self.last_voice is not None
        silent_now = self.frames - self.last_voice - 1
        if self.longest_pause >= pause or silent_now >= pause:
            return "person"  # a greeting and then a pause: someone waiting for an answer
        if elapsed_s >= AMD_LISTEN_S:
            return "machine"
        return None


@dataclass
class CallMedia:
    """One answered call's RTP: send the message, collect what comes back."""

    session: RTPSession
    payload_type: int
    record: bool
    amd: Amd | None
    dtmf_payload_type: int = 101
    received: bytearray = field(default_factory=bytearray)
    keys: list[str] = field(default_factory=list)
    key_pressed: asyncio.Event = field(default_factory=asyncio.Event)
    packets_in: int = 0
    listening: bytearray | None = None  # the callee's audio for a recognizer, while set
    late_ms: list[float] = field(default_factory=list)
    # The packet out: a header template with our SSRC; sequence number and timestamp are
    # packed into it per packet, the payload copied behind it.
    _packet: bytearray = field(default_factory=lambda: bytearray(RTP_HEADER + FRAME))
    _sequence: int = 0
    _aiortp_datagram: Callable[[bytes, tuple[str, int]], None] | None = None
    _decoding: bool = True  # the last packet in took aiortp's path (its jitter buffer is live)

    @classmethod
    async def open(
        cls,
        local: tuple[str, int],
        remote: tuple[str, int],
        payload_type: int,
        dtmf_payload_type: int,
        *,
        record: bool,
        amd: bool,
    ) -> CallMedia:
        session = await RTPSession.create(
            local_addr=local,
            remote_addr=remote,
            payload_type=payload_type,
            dtmf_payload_type=dtmf_payload_type,
            symmetric_rtp=True,
            plc=False,
        )
        media = cls(session, payload_type, record, Amd() if amd else None, dtmf_payload_type)
        session.on_audio = media._on_audio
        session.on_dtmf = media._on_dtmf
        sender, transport = session._sender, session._rtp_transport
        assert sender is not None and transport is not None
        media._packet[0] = 0x80  # version 2, no padding, extension or CSRC
        media._packet[1] = payload_type  # marker 0
        struct.pack_into("!I", media._packet, 8, sender.ssrc)
        media._sequence = sender.sequence_number
        # Every datagram on the call's RTP port comes to `_datagram` first (the protocol's
        # method, shadowed on this instance: asyncio looks it up on each datagram).
        media._aiortp_datagram = transport.datagram_received
        setattr(transport, "datagram_received", media._datagram)  # noqa: B010
        return media

    def _decode_needed(self) -> bool:
        return self.record or self.amd is not None or self.listening is not None

    def _datagram(self, data: bytes, addr: tuple[str, int]) -> None:
        full = self._aiortp_datagram
        assert full is not None
        if self._decode_needed() or len(data) < RTP_HEADER:
            if not self._decoding:  # back from the short path: no stale reordering state
                self.session._jitter_buffer.reset()
                self._decoding = True
            full(data, addr)
            return
        first, second = data[0], data[1]
        if first & 0xC0 != 0x80 or 192 <= second <= 223 or second & 0x7F == self.dtmf_payload_type:
            full(data, addr)  # STUN, RTCP on the RTP port, an RFC 4733 key: aiortp's path
            return
        # The callee's audio, which nobody here needs: counted, and followed for RFC 4961.
        self._decoding = False
        self.packets_in += 1
        session = self.session
        if addr != session._remote_addr:
            session._latch_rtp_addr(addr)

    def _on_audio(self, pcm: bytes, _timestamp: int) -> None:
        self.packets_in += 1
        if self.record:
            self.received += pcm
        if self.listening is not None:
            self.listening += pcm
        if self.amd is not None:
            self.amd.feed(pcm)

    def _on_dtmf(self, digit: str, _duration: int) -> None:
        self.key(digit)

    def key(self, digit: str) -> None:
        self.keys.append(digit)
        self.key_pressed.set()

    async def listen_for_machine(self, hung_up: asyncio.Event) -> bool:
        """AMD: True for an answering machine (TELEPHONY.md step 4). Once it has decided,
        the callee's audio is no longer decoded for it."""
        amd = self.amd
        assert amd is not None
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            while not hung_up.is_set():
                verdict = amd.verdict(loop.time() - started)
                if verdict is not None:
                    return verdict == "machine"
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(PTIME_S):
                        await hung_up.wait()
            return False
        finally:
            self.amd = None

    async def play(self, audio: bytes, stop: asyncio.Event, pacer: Pacer) -> bool:
        """Send `audio` (G.711, this call's law) in 20 ms packets at real-time pace, from
        the port the SDP advertised, on the carrier's one clock (`pacer`). False if `stop`
        was set (the callee hung up) first."""
        stream = _Stream(self, memoryview(audio), stop)
        pacer.add(stream)
        try:
            return await stream.done
        finally:
            pacer.remove(stream)

    def send_frames(self, stream: _Stream, due: int, now: float) -> None:
        """Send `stream`'s frames up to `due` (not included), noting how late each left."""
        session = self.session
        sender, transport = session._sender, session._rtp_transport
        if sender is None or transport is None or transport._transport is None:
            stream.sent = due
            return
        if session._closed:
            stream.sent = due
            return
        sendto = transport._transport.sendto
        addr = session._remote_addr
        packet, view, late = self._packet, stream.view, self.late_ms
        pack_into = _SEQ_AND_TIMESTAMP.pack_into
        sequence, base, start = self._sequence, stream.timestamp, stream.start
        first = n = stream.sent
        size = len(view)
        timestamp = base
        while n < due:
            offset = n * FRAME
            if offset + FRAME <= size:
                packet[RTP_HEADER:] = view[offset : offset + FRAME]
            else:  # the last packet filled up with silence
                tail = bytes(view[offset:])
                packet[RTP_HEADER:] = tail + SILENCE[self.payload_type][: FRAME - len(tail)]
            timestamp = (base + offset) & 0xFFFFFFFF
            pack_into(packet, 2, sequence, timestamp)
            sendto(packet, addr)
            late.append((now - (start + n * PTIME_S)) * 1000)
            sequence = (sequence + 1) & 0xFFFF
            n += 1
        stream.sent = n
        self._sequence = sequence
        # aiortp's sender keeps its counters: its RTCP sender reports stay true.
        sender._sequence_number = sequence
        sender._packets_sent += n - first
        sender._octets_sent += (n - first) * FRAME
        sender._last_rtp_timestamp = timestamp

    def recording(self) -> bytes | None:
        return wav_of(bytes(self.received)) if self.record else None

    async def close(self) -> None:
        await self.session.close()


@dataclass(eq=False)
class _Stream:
    """One call's message on the pacer: the shared bytes and how far it is."""

    media: CallMedia
    view: memoryview
    stop: asyncio.Event
    done: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    start: float = -1.0  # the tick it started on
    sent: int = 0
    timestamp: int = 0

    frames: int = 0

    def __post_init__(self) -> None:
        self.frames = (len(self.view) + FRAME - 1) // FRAME


class Pacer:
    """One 20 ms clock for every call of the carrier: each tick sends every stream the
    packets now due (catching up after a late tick, so a call keeps real-time position),
    and records how late each packet left. One timer for all calls instead of one per
    packet per call."""

    def __init__(self) -> None:
        # Streams in PHASES groups, each served on its own slice of the 20 ms period: a
        # group's packets leave together, so spreading the calls keeps each burst (and the
        # lateness of its last packet) a PHASES-th of what one burst of every call would be.
        self._phases: list[set[_Stream]] = [set() for _ in range(PHASES)]
        self._task: asyncio.Task[None] | None = None

    def add(self, stream: _Stream) -> None:
        sender = stream.media.session._sender
        stream.timestamp = sender._current_timestamp if sender is not None else 0
        min(self._phases, key=len).add(stream)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    def remove(self, stream: _Stream) -> None:
        for phase in self._phases:
            phase.discard(stream)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        tick = loop.time()
        phase = 0
        while any(self._phases):
            delay = tick - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            now = loop.time()
            for stream in list(self._phases[phase]):
                # Each stream's own time: lateness counts the time the tick took so far.
                self._serve(stream, tick, loop.time())
            tick += PTIME_S / PHASES
            phase = (phase + 1) % PHASES
            if tick < now - 1.0:  # the loop was stopped for over a second: no burst of it
                tick = now

    def _serve(self, stream: _Stream, tick: float, now: float) -> None:
        if stream.done.done():
            return
        if stream.stop.is_set():
            stream.done.set_result(False)
            return
        if stream.start < 0:
            stream.start = tick
        frames = stream.frames
        due = min(frames, int((now - stream.start) / PTIME_S) + 1)
        if stream.sent < due:
            stream.media.send_frames(stream, due, now)
        if stream.sent >= frames and now >= stream.start + frames * PTIME_S:
            stream.done.set_result(True)  # the last packet has been heard


__all__ = ["PCMA", "PCMU", "Amd", "CallMedia", "MessageCache", "Pacer", "to_g711", "wav_of"]
