"""The HTTP transport: aiohttp's engine under httpx's API, with two upstream defects fixed."""

from __future__ import annotations

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

LIMITS = httpx.Limits(max_connections=512, keepalive_expiry=30.0)  # 128 checks × 4 follows


class FastTransport(AiohttpTransport):
    """httpx-aiohttp's transport (≈10x less CPU per request than httpcore's pool), fixed so that:

    - a request httpx built without reading its body (a redirect) is read first, so a GET is
      never sent with an empty chunked body, which servers may take for a second request;
    - a refused connection is `httpx.ConnectError`, not `ConnectTimeout`: the operator sees
      "connection failed", not "timed out".
    """

    def __init__(self, limits: httpx.Limits = LIMITS) -> None:
        super().__init__(limits=limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        try:
            response: httpx.Response = await super().handle_async_request(request)
        except httpx.ConnectTimeout as error:
            if _refused(error.__cause__):
                raise httpx.ConnectError(str(error), request=request) from error.__cause__
            raise
        return response


def _refused(cause: BaseException | None) -> bool:
    return isinstance(cause, aiohttp.ClientConnectorError) and not isinstance(
        cause, aiohttp.ServerTimeoutError | aiohttp.ConnectionTimeoutError)
