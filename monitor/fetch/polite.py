"""PoliteFetcher: per-host limits and pacing, robots.txt, safety and retries around a Fetcher."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.domain import Fetched, Validators
from monitor.errors import FetchError
from monitor.fetch.base import Fetcher, FetchPolicy, check_scheme
from monitor.fetch.robots import RobotsCache
from monitor.fetch.safety import check_address

__all__ = ["HostLimits", "PoliteFetcher"]

log = logging.getLogger("monitor.fetch")

MAX_RETRY_AFTER = 30.0  # seconds: a longer Retry-After fails the request (retryable) at once
MAX_PAUSE = 3600.0  # seconds, at most, a host's Retry-After holds back every request to it
MIN_ATTEMPT = 1.0  # seconds: a retry needs at least this much of the deadline left


@dataclass(frozen=True)
class HostLimits:
    """One host's own limits; None keeps the fetcher's default."""

    concurrency: int | None = None  # requests at once
    delay: float | None = None  # seconds between the starts of two requests


class _Host:
    """One host's request slots and delay, the start of its latest request, the end of its pause."""

    def __init__(self, concurrency: int, delay: float) -> None:
        self.slots = asyncio.Semaphore(concurrency)
        self.delay = delay
        self.last_start = float("-inf")
        self.resume_at = float("-inf")  # loop time before which the host asked us to wait

    @asynccontextmanager
    async def turn(self, delay: float) -> AsyncIterator[None]:
        """A slot, held once `delay` has passed since the host's previous request started."""
        loop = asyncio.get_running_loop()
        async with self.slots:
            now = loop.time()
            start = max(now, self.last_start + delay, self.resume_at)
            self.last_start = start  # reserved before sleeping: the next request queues after
            if start > now:
                await asyncio.sleep(start - now)
            yield

    def pause(self, seconds: float) -> None:
        """Hold back every request to this host for `seconds` (capped at MAX_PAUSE)."""
        until = asyncio.get_running_loop().time() + min(seconds, MAX_PAUSE)
        self.resume_at = max(self.resume_at, until)

    def paused_for(self) -> float:
        return max(0.0, self.resume_at - asyncio.get_running_loop().time())


class PoliteFetcher:
    """Wraps a Fetcher so that every host is asked politely, and only where it may be asked.

    Per host (its name, whatever the port or scheme; shared by every source): at most
    `concurrency` requests at once, and each request starts at least `delay` seconds after the
    previous one. `hosts` gives a host (by name, case-insensitive) its own limits; a source's
    `policy.delay` replaces any delay for that source's requests. Time spent waiting for the
    host is not counted against the request's timeout.

    Before fetching: http/https only, no private or loopback address unless the policy allows
    it, and robots.txt asked (unless the policy says `robots: false`).

    A retryable failure is tried again up to `retries` times, after an exponential backoff with
    jitter (`backoff` × 2^n, between half and all of it), while the request's deadline (its
    timeout, from the first attempt) leaves time. A Retry-After on 429/503 is honoured: the
    whole host waits that long. One above MAX_RETRY_AFTER (30 s) or past the deadline is not
    waited for: the request fails at once with a retryable FetchError carrying `retry_after`,
    and later requests to that host fail the same way until the pause is over (at most 1 h).
    """

    def __init__(self, inner: Fetcher, *, user_agent: str, concurrency: int = 2,
                 delay: float = 1.0, retries: int = 2, backoff: float = 0.5,
                 jitter: Callable[[float, float], float] = random.uniform,
                 hosts: Mapping[str, HostLimits] | None = None) -> None:
        self._inner = inner
        self._concurrency = concurrency
        self._delay = delay
        self._limits = {name.lower(): limits for name, limits in (hosts or {}).items()}
        self._retries = retries
        self._backoff = backoff
        self._jitter = jitter
        self._hosts: dict[str, _Host] = {}
        self._robots = RobotsCache(self._robots_fetch, user_agent=user_agent)

    async def fetch(self, url: str, *, validators: Validators | None = None,
                    timeout: float = 20.0, policy: FetchPolicy | None = None) -> Fetched:
        policy = policy or FetchPolicy()
        check_scheme(url)
        await check_address(url, policy)
        if policy.robots:
            await self._robots.check(url, timeout)
        else:
            self._robots.ignored(policy.source or url)
        return await self._retrying(url, validators, timeout, policy)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def _robots_fetch(self, url: str, timeout: float) -> Fetched:
        """robots.txt of a site; a public site's may not redirect into private addresses."""
        host = self._host(url)
        _check_pause(url, host)
        policy = FetchPolicy(allow_private=not await _is_public(url))
        async with host.turn(host.delay):
            return await self._inner.fetch(url, timeout=timeout, policy=policy)

    async def _retrying(self, url: str, validators: Validators | None, timeout: float,
                        policy: FetchPolicy) -> Fetched:
        loop = asyncio.get_running_loop()
        host = self._host(url)
        delay = host.delay if policy.delay is None else policy.delay
        deadline: float | None = None
        for attempt in range(self._retries + 1):
            _check_pause(url, host)
            try:
                async with host.turn(delay):
                    deadline = deadline or loop.time() + timeout
                    return await self._inner.fetch(url, validators=validators,
                                                   timeout=deadline - loop.time(), policy=policy)
            except FetchError as error:
                wait = self._wait(error, attempt, deadline, host)
                if wait is None:
                    raise  # not from _wait: a frame holding the error must not be in its traceback
            log.info("fetching %s again in %.1f s (attempt %d failed)", url, wait, attempt + 1)
            await asyncio.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait(self, error: FetchError, attempt: int, deadline: float | None,
              host: _Host) -> float | None:
        """Seconds to wait before the next attempt; None when there is none to make."""
        if error.retry_after is not None:
            host.pause(error.retry_after)
        left = (deadline or 0.0) - asyncio.get_running_loop().time()
        if not error.retryable or attempt >= self._retries or deadline is None:
            return None
        if error.retry_after is not None:
            if error.retry_after > min(MAX_RETRY_AFTER, left - MIN_ATTEMPT):
                raise _come_back_later(error.url, error.retry_after, error) from error
            return 0.0  # the host's pause makes the wait
        wait = self._backoff * 2.0**attempt * self._jitter(0.5, 1.0)
        return None if wait > left - MIN_ATTEMPT else wait

    def _host(self, url: str) -> _Host:
        name = (urlsplit(url).hostname or "").lower()
        host = self._hosts.get(name)
        if host is None:
            limits = self._limits.get(name, HostLimits())
            host = self._hosts[name] = _Host(
                self._concurrency if limits.concurrency is None else limits.concurrency,
                self._delay if limits.delay is None else limits.delay)
        return host


def _check_pause(url: str, host: _Host) -> None:
    """Fail at once while the host's Retry-After pause is longer than we would wait."""
    if host.paused_for() > MAX_RETRY_AFTER:
        raise _come_back_later(url, host.paused_for())


def _come_back_later(url: str, seconds: float, error: FetchError | None = None) -> FetchError:
    reason = f"{error.reason}; " if error is not None else ""
    return FetchError(url, f"{reason}the server asked us to wait {seconds:.0f} s (Retry-After)",
                      retryable=True, retry_after=seconds)


async def _is_public(url: str) -> bool:
    try:
        await check_address(url, FetchPolicy(allow_private=False))
    except FetchError:
        return False
    return True
