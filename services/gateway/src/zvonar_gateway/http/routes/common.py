"""Small helpers shared by the route modules: app state access, JSON bodies, ids."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from zvonar_gateway.service_layer.errors import ApiError
from zvonar_gateway.service_layer.ports import Accounts
from zvonar_gateway.settings import GatewaySettings

# Campaign ids are positive and fit a 64-bit column; anything else names no campaign.
MAX_ID = 2**62


def settings_of(request: Request[Any, Any, Any]) -> GatewaySettings:
    settings: GatewaySettings = request.app.state.settings
    return settings


def accounts_of(request: Request[Any, Any, Any]) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


def check_id(campaign_id: int) -> int:
    if not 0 < campaign_id < MAX_ID:
        raise ApiError(404, "not_found", f"no campaign {campaign_id}")
    return campaign_id


def decode_json(data: bytes, what: str = "the body") -> Any:
    if not data.strip():
        raise ApiError(400, "malformed_json", f"{what} is empty; a JSON object is expected")
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise ApiError(400, "malformed_json", f"{what} is not valid JSON: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_utf8", f"{what} holds text that is not valid UTF-8") from exc
    except RecursionError as exc:
        # msgspec decodes recursively: `[[[[…` a thousand deep exhausts the stack.
        raise ApiError(400, "malformed_json", f"{what} is JSON nested too deeply") from exc
