"""Form text that is not UTF-8 is a 400 (docs/API.md "Limits and hostile input").

Litestar decodes multipart fields strictly (a UnicodeDecodeError, answered 400 by the error
handlers), but reads a URL-encoded form with each bad byte replaced by U+FFFD, which would
then be stored as if the customer had typed it. The same error is raised for those here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

from litestar import Request

_URL_ENCODED = "application/x-www-form-urlencoded"


async def refuse_form_not_utf8(request: Request[Any, Any, Any]) -> None:
    """Raises UnicodeDecodeError when a URL-encoded body holds text that is not UTF-8."""
    if request.headers.get("content-type", "").lower().startswith(_URL_ENCODED):
        for pair in (await request.body()).split(b"&"):
            unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
