"""Source state and HTTP validators in SQLAlchemy Core: what every check reads and writes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, insert, select, update

from monitor.domain import Validators
from monitor.store.intents import CheckIntent, Health, SourceState
from monitor.store.records import HttpCacheRecord, SourceStateRecord

_SOURCES = SourceStateRecord.__table__  # type: ignore[attr-defined]
_CACHE = HttpCacheRecord.__table__  # type: ignore[attr-defined]
_NEW_SOURCE = {"baseline_done": False, "failing": False, "consecutive_failures": 0,
               "last_success_at": None, "last_error": None, "last_new_at": None,
               "quiet_since": None}


def read_source_state(connection: Connection, source_id: str) -> SourceState:
    row = connection.execute(
        select(_SOURCES).where(_SOURCES.c.source_id == source_id)).mappings().first()
    return source_state(row) if row else SourceState(source_id)


def read_source_states(connection: Connection) -> list[SourceState]:
    return [source_state(row) for row in connection.execute(select(_SOURCES)).mappings()]


def source_state(row: RowMapping) -> SourceState:
    return SourceState(row["source_id"], row["baseline_done"], row["last_checked_at"],
                       row["last_success_at"], row["last_outcome"], row["last_error"],
                       row["consecutive_failures"],
                       Health(row["failing"], row["last_new_at"], row["quiet_since"]))


def read_validators(connection: Connection, url: str) -> Validators | None:
    row = connection.execute(select(_CACHE.c.etag, _CACHE.c.last_modified)
                             .where(_CACHE.c.url == url)).first()
    return Validators(row.etag, row.last_modified) if row else None


def write_validators(connection: Connection, validators: dict[str, Validators],
                     now: datetime) -> None:
    for url, found in validators.items():
        values = {"etag": found.etag, "last_modified": found.last_modified, "updated_at": now}
        changed = connection.execute(update(_CACHE).where(_CACHE.c.url == url).values(**values))
        if changed.rowcount == 0:
            connection.execute(insert(_CACHE).values(url=url, **values))


def write_source_state(connection: Connection, intent: CheckIntent) -> None:
    """Record how the check went: outcome, failures in a row, baseline, health."""
    current = connection.execute(select(_SOURCES).where(
        _SOURCES.c.source_id == intent.source_id)).mappings().first()
    values = source_values(current, intent)
    if current is None:
        connection.execute(insert(_SOURCES).values(
            source_id=intent.source_id, **{**_NEW_SOURCE, **values}))
    else:
        connection.execute(update(_SOURCES).where(
            _SOURCES.c.source_id == intent.source_id).values(**values))


def source_values(current: RowMapping | None, intent: CheckIntent) -> dict[str, Any]:
    """The source-state columns this check sets, given the row as it was (None: first check)."""
    values: dict[str, Any] = {"last_checked_at": intent.checked_at,
                              "last_outcome": intent.outcome.value}
    if intent.error is None:
        baseline_done = bool(current and current["baseline_done"]) or intent.complete
        values.update(baseline_done=baseline_done, last_success_at=intent.checked_at,
                      last_error=None, consecutive_failures=0)
    else:
        failures = (current["consecutive_failures"] if current else 0) + 1
        values.update(last_error=intent.error, consecutive_failures=failures)
    if intent.health is not None:
        values.update(failing=intent.health.failing, last_new_at=intent.health.last_new_at,
                      quiet_since=intent.health.quiet_since)
    return values
