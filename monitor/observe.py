"""The daemon's HTTP endpoint: /healthz, /readyz and Prometheus /metrics (a registry per App)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from monitor.config import ObserveSettings
from monitor.pipeline import CheckReport
from monitor.store import Store
from monitor.store.database import current_revision, newest_revision
from monitor.store.records import DeliveryRecord

log = logging.getLogger("monitor.observe")

ADDRESS_FILE = "observe.addr"  # host:port the endpoint listens on, in the state directory
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
DELIVERY_STATES = ("pending", "sent", "dead")


class Metrics:
    """What a running monitor counts, in a registry of its own (many Apps share a process)."""

    def __init__(self, store: Store, source_ids: Iterable[str]) -> None:
        self.registry = CollectorRegistry()
        self.checks = Counter("monitor_checks", "Checks by source and outcome.",
                              ["source", "outcome"], registry=self.registry)
        self.fetch_seconds = Histogram(
            "monitor_fetch_seconds", "Seconds one check took (fetch, extract, classify, record).",
            buckets=FETCH_BUCKETS, registry=self.registry)
        self.documents = Counter("monitor_documents", "Documents found new or changed.",
                                 ["change"], registry=self.registry)
        self.matches = Counter("monitor_matches", "Relevant topic matches written.", ["topic"],
                               registry=self.registry)
        for change in ("new", "changed"):
            self.documents.labels(change=change)
        self.registry.register(StoreCollector(store, tuple(source_ids)))

    def observe(self, report: CheckReport) -> None:
        """Count one finished check."""
        self.checks.labels(source=report.source_id, outcome=report.outcome.value).inc()
        self.fetch_seconds.observe(report.seconds)
        self.documents.labels(change="new").inc(report.new)
        self.documents.labels(change="changed").inc(report.changed)
        for write in report.documents:
            if write.change in ("new", "changed"):
                for match in write.matches:
                    if match.relevant:
                        self.matches.labels(topic=match.topic_id).inc()

    def exposition(self) -> bytes:
        """Everything, in the Prometheus text format (reads the store: call off the loop)."""
        return generate_latest(self.registry)


class StoreCollector(Collector):
    """Gauges read from the database at scrape time, so they hold across restarts."""

    def __init__(self, store: Store, source_ids: tuple[str, ...]) -> None:
        self.store = store
        self.source_ids = source_ids

    def collect(self) -> Iterator[Metric]:
        try:
            counts, oldest = _delivery_counts(self.store.engine)
            successes = {state.source_id: state.last_success_at
                         for state in self.store.source_states()}
        except SQLAlchemyError as error:
            log.warning("metrics: cannot read the database: %s", _first_line(error))
            return
        yield from _delivery_gauges(counts, oldest)
        last = GaugeMetricFamily("monitor_source_last_success_timestamp_seconds",
                                 "When each source was last checked without error (Unix time).",
                                 labels=["source"])
        for source_id in self.source_ids:
            if (moment := successes.get(source_id)) is not None:
                last.add_metric([source_id], _utc(moment).timestamp())
        yield last


def _delivery_counts(engine: Engine) -> tuple[dict[str, int], datetime | None]:
    """Outbox messages by state, and when the oldest pending one was composed."""
    status = col(DeliveryRecord.status)
    with engine.connect() as connection:
        rows = connection.execute(select(status, func.count()).group_by(status)).all()
        oldest = connection.execute(select(func.min(col(DeliveryRecord.created_at)))
                                    .where(status == "pending")).scalar()
    return {str(state): int(count) for state, count in rows}, oldest


def _delivery_gauges(counts: dict[str, int], oldest: datetime | None) -> Iterator[Metric]:
    deliveries = GaugeMetricFamily("monitor_deliveries", "Outbox messages by state.",
                                   labels=["state"])
    for state in sorted(set(DELIVERY_STATES) | set(counts)):
        deliveries.add_metric([state], counts.get(state, 0))
    yield deliveries
    age = (datetime.now(UTC) - _utc(oldest)).total_seconds() if oldest else 0.0
    yield GaugeMetricFamily("monitor_oldest_pending_delivery_seconds",
                            "Age of the oldest pending outbox message (0: none pending).",
                            value=max(age, 0.0))


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; the store writes UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def readiness(engine: Engine) -> str | None:
    """Why the database is not ready (unreachable, or not migrated); None when it is."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = current_revision(connection)
    except SQLAlchemyError as error:
        return f"database unreachable: {_first_line(error)}"
    head = newest_revision()
    if current != head:
        return f"database at migration {current or 'none'}, the newest is {head}"
    return None


def liveness(age: timedelta | None, max_age: timedelta) -> str | None:
    """Why the scheduler looks dead (heartbeat missing or stale); None when it is alive."""
    if age is None:
        return "heartbeat missing"
    if age > max_age:
        return (f"heartbeat {int(age.total_seconds())}s old "
                f"(more than {int(max_age.total_seconds())}s)")
    return None


@dataclass(frozen=True)
class Probes:
    """What the endpoint reads: the heartbeat's age, the database, the metrics."""

    heartbeat: Callable[[], timedelta | None]
    max_age: timedelta
    engine: Engine
    metrics: Metrics

    async def healthz(self, _request: web.Request) -> web.Response:
        return _verdict(liveness(self.heartbeat(), self.max_age), "alive")

    async def readyz(self, _request: web.Request) -> web.Response:
        return _verdict(await asyncio.to_thread(readiness, self.engine), "ready")

    async def metrics_text(self, _request: web.Request) -> web.Response:
        body = await asyncio.to_thread(self.metrics.exposition)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def _verdict(problem: str | None, good: str) -> web.Response:
    if problem is None:
        return web.Response(text=f"{good}\n")
    return web.Response(status=503, text=f"{problem}\n")


def web_app(probes: Probes) -> web.Application:
    """The routes: /healthz, /readyz, /metrics."""
    app = web.Application()
    app.router.add_get("/healthz", probes.healthz)
    app.router.add_get("/readyz", probes.readyz)
    app.router.add_get("/metrics", probes.metrics_text)
    return app


@asynccontextmanager
async def observe_endpoint(settings: ObserveSettings, probes: Probes,
                           state_dir: Path) -> AsyncIterator[str | None]:
    """Serve the endpoint while inside; yields host:port, or None when disabled or not bound.

    A port already taken is logged, not fatal: the daemon's work matters more than its gauges
    (and replicas on one host would otherwise need a port each).
    """
    runner = await _start(settings, probes) if settings.enabled else None
    address = _publish(runner, state_dir) if runner is not None else None
    try:
        yield address
    finally:
        if runner is not None:
            (state_dir / ADDRESS_FILE).unlink(missing_ok=True)
            await runner.cleanup()


async def _start(settings: ObserveSettings, probes: Probes) -> web.AppRunner | None:
    runner = web.AppRunner(web_app(probes), access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
    except OSError as error:
        log.error("observability endpoint not started on %s:%d: %s", settings.host,
                  settings.port, error)
        await runner.cleanup()
        return None
    return runner


def _publish(runner: web.AppRunner, state_dir: Path) -> str:
    """Write the bound host:port to <state>/observe.addr (the port may have been 0)."""
    host, port = runner.addresses[0][:2]
    address = f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    (state_dir / ADDRESS_FILE).write_text(address + "\n", encoding="utf-8")
    log.info("observability endpoint on http://%s (/healthz, /readyz, /metrics)", address,
             extra={"address": address})
    return address
