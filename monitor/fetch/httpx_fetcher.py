"""HttpFetcher: conditional GET over one shared httpx client, with a body cap and a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

import httpx

from monitor.domain import Fetched, Validators
from monitor.errors import BodyTooLarge, FetchError
from monitor.fetch.base import FetchPolicy, check_scheme, check_status
from monitor.fetch.safety import check_address
from monitor.fetch.transport import FastTransport

__all__ = ["HttpFetcher"]

_CONNECT_TIMEOUT = 10.0  # seconds, at most; never more than the whole request's timeout
# Errors a retry cannot fix: the same request would fail the same way.
_PERMANENT: tuple[type[Exception], ...] = (
    httpx.TooManyRedirects,  # a redirect loop (or a chain past max_redirects)
    httpx.UnsupportedProtocol,
    httpx.InvalidURL,
    httpx.DecodingError,  # a body whose Content-Encoding does not decode
)


class HttpFetcher:
    """Fetches http(s) URLs through one shared httpx transport.

    Redirects are followed one by one (up to `max_redirects`); `Fetched.url` is the final URL.
    Each target must be http(s) and, when a `policy` is given, pass the same address check as
    the first URL (no private or loopback address unless `policy.allow_private`): a public page
    cannot redirect the monitor into the intranet. A refused target or a redirect loop raises a
    `FetchError` that is not retryable: the same request goes the same way again, so the URL in
    the configuration needs fixing. Timeouts, connection errors, 5xx and 429 are retryable;
    other 4xx are not. `timeout` bounds the whole request, redirects and body included.

    The default transport is `FastTransport` (aiohttp's engine under httpx's API): httpcore's
    pool costs far more CPU per request at scale (see docs/benchmarks.md). Requests go to the
    transport directly, not through an `httpx.AsyncClient`, whose per-request work (merging
    URLs, headers and cookies, hooks) cost about a fifth of a 304 request; redirects are built as
    the client builds them, and cookies are kept by the transport's aiohttp session.
    """

    def __init__(self, *, user_agent: str, max_body: int = 10_000_000, max_redirects: int = 5,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.max_body = max_body
        self.max_redirects = max_redirects
        self._headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"}
        self._transport = transport or FastTransport()

    async def fetch(self, url: str, *, validators: Validators | None = None,
                    timeout: float = 20.0, policy: FetchPolicy | None = None) -> Fetched:
        """`policy` checks redirect targets; the first URL's checks are `PoliteFetcher`'s."""
        check_scheme(url)
        started = time.monotonic()
        with _translated(url, timeout):
            async with asyncio.timeout(timeout):
                return await self._get(url, validators, timeout, started, policy)

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> HttpFetcher:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def _get(self, url: str, validators: Validators | None, timeout: float,
                   started: float, policy: FetchPolicy | None) -> Fetched:
        headers = {**self._headers, **_conditional_headers(validators)}
        extensions = {"timeout": _timeouts(timeout).as_dict()}
        request = httpx.Request("GET", url, headers=headers, extensions=extensions)
        for _ in range(self.max_redirects + 1):
            response = await self._transport.handle_async_request(request)
            response.request = request
            if not response.has_redirect_location:
                return await self._answer(url, response, started)
            await response.aclose()
            target = _redirect_url(request, response)
            await _check_redirect(url, str(target), policy)
            request = httpx.Request("GET", target, headers=headers, extensions=extensions)
        raise httpx.TooManyRedirects(
            f"more than {self.max_redirects} redirects, the last to {request.url}", request=request)

    async def _answer(self, url: str, response: httpx.Response, started: float) -> Fetched:
        try:
            check_status(url, response.status_code, response.reason_phrase,
                         response.headers.get("Retry-After"))
            body = await self._read_body(url, response)
        finally:
            await response.aclose()
        return _fetched(response, body, time.monotonic() - started)

    async def _read_body(self, url: str, response: httpx.Response) -> bytes:
        """The decoded body; BodyTooLarge as soon as the cap is passed (or announced)."""
        if _declared_length(response) > self.max_body:
            raise BodyTooLarge(url, self.max_body)
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self.max_body:
                raise BodyTooLarge(url, self.max_body)
        return bytes(body)


async def _check_redirect(url: str, target: str, policy: FetchPolicy | None) -> None:
    """Refuse a redirect target that is not http(s), or not allowed by the source's policy."""
    try:
        check_scheme(target)
        if policy is not None:
            await check_address(target, policy)
    except FetchError as error:
        raise FetchError(url, f"redirected to {target}: {error.reason}",
                         retryable=error.retryable) from error


def _redirect_url(request: httpx.Request, response: httpx.Response) -> httpx.URL:
    """Where a redirect goes, read as httpx's client reads it (relative, host-less, fragment)."""
    try:
        url = httpx.URL(response.headers["Location"])
    except httpx.InvalidURL as exc:
        raise httpx.RemoteProtocolError(f"Invalid URL in location header: {exc}.",
                                        request=request) from None
    if url.scheme and not url.host:
        url = url.copy_with(host=request.url.host)
    if url.is_relative_url:
        url = request.url.join(url)
    if request.url.fragment and not url.fragment:
        url = url.copy_with(fragment=request.url.fragment)
    return url


@contextmanager
def _translated(url: str, timeout: float) -> Iterator[None]:
    """Turn httpx and deadline exceptions into FetchError, keeping the cause."""
    try:
        yield
    except TimeoutError as exc:
        raise FetchError(url, f"no complete answer within {timeout:g} s", retryable=True) from exc
    except httpx.TimeoutException as exc:
        raise FetchError(url, f"timed out ({type(exc).__name__}) after at most {timeout:g} s",
                         retryable=True) from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise FetchError(url, _describe(exc), retryable=not isinstance(exc, _PERMANENT)) from exc


def _describe(exc: Exception) -> str:
    if isinstance(exc, httpx.TooManyRedirects):
        return f"too many redirects (a loop?): {exc}"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect: {str(exc) or type(exc).__name__}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _timeouts(timeout: float) -> httpx.Timeout:
    """Connect bounded separately; read/write/pool per operation; the total is asyncio's."""
    return httpx.Timeout(timeout, connect=min(timeout, _CONNECT_TIMEOUT))


def _conditional_headers(validators: Validators | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if validators and validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators and validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


def _declared_length(response: httpx.Response) -> int:
    """Content-Length as sent (compressed size), or 0 when absent or unreadable."""
    try:
        return int(response.headers.get("Content-Length", "0"))
    except ValueError:
        return 0


def _fetched(response: httpx.Response, body: bytes, elapsed: float) -> Fetched:
    headers = response.headers
    validators = Validators(etag=headers.get("ETag"), last_modified=headers.get("Last-Modified"))
    return Fetched(url=str(response.url), status=response.status_code,
                   content_type=headers.get("Content-Type", ""), body=body,
                   validators=validators, elapsed=elapsed)
