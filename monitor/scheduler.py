"""The daemon loop: APScheduler runs the source dispatcher, digests on cron, and the sender."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.app import App
from monitor.config import Subscription
from monitor.cron import cron_trigger
from monitor.dispatch import SourceDispatcher
from monitor.observe import Probes, observe_endpoint
from monitor.sources import SourceConfig
from monitor.store.leases import SourceLeases

log = logging.getLogger("monitor.scheduler")

SEND_EVERY = timedelta(seconds=30)
SHUTDOWN_GRACE = timedelta(seconds=8)  # within Docker's default 10 s stop timeout
HEARTBEAT_FILE = "heartbeat"
HEARTBEAT_MAX_AGE = timedelta(seconds=180)  # older: `monitor healthcheck` and /healthz fail


class Daemon:
    """Runs until stopped; every job logs its failures and never kills the process.

    Sources are checked when the dispatcher claims them (database leases, shared with any
    other `monitor run` on the same database); digests follow their cron schedules, each made
    once per period; the outbox sender drains what is due.
    """

    def __init__(self, app: App, grace: timedelta = SHUTDOWN_GRACE) -> None:
        self.app = app
        self.grace = grace
        self.stopping = asyncio.Event()
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.dispatcher = SourceDispatcher(app.settings, app.store, SourceLeases(app.engine),
                                           self.check_source)
        self._running: set[asyncio.Task[object]] = set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        await asyncio.to_thread(self.app.fingerprint_old_documents)
        self.dispatcher.plan(datetime.now(UTC))
        self._schedule()
        self.scheduler.add_job(self.catch_up, id="catch-up")  # digests missed while down
        self.scheduler.add_job(self.app.pool.warm, id="warm-up")
        self.scheduler.start()
        log.info("running as %s: %d source(s), %d subscription(s)", self.dispatcher.holder,
                 len(self.app.settings.sources), len(self.app.settings.subscriptions))
        await self.stopping.wait()
        await self._stop()

    async def _stop(self) -> None:
        """Start nothing new; let running checks and sends finish, up to the grace period;
        then give unfinished sources back, due, for another process to take."""
        log.info("stopping: waiting for %d running job(s)", len(self._running))
        self.scheduler.pause()
        if self._running:
            await asyncio.wait(set(self._running), timeout=self.grace.total_seconds())
        await self.dispatcher.give_back()
        self.scheduler.shutdown(wait=False)
        log.info("stopped")

    def _tracked(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    def _schedule(self) -> None:
        now = datetime.now(UTC)
        replicas = self.app.settings.replicas
        self.scheduler.add_job(self.dispatch, _every(replicas.claim_every), id="dispatch",
                               next_run_time=now, max_instances=1, coalesce=True)
        self.scheduler.add_job(self.renew, _every(replicas.lease / 3), id="renew",
                               max_instances=1, coalesce=True)
        for sub in self.app.settings.subscriptions:
            if sub.mode == "digest":
                self.scheduler.add_job(self.digest, cron_trigger(sub.schedule, sub.timezone),
                                       args=[sub], id=f"digest:{sub.id}", max_instances=1,
                                       coalesce=True, misfire_grace_time=3600)
        self.scheduler.add_job(self.send, _every(SEND_EVERY), id="outbox", next_run_time=now,
                               max_instances=1, coalesce=True)

    async def dispatch(self) -> None:
        try:
            await self.dispatcher.dispatch()
            write_heartbeat(self.app.options.state_dir)
        except Exception:
            log.exception("claiming due sources failed")

    async def renew(self) -> None:
        try:
            await self.dispatcher.renew()
        except Exception:
            log.exception("renewing source leases failed")

    async def check_source(self, source: SourceConfig) -> None:
        self._tracked()
        try:
            report = await self.app.checker.check(source)
            self.app.metrics.observe(report)
            if report.alerts:
                self.app.composer.compose_all(datetime.now(UTC), which="none")
                await self.send()
        except Exception:
            log.exception("check of %s failed unexpectedly", source.id)

    async def catch_up(self) -> None:
        self._tracked()
        try:
            if self.app.composer.compose_all(datetime.now(UTC), which="due"):
                await self.send()
        except Exception:
            log.exception("catching up on missed digests failed")

    async def digest(self, subscription: Subscription) -> None:
        self._tracked()
        try:
            self.app.composer.compose_scheduled(subscription, datetime.now(UTC))
            await self.send()
        except Exception:
            log.exception("digest for %s failed unexpectedly", subscription.id)

    async def send(self) -> None:
        self._tracked()
        try:
            await self.app.sender.send_due()
            write_heartbeat(self.app.options.state_dir)
        except Exception:
            log.exception("sending the outbox failed unexpectedly")


def _every(period: timedelta) -> IntervalTrigger:
    return IntervalTrigger(seconds=period.total_seconds())


def write_heartbeat(state_dir: Path) -> None:
    """Record that the daemon is alive (read by `monitor healthcheck`)."""
    (state_dir / HEARTBEAT_FILE).write_text(datetime.now(UTC).isoformat(), encoding="utf-8")


def heartbeat_age(state_dir: Path) -> timedelta | None:
    """How long ago the daemon last wrote its heartbeat; None when it never did."""
    try:
        written = datetime.fromisoformat((state_dir / HEARTBEAT_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return datetime.now(UTC) - written


async def run_daemon(app: App) -> None:
    """Run until SIGTERM or SIGINT, serving /healthz, /readyz and /metrics (the caller closes
    the app)."""
    state_dir = app.options.state_dir
    gc.freeze()  # the app's long-lived objects: out of every collection from now on
    probes = Probes(lambda: heartbeat_age(state_dir), HEARTBEAT_MAX_AGE, app.engine, app.metrics)
    async with observe_endpoint(app.settings.observe, probes, state_dir):
        await Daemon(app).run()
