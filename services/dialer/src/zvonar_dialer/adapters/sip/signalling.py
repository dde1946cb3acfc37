"""SIP signalling for the dialer: aiosipua's messages, transports, dialogs and digest auth,
plus the RFC 3261 client transactions aiosipua leaves to its user (§17.1).

aiosipua's own UAC sends a request once and forgets it: no INVITE re-transmission over UDP
(Timer A), no give-up (Timer B), no ACK for a non-2xx final answer, a CANCEL whose 487 is
dropped. `ClientTransaction` adds exactly that, on aiosipua's message types:

- INVITE: re-sent at T1, 2·T1, 4·T1 … until any answer (UDP only); no answer at all within
  `timeout_s` (Timer B, 64·T1 = 32 s): the transaction times out. A 3xx–6xx answer is
  ACKed in the transaction (same branch), again for each re-transmitted answer (Timer D).
- non-INVITE (CANCEL, BYE, OPTIONS): re-sent at T1 doubling up to T2 (Timer E), given up
  after 64·T1 (Timer F).
- a 2xx to an INVITE is the caller's to ACK (a new transaction); re-transmitted 2xx get the
  same ACK again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Literal

import structlog
from aiosipua.header_codec import stringify_cseq, stringify_via
from aiosipua.headers import CSeq, Via
from aiosipua.message import SipRequest, SipResponse
from aiosipua.transport import SipTransport, TcpSipTransport, UdpSipTransport, _UdpProtocol
from aiosipua.utils import generate_branch

log = structlog.get_logger("zvonar.dialer.sip")

T1 = 0.5
T2 = 4.0
LINGER_S = 64 * T1  # how long a finished transaction still absorbs re-transmissions
Addr = tuple[str, int]
RequestHandler = Callable[[SipRequest, Addr], None]


def _branch_of(message: SipRequest | SipResponse) -> str:
    vias = message.headers.get("via")
    if not vias:
        return ""
    for part in vias[0].split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "branch":
            return value
    return ""


def _cseq_method(message: SipRequest | SipResponse) -> str:
    cseq = message.cseq
    return cseq.method.upper() if cseq is not None else ""


class _Protocol(_UdpProtocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """`start` keeps the transport: aiosipua asserts it is a DatagramTransport, which
        Python 3.11's selector transport is not (a logged AssertionError per socket)."""


class _Udp(UdpSipTransport):
    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=self.local_addr
        )
        self._udp_transport = transport


class ClientTransaction:
    """One request and its answers (RFC 3261 §17.1). Answers arrive in `responses`; None
    there means the transaction timed out (Timer B / F) with no final answer."""

    def __init__(
        self, endpoint: SipEndpoint, request: SipRequest, dest: Addr, timeout_s: float
    ) -> None:
        self.endpoint = endpoint
        self.request = request
        self.dest = dest
        self.method = request.method.upper()
        self.branch = _branch_of(request)
        self.responses: asyncio.Queue[SipResponse | None] = asyncio.Queue()
        self.provisional = False
        self.final: SipResponse | None = None
        self.ack_2xx: SipRequest | None = None  # the caller's ACK, re-sent for a re-sent 2xx
        self._ack: SipRequest | None = None
        self._news = asyncio.Event()
        self._timeout_s = timeout_s
        self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def key(self) -> tuple[str, str]:
        return self.branch, self.method

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        interval = T1
        reliable = self.endpoint.reliable
        while self.final is None:
            if self.method == "INVITE" and self.provisional:
                return  # proceeding: the caller's ring timer decides (CANCEL)
            remaining = deadline - loop.time()
            if remaining <= 0:
                self.responses.put_nowait(None)
                self.endpoint.forget(self, after_s=0.0)
                return
            self._news.clear()
            try:
                async with asyncio.timeout(min(interval, remaining)):
                    await self._news.wait()
                continue
            except TimeoutError:
                pass
            if reliable or self.final is not None:
                continue
            if self.method == "INVITE" and self.provisional:
                return
            self.endpoint.transmit(self.request, self.dest)
            interval = interval * 2 if self.method == "INVITE" else min(interval * 2, T2)
            if self.method != "INVITE" and self.provisional:
                interval = T2

    def on_response(self, response: SipResponse) -> None:
        status = response.status_code
        if self.final is not None:  # a re-transmitted final answer
            if status >= 200:
                again = self._ack if status >= 300 else self.ack_2xx
                if again is not None:
                    self.endpoint.transmit(again, self.dest)
            return
        if status < 200:
            self.provisional = True
        else:
            self.final = response
            if self.method == "INVITE" and status >= 300:
                self._ack = self._ack_for(response)
                self.endpoint.transmit(self._ack, self.dest)
            self.endpoint.forget(self, after_s=0.0 if self.endpoint.reliable else LINGER_S)
        self.responses.put_nowait(response)
        self._news.set()

    def _ack_for(self, response: SipResponse) -> SipRequest:
        """The ACK of a non-2xx final answer (RFC 3261 §17.1.1.3)."""
        invite = self.request
        ack = SipRequest(method="ACK", uri=invite.uri)
        ack.headers.append("Via", invite.headers.get("via")[0])
        for name in ("From", "Call-ID"):
            value = invite.headers.get_first(name)
            if value is not None:
                ack.headers.set_single(name, value)
        ack.headers.set_single("To", response.headers.get_first("to") or "")
        cseq = invite.cseq
        number = cseq.seq if cseq is not None else 1
        ack.headers.set_single("CSeq", stringify_cseq(CSeq(seq=number, method="ACK")))
        ack.headers.set_single("Max-Forwards", "70")
        for route in invite.headers.get("route"):
            ack.headers.append("Route", route)
        return ack

    def stop(self) -> None:
        self._task.cancel()


class SipEndpoint:
    """The dialer's SIP socket(s): UDP always (inbound calls arrive there), TCP as well
    when the trunk uses it. Answers go to their client transaction; requests to
    `on_request`."""

    def __init__(
        self,
        bind: Addr,
        public_host: str,
        transport: Literal["udp", "tcp"],
        trunk: Addr,
        on_request: RequestHandler,
    ) -> None:
        self.bind = bind
        self.public_host = public_host
        self.transport_name = transport
        self.trunk = trunk
        self.on_request = on_request
        self._udp = _Udp(local_addr=bind, on_message=self._on_message)
        self._tcp: TcpSipTransport | None = None
        self._connecting: asyncio.Lock | None = None
        self._transactions: dict[tuple[str, str], ClientTransaction] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self.port = bind[1]

    @property
    def reliable(self) -> bool:
        return self.transport_name == "tcp"

    @property
    def via_transport(self) -> str:
        return self.transport_name.upper()

    @property
    def sip_transport(self) -> SipTransport:
        return self._tcp if self._tcp is not None else self._udp

    async def start(self) -> None:
        await self._udp.start()
        udp = self._udp._udp_transport
        assert udp is not None
        self.port = int(udp.get_extra_info("sockname")[1])
        if self.transport_name == "tcp":
            self._tcp = TcpSipTransport(
                local_addr=(self.bind[0], self.port), on_message=self._on_message
            )
            await self._tcp.start()
            self._connecting = asyncio.Lock()

    async def stop(self) -> None:
        for transaction in list(self._transactions.values()):
            transaction.stop()
        self._transactions.clear()
        for timer in self._timers:
            timer.cancel()
        if self._tcp is not None:
            await self._tcp.stop()
        await self._udp.stop()

    async def connected(self) -> None:
        """With TCP: a connection to the trunk is open (opened again if it dropped)."""
        if self._tcp is None or self._connecting is None:
            return
        async with self._connecting:
            if self.trunk not in self._tcp._connections:
                await self._tcp.connect(self.trunk)

    def via(self) -> str:
        via = Via(
            transport=self.via_transport,
            host=self.public_host,
            port=self.port,
            params={"branch": generate_branch(), "rport": None},
        )
        return stringify_via(via)

    def contact(self, user: str) -> str:
        suffix = ";transport=tcp" if self.reliable else ""
        return f"<sip:{user}@{self.public_host}:{self.port}{suffix}>"

    def transmit(self, message: SipRequest | SipResponse, addr: Addr) -> None:
        try:
            if self._tcp is not None and addr in self._tcp._connections:
                self._tcp.send(message, addr)
            else:
                self._udp.send(message, addr)
        except (OSError, RuntimeError) as exc:  # the socket closed under us: a timeout follows
            log.warning("sip_send_failed", error=str(exc), addr=f"{addr[0]}:{addr[1]}")

    async def request(
        self, request: SipRequest, timeout_s: float = 64 * T1, dest: Addr | None = None
    ) -> ClientTransaction:
        """Send `request` in a new client transaction, to the trunk unless `dest` says."""
        target = dest or self.trunk
        if target == self.trunk:
            await self.connected()
        transaction = ClientTransaction(self, request, target, timeout_s)
        self._transactions[transaction.key] = transaction
        self.transmit(request, target)
        return transaction

    def forget(self, transaction: ClientTransaction, after_s: float) -> None:
        def drop() -> None:
            if self._transactions.get(transaction.key) is transaction:
                del self._transactions[transaction.key]
            transaction.stop()

        if after_s <= 0:
            asyncio.get_running_loop().call_soon(drop)
            return
        timer = asyncio.get_running_loop().call_later(after_s, drop)
        self._timers.add(timer)
        asyncio.get_running_loop().call_later(after_s + 0.1, self._timers.discard, timer)

    def reply(
        self,
        request: SipRequest,
        addr: Addr,
        status: int,
        reason: str,
        *,
        to_tag: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        content_type: str = "",
    ) -> SipResponse:
        response = SipResponse(status_code=status, reason_phrase=reason)
        for via in request.headers.get("via"):
            response.headers.append("Via", via)
        for name in ("From", "Call-ID", "CSeq"):
            value = request.headers.get_first(name)
            if value is not None:
                response.headers.set_single(name, value)
        to = request.headers.get_first("to") or ""
        if to_tag and ";tag=" not in to:
            to = f"{to};tag={to_tag}"
        response.headers.set_single("To", to)
        for name, value in (headers or {}).items():
            response.headers.set_single(name, value)
        if body:
            response.headers.set_single("Content-Type", content_type)
            response.body = body
        self.transmit(response, addr)
        return response

    def _on_message(self, message: SipRequest | SipResponse, addr: Addr) -> None:
        if isinstance(message, SipResponse):
            transaction = self._transactions.get((_branch_of(message), _cseq_method(message)))
            if transaction is None:
                log.debug("sip_stray_response", status=message.status_code)
                return
            transaction.on_response(message)
            return
        try:
            self.on_request(message, addr)
        except Exception:
            log.exception("sip_request_failed", method=message.method)


__all__ = ["T1", "T2", "Addr", "ClientTransaction", "SipEndpoint"]
