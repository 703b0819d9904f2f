"""Three `monitor run` processes on one PostgreSQL database, one killed mid-cycle.

They share the polling through source leases. Afterwards: every new document reached the
webhook exactly once, no source went unpolled for longer than two intervals, and a source was
never polled by two processes at once (except the ones the killed process held).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, inspect, select
from sqlmodel import col

from monitor.store import make_engine
from monitor.store.database import database_url
from monitor.store.records import SourceLeaseRecord, SourceStateRecord
from tests.fixture_server import FixtureServer, Received, Route
from tests.portal import OLD_POSTS, Post, detail_page, list_page

SOURCES = 8
INTERVAL = 4.0  # seconds
CONFIG = """\
version: 1
defaults: {{interval: 4s, jitter: 0.1, timeout: 2s, allow_private: true, per_host_delay: 0s,
            per_host_concurrency: 50}}
replicas: {{lease: 3s, claim_every: 200ms, max_checks: 2}}  # no process can hold them all
observe: {{enabled: false}}
sources:
{sources}
topics:
  - id: blockchain-policy
    terms: {{zh: [区块链]}}
subscriptions:
  - id: hook
    mode: immediate
    channel: {{kind: webhook, url: "{base}/hook"}}
"""
SOURCE = """\
  - id: s{i}
    kind: html-list
    url: {base}/s{i}/index.html
    items: {{selector: "ul.list li"}}
"""


PROVINCES = [("北京市", "政务数据共享"), ("上海市", "供应链金融"), ("广东省", "跨境贸易"),
             ("浙江省", "电子票据"), ("江苏省", "司法存证"), ("山东省", "农产品溯源"),
             ("湖南省", "不动产登记"), ("湖北省", "医疗数据")]


def _news(i: int) -> Post:
    """A distinct document per source (one province and use each), so no two are one story."""
    province, use = PROVINCES[i]
    return Post(f"n{i}", f"{province}人民政府办公厅关于推进区块链在{use}领域应用的通知",
                "2026-03-02", [f"{province}将在{use}中试点区块链技术，由{province}人民政府"
                               f"办公厅统筹，首批{10 + i}个项目年内启动。"])


class Portal:
    """Eight list pages that answer slowly (checks hold their leases a while), and a hook."""

    def __init__(self, server: FixtureServer) -> None:
        self.server = server
        self.deliveries: list[tuple[str, list[str]]] = []  # (webhook-id, document urls)
        for i in range(SOURCES):
            self.publish(i, OLD_POSTS)
        server.answer("/hook", self._hook)

    def publish(self, i: int, posts: list[Post]) -> None:
        listing = list_page(posts, f"/s{i}/")
        etag = '"' + hashlib.sha1(listing.encode()).hexdigest()[:16] + '"'
        self.server.set(f"/s{i}/index.html", listing, headers={"ETag": etag}, delay=0.3)
        for post in posts:
            self.server.set(f"/s{i}/{post.slug}.html", detail_page(post))

    def polls(self, i: int) -> list[float]:
        return [r.at for r in self.server.requests_to(f"/s{i}/index.html")]

    def _hook(self, request: Received) -> Route:
        payload = json.loads(request.body)
        urls = [item["url"] for item in payload.get("items", [])]
        self.deliveries.append((str(request.headers.get("webhook-id")), urls))
        return Route(b"ok", 200)


@contextmanager
def _replicas(count: int, env: dict[str, str],
              tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    logs = [(tmp_path / f"replica{n}.log").open("wb") for n in range(count)]
    procs = [subprocess.Popen([sys.executable, "-m", "monitor", "run"],
                              env={**env, "MONITOR_STATE_DIR": str(tmp_path / f"replica{n}")},
                              stdout=subprocess.DEVNULL, stderr=logs[n])
             for n in range(count)]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()


@contextmanager
def _disposed(engine: Engine) -> Iterator[None]:
    try:
        yield
    finally:
        engine.dispose()


def _wait_for(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def _held_by(engine: Engine, pid: int) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(select(SourceLeaseRecord.source_id,  # type: ignore[call-overload]
                                         SourceLeaseRecord.leased_by))
        return [source for source, holder in rows if holder and f":{pid}:" in holder]


def _baselines_done(engine: Engine) -> int:
    if not inspect(engine).has_table("sourcestaterecord"):
        return 0  # the replicas have not migrated yet
    with engine.connect() as connection:
        return len(connection.execute(select(SourceStateRecord.source_id).where(
            col(SourceStateRecord.baseline_done))).all())


def _checks(tmp_path: Path, count: int) -> list[tuple[int, str, datetime, datetime]]:
    """(replica, source, started, ended) of every check the replicas logged."""
    checks = []
    for n in range(count):
        for line in (tmp_path / f"replica{n}.log").read_text("utf-8").splitlines():
            event = json.loads(line) if line.startswith("{") else {}
            if event.get("message", "").startswith("checked "):
                ended = datetime.fromisoformat(event["time"])
                started = ended - timedelta(seconds=event["seconds"])
                checks.append((n, event["source"], started, ended))
    return checks


def _overlapping(checks: list[tuple[int, str, datetime, datetime]]) -> list[str]:
    """Checks of one source by two replicas at the same time."""
    found = []
    for source in {check[1] for check in checks}:
        mine = sorted((c for c in checks if c[1] == source), key=lambda c: c[2])
        found += [f"{source}: replica {a[0]} until {a[3]}, replica {b[0]} from {b[2]}"
                  for a, b in itertools.pairwise(mine) if b[2] < a[3]]
    return found


def test_three_replicas_share_the_work_and_survive_one_killed(
        postgres_url: str, tmp_path: Path, http_server: FixtureServer) -> None:
    portal = Portal(http_server)
    sources = "".join(SOURCE.format(i=i, base=http_server.base_url) for i in range(SOURCES))
    config = tmp_path / "sources.yaml"
    config.write_text(CONFIG.format(sources=sources, base=http_server.base_url), "utf-8")
    env = {**os.environ, "MONITOR_CONFIG": str(config), "DATABASE_URL": postgres_url,
           "MONITOR_WORKERS": "0", "PYTHONPATH": str(Path(__file__).parents[1])}
    engine = make_engine(database_url(tmp_path, postgres_url))
    with _replicas(3, env, tmp_path) as procs, _disposed(engine):
        assert _wait_for(lambda: _baselines_done(engine) == SOURCES, 30), "the baselines"
        started = time.monotonic()
        for i in range(SOURCES // 2):
            portal.publish(i, [_news(i), *OLD_POSTS])
        victim = procs[0]
        assert _wait_for(lambda: bool(_held_by(engine, victim.pid)), 20), "victim holds one"
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        for i in range(SOURCES // 2, SOURCES):
            portal.publish(i, [_news(i), *OLD_POSTS])
        delivered = lambda: sorted(u for _, urls in portal.deliveries for u in urls)  # noqa: E731
        assert _wait_for(lambda: len(delivered()) >= SOURCES, 40), portal.deliveries
        time.sleep(INTERVAL)  # one more cycle: anything sent twice would show now
        for proc in procs[1:]:
            proc.send_signal(signal.SIGTERM)
        assert [proc.wait(timeout=20) for proc in procs[1:]] == [0, 0]
        ended = time.monotonic()

    news = [http_server.url(f"/s{i}/n{i}.html") for i in range(SOURCES)]
    assert delivered() == sorted(news), "every new document once, none twice"
    ids = [webhook_id for webhook_id, _ in portal.deliveries]
    assert len(ids) == len(set(ids)), "no message sent twice"

    for i in range(SOURCES):
        polls = [at for at in portal.polls(i) if at >= started] + [ended]
        gaps = [later - earlier for earlier, later in zip([started, *polls], polls, strict=False)]
        assert max(gaps) <= 2 * INTERVAL, f"s{i} unpolled for {max(gaps):.1f}s"
    checks = _checks(tmp_path, 3)
    assert not _overlapping(checks), "a source checked by two replicas at once"
    assert {n for n, *_ in checks} >= {1, 2}, "both survivors polled"
