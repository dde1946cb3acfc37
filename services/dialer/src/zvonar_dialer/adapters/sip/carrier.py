"""The SIP carrier: the telephony port over a SIP trunk (../shared/docs/TELEPHONY.md).

One call: an RTP port from `DIALER_RTP_PORTS`, an INVITE with an SDP offer of PCMA, PCMU and
telephone-event/101 (ptime 20), `X-Zvonar-Call-Id`, the caller number in From; a 401/407 is
answered once with digest credentials (the same Call-ID and X-Zvonar-Call-Id, the next
CSeq); CANCEL at the ring timeout; the final answer mapped to an outcome; answered: AMD,
the message, the IVR wait, BYE. `duration_s` runs from the 200 to the hang-up.

A carrier cannot be asked what became of a call: the results of this process's calls are
kept in memory, and a call id this process never placed (the dialer crashed while it was
in progress) is `failed` — it is never sent again in the same part.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import gc
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import structlog
from aiortp import PortAllocator
from aiosipua.auth import SipDigestAuth, answer_challenge
from aiosipua.dialog import Dialog, DialogState
from aiosipua.message import SipRequest, SipResponse
from aiosipua.sdp import parse_sdp

from zvonar_contracts.call_events import CallOutcome
from zvonar_contracts.options import Ivr, KeysIvr, WordsIvr
from zvonar_dialer.service_layer.ports import CallRequest, CallResult

from ..recognizer import Recognizer
from .config import SipConfig, dial_string, e164_of_digits, number_variants
from .media import PCMA, PCMU, CallMedia, MessageCache, Pacer
from .signalling import Addr, ClientTransaction, SipEndpoint

log = structlog.get_logger("zvonar.dialer.sip")

BUSY = {486, 600, 603}
NO_ANSWER = {480, 408, 487}
NO_SUCH_NUMBER = {404, 484, 604}
USER_AGENT = "Zvonar"
PING_TIMEOUT_S = 5.0


class CarrierUnavailable(Exception):
    """The trunk does not answer (a probe while the carrier is down)."""


ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"
# The system comment of a words campaign started with no recognizer (TELEPHONY.md step 5);
# the gateway says it in Russian (web/messages.py).
NO_RECOGNIZER = (
    "IVR words are not recognized on the SIP carrier: no speech recognizer is installed, "
    "so the calls get no answer and no lead"
)


def outcome_of(status: int) -> tuple[CallOutcome, bool]:
    """(outcome, counted by the carrier-health breaker) of a final answer other than 2xx."""
    if status in BUSY:
        return "busy", False
    if status in NO_ANSWER:
        return "no_answer", False
    if status in NO_SUCH_NUMBER:
        return "failed", False
    return "failed", True


def _sdp(host: str, rtp_port: int, codecs: list[tuple[int, str]], events: int) -> str:
    """An audio SDP body offering `codecs` (payload type, name) and telephone events."""
    session = str(int(time.time()))
    family = "IP6" if ":" in host else "IP4"
    types = " ".join(str(payload) for payload, _ in codecs)
    return "\r\n".join(
        [
            "v=0",
            f"o=zvonar {session} {session} IN {family} {host}",
            "s=zvonar",
            f"c=IN {family} {host}",
            "t=0 0",
            f"m=audio {rtp_port} RTP/AVP {types} {events}",
            *(f"a=rtpmap:{payload} {name}/8000" for payload, name in codecs),
            f"a=rtpmap:{events} telephone-event/8000",
            f"a=fmtp:{events} 0-16",
            "a=ptime:20",
            "a=sendrecv",
            "",
        ]
    )


def sdp_offer(host: str, rtp_port: int) -> str:
    return _sdp(host, rtp_port, [(PCMA, "PCMA"), (PCMU, "PCMU")], 101)


def answer_media(body: str) -> tuple[Addr, int, int] | None:
    """(remote RTP address, payload type, telephone-event payload type) from an SDP answer."""
    try:
        sdp = parse_sdp(body)
    except ValueError:
        return None
    address, audio = sdp.rtp_address, sdp.audio
    if address is None or audio is None or audio.port == 0:
        return None
    chosen = next((int(f) for f in audio.formats if f in (str(PCMA), str(PCMU))), None)
    if chosen is None:
        return None
    events = [c.payload_type for c in audio.codecs if c.encoding_name.lower() == "telephone-event"]
    return address, chosen, events[0] if events else 101


@dataclass
class _Live:
    """A call in progress, as incoming in-dialog requests (BYE, INFO, ACK) see it."""

    hung_up: asyncio.Event = field(default_factory=asyncio.Event)
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    last_response: SipResponse | None = None  # an incoming call's, re-sent for a re-sent INVITE
    media: CallMedia | None = None
    info_keys: list[str] = field(default_factory=list)


class CpsLimit:
    """New INVITEs spread evenly on a schedule of one every 1/rate s (no burst at the start
    of each second for the trunk to throttle), and never more than `rate` in any 1-second
    window even when a late start bunches them."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.per_window = max(1, int(rate))
        self._next = 0.0
        self._starts: collections.deque[float] = collections.deque()
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        loop = asyncio.get_running_loop()
        async with self._lock:
            now = loop.time()
            if self._next < now - 1.0:
                self._next = now  # idle for a while: the schedule starts again now
            due = self._next
            if len(self._starts) >= self.per_window:
                due = max(due, self._starts[0] + 1.0)
            if due > now:
                await asyncio.sleep(due - now)
            self._next += self.interval
            self._starts.append(loop.time())
            while len(self._starts) > self.per_window:
                self._starts.popleft()


# Someone (the second argument, E.164 where it looks like a phone) calls our caller numbers
# (one request-URI user in every format it may stand for):
# the campaign that holds one of them (its answer recorded), or None.
InboundLookup = Callable[[set[str], str], Awaitable[int | None]]
_URI_USER = re.compile(r"^sips?:(?P<user>[^@;:]+)@")


def uri_user(uri: str) -> str:
    match = _URI_USER.match(uri.strip().strip("<>"))
    return match["user"] if match else ""


def e164_of(user: str) -> str:
    """A caller's number as E.164 when it looks like a phone number (else as it came)."""
    digits = user.lstrip("+")
    return e164_of_digits(digits) if digits.isdigit() else user


def sdp_answer(host: str, rtp_port: int, payload_type: int, events: int) -> str:
    name = "PCMA" if payload_type == PCMA else "PCMU"
    return _sdp(host, rtp_port, [(payload_type, name)], events)


class SipCarrier:
    """The telephony port over a SIP trunk."""

    background = True  # calls take real time: the dialer does not wait for them in a pass

    def __init__(
        self,
        config: SipConfig,
        message_source: Callable[[int], Awaitable[bytes]],
        recognizer: Recognizer | None = None,
    ):
        self.config = config
        self.recognizer = recognizer
        self.messages = MessageCache(message_source)
        self.endpoint = SipEndpoint(
            (config.bind_host, config.bind_port),
            config.public_host,
            config.transport,
            config.trunk_addr,
            self._on_request,
        )
        low, high = config.rtp_ports
        self.ports = PortAllocator((low, high))
        self.pacer = Pacer()
        self.channels = asyncio.Semaphore(config.channels)
        self.busy_channels = 0
        self.cps = CpsLimit(config.cps)
        self.auth = SipDigestAuth(config.user, config.password) if config.user else None
        self._results: dict[str, CallResult] = {}
        self._in_flight: dict[str, asyncio.Future[CallResult]] = {}
        self._unsent: set[str] = set()  # placing raised before the INVITE left
        self._live: dict[str, _Live] = {}  # by SIP Call-ID
        # A call ended with a trunk failure since the last success: probes ping the trunk.
        self._trunk_failing = False
        self.inbound: InboundLookup | None = None  # wired by bootstrap
        self._tasks: set[asyncio.Task[None]] = set()
        self.invites_sent = 0
        self.peak_channels = 0
        # RTP send times behind schedule (ms), the latest packets (make bench's `sip` row)
        self.lateness_ms: collections.deque[float] = collections.deque(maxlen=200_000)
        self.started = False

    async def start(self) -> None:
        await self.endpoint.start()
        # Everything loaded so far (modules, settings, the app) lives as long as the process:
        # frozen out of the collector, a full collection no longer walks it — a pause on
        # the one event loop every call's RTP clock shares.
        gc.collect()
        gc.freeze()
        self.started = True
        log.info(
            "sip_started",
            port=self.endpoint.port,
            trunk=f"{self.config.trunk_host}:{self.config.trunk_port}",
            transport=self.config.transport,
        )

    async def stop(self) -> None:
        for future in self._in_flight.values():
            future.cancel()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pacer.stop()
        await self.endpoint.stop()

    def note_for(self, ivr: Ivr | None) -> str:
        """The system comment for a campaign with this IVR at its start: what this carrier
        cannot do for it ("" for nothing)."""
        if isinstance(ivr, WordsIvr) and self.recognizer is None:
            return NO_RECOGNIZER
        return ""

    @property
    def channels_total(self) -> int:
        """`DIALER_SIP_CHANNELS`: the scheduler claims no more calls than lines are free."""
        return self.config.channels

    # --- the port ----------------------------------------------------------------------
    async def place_calls(self, requests: Sequence[CallRequest]) -> list[CallResult]:
        return list(await asyncio.gather(*(self.place_call(r) for r in requests)))

    async def place_call(self, request: CallRequest) -> CallResult:
        known = self._results.get(request.call_id)
        if known is not None:
            return known
        future = self._in_flight.get(request.call_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._in_flight[request.call_id] = future
            try:
                result = await self._call(request)
            except BaseException as exc:
                future.set_exception(exc)
                future.exception()
                raise
            finally:
                self._in_flight.pop(request.call_id, None)
            self._results[request.call_id] = result
            self._trunk_failing = bool(result.carrier_error)
            future.set_result(result)
            return result
        return await asyncio.shield(future)

    async def result_of(self, call_id: str) -> CallResult | None:
        known = self._results.get(call_id)
        if known is not None or call_id in self._in_flight:
            return known
        if call_id in self._unsent:
            return None  # it failed before its INVITE left: place it again
        if self._trunk_failing:
            await self.ping()  # raises while the trunk does not answer: the breaker stays open
        # Placed by an earlier process that died during it: nobody can say whether the
        # INVITE left, so it is not sent again (TELEPHONY.md "Exactly once").
        return CallResult(call_id=call_id, outcome="failed", duration_s=0.0, reason="interrupted")

    async def ping(self) -> None:
        """OPTIONS to the trunk; a CarrierUnavailable unless it answers below 500 in time."""
        options = SipRequest(method="OPTIONS", uri=f"sip:{self._trunk_hostport()}")
        options.headers.append("Via", self.endpoint.via())
        options.headers.set_single("Max-Forwards", "70")
        options.headers.set_single(
            "From", f"<sip:zvonar@{self.endpoint.public_host}>;tag={uuid.uuid4().hex[:10]}"
        )
        options.headers.set_single("To", f"<sip:{self._trunk_hostport()}>")
        options.headers.set_single("Call-ID", f"{uuid.uuid4().hex}@{self.endpoint.public_host}")
        options.headers.set_single("CSeq", "1 OPTIONS")
        options.headers.set_single("User-Agent", USER_AGENT)
        transaction = await self.endpoint.request(
            options, min(PING_TIMEOUT_S, self.config.no_answer_s)
        )
        response = await transaction.responses.get()
        if response is None or response.status_code >= 500:
            answer = (
                "no answer"
                if response is None
                else f"{response.status_code} {response.reason_phrase}"
            )
            raise CarrierUnavailable(f"the trunk answers OPTIONS with {answer}")
        self._trunk_failing = False
        log.info("sip_trunk_answers", status=response.status_code)

    def _trunk_hostport(self) -> str:
        host = self.config.trunk_host
        host = f"[{host}]" if ":" in host else host
        return f"{host}:{self.config.trunk_port}"

    # --- one call ----------------------------------------------------------------------
    async def _call(self, request: CallRequest) -> CallResult:
        async with self.channels:
            self.busy_channels += 1
            self.peak_channels = max(self.peak_channels, self.busy_channels)
            rtp_port = 0
            try:
                try:
                    audio = await self.messages.get(request.campaign_id)
                    rtp_port, _ = await self.ports.allocate()
                    await self.cps.take()
                except Exception:
                    # Nothing left for the trunk: the call may be placed again (recovery).
                    self._unsent.add(request.call_id)
                    raise
                self._unsent.discard(request.call_id)
                return await self._dial(request, audio, rtp_port)
            finally:
                self.busy_channels -= 1
                if rtp_port:
                    await self.ports.release(rtp_port)

    def _invite(
        self, dialog: Dialog, request: CallRequest, sdp: str, auth: tuple[str, str] | None
    ) -> SipRequest:
        invite = SipRequest(method="INVITE", uri=dialog.remote_uri)
        invite.headers.append("Via", self.endpoint.via())
        invite.headers.set_single("Max-Forwards", "70")
        invite.headers.set_single("From", f"<{dialog.local_uri}>;tag={dialog.local_tag}")
        invite.headers.set_single("To", f"<{dialog.remote_uri}>")
        invite.headers.set_single("Call-ID", dialog.call_id)
        invite.headers.set_single("CSeq", f"{dialog.next_cseq()} INVITE")
        invite.headers.set_single("Contact", self.endpoint.contact(self._caller_user(request)))
        invite.headers.set_single("X-Zvonar-Call-Id", request.call_id)
        invite.headers.set_single("Allow", ALLOW)
        invite.headers.set_single("User-Agent", USER_AGENT)
        if auth is not None:
            invite.headers.set_single(auth[0], auth[1])
        invite.headers.set_single("Content-Type", "application/sdp")
        invite.text = sdp
        return invite

    def _caller_user(self, request: CallRequest) -> str:
        return (request.caller_number or "anonymous").lstrip("+")

    def _in_dialog(self, dialog: Dialog, method: str, cseq: int | None = None) -> SipRequest:
        before = dialog.local_cseq
        message = dialog.create_request(
            method,
            via_host=self.endpoint.public_host,
            via_port=self.endpoint.port,
            via_transport=self.endpoint.via_transport,
        )
        if cseq is not None:  # an ACK carries its INVITE's number
            dialog.local_cseq = before
            message.headers.set_single("CSeq", f"{cseq} {method}")
        message.headers.set_single("User-Agent", USER_AGENT)
        return message

    def _cancel(self, invite: SipRequest) -> SipRequest:
        cancel = SipRequest(method="CANCEL", uri=invite.uri)
        cancel.headers.append("Via", invite.headers.get("via")[0])
        for name in ("From", "To", "Call-ID"):
            value = invite.headers.get_first(name)
            if value is not None:
                cancel.headers.set_single(name, value)
        cseq = invite.cseq
        cancel.headers.set_single("CSeq", f"{cseq.seq if cseq else 1} CANCEL")
        cancel.headers.set_single("Max-Forwards", "70")
        return cancel

    async def _dial(
        self, request: CallRequest, audio: dict[int, bytes], rtp_port: int
    ) -> CallResult:
        config = self.config
        loop = asyncio.get_running_loop()
        number = dial_string(request.phone, config.dial_format)
        suffix = ";transport=tcp" if config.transport == "tcp" else ""
        dialog = Dialog(
            call_id=f"{uuid.uuid4().hex}@{self.endpoint.public_host}",
            local_tag=uuid.uuid4().hex[:10],
            local_uri=f"sip:{self._caller_user(request)}@{self.endpoint.public_host}",
            remote_uri=f"sip:{number}@{self._trunk_hostport()}{suffix}",
        )
        live = _Live()
        self._live[dialog.call_id] = live
        sdp = sdp_offer(self.endpoint.public_host, rtp_port)
        transaction: ClientTransaction | None = None
        try:
            invite = self._invite(dialog, request, sdp, None)
            transaction = await self.endpoint.request(invite, config.no_answer_s)
            self.invites_sent += 1
            log.info(
                "sip_invite", call_id=request.call_id, sip_call_id=dialog.call_id, number=number
            )
            ring_until = loop.time() + config.ring_timeout_s
            authenticated = cancelled = False
            while True:
                response = await self._next(transaction, ring_until)
                if response is TimeoutError and cancelled:
                    # RFC 3261 §9.1: no final answer 64·T1 after our CANCEL — the INVITE
                    # counts as cancelled (a trunk that never sends its 487).
                    log.warning("sip_cancel_unanswered", call_id=request.call_id)
                    return self._result(request, "no_answer")
                if response is TimeoutError:  # the ring timeout
                    if transaction.provisional:
                        cancelled = True
                        ring_until = loop.time() + config.no_answer_s
                        await self.endpoint.request(self._cancel(transaction.request))
                        log.info("sip_cancel", call_id=request.call_id)
                    else:
                        ring_until = loop.time() + config.no_answer_s  # Timer B decides
                    continue
                if response is None:  # no answer at all (Timer B)
                    if cancelled:
                        return self._result(request, "no_answer")
                    error = f"no answer in {config.no_answer_s:g} s"
                    return self._result(request, "failed", carrier_error=error)
                assert isinstance(response, SipResponse)
                status = response.status_code
                if status < 200:
                    continue
                if status in (401, 407) and self.auth is not None and not authenticated:
                    credentials = answer_challenge(
                        self.auth, response, status, "INVITE", invite.uri
                    )
                    if credentials is not None:
                        authenticated = True
                        invite = self._invite(dialog, request, sdp, credentials)
                        transaction = await self.endpoint.request(invite, config.no_answer_s)
                        log.info("sip_invite_authenticated", call_id=request.call_id)
                        continue
                if status >= 300:
                    outcome, counted = outcome_of(status)
                    if cancelled and status == 487:
                        outcome = "no_answer"
                    error = f"{status} {response.reason_phrase}" if counted else ""
                    log.info("sip_final", call_id=request.call_id, status=status, outcome=outcome)
                    return self._result(request, outcome, carrier_error=error)
                return await self._answered(
                    request, dialog, transaction, response, audio, rtp_port, live, cancelled
                )
        except asyncio.CancelledError:
            self._abandon(dialog, transaction, live)
            raise
        finally:
            self._live.pop(dialog.call_id, None)

    def _abandon(self, dialog: Dialog, transaction: ClientTransaction | None, live: _Live) -> None:
        """The dialer stops during the call: hang up (BYE) or stop the ringing (CANCEL) as
        it goes, without waiting for answers. The number stays `placing`: interrupted."""
        with contextlib.suppress(Exception):
            if dialog.state == DialogState.CONFIRMED and not live.hung_up.is_set():
                self.endpoint.transmit(self._in_dialog(dialog, "BYE"), self.endpoint.trunk)
            elif transaction is not None and transaction.provisional and transaction.final is None:
                self.endpoint.transmit(self._cancel(transaction.request), self.endpoint.trunk)

    async def _next(
        self, transaction: ClientTransaction, until: float | None
    ) -> SipResponse | type[TimeoutError] | None:
        if until is None:
            return await transaction.responses.get()
        remaining = until - asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(max(0.0, remaining)):
                return await transaction.responses.get()
        except TimeoutError:
            return TimeoutError

    def _confirm(self, dialog: Dialog, response: SipResponse) -> None:
        to = response.to_addr
        if to is not None and to.tag:
            dialog.remote_tag = to.tag
        contacts = response.contact
        if contacts:
            dialog.remote_target = str(contacts[0].uri)
        routes = response.headers.get("record-route")
        dialog.route_set = list(reversed(routes))
        dialog.confirm()

    async def _answered(
        self,
        request: CallRequest,
        dialog: Dialog,
        transaction: ClientTransaction,
        response: SipResponse,
        audio: dict[int, bytes],
        rtp_port: int,
        live: _Live,
        cancelled: bool,
    ) -> CallResult:
        loop = asyncio.get_running_loop()
        answered_at = loop.time()
        self._confirm(dialog, response)
        cseq = response.cseq
        ack = self._in_dialog(dialog, "ACK", cseq.seq if cseq else 1)
        transaction.ack_2xx = ack
        self.endpoint.transmit(ack, self.endpoint.trunk)
        media_of = answer_media(response.text)
        if cancelled or media_of is None:
            await self._bye(dialog)
            if media_of is None:
                log.warning("sip_no_usable_sdp", call_id=request.call_id)
                return self._result(request, "failed", carrier_error="488 no usable SDP answer")
            return self._result(request, "no_answer")
        remote, payload_type, events = media_of
        media = await CallMedia.open(
            (self.config.bind_host, rtp_port),
            remote,
            payload_type,
            events,
            record=request.record,
            amd=request.amd,
        )
        live.media = media
        for key in live.info_keys:
            media.key(key)
        outcome: CallOutcome = "answered"
        try:
            async with asyncio.timeout(self.config.max_call_s):
                if request.amd and await media.listen_for_machine(live.hung_up):
                    outcome = "machine"
                else:
                    await self._talk(request, media, audio[payload_type], live)
        except TimeoutError:
            log.info("sip_max_call_time", call_id=request.call_id)
        finally:
            await media.close()
            self.lateness_ms += media.late_ms
        if not live.hung_up.is_set():
            await self._bye(dialog)
        duration = round(loop.time() - answered_at, 3)
        keys = media.keys
        text, lead = "", False
        if isinstance(request.ivr, KeysIvr) and keys and outcome == "answered":
            text = keys[0]
            lead = text in request.ivr.lead_keys
        heard = media.listening
        if isinstance(request.ivr, WordsIvr) and heard is not None and self.recognizer:
            text = await self.recognizer.recognize(bytes(heard), 8000, request.ivr.lead_words)
            lead = text.strip().casefold() in {w.strip().casefold() for w in request.ivr.lead_words}
        log.info(
            "sip_call_done",
            call_id=request.call_id,
            outcome=outcome,
            duration_s=duration,
            packets_in=media.packets_in,
            keys="".join(keys),
        )
        return CallResult(
            call_id=request.call_id,
            outcome=outcome,
            duration_s=duration,
            answer_text=text,
            lead=lead,
            recording_wav=media.recording() if outcome == "answered" else None,
        )

    async def _talk(
        self, request: CallRequest, media: CallMedia, audio: bytes, live: _Live
    ) -> None:
        """The message, then the IVR wait for a key (if none came yet)."""
        played = await media.play(audio, live.hung_up, self.pacer)
        if not played or request.ivr is None or media.keys:
            return
        if isinstance(request.ivr, WordsIvr) and self.recognizer is not None:
            media.listening = bytearray()  # the answer to the message, for the recognizer
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.ivr_wait_s):
                hang = asyncio.ensure_future(live.hung_up.wait())
                key = asyncio.ensure_future(media.key_pressed.wait())
                try:
                    await asyncio.wait({hang, key}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    hang.cancel()
                    key.cancel()

    async def _bye(self, dialog: Dialog) -> None:
        bye = self._in_dialog(dialog, "BYE")
        dialog.terminate()
        await self.endpoint.request(bye)  # its answer ends the transaction; nobody waits

    def _result(
        self, request: CallRequest, outcome: CallOutcome, *, carrier_error: str = ""
    ) -> CallResult:
        return CallResult(
            call_id=request.call_id, outcome=outcome, duration_s=0.0, carrier_error=carrier_error
        )

    # --- requests from the trunk -------------------------------------------------------
    def _on_request(self, request: SipRequest, addr: Addr) -> None:
        method = request.method.upper()
        live = self._live.get(request.call_id or "")
        if method == "ACK":
            if live is not None:
                live.acked.set()
            return
        if method == "BYE":
            if live is None:
                self.endpoint.reply(request, addr, 481, "Call/Transaction Does Not Exist")
                return
            self.endpoint.reply(request, addr, 200, "OK")
            live.hung_up.set()
            return
        if method == "INFO":
            self.endpoint.reply(request, addr, 200 if live else 481, "OK" if live else "No Call")
            if live is not None:
                key = _dtmf_relay(request.text)
                if key:
                    if live.media is not None:
                        live.media.key(key)
                    else:
                        live.info_keys.append(key)
            return
        if method == "OPTIONS":
            self.endpoint.reply(request, addr, 200, "OK", headers={"Allow": ALLOW})
            return
        if method == "INVITE":
            if live is not None:  # a re-sent INVITE (or a re-INVITE, not supported)
                if live.last_response is not None and ";tag=" not in (
                    request.get_header("to") or ""
                ):
                    self.endpoint.transmit(live.last_response, addr)
                else:
                    self.endpoint.reply(request, addr, 488, "Not Acceptable Here")
                return
            self._live[request.call_id or ""] = _Live()
            task = asyncio.get_running_loop().create_task(self._incoming(request, addr))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        if method == "CANCEL":
            self.endpoint.reply(request, addr, 481, "Call/Transaction Does Not Exist")
            return
        self.endpoint.reply(request, addr, 405, "Method Not Allowed", headers={"Allow": ALLOW})

    async def _incoming(self, invite: SipRequest, addr: Addr) -> None:
        """A call to one of our caller numbers: the campaign that holds it plays its message
        once and hangs up; a number nobody holds (or released) is refused with 404."""
        sip_call_id = invite.call_id or ""
        live = self._live[sip_call_id]
        tag = uuid.uuid4().hex[:10]
        rtp_port = 0
        try:
            self.endpoint.reply(invite, addr, 100, "Trying")
            caller_number = uri_user(invite.uri)  # ours, as the trunk dialled it
            from_header = invite.get_header("from") or ""
            phone = e164_of(uri_user(from_header.split(">")[0].split("<")[-1]))  # who calls
            caller_numbers = number_variants(caller_number)
            campaign_id = None
            if caller_numbers and self.inbound is not None:
                campaign_id = await self.inbound(caller_numbers, phone)
            offer = answer_media(invite.text)
            if campaign_id is None or offer is None:
                status, reason = (
                    (404, "Not Found") if campaign_id is None else (488, "Not Acceptable Here")
                )
                live.last_response = self.endpoint.reply(invite, addr, status, reason, to_tag=tag)
                log.info(
                    "sip_inbound_refused", caller_number=caller_number, phone=phone, status=status
                )
                return
            remote, payload_type, events = offer
            audio = await self.messages.get(campaign_id)
            rtp_port, _ = await self.ports.allocate()
            body = sdp_answer(self.endpoint.public_host, rtp_port, payload_type, events).encode()
            contact = self.endpoint.contact(caller_number)
            live.last_response = self.endpoint.reply(
                invite,
                addr,
                200,
                "OK",
                to_tag=tag,
                headers={"Contact": contact, "Allow": ALLOW},
                body=body,
                content_type="application/sdp",
            )
            await self._until_acked(live, addr)
            log.info(
                "sip_inbound_answered",
                caller_number=caller_number,
                phone=phone,
                campaign_id=campaign_id,
            )
            media = await CallMedia.open(
                (self.config.bind_host, rtp_port),
                remote,
                payload_type,
                events,
                record=False,
                amd=False,
            )
            try:
                await media.play(audio[payload_type], live.hung_up, self.pacer)
            finally:
                await media.close()
            if not live.hung_up.is_set():
                dialog = Dialog(
                    call_id=sip_call_id,
                    local_tag=tag,
                    remote_tag=(invite.from_addr.tag if invite.from_addr else "") or "",
                    local_uri=invite.uri,
                    remote_uri=from_header.split(">")[0].split("<")[-1].split(";")[0],
                    remote_target=str(invite.contact[0].uri) if invite.contact else "",
                )
                dialog.confirm()
                await self.endpoint.request(self._in_dialog(dialog, "BYE"), dest=addr)
        finally:
            if rtp_port:
                await self.ports.release(rtp_port)
            # a while longer: a re-sent INVITE or the ACK of a 404 still finds the call
            asyncio.get_running_loop().call_later(32.0, self._live.pop, sip_call_id, None)

    async def _until_acked(self, live: _Live, addr: Addr) -> None:
        """Re-send the 200 until its ACK (UDP, RFC 3261 §13.3.1.4), at most 64·T1."""
        interval = 0.5
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(32.0):
                while not live.acked.is_set():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(interval):
                            await live.acked.wait()
                    if (
                        not live.acked.is_set()
                        and not self.endpoint.reliable
                        and live.last_response
                    ):
                        self.endpoint.transmit(live.last_response, addr)
                    interval = min(interval * 2, 4.0)


def _dtmf_relay(body: str) -> str:
    """The key of a SIP INFO `application/dtmf-relay` body (`Signal=1`)."""
    for line in body.splitlines():
        name, _, value = line.partition("=")
        if name.strip().lower() == "signal":
            return value.strip()[:1]
    return ""


__all__ = ["CpsLimit", "SipCarrier", "answer_media", "outcome_of", "sdp_offer"]
