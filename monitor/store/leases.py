"""Source leases: when each source is due, and which replica is checking it.

Replicas sharing one database split the polling through these rows. A replica claims due
sources by writing its name and a lease end into them (on PostgreSQL with
`FOR UPDATE SKIP LOCKED`, so replicas never wait on each other's claims), renews the lease
while it checks, and releases the row with the next due time when done. A replica that dies
stops renewing: once its leases lapse, the sources are due for the others.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Engine,
    Insert,
    String,
    any_,
    bindparam,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from monitor.store.records import SourceLeaseRecord

_LEASES = SourceLeaseRecord.__table__  # type: ignore[attr-defined]


class Planned(NamedTuple):
    """When a source is due after start-up, and the latest it may stay planned for."""

    due: datetime
    latest: datetime  # now + the source's interval


@dataclass(frozen=True)
class SourceLease:
    """A source's row: when it is due next, and who holds it (None: nobody)."""

    source_id: str
    next_due: datetime
    leased_by: str | None
    lease_until: datetime | None

    def held(self, now: datetime) -> bool:
        """Whether a replica holds the source and its lease has not lapsed."""
        return self.leased_by is not None and self.lease_until is not None and \
            self.lease_until > now


class SourceLeases:
    """The lease rows of every source, read and written in SQLAlchemy Core."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def plan(self, due: Mapping[str, Planned], now: datetime) -> None:
        """Set when each source is due next. A row another process holds, or one due within
        the source's interval (planned by a process that just checked it), is left alone;
        an overdue one, or one due further out than an interval (shortened in the config),
        is replanned."""
        if not due:
            return
        rows = [{"sid": source_id, "due": plan.due, "latest": plan.latest}
                for source_id, plan in sorted(due.items())]  # one lock order for all processes
        with self.engine.begin() as connection:
            connection.execute(self._insert_missing(), [
                {"source_id": row["sid"], "next_due": row["due"]} for row in rows])
            connection.execute(update(_LEASES).where(
                _LEASES.c.source_id == bindparam("sid"), _free(now),
                or_(_LEASES.c.next_due < now, _LEASES.c.next_due > bindparam("latest")),
            ).values(next_due=bindparam("due"), leased_by=None, lease_until=None), rows)

    def claim(self, source_ids: Collection[str], now: datetime, holder: str,
              lease: timedelta, limit: int) -> list[str]:
        """Lease up to `limit` of the due, unheld sources among `source_ids` to `holder`."""
        if limit <= 0 or not source_ids:
            return []
        due = (select(_LEASES.c.source_id)
               .where(self._among(source_ids), _LEASES.c.next_due <= now, _free(now))
               .order_by(_LEASES.c.next_due).limit(limit)
               .with_for_update(skip_locked=True))
        with self.engine.begin() as connection:
            claimed = connection.execute(
                update(_LEASES).where(_LEASES.c.source_id.in_(due.scalar_subquery()))
                .values(leased_by=holder, lease_until=now + lease)
                .returning(_LEASES.c.source_id))
            return [row[0] for row in claimed]

    def renew(self, source_ids: Collection[str], holder: str, until: datetime) -> int:
        """Extend `holder`'s leases on `source_ids` to `until`; returns how many it still held."""
        if not source_ids:
            return 0
        with self.engine.begin() as connection:
            result = connection.execute(update(_LEASES).where(
                _LEASES.c.source_id.in_(list(source_ids)), _LEASES.c.leased_by == holder,
            ).values(lease_until=until))
            return int(result.rowcount)

    def release(self, source_id: str, holder: str, next_due: datetime | None) -> bool:
        """Give the source back, due at `next_due` (None: as it was); False if the lease was
        lost (it lapsed and another replica took the source)."""
        values: dict[str, object] = {"leased_by": None, "lease_until": None}
        if next_due is not None:
            values["next_due"] = next_due
        with self.engine.begin() as connection:
            result = connection.execute(update(_LEASES).where(
                _LEASES.c.source_id == source_id, _LEASES.c.leased_by == holder,
            ).values(**values))
            return int(result.rowcount) == 1

    def all(self) -> dict[str, SourceLease]:
        """Every source's lease row, by source id."""
        with self.engine.connect() as connection:
            return {row.source_id: SourceLease(row.source_id, row.next_due, row.leased_by,
                                               row.lease_until)
                    for row in connection.execute(select(_LEASES))}

    def _among(self, source_ids: Collection[str]) -> ColumnElement[bool]:
        """source_id in the list: one array parameter on PostgreSQL (an IN list of 2,000
        parameters costs it 3x the planning time), IN elsewhere."""
        if self.engine.dialect.name == "postgresql":
            ids = bindparam("ids", list(source_ids), type_=ARRAY(String))
            among: ColumnElement[bool] = _LEASES.c.source_id == any_(ids)
        else:
            among = _LEASES.c.source_id.in_(list(source_ids))
        return among

    def _insert_missing(self) -> Insert:
        """INSERT … ON CONFLICT DO NOTHING: two replicas may start at the same moment."""
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(_LEASES).on_conflict_do_nothing(index_elements=["source_id"])
        return sqlite.insert(_LEASES).on_conflict_do_nothing(index_elements=["source_id"])


def _free(now: datetime) -> ColumnElement[bool]:
    """Nobody holds the row, or the holder's lease has lapsed."""
    return or_(_LEASES.c.leased_by.is_(None), _LEASES.c.lease_until.is_(None),
               _LEASES.c.lease_until <= now)
