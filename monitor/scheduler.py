"""The daemon loop: APScheduler runs sources at intervals, digests on cron, and the sender."""

from __future__ import annotations

import asyncio
import logging
import random
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.app import App
from monitor.config import Subscription
from monitor.observe import Probes, observe_endpoint
from monitor.sources import SourceConfig

log = logging.getLogger("monitor.scheduler")

SEND_EVERY = timedelta(seconds=30)
SHUTDOWN_GRACE = timedelta(seconds=8)  # within Docker's default 10 s stop timeout
HEARTBEAT_FILE = "heartbeat"
START_SPREAD = timedelta(minutes=1)  # overdue sources' first checks after start-up, spread
HEARTBEAT_MAX_AGE = timedelta(seconds=180)  # older: `monitor healthcheck` and /healthz fail


class Daemon:
    """Runs until stopped; every job logs its failures and never kills the process."""

    def __init__(self, app: App, grace: timedelta = SHUTDOWN_GRACE) -> None:
        self.app = app
        self.grace = grace
        self.stopping = asyncio.Event()
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: set[asyncio.Task[object]] = set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.stopping.set)
        self._schedule()
        self.scheduler.add_job(self.catch_up, id="catch-up")  # digests missed while down
        self.scheduler.start()
        log.info("running: %d source(s), %d subscription(s)", len(self.app.settings.sources),
                 len(self.app.settings.subscriptions))
        await self.stopping.wait()
        await self._stop()

    async def _stop(self) -> None:
        """Start nothing new; let running checks and sends finish, up to the grace period."""
        log.info("stopping: waiting for %d running job(s)", len(self._running))
        self.scheduler.pause()
        if self._running:
            await asyncio.wait(set(self._running), timeout=self.grace.total_seconds())
        self.scheduler.shutdown(wait=False)
        log.info("stopped")

    def _tracked(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    def _schedule(self) -> None:
        now = datetime.now(UTC)
        checked = {state.source_id: state.last_checked_at
                   for state in self.app.store.source_states()}
        defaults = self.app.settings.defaults
        for source in self.app.settings.sources:
            if source.enabled:
                first = first_run(checked.get(source.id), source.interval or defaults.interval,
                                  now)
                self.scheduler.add_job(self.check_source, self._interval(source), args=[source],
                                       id=f"source:{source.id}", next_run_time=first,
                                       max_instances=1, coalesce=True)
        for sub in self.app.settings.subscriptions:
            if sub.mode == "digest":
                self.scheduler.add_job(self.digest, _cron(sub), args=[sub], id=f"digest:{sub.id}",
                                       max_instances=1, coalesce=True, misfire_grace_time=3600)
        self.scheduler.add_job(self.send, IntervalTrigger(seconds=SEND_EVERY.total_seconds()),
                               id="outbox", next_run_time=now, max_instances=1, coalesce=True)

    def _interval(self, source: SourceConfig) -> IntervalTrigger:
        defaults = self.app.settings.defaults
        interval = (source.interval or defaults.interval).total_seconds()
        jitter = source.jitter if source.jitter is not None else defaults.jitter
        return IntervalTrigger(seconds=interval, jitter=max(1, int(interval * jitter)))

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
            self.app.composer.compose(subscription, datetime.now(UTC))
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


def _cron(subscription: Subscription) -> CronTrigger:
    return CronTrigger.from_crontab(subscription.schedule,
                                    timezone=ZoneInfo(subscription.timezone))


def first_run(last_checked: datetime | None, interval: timedelta, now: datetime,
              spread: timedelta = START_SPREAD) -> datetime:
    """When a source's first check after start-up is due.

    Checked within its interval: on its schedule (a restart does not poll it again early).
    Overdue: once, soon, at a random moment within `spread` (or the interval, if shorter), so a
    restart after downtime does not hit every site at the same second. Never checked: now.
    """
    if last_checked is None:
        return now
    due = last_checked + interval
    if due > now:
        return due
    window = min(interval, spread).total_seconds()
    return now + timedelta(seconds=random.uniform(0, window))


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
    probes = Probes(lambda: heartbeat_age(state_dir), HEARTBEAT_MAX_AGE, app.engine, app.metrics)
    async with observe_endpoint(app.settings.observe, probes, state_dir):
        await Daemon(app).run()
