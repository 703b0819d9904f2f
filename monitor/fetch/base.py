"""The Fetcher role, and the HTTP rules every fetcher shares: accepted schemes, status → error."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

from monitor.domain import Fetched, Validators
from monitor.errors import FetchError, NotModified, http_status_retryable

__all__ = ["Fetcher", "check_scheme", "check_status"]

SCHEMES = frozenset({"http", "https"})
# Besides every 5xx: the server asks us to come back later.


class Fetcher(Protocol):
    """Bytes from a URL, with cache validators in and out.

    `fetch` returns the body of a 2xx answer, or raises `NotModified` (304), `BodyTooLarge`
    (past the cap), or `FetchError` whose `retryable` says whether trying later may help.
    """

    async def fetch(self, url: str, *, validators: Validators | None = None,
                    timeout: float = 20.0) -> Fetched: ...

    async def aclose(self) -> None: ...


def check_scheme(url: str) -> None:
    """Refuse anything but an absolute http(s) URL, before any I/O."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise FetchError(url, f"not a valid URL: {exc}", retryable=False) from exc
    if parts.scheme.lower() not in SCHEMES:
        raise FetchError(url, f"unsupported URL scheme {parts.scheme!r}: only http and https "
                              "URLs can be fetched", retryable=False)
    if not parts.netloc:
        raise FetchError(url, "the URL has no host", retryable=False)


def check_status(url: str, status: int, phrase: str = "") -> None:
    """Raise the error a non-2xx status means: 304 is NotModified, 5xx/408/425/429 retryable."""
    if 200 <= status < 300:
        return
    if status == 304:
        raise NotModified(url)
    retryable = http_status_retryable(status)
    reason = f"HTTP {status} {phrase}".rstrip()
    if 300 <= status < 400:
        reason += " (a redirect without a usable Location header)"
    raise FetchError(url, reason, retryable=retryable)
