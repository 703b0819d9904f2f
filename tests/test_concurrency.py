"""One slow host never delays the others: checks take per-host slots before global ones."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.app import App, Options
from monitor.config import parse_config
from monitor.pipeline import MAX_CONCURRENT_CHECKS
from tests.fixture_server import FixtureServer
from tests.portal import FEED_POSTS, GB_POSTS, OLD_POSTS, serve_portal

SLOW_SOURCES = MAX_CONCURRENT_CHECKS + 2  # more than all the global check slots


@pytest.fixture
def fast_server() -> Iterator[FixtureServer]:
    server = FixtureServer().start()
    yield server
    server.stop()


def _config(slow: FixtureServer, fast: FixtureServer) -> str:
    lines = ["version: 1", "defaults: {timeout: 10s, allow_private: true, per_host_delay: 0s,",
             "           per_host_concurrency: 2}", "sources:"]
    for n in range(SLOW_SOURCES):
        lines += [f"  - {{id: slow{n}, kind: rss, url: '{slow.url(f'/feed{n}.xml')}'}}"]
    fast_url = fast.url("/feed.xml").replace("127.0.0.1", "localhost")  # another host name
    lines += [f"  - {{id: fast, kind: rss, url: '{fast_url}'}}",
              "topics:", "  - {id: t, terms: {zh: [区块链]}}"]
    return "\n".join(lines) + "\n"


async def test_a_slow_host_never_delays_another(http_server: FixtureServer,
                                                fast_server: FixtureServer,
                                                tmp_path: Path) -> None:
    for n in range(SLOW_SOURCES):
        http_server.set(f"/feed{n}.xml", "<rss/>", delay=3.0)
    serve_portal(fast_server, OLD_POSTS, GB_POSTS, FEED_POSTS)
    settings = parse_config(_config(http_server, fast_server), "sources.yaml", {})
    app = App(Options(Path("sources.yaml"), tmp_path, workers=0), settings)
    try:
        started = time.monotonic()
        slow = [asyncio.create_task(app.checker.check(s)) for s in settings.sources[:-1]]
        await asyncio.sleep(0.1)  # the slow host's checks are under way first
        report = await app.checker.check(settings.sources[-1])
        assert report.error is None and report.new == 1
        assert time.monotonic() - started < 2.5, "the fast host did not wait for the slow one"
        for task in slow:
            task.cancel()
        await asyncio.gather(*slow, return_exceptions=True)
    finally:
        await app.aclose()
