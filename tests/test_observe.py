"""The observability endpoint: /healthz, /readyz and /metrics of `monitor run`, and its parts."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session

from monitor.config import ObserveSettings
from monitor.domain import Document, Match, Outcome
from monitor.observe import (
    ADDRESS_FILE,
    Metrics,
    Probes,
    liveness,
    newest_revision,
    observe_endpoint,
    readiness,
)
from monitor.pipeline import CheckReport
from monitor.store import DocumentWrite, Store, make_engine
from monitor.store.database import MIGRATIONS
from monitor.store.records import DeliveryRecord
from tests.fixture_server import FixtureServer
from tests.portal import FEED_POSTS, GB_POSTS, OLD_POSTS, TOPIC_POST, serve_portal

CONFIG = """\
version: 1
defaults: {{interval: 1h, timeout: 2s, allow_private: true, per_host_delay: 0s}}
observe: {{host: 127.0.0.1, port: 0}}
sources:
  - id: portal
    kind: html-list
    url: {base}/zcwj/index.html
    items: {{selector: "ul.list li"}}
    baseline: false
topics:
  - id: blockchain-policy
    terms: {{zh: [区块链]}}
subscriptions:
  - id: now
    mode: immediate
    channel: {{kind: file}}
"""
NAMES = ("monitor_checks", "monitor_fetch_seconds", "monitor_documents", "monitor_matches",
         "monitor_deliveries", "monitor_oldest_pending_delivery_seconds",
         "monitor_source_last_success_timestamp_seconds")


def _wait_for(predicate: Callable[[], object], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def _get(base: str, path: str) -> httpx.Response:
    return httpx.get(base + path, timeout=5)


def test_run_serves_health_readiness_and_metrics(tmp_path: Path,
                                                 http_server: FixtureServer) -> None:
    serve_portal(http_server, [TOPIC_POST, *OLD_POSTS], GB_POSTS, FEED_POSTS)
    config = tmp_path / "sources.yaml"
    config.write_text(CONFIG.format(base=http_server.base_url), "utf-8")
    state = tmp_path / "state"
    with (tmp_path / "log.jsonl").open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "--state", str(state),
             "run"], stderr=err, env={**os.environ, "MONITOR_WORKERS": "0"})
        try:
            assert _wait_for((state / ADDRESS_FILE).exists, 30)
            base = "http://" + (state / ADDRESS_FILE).read_text("utf-8").strip()
            assert _wait_for(lambda: len(list((state / "outbox").glob("*.eml"))) == 1, 30)
            assert _wait_for(lambda: _get(base, "/healthz").status_code == 200, 30)
            ready = _get(base, "/readyz")
            metrics = _get(base, "/metrics")
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            process.kill()
    assert ready.status_code == 200, ready.text
    assert metrics.headers["content-type"].startswith("text/plain")
    samples = _samples(metrics.text)
    assert samples[("monitor_checks_total", (("outcome", "new"), ("source", "portal")))] == 1
    assert samples[("monitor_fetch_seconds_count", ())] == 1
    assert samples[("monitor_documents_total", (("change", "new"),))] >= 1
    assert samples[("monitor_matches_total", (("topic", "blockchain-policy"),))] >= 1
    assert samples[("monitor_deliveries", (("state", "sent"),))] == 1
    assert samples[("monitor_deliveries", (("state", "pending"),))] == 0
    assert samples[("monitor_oldest_pending_delivery_seconds", ())] == 0
    last = samples[("monitor_source_last_success_timestamp_seconds", (("source", "portal"),))]
    assert abs(last - time.time()) < 120
    assert not (state / ADDRESS_FILE).exists(), "the address goes with the endpoint"


def _report(source: str, outcome: Outcome, writes: tuple[DocumentWrite, ...] = (),
            seconds: float = 0.3) -> CheckReport:
    return CheckReport(source, outcome, new=sum(w.change == "new" for w in writes),
                       changed=sum(w.change == "changed" for w in writes), seconds=seconds,
                       documents=writes)


def _write(url: str, change: str, *matches: Match) -> DocumentWrite:
    document = Document(url=url, source_id="a", title="t", text="x", published=None,
                        language="zh", content_hash="h")
    return DocumentWrite(document, "hash", None if change == "new" else 1, change, matches)


def test_metrics_count_checks_documents_and_relevant_matches(store: Store) -> None:
    metrics = Metrics(store, ["a", "b"])
    Metrics(store, ["a"])  # a second App in the same process: a registry of its own
    relevant = Match("chips", ("芯片",), ())
    weak = Match("energy", ("能源",), (), relevant=False)
    metrics.observe(_report("a", Outcome.NEW, (_write("http://x/1", "new", relevant, weak),
                                               _write("http://x/2", "changed", relevant),
                                               _write("http://x/3", "unchanged", relevant))))
    metrics.observe(_report("b", Outcome.ERROR, seconds=25.0))
    samples = _samples(metrics.exposition().decode())
    assert samples[("monitor_checks_total", (("outcome", "new"), ("source", "a")))] == 1
    assert samples[("monitor_checks_total", (("outcome", "error"), ("source", "b")))] == 1
    assert samples[("monitor_documents_total", (("change", "new"),))] == 1
    assert samples[("monitor_documents_total", (("change", "changed"),))] == 1
    assert samples[("monitor_matches_total", (("topic", "chips"),))] == 2
    assert ("monitor_matches_total", (("topic", "energy"),)) not in samples
    assert samples[("monitor_fetch_seconds_bucket", (("le", "30.0"),))] == 2
    assert samples[("monitor_fetch_seconds_bucket", (("le", "20.0"),))] == 1
    assert samples[("monitor_deliveries", (("state", "dead"),))] == 0
    assert not any(name == "monitor_source_last_success_timestamp_seconds"
                   for name, _ in samples), "never succeeded: no timestamp"


def _alembic() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def test_readiness_names_a_database_behind_or_unreachable(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    first = ScriptDirectory.from_config(_alembic()).get_base()
    assert isinstance(first, str) and first != newest_revision()
    with engine.begin() as connection:
        config = _alembic()
        config.attributes["connection"] = connection
        command.upgrade(config, first)
    problem = readiness(engine)
    assert problem == f"database at migration {first}, the newest is {newest_revision()}"
    engine.dispose()
    missing = make_engine(f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    assert (readiness(missing) or "").startswith("database unreachable: ")
    missing.dispose()


def test_ready_when_migrated(store: Store) -> None:
    assert readiness(store.engine) is None


def test_the_newest_revision_read_from_file_names_is_alembics_head() -> None:
    assert newest_revision() == ScriptDirectory.from_config(_alembic()).get_current_head()


def test_liveness() -> None:
    limit = timedelta(seconds=180)
    assert liveness(timedelta(seconds=5), limit) is None
    assert liveness(None, limit) == "heartbeat missing"
    assert liveness(timedelta(seconds=200), limit) == "heartbeat 200s old (more than 180s)"


def _probes(store: Store, age: timedelta | None) -> Probes:
    return Probes(lambda: age, timedelta(seconds=180), store.engine, Metrics(store, []))


async def test_endpoint_answers_503_when_the_heartbeat_is_missing(tmp_path: Path,
                                                                  store: Store) -> None:
    settings = ObserveSettings(port=0)
    async with observe_endpoint(settings, _probes(store, None), tmp_path) as address:
        assert address is not None
        assert (tmp_path / ADDRESS_FILE).read_text("utf-8").strip() == address
        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            health = await client.get("/healthz")
            ready = await client.get("/readyz")
            unknown = await client.get("/nothing")
    assert (health.status_code, health.text) == (503, "heartbeat missing\n")
    assert (ready.status_code, ready.text) == (200, "ready\n")
    assert unknown.status_code == 404


async def test_a_taken_port_or_disabled_endpoint_leaves_the_daemon_running(
        tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with caplog.at_level(logging.ERROR, logger="monitor.observe"):
            async with observe_endpoint(ObserveSettings(port=port),
                                        _probes(store, timedelta(0)), tmp_path) as address:
                assert address is None
    assert "observability endpoint not started" in caplog.text
    async with observe_endpoint(ObserveSettings(enabled=False, port=0),
                                _probes(store, timedelta(0)), tmp_path) as address:
        assert address is None
    assert not (tmp_path / ADDRESS_FILE).exists()


def test_oldest_pending_delivery_age_is_read_at_scrape_time(store: Store) -> None:
    created = datetime.now(UTC) - timedelta(minutes=10)
    with Session(store.engine) as session:
        session.add(DeliveryRecord(subscription_id="s", idempotency_key="k", status="pending",
                                   subject="", text="", html="", payload={},
                                   next_attempt_at=created, created_at=created))
        session.commit()
    samples = _samples(Metrics(store, []).exposition().decode())
    assert samples[("monitor_deliveries", (("state", "pending"),))] == 1
    assert 590 < samples[("monitor_oldest_pending_delivery_seconds", ())] < 700
