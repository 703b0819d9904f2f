"""robots.txt: fetched once per site through a Fetcher, cached, asked before each URL."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from monitor.domain import Fetched
from monitor.errors import FetchError

__all__ = ["RobotsCache"]

log = logging.getLogger("monitor.fetch")

RobotsFetch = Callable[[str, float], Awaitable[Fetched]]  # (url, timeout) -> the answer
TTL = 24 * 3600.0  # seconds a robots.txt (or its 4xx "there is none") is trusted
FAILURE_TTL = 600.0  # seconds before a robots.txt that could not be read is asked for again
ROBOTS_TIMEOUT = 10.0  # seconds, at most, for robots.txt itself
MAX_ROBOTS = 512_000  # bytes of robots.txt read (RFC 9309 asks for at least 500 KiB)


@dataclass(frozen=True)
class _Rules:
    parser: RobotFileParser
    ttl: float  # seconds to trust them


@dataclass
class _Entry:
    rules: asyncio.Task[_Rules]
    expires: float


class RobotsCache:
    """The robots.txt rules of each site (scheme, host and port), fetched once and cached.

    A robots.txt that answers 4xx (there is none, or it is not for us) allows everything, as
    RFC 9309 says. One that answers 5xx or cannot be reached also allows everything, with a
    warning, and is asked for again after 10 minutes: RFC 9309 would disallow the whole site,
    but a flaky government server would then hide every document; the monitor fetches little.
    """

    def __init__(self, fetch: RobotsFetch, *, user_agent: str, ttl: float = TTL,
                 failure_ttl: float = FAILURE_TTL) -> None:
        self._fetch = fetch
        self._agent = user_agent
        self._ttl = ttl
        self._failure_ttl = failure_ttl
        self._sites: dict[str, _Entry] = {}
        self._ignored: set[str] = set()

    async def check(self, url: str, timeout: float) -> None:
        """Raise FetchError (not retryable) when robots.txt disallows `url` for our agent."""
        rules = await self._rules(_site(url), timeout)
        if not rules.parser.can_fetch(self._agent, url):
            raise FetchError(url, "disallowed by robots.txt", retryable=False)

    def ignored(self, source: str) -> None:
        """Note that a source set `robots: false`: warned once per source."""
        if source not in self._ignored:
            self._ignored.add(source)
            log.warning("robots.txt is ignored for source %s (robots: false)", source,
                        extra={"source": source})

    async def _rules(self, site: str, timeout: float) -> _Rules:
        entry = self._sites.get(site)
        if entry is None or (entry.rules.done() and entry.expires <= time.monotonic()):
            task = asyncio.create_task(self._load(site, min(timeout, ROBOTS_TIMEOUT)))
            entry = self._sites[site] = _Entry(task, float("inf"))
            task.add_done_callback(lambda done: self._expire(site, done))
        return await asyncio.shield(entry.rules)  # one caller giving up leaves it for the others

    def _expire(self, site: str, task: asyncio.Task[_Rules]) -> None:
        """Start the entry's time to live; a load that failed outright is forgotten."""
        entry = self._sites.get(site)
        if entry is None or entry.rules is not task:
            return
        if task.cancelled() or task.exception() is not None:
            del self._sites[site]
        else:
            entry.expires = time.monotonic() + task.result().ttl

    async def _load(self, site: str, timeout: float) -> _Rules:
        url = site + "/robots.txt"
        try:
            fetched = await self._fetch(url, timeout)
        except FetchError as error:
            return self._unavailable(url, error)
        text = fetched.body[:MAX_ROBOTS].decode("utf-8", errors="replace")
        parser = RobotFileParser()
        parser.parse(text.splitlines())
        return _Rules(parser, self._ttl)

    def _unavailable(self, url: str, error: FetchError) -> _Rules:
        """Rules that allow everything: there is no robots.txt (4xx) or it could not be read."""
        parser = RobotFileParser()
        parser.parse([])  # no rules: everything allowed
        if not error.retryable:
            return _Rules(parser, self._ttl)
        log.warning("%s could not be read (%s); fetching as if it allowed everything until it "
                    "is asked for again in %g s", url, error.reason, self._failure_ttl)
        return _Rules(parser, self._failure_ttl)


def _site(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"

