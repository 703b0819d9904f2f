"""What every check reads and writes, in SQLAlchemy Core: source state, HTTP validators, and
the documents, matches, alerts and failed pages of a check.

The `*_many` functions serve many checks at once (the pipeline's `CheckLedger` gathers the
checks running together): one query reads the states and validators of all of them, and their
outcomes are written in one transaction, each source's row computed as if its checks had been
written one by one. `Store.apply_check` records a single check through the same functions;
operator notices stay with the Store.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Delete,
    Insert,
    RowMapping,
    Select,
    Table,
    Update,
    bindparam,
    delete,
    insert,
    select,
    update,
)

from monitor.domain import Validators
from monitor.store.intents import (
    CheckIntent,
    DocumentWrite,
    Health,
    SourceState,
    evidence_json,
    facts_json,
    reasons_json,
)
from monitor.store.records import (
    AlertRecord,
    DocumentRecord,
    FollowFailureRecord,
    HttpCacheRecord,
    MatchRecord,
    SourceStateRecord,
)
from monitor.store.stories import already_alerted, assign_story

_SOURCES: Table = SourceStateRecord.__table__  # type: ignore[attr-defined]
_CACHE: Table = HttpCacheRecord.__table__  # type: ignore[attr-defined]
_DOCUMENTS: Table = DocumentRecord.__table__  # type: ignore[attr-defined]
_MATCHES: Table = MatchRecord.__table__  # type: ignore[attr-defined]
_ALERTS: Table = AlertRecord.__table__  # type: ignore[attr-defined]
_FAILURES: Table = FollowFailureRecord.__table__  # type: ignore[attr-defined]
_NEW_SOURCE = {"baseline_done": False, "failing": False, "consecutive_failures": 0,
               "last_success_at": None, "last_error": None, "last_new_at": None,
               "quiet_since": None}
_CHUNK = 500  # keys per IN (…) list: well under every database's limit on parameters


def read_source_state(connection: Connection, source_id: str) -> SourceState:
    row = connection.execute(
        select(_SOURCES).where(_SOURCES.c.source_id == source_id)).mappings().first()
    return source_state(row) if row else SourceState(source_id)


def read_source_states(connection: Connection) -> list[SourceState]:
    return [source_state(row) for row in connection.execute(select(_SOURCES)).mappings()]


def read_source_states_many(connection: Connection,
                            source_ids: Collection[str]) -> dict[str, SourceState]:
    """The state of each of `source_ids` (a never-checked source gets a fresh state)."""
    rows = _source_rows(connection, source_ids)
    return {source_id: source_state(rows[source_id]) if source_id in rows
            else SourceState(source_id) for source_id in source_ids}


def source_state(row: RowMapping) -> SourceState:
    return SourceState(row["source_id"], row["baseline_done"], row["last_checked_at"],
                       row["last_success_at"], row["last_outcome"], row["last_error"],
                       row["consecutive_failures"],
                       Health(row["failing"], row["last_new_at"], row["quiet_since"]))


def read_validators(connection: Connection, url: str) -> Validators | None:
    row = connection.execute(select(_CACHE.c.etag, _CACHE.c.last_modified)
                             .where(_CACHE.c.url == url)).first()
    return Validators(row.etag, row.last_modified) if row else None


def read_validators_many(connection: Connection,
                         urls: Collection[str]) -> dict[str, Validators]:
    """The validators kept for those of `urls` that have any."""
    found: dict[str, Validators] = {}
    for chunk in _chunks(urls):
        for url, etag, last_modified in connection.execute(_cached_validators(), {"keys": chunk}):
            found[url] = Validators(etag, last_modified)
    return found


def write_checks_many(connection: Connection, intents: Sequence[CheckIntent]) -> list[int]:
    """Record checks without operator notices, in order; the alerts each made.

    As if each intent's documents, validators and source state were written in turn, with one
    read of the current source rows and one executemany per kind of statement. `Store.apply_check`
    records a single check through it too.
    """
    alerts = [write_documents(connection, intent) if intent.writes or intent.follow_failures
              else 0 for intent in intents]
    validators = {url: (found, intent.checked_at) for intent in intents
                  for url, found in intent.validators.items()}
    _write_validators_many(connection, validators)
    recorded = [intent for intent in intents if intent.record_source]
    rows = {source_id: dict(row) for source_id, row in
            _source_rows(connection, {intent.source_id for intent in recorded}).items()}
    new: dict[str, dict[str, Any]] = {}
    changes: dict[str, dict[str, Any]] = {}
    for intent in recorded:
        source_id = intent.source_id
        row = rows.get(source_id) or new.setdefault(
            source_id, {"source_id": source_id, **_NEW_SOURCE, "last_checked_at": None,
                        "last_outcome": None})
        values = source_values(row, intent)
        row.update(values)
        changes.setdefault(source_id, {}).update(values)
    _update_sources(connection, {source_id: values for source_id, values in changes.items()
                                 if source_id not in new})
    if new:
        connection.execute(_insert(_SOURCES), list(new.values()))
    return alerts


def read_follow_failures(connection: Connection, urls: Collection[str]) -> dict[str, int]:
    """How many checks in a row failed to fetch each of these pages (absent: none)."""
    found: dict[str, int] = {}
    for chunk in _chunks(urls):
        found.update({url: failures for url, failures in connection.execute(
            _failure_counts(), {"keys": chunk})})
    return found


def write_documents(connection: Connection, intent: CheckIntent) -> int:
    """Store a check's documents with their matches, stories and alerts, and count its failed
    pages; returns the alerts made. One story, one alert: a new document joining a story that
    already reached a subscription owes it nothing."""
    alerts = sum(_write_document(connection, write, intent.checked_at)
                 for write in intent.writes)
    stored = [write.document.url for write in intent.writes]
    for chunk in _chunks(stored):
        connection.execute(_forget_failures(), {"keys": chunk})
    for url, error in intent.follow_failures:
        counted = connection.execute(_count_failure(), {"key": url, "error": error})
        if counted.rowcount == 0:
            connection.execute(_insert(_FAILURES), {
                "url": url, "source_id": intent.source_id, "failures": 1, "last_error": error,
                "first_failed_at": intent.checked_at})
    return alerts


def _write_document(connection: Connection, write: DocumentWrite, now: datetime) -> int:
    document_id = _document_row(connection, write, now)
    if document_id is None or write.change == "unchanged":
        return 0
    if write.document_id is not None:
        connection.execute(_forget_matches(), {"key": document_id})
    if write.matches:
        connection.execute(_insert(_MATCHES), [
            {"document_id": document_id, "topic_id": match.topic_id,
             "terms": list(match.terms), "evidence": evidence_json(match), "matched_at": now,
             "score": match.score, "relevant": match.relevant, "category": match.category,
             "reasons": reasons_json(match), "regions": list(match.regions),
             "issuer": match.issuer, "facts": facts_json(match), "mentions": match.mentions}
            for match in write.matches])
    owed = write.alert_subscriptions
    if write.clue is not None:
        story = assign_story(connection, document_id, write.clue,
                             new=write.document_id is None)
        if write.change == "new":  # a change that matters is news even in a known story
            owed = tuple(sub for sub in owed
                         if not already_alerted(connection, story, document_id, sub))
    changes = {"added": list(write.added), "removed": list(write.removed)} if (
        write.added or write.removed) else None
    if owed:
        connection.execute(_insert(_ALERTS), [
            {"subscription_id": sub, "document_id": document_id, "change": write.change,
             "changes": changes, "created_at": now, "delivery_id": None} for sub in owed])
    return len(owed)


def _document_row(connection: Connection, write: DocumentWrite, now: datetime) -> int | None:
    """The id of the document's row, inserted or updated from `write`.

    None when the document is new to this check but another source stored it meanwhile:
    it is theirs (the first to find a URL owns it), and nothing is written.
    """
    document = write.document
    values = {"source_id": document.source_id, "title": document.title, "text": document.text,
              "published": document.published, "language": document.language,
              "content_hash": document.content_hash, "item_hash": write.item_hash}
    if write.document_id is None:
        if connection.execute(_document_id(), {"key": document.url}).first() is not None:
            return None
    else:
        changed = write.change == "changed"
        updated = connection.execute(_update_document(changed), {
            "key": write.document_id, **{f"v_{name}": value for name, value in values.items()},
            **({"v_changed_at": now} if changed else {})})
        if updated.rowcount:
            return write.document_id
    inserted = connection.execute(_insert(_DOCUMENTS),
                                  {"url": document.url, "first_seen_at": now, **values})
    key = inserted.inserted_primary_key
    assert key is not None, "an insert has a primary key"
    return int(key[0])


def source_values(current: RowMapping | dict[str, Any] | None,
                  intent: CheckIntent) -> dict[str, Any]:
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


def _source_rows(connection: Connection, source_ids: Collection[str]) -> dict[str, RowMapping]:
    rows: dict[str, RowMapping] = {}
    for chunk in _chunks(source_ids):
        for row in connection.execute(_source_rows_of(), {"keys": chunk}).mappings():
            rows[row["source_id"]] = row
    return rows


def _update_sources(connection: Connection, changes: dict[str, dict[str, Any]]) -> None:
    """Set each source's changed columns: one executemany per set of columns changed."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for source_id, values in changes.items():
        groups.setdefault(tuple(sorted(values)), []).append(
            {"key": source_id, **{f"v_{name}": value for name, value in values.items()}})
    for columns, params in groups.items():
        connection.execute(_update_source(columns), params)


def _write_validators_many(connection: Connection,
                           validators: dict[str, tuple[Validators, datetime]]) -> None:
    if not validators:
        return
    kept = set(read_validators_many(connection, list(validators)))
    rows = [{"key": url, "v_etag": found.etag, "v_last_modified": found.last_modified,
             "v_updated_at": when} for url, (found, when) in validators.items()]
    changed = [row for row in rows if row["key"] in kept]
    if changed:
        connection.execute(_update_by_key(_CACHE, "url",
                                          ("etag", "last_modified", "updated_at")), changed)
    added = [{"url": row["key"], "etag": row["v_etag"], "last_modified": row["v_last_modified"],
              "updated_at": row["v_updated_at"]} for row in rows if row["key"] not in kept]
    if added:
        connection.execute(_insert(_CACHE), added)


# --- statements, built once: a statement built per call costs more than SQLite running it ----


@functools.cache
def _insert(table: Table) -> Insert:
    return insert(table)


@functools.cache
def _update_by_key(table: Table, key: str, columns: tuple[str, ...]) -> Update:
    """UPDATE table SET column = :v_column, … WHERE key = :key."""
    return update(table).where(table.c[key] == bindparam("key")).values(
        {name: bindparam(f"v_{name}") for name in columns})


def _update_source(columns: tuple[str, ...]) -> Update:
    return _update_by_key(_SOURCES, "source_id", columns)


def _update_document(changed: bool) -> Update:
    columns = ("source_id", "title", "text", "published", "language", "content_hash",
               "item_hash", *(("changed_at",) if changed else ()))
    return _update_by_key(_DOCUMENTS, "id", columns)


@functools.cache
def _source_rows_of() -> Select[Any]:
    return select(_SOURCES).where(_SOURCES.c.source_id.in_(bindparam("keys", expanding=True)))


@functools.cache
def _cached_validators() -> Select[Any]:
    return select(_CACHE.c.url, _CACHE.c.etag, _CACHE.c.last_modified).where(
        _CACHE.c.url.in_(bindparam("keys", expanding=True)))


@functools.cache
def _failure_counts() -> Select[Any]:
    return select(_FAILURES.c.url, _FAILURES.c.failures).where(
        _FAILURES.c.url.in_(bindparam("keys", expanding=True)))


@functools.cache
def _forget_failures() -> Delete:
    return delete(_FAILURES).where(_FAILURES.c.url.in_(bindparam("keys", expanding=True)))


@functools.cache
def _count_failure() -> Update:
    return update(_FAILURES).where(_FAILURES.c.url == bindparam("key")).values(
        failures=_FAILURES.c.failures + 1, last_error=bindparam("error"))


@functools.cache
def _forget_matches() -> Delete:
    return delete(_MATCHES).where(_MATCHES.c.document_id == bindparam("key"))


@functools.cache
def _document_id() -> Select[Any]:
    return select(_DOCUMENTS.c.id).where(_DOCUMENTS.c.url == bindparam("key"))


def _chunks(keys: Collection[str]) -> Iterator[list[str]]:
    ordered = list(keys)
    for start in range(0, len(ordered), _CHUNK):
        yield ordered[start:start + _CHUNK]
