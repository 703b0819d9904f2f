"""Which sources this process checks, and when: due sources claimed through database leases.

Every `monitor run` process sharing a database runs a dispatcher. Each claims due sources
(a lease with its name), checks them, and gives each back with its next due time; it renews
its leases while the checks run. A process that dies stops renewing, and its sources fall
due for the others once the lease lapses. With one process this is simply the schedule.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from monitor.config import ReplicaSettings, Settings
from monitor.sources import SourceConfig
from monitor.store import Store
from monitor.store.leases import Planned, SourceLeases

log = logging.getLogger("monitor.dispatch")

START_SPREAD = timedelta(minutes=1)  # overdue sources' first checks after start-up, spread

CheckFunction = Callable[[SourceConfig], Awaitable[None]]


def replica_name() -> str:
    """This process's name in the lease rows: host, pid and a random tag (hosts may repeat)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(2)}"


class SourceDispatcher:
    """Claims due sources, runs `check` on each as its own task, and releases them after."""

    def __init__(self, settings: Settings, store: Store, leases: SourceLeases,
                 check: CheckFunction, holder: str | None = None) -> None:
        self.settings = settings
        self.store = store
        self.leases = leases
        self.check = check
        self.holder = holder or replica_name()
        self.limits: ReplicaSettings = settings.replicas
        self._sources = {source.id: source for source in settings.sources if source.enabled}
        self._held: dict[str, asyncio.Task[None]] = {}

    @property
    def held(self) -> set[str]:
        """The sources this process holds now."""
        return set(self._held)

    def plan(self, now: datetime) -> None:
        """At start-up: when each source is due, from when it was last checked."""
        checked = {state.source_id: state.last_checked_at for state in self.store.source_states()}
        self.leases.plan({
            source_id: Planned(first_run(checked.get(source_id), self._interval(source), now),
                               now + self._interval(source))
            for source_id, source in self._sources.items()}, now)

    async def dispatch(self) -> list[asyncio.Task[None]]:
        """Claim what is due (up to max_checks held at once) and start checking it."""
        room = self.limits.max_checks - len(self._held)
        claimed = await asyncio.to_thread(self.leases.claim, self._sources, datetime.now(UTC),
                                          self.holder, self.limits.lease, room)
        for source_id in claimed:
            source = self._sources[source_id]
            self._held[source_id] = asyncio.create_task(self._run(source),
                                                        name=f"check:{source_id}")
        return [self._held[source_id] for source_id in claimed]

    async def renew(self) -> None:
        """Extend the leases this process holds; a lease it lost is logged."""
        held = list(self._held)
        kept = await asyncio.to_thread(self.leases.renew, held, self.holder,
                                       datetime.now(UTC) + self.limits.lease)
        if kept < len(held):
            log.warning("%d source lease(s) lapsed before renewal; another process may check "
                        "them too", len(held) - kept)

    async def give_back(self) -> None:
        """On shutdown: stop unfinished checks and free their sources for other processes."""
        for task in self._held.values():
            task.cancel()
        await asyncio.gather(*self._held.values(), return_exceptions=True)
        for source_id in list(self._held):  # cancelled before they started: released here
            self._release(source_id, None)

    async def _run(self, source: SourceConfig) -> None:
        started = datetime.now(UTC)
        try:
            await self.check(source)
        except asyncio.CancelledError:  # shutdown: due as before, so another process takes it
            self._release(source.id, None)
            raise
        except Exception:
            log.exception("check of %s failed unexpectedly", source.id)
        next_due = next_run(started, self._interval(source), self._jitter(source),
                            datetime.now(UTC))
        self._held.pop(source.id, None)
        await asyncio.to_thread(self._release, source.id, next_due)

    def _release(self, source_id: str, next_due: datetime | None) -> None:
        self._held.pop(source_id, None)
        try:
            if not self.leases.release(source_id, self.holder, next_due):
                log.warning("lease on %s had lapsed; another process took it over", source_id)
        except Exception:  # the lease lapses by itself; the next claim finds the source due
            log.exception("could not release the lease on %s", source_id)

    def _interval(self, source: SourceConfig) -> timedelta:
        return source.interval or self.settings.defaults.interval

    def _jitter(self, source: SourceConfig) -> float:
        return source.jitter if source.jitter is not None else self.settings.defaults.jitter


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


def next_run(started: datetime, interval: timedelta, jitter: float,
             now: datetime) -> datetime:
    """When a source checked at `started` is due again: one interval on, ± jitter × interval,
    and never before `now` (a check longer than its interval runs again at once)."""
    spread = interval.total_seconds() * jitter
    return max(now, started + interval + timedelta(seconds=random.uniform(-spread, spread)))
