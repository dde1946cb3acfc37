"""The Litestar dependencies of the API's handlers: `account` (the account whose key the
request carries; a missing or wrong key is a 401 before the handler runs) and `backend`
(the app's one Backend port). The app factory wires them by name."""

from __future__ import annotations

from typing import Any, Protocol

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import SkipValidation

from zvonar_gateway.domain.account import Account
from zvonar_gateway.service_layer.ports import Backend

# The `backend` dependency as handlers declare it. Litestar would check the value against the
# annotation with isinstance, which a Protocol answers slowly if at all (~50 µs a request for
# a runtime-checkable one): the app's one backend is put there by `bootstrap`, unchecked.
BackendDep = NamedDependency[SkipValidation[Backend]]


class Authenticator(Protocol):
    """Checks a request's key (and its rate) and returns its account, or raises ApiError."""

    async def authenticate(self, request: Request[Any, Any, Any]) -> Account: ...


ACCOUNT_STATE_KEY = "zvonar_account"


async def provide_account(request: Request[Any, Any, Any]) -> Account:
    """The `account` dependency: the account whose key the request carries (401 otherwise).
    The app's guard has usually checked the key already, before the body was read."""
    known = request.scope.get("state", {}).get(ACCOUNT_STATE_KEY)
    if isinstance(known, Account):
        return known
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.authenticate(request)


async def provide_backend(request: Request[Any, Any, Any]) -> Backend:
    """The `backend` dependency: the app's one Backend."""
    backend: Backend = request.app.state.backend
    return backend
