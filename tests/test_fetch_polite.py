"""PoliteFetcher against real servers: Retry-After, backoff, per-host limits, robots.txt."""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.app import build_fetcher
from monitor.config import parse_config
from monitor.errors import ConfigError, FetchError
from monitor.fetch import FetchPolicy, HttpFetcher, PoliteFetcher
from monitor.fetch.base import parse_retry_after
from monitor.fetch.polite import HostLimits
from tests.fixture_server import FixtureServer, Received, Route

UA = "monitor-test/1.0 (+https://example.org/bot)"
OPEN = FetchPolicy(source="test", allow_private=True)  # the test servers are on 127.0.0.x


def polite(**options: Any) -> PoliteFetcher:
    settings: dict[str, Any] = {"delay": 0.0, "backoff": 0.2, "jitter": lambda a, b: b}
    return PoliteFetcher(HttpFetcher(user_agent=UA), user_agent=UA, **(settings | options))


@pytest.fixture
async def fetcher() -> AsyncIterator[PoliteFetcher]:
    fetcher = polite()
    yield fetcher
    await fetcher.aclose()


@pytest.fixture
def other_server() -> Iterator[FixtureServer]:
    """A second server on another host name (127.0.0.2: Linux routes all of 127/8 to lo)."""
    server = FixtureServer(host="127.0.0.2").start()
    yield server
    server.stop()


def answers(*routes: Route) -> Any:
    """A handler that answers with `routes` in turn, then keeps answering the last one."""
    queue = list(routes)

    def answer(_: Received) -> Route:
        return queue.pop(0) if len(queue) > 1 else queue[0]
    return answer


def gaps(requests: list[Received]) -> list[float]:
    return [later.at - earlier.at for earlier, later in itertools.pairwise(requests)]


async def test_429_with_retry_after_is_waited_for_then_succeeds(
        http_server: FixtureServer, fetcher: PoliteFetcher) -> None:
    http_server.answer("/busy", answers(Route(b"slow down", 429, {"Retry-After": "1"}),
                                        Route(b"ok", 200)))
    fetched = await fetcher.fetch(http_server.url("/busy"), timeout=5, policy=OPEN)
    assert fetched.body == b"ok"
    assert gaps(http_server.requests_to("/busy"))[0] >= 0.95


async def test_a_long_retry_after_fails_at_once_and_holds_the_host_back(
        http_server: FixtureServer, fetcher: PoliteFetcher) -> None:
    http_server.set("/busy", "come back tomorrow", status=503, headers={"Retry-After": "120"})
    http_server.set("/other", "fine")
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(http_server.url("/busy"), timeout=5, policy=OPEN)
    assert caught.value.retryable and caught.value.retry_after == 120
    assert "Retry-After" in caught.value.reason
    with pytest.raises(FetchError) as held:
        await fetcher.fetch(http_server.url("/other"), timeout=5, policy=OPEN)
    assert held.value.retryable and held.value.retry_after is not None
    assert [r.path for r in http_server.received] == ["/robots.txt", "/busy"]


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Sat, 01 Jun 2024 12:00:30 GMT", now) == 30
    assert parse_retry_after("Sat, 01 Jun 2024 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


async def test_503_is_retried_with_exponential_backoff(
        http_server: FixtureServer, fetcher: PoliteFetcher) -> None:
    http_server.answer("/flaky", answers(Route(b"busy", 503), Route(b"busy", 503),
                                         Route(b"ok", 200)))
    assert (await fetcher.fetch(http_server.url("/flaky"), timeout=5, policy=OPEN)).body == b"ok"
    first, second = gaps(http_server.requests_to("/flaky"))
    assert 0.2 <= first < 0.4 and 0.4 <= second < 0.7  # backoff 0.2 s × 2^n, jitter at its top


async def test_retries_stop_after_the_configured_attempts_and_keep_the_error(
        http_server: FixtureServer, fetcher: PoliteFetcher) -> None:
    http_server.set("/down", "busy", status=503)
    http_server.set("/gone", "gone", status=404)
    with pytest.raises(FetchError, match="HTTP 503") as caught:
        await fetcher.fetch(http_server.url("/down"), timeout=5, policy=OPEN)
    assert caught.value.retryable and len(http_server.requests_to("/down")) == 3
    with pytest.raises(FetchError, match="HTTP 404"):
        await fetcher.fetch(http_server.url("/gone"), timeout=5, policy=OPEN)
    assert len(http_server.requests_to("/gone")) == 1, "a retry cannot help a 404"


async def test_no_retry_is_started_that_the_deadline_cannot_hold(
        http_server: FixtureServer) -> None:
    http_server.set("/down", "busy", status=503)
    fetcher = polite(backoff=5.0)
    started = time.monotonic()
    with pytest.raises(FetchError, match="HTTP 503"):
        await fetcher.fetch(http_server.url("/down"), timeout=2, policy=OPEN)
    await fetcher.aclose()
    assert time.monotonic() - started < 1 and len(http_server.requests_to("/down")) == 1


async def test_at_most_the_per_host_limit_of_requests_at_once(
        http_server: FixtureServer) -> None:
    http_server.set("/slow", "ok", delay=0.3)
    fetcher = polite(concurrency=2)
    await asyncio.gather(*(fetcher.fetch(http_server.url("/slow"), timeout=5, policy=OPEN)
                           for _ in range(6)))
    await fetcher.aclose()
    assert len(http_server.requests_to("/slow")) == 6 and http_server.max_in_flight == 2


async def test_requests_to_one_host_are_spaced_by_the_delay(
        http_server: FixtureServer) -> None:
    http_server.set("/page", "ok")
    fetcher = polite(concurrency=4, delay=0.3)
    await asyncio.gather(*(fetcher.fetch(http_server.url("/page"), timeout=5, policy=OPEN)
                           for _ in range(3)))
    slower = FetchPolicy(allow_private=True, delay=0.6)  # a source's own per_host_delay
    await fetcher.fetch(http_server.url("/page"), timeout=5, policy=slower)
    await fetcher.aclose()
    first, second, third = gaps(http_server.requests_to("/page"))
    assert first >= 0.29 and second >= 0.29 and third >= 0.59


async def test_a_host_with_its_own_limits_is_paced_apart_from_the_defaults(
        http_server: FixtureServer, other_server: FixtureServer) -> None:
    http_server.set("/page", "ok", delay=0.2)
    other_server.set("/page", "ok", delay=0.2)
    fetcher = polite(concurrency=3, delay=0.0,
                     hosts={"127.0.0.2": HostLimits(concurrency=1, delay=0.3)})
    await asyncio.gather(*(fetcher.fetch(server.url("/page"), timeout=5, policy=OPEN)
                           for server in (http_server, other_server) for _ in range(3)))
    await fetcher.aclose()
    assert http_server.max_in_flight == 3, "the default host keeps the defaults"
    assert other_server.max_in_flight == 1
    assert all(gap >= 0.29 for gap in gaps(other_server.requests_to("/page")))


HOSTS_CONFIG = """\
version: 1
defaults: {{allow_private: true, per_host_delay: 0s}}
hosts:
  {hosts}
sources:
  - {{id: portal, kind: rss, url: "http://127.0.0.2/feed.xml"}}
topics:
  - {{id: blockchain-policy, terms: {{zh: [区块链]}}}}
"""


async def test_the_hosts_map_of_the_config_reaches_the_fetcher(
        other_server: FixtureServer) -> None:
    other_server.set("/page", "ok")
    settings = parse_config(
        HOSTS_CONFIG.format(hosts="127.0.0.2: {per_host_concurrency: 1, per_host_delay: 0.3s}"),
        "sources.yaml", {})
    assert settings.hosts["127.0.0.2"].per_host_concurrency == 1
    fetcher = build_fetcher(settings)
    await asyncio.gather(*(fetcher.fetch(other_server.url("/page"), timeout=5, policy=OPEN)
                           for _ in range(3)))
    await fetcher.aclose()
    assert all(gap >= 0.29 for gap in gaps(other_server.requests_to("/page")))


@pytest.mark.parametrize(("hosts", "problem"), [
    ("www.gov.cn: {per_host_dely: 3s}", "per_host_dely"),
    ("www.gov.cn: {per_host_concurrency: 0}", "per_host_concurrency"),
    ("www.gov.cn: {per_host_delay: soon}", "per_host_delay"),
    ('"https://www.gov.cn/": {per_host_delay: 3s}', "hosts"),
    ("{WWW.gov.cn: {per_host_delay: 1s}, www.gov.cn: {per_host_delay: 2s}}", "twice"),
])
def test_the_hosts_map_is_validated(hosts: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_config(HOSTS_CONFIG.format(hosts=hosts), "sources.yaml", {})


def test_host_names_are_case_insensitive() -> None:
    settings = parse_config(HOSTS_CONFIG.format(hosts="WWW.Gov.CN: {per_host_delay: 3s}"),
                            "sources.yaml", {})
    assert list(settings.hosts) == ["www.gov.cn"]
    assert settings.hosts["www.gov.cn"].per_host_concurrency is None


async def test_a_hanging_host_does_not_delay_another_host(
        http_server: FixtureServer, other_server: FixtureServer) -> None:
    http_server.set("/hang", "late", delay=3)
    other_server.set("/quick", "ok")
    fetcher = polite(concurrency=1, delay=0.0)
    hanging = [asyncio.create_task(fetcher.fetch(http_server.url("/hang"), timeout=5,
                                                 policy=OPEN)) for _ in range(2)]
    await asyncio.sleep(0.1)
    started = time.monotonic()
    assert (await fetcher.fetch(other_server.url("/quick"), timeout=5, policy=OPEN)).body == b"ok"
    assert time.monotonic() - started < 1
    assert not any(task.done() for task in hanging)
    for task in hanging:
        task.cancel()
    await asyncio.gather(*hanging, return_exceptions=True)
    await fetcher.aclose()


async def test_robots_txt_disallow_is_honoured_and_fetched_once(
        http_server: FixtureServer, fetcher: PoliteFetcher) -> None:
    http_server.set("/robots.txt", "User-agent: *\nDisallow: /private/\n",
                    content_type="text/plain")
    http_server.set("/private/doc.html", "secret")
    http_server.set("/public/doc.html", "public")
    with pytest.raises(FetchError, match=r"disallowed by robots\.txt") as caught:
        await fetcher.fetch(http_server.url("/private/doc.html"), timeout=5, policy=OPEN)
    assert not caught.value.retryable
    for _ in range(2):
        await fetcher.fetch(http_server.url("/public/doc.html"), timeout=5, policy=OPEN)
    assert len(http_server.requests_to("/robots.txt")) == 1
    assert http_server.requests_to("/private/doc.html") == []


async def test_robots_false_ignores_robots_txt_with_one_warning(
        http_server: FixtureServer, fetcher: PoliteFetcher,
        caplog: pytest.LogCaptureFixture) -> None:
    http_server.set("/robots.txt", "User-agent: *\nDisallow: /\n", content_type="text/plain")
    http_server.set("/doc.html", "text")
    ignoring = FetchPolicy(source="stubborn", robots=False, allow_private=True)
    with caplog.at_level(logging.WARNING, logger="monitor.fetch"):
        for _ in range(2):
            assert (await fetcher.fetch(http_server.url("/doc.html"), timeout=5,
                                        policy=ignoring)).body == b"text"
    warnings = [r.getMessage() for r in caplog.records if "robots.txt is ignored" in r.getMessage()]
    assert warnings == ["robots.txt is ignored for source stubborn (robots: false)"]
    assert http_server.requests_to("/robots.txt") == []


async def test_a_robots_txt_that_fails_allows_everything_with_a_warning(
        http_server: FixtureServer, caplog: pytest.LogCaptureFixture) -> None:
    http_server.set("/robots.txt", "oops", status=500)
    http_server.set("/doc.html", "text")
    fetcher = polite(retries=0)
    with caplog.at_level(logging.WARNING, logger="monitor.fetch"):
        assert (await fetcher.fetch(http_server.url("/doc.html"), timeout=5,
                                    policy=OPEN)).body == b"text"
    await fetcher.aclose()
    assert any("robots.txt could not be read" in r.getMessage() for r in caplog.records)


async def test_a_failed_fetch_leaves_no_garbage_for_the_cycle_collector(
        http_server: FixtureServer, fetcher: PoliteFetcher) -> None:
    """Thousands of checks a pass answer 304 or fail: their exceptions must be freed at once,
    not left in reference cycles for the collector (it then walks the whole heap)."""
    http_server.set("/same", status=304)
    http_server.set("/gone", status=404)
    gc.collect()
    gc.disable()
    try:
        for path in ("/same", "/gone") * 10:
            with pytest.raises(FetchError):  # NotModified is a FetchError too
                await fetcher.fetch(http_server.url(path), policy=OPEN)
        assert gc.collect() == 0
    finally:
        gc.enable()
