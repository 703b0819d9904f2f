"""The Fetcher role, and the HTTP rules every fetcher shares: accepted schemes, status → error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Protocol
from urllib.parse import urlsplit

from monitor.domain import Fetched, Validators
from monitor.errors import FetchError, NotModified, http_status_retryable

__all__ = ["FetchPolicy", "Fetcher", "check_scheme", "check_status", "parse_retry_after"]

SCHEMES = frozenset({"http", "https"})
# Besides every 5xx: the server asks us to come back later.


@dataclass(frozen=True)
class FetchPolicy:
    """What one source allows its fetches: robots.txt, private addresses, other hosts, pacing."""

    source: str = ""  # the source id, for log messages
    robots: bool = True  # honour robots.txt
    allow_private: bool = False  # fetch hosts that resolve to private or loopback addresses
    allowed_hosts: tuple[str, ...] = ()  # followed links may go to these hosts (and subdomains)
    delay: float | None = None  # seconds between requests to one host; None: the fetcher's


class Fetcher(Protocol):
    """Bytes from a URL, with cache validators in and out.

    `fetch` returns the body of a 2xx answer, or raises `NotModified` (304), `BodyTooLarge`
    (past the cap), or `FetchError` whose `retryable` says whether trying later may help.
    `policy` carries the source's options; a fetcher without politeness rules ignores it.
    """

    async def fetch(self, url: str, *, validators: Validators | None = None,
                    timeout: float = 20.0, policy: FetchPolicy | None = None) -> Fetched: ...

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


def check_status(url: str, status: int, phrase: str = "", retry_after: str | None = None) -> None:
    """Raise the error a non-2xx status means: 304 is NotModified, 5xx/408/425/429 retryable.

    `retry_after` is the Retry-After header, kept (in seconds) on the error of a retryable status.
    """
    if 200 <= status < 300:
        return
    if status == 304:
        raise NotModified(url)
    retryable = http_status_retryable(status)
    reason = f"HTTP {status} {phrase}".rstrip()
    if 300 <= status < 400:
        reason += " (a redirect without a usable Location header)"
    wait = parse_retry_after(retry_after) if retryable else None
    raise FetchError(url, reason, retryable=retryable, retry_after=wait)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After in seconds (≥ 0) from a number of seconds or an HTTP date; None if unusable."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
