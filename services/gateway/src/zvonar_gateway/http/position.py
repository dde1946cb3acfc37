"""Read-your-writes across gateway replicas: the log position travels with the client.

Every response to a request that wrote carries the position of the write in the
`Zvonar-Position` header (and, for the web page, in the `zvonar_position` cookie). A client
sends the value back on its next request, to any replica, and that request's reads wait for
the position (up to the read side's bound, 5 s) as if the replica had taken the write itself.

The value is opaque: `<position>.<mac>`, the mac an HMAC of the account id and the position
under a key every replica derives from ZVONAR_SESSION_SECRET. So:
- it is per account: a value made for one account is ignored on another's request, and one
  account's writes never slow another's reads;
- it is bounded by the log's end: only a position some replica was given by the campaign
  log in answer to a write carries a valid mac, so a made-up (huge) number cannot make
  reads wait;
- a header that is not of that form is a 400 in the API's error shape, before anything
  runs; a well-formed one that is not valid here (another account's, a rotated secret's) is
  ignored, as is a bad cookie (the page must never break on a stale cookie).

The replica's own memory of each account's last write (`Backend._remember_write`) stays the
fallback for a client that sends nothing.
"""

from __future__ import annotations

from http.cookies import CookieError, SimpleCookie
from pathlib import Path

from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders, State
from litestar.enums import ParamType
from litestar.openapi.spec import OpenAPIHeader, OpenAPIResponse, OpenAPIType, Parameter, Schema
from litestar.types import Message, Receive, Scope, Send

from zvonar_gateway.http.middleware import HttpMiddleware
from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.position import (
    POSITION_COOKIE,
    POSITION_HEADER,
    TOKEN,
    Carrier,
    PositionSigner,
    _current,
    well_formed,
)
from zvonar_gateway.settings import session_secret

_HEADER_KEY = POSITION_HEADER.lower().encode()
_SIGNER_STATE_KEY = "position_signer"


def signer_of(state: State) -> PositionSigner:
    """The app's signer, made on first use from the session secret every replica shares."""
    found = state.get(_SIGNER_STATE_KEY)
    if isinstance(found, PositionSigner):
        return found
    settings = state.settings
    signer = PositionSigner.from_secret(
        session_secret(Path(settings.data_dir), settings.session_secret)
    )
    state[_SIGNER_STATE_KEY] = signer
    return signer


def _cookie_value(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except CookieError:  # a cookie header we cannot parse carries nothing
                return None
            morsel = jar.get(POSITION_COOKIE)
            if morsel is not None:
                return morsel.value
    return None


def _header_value(scope: Scope) -> str | None:
    values = [v for n, v in scope.get("headers", ()) if n == _HEADER_KEY]
    if not values:
        return None
    return b",".join(values).decode("latin-1").strip()


def bad_position_header() -> ApiError:
    return ApiError(
        400,
        "bad_request",
        f"the {POSITION_HEADER} header must be a value this API gave in a response's "
        f"{POSITION_HEADER} header, sent back as is",
        [{"field": POSITION_HEADER, "message": "not a position token"}],
    )


class PositionMiddleware(HttpMiddleware):
    """Reads the client's position (header, else cookie) into the request's carrier, and
    puts the position of the request's writes on its response."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        state: State = scope["litestar_app"].state
        carrier = Carrier(signer_of(state))
        header = _header_value(scope)
        if header:
            if not well_formed(header):
                raise bad_position_header()
            carrier.given = header
        else:
            cookie = _cookie_value(scope)
            carrier.given = cookie if cookie and well_formed(cookie) else None
        web = not scope["path"].startswith("/api/")
        secure = bool(state.settings.secure_cookies)

        async def send_with_position(message: Message) -> None:
            if message["type"] == "http.response.start":
                token = carrier.answer()
                if token is not None:
                    headers = MutableScopeHeaders.from_message(message)
                    headers[POSITION_HEADER] = token
                    if web:
                        flags = "; Secure" if secure else ""
                        headers.add(
                            "set-cookie",
                            f"{POSITION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{flags}",
                        )
            await send(message)

        reset = _current.set(carrier)
        try:
            await self.app(scope, receive, send_with_position)
        finally:
            _current.reset(reset)


_DESCRIBED = (
    "The log position of the client's last write (the value of a write's "
    f"`{POSITION_HEADER}` response header, as is): this request's reads wait, up to 5 s, "
    "until they reflect it, on whichever replica answers. Opaque and per account; another "
    "account's value is ignored, a malformed one is a 400."
)
_GIVEN = (
    "The log position of this write, signed for the account: send it back in the "
    f"`{POSITION_HEADER}` request header to read this write on any replica."
)


def document_position(app: Litestar) -> None:
    """Every API operation takes the header; a write's success answers carry it."""
    schema = app.openapi_schema
    for path, item in (schema.paths or {}).items():
        if not path.startswith("/api/"):
            continue
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            operation.parameters = [
                *(operation.parameters or []),
                Parameter(
                    name=POSITION_HEADER,
                    param_in=ParamType.HEADER,
                    required=False,
                    description=_DESCRIBED,
                    schema=Schema(type=OpenAPIType.STRING, pattern=TOKEN.pattern),
                ),
            ]
            if method == "get":
                continue
            for status, response in (operation.responses or {}).items():
                if status.startswith("2") and isinstance(response, OpenAPIResponse):
                    header = OpenAPIHeader(
                        description=_GIVEN, schema=Schema(type=OpenAPIType.STRING)
                    )
                    response.headers = {**(response.headers or {}), POSITION_HEADER: header}


def openapi_description() -> str:
    """What the OpenAPI description says of the header."""
    return (
        f"Read your own writes on any replica: a response to a write carries "
        f"`{POSITION_HEADER}`; send its value back as is in the `{POSITION_HEADER}` request "
        "header and reads wait (up to 5 s) until they reflect that write. The value is "
        "opaque and per account; a malformed one is a 400."
    )
