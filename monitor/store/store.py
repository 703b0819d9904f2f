"""The one interface between the pipeline and the database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from monitor.domain import Document, Match, RenderedMessage, Validators
from monitor.errors import StoreError
from monitor.store.hot_path import (
    read_source_state,
    read_source_states,
    read_validators,
    write_checks_many,
)
from monitor.store.intents import (
    CheckIntent,
    DeliveryRow,
    KnownDocument,
    NewDelivery,
    PendingAlert,
    SourceState,
    StoryClue,
)
from monitor.store.queries import (
    MatchRow,
    StoredDocument,
    iter_matches,
    matches_of,
    stored_document,
    story_members,
)
from monitor.store.records import (
    AlertRecord,
    DeliveryRecord,
    DocumentRecord,
    FollowFailureRecord,
    MatchRecord,
)
from monitor.store.rows import document_from_row, match_from_row
from monitor.store.stories import remember_as_is, unprinted

_LOOKUP_CHUNK = 500
ClueFunction = Callable[[Document, tuple[Match, ...], datetime], StoryClue | None]
_REPLAY = "-replay-"  # joins a replayed message's key to the replay's own part


class Store:
    """Reads and writes everything the monitor keeps; one transaction per public write."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- sources and HTTP cache -------------------------------------------------------

    def source_state(self, source_id: str) -> SourceState:
        with self.engine.connect() as connection:
            return read_source_state(connection, source_id)

    def source_states(self) -> list[SourceState]:
        with self.engine.connect() as connection:
            return read_source_states(connection)

    def validators(self, url: str) -> Validators | None:
        with self.engine.connect() as connection:
            return read_validators(connection, url)

    def known_documents(self, urls: Iterable[str]) -> dict[str, KnownDocument]:
        """Stored documents among `urls`, looked up in batches with SQLAlchemy Core."""
        wanted = list(dict.fromkeys(urls))
        table = DocumentRecord.__table__  # type: ignore[attr-defined]
        found: dict[str, KnownDocument] = {}
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), _LOOKUP_CHUNK):
                chunk = wanted[start:start + _LOOKUP_CHUNK]
                query = core_select(table.c.url, table.c.id, table.c.source_id,
                                    table.c.item_hash, table.c.content_hash,
                                    ).where(table.c.url.in_(chunk))
                for url, doc_id, source_id, item_hash, content_hash in connection.execute(query):
                    found[url] = KnownDocument(doc_id, source_id, item_hash, content_hash)
        return found

    def apply_check(self, intent: CheckIntent) -> int:
        """Write one check's documents, matches, alerts and source state, and the operator
        notices it owes; returns alerts made. The same writes as the ledger's batches."""
        try:
            if not intent.notices:
                with self.engine.begin() as connection:  # most checks: no session needed
                    return write_checks_many(connection, [intent])[0]
            with Session(self.engine) as session, session.begin():
                alerts = write_checks_many(session.connection(), [intent])[0]
                for notice in intent.notices:
                    _add_delivery(session, notice)
            return alerts
        except SQLAlchemyError as error:
            raise StoreError(f"cannot record check of {intent.source_id}: {error}") from error

    # --- alerts and the outbox --------------------------------------------------------

    def pending_alerts(self, subscription_id: str) -> list[PendingAlert]:
        with Session(self.engine) as session:
            query = (select(AlertRecord, DocumentRecord)
                     .join(DocumentRecord, col(AlertRecord.document_id) == col(DocumentRecord.id))
                     .where(col(AlertRecord.subscription_id) == subscription_id,
                            col(AlertRecord.delivery_id).is_(None))
                     .order_by(col(AlertRecord.id)))
            rows = session.exec(query).all()
            matches = _matches_by_document(session, [_id(doc) for _, doc in rows])
            stories = story_members(session, [doc.story_id or _id(doc) for _, doc in rows])
            return [PendingAlert(_id(alert), alert.change, document_from_row(doc),
                                 matches.get(_id(doc), ()), alert.created_at,
                                 *_changes(alert.changes),
                                 also=_others(stories.get(doc.story_id or _id(doc), ()), doc))
                    for alert, doc in rows]

    def fingerprint_old_documents(self, clue_of: ClueFunction, batch: int = 200) -> int:
        """Give relevant documents stored before stories existed (schema 0005) their
        fingerprint and facts, so copies and translations of them join their story; returns
        how many. Runs at start-up; a no-op once done."""
        done = last = 0
        while True:
            with Session(self.engine) as session, session.begin():
                connection = session.connection()
                ids = unprinted(connection, last, batch)
                rows = session.exec(select(DocumentRecord).where(
                    col(DocumentRecord.id).in_(ids))).all()
                matches = _matches_by_document(session, ids)
                for row in rows:
                    clue = clue_of(document_from_row(row), matches.get(_id(row), ()),
                                   row.first_seen_at)
                    if clue is not None:
                        remember_as_is(connection, _id(row), clue)
            done += len(ids)
            if len(ids) < batch:
                return done
            last = ids[-1]

    def document_text(self, document_id: int) -> str:
        """The stored main text of a document ('' when there is none)."""
        with Session(self.engine) as session:
            record = session.get(DocumentRecord, document_id)
            return record.text if record else ""

    def add_delivery(self, new: NewDelivery) -> int | None:
        """Put a message in the outbox and mark its alerts as carried, in one transaction.

        None when another process carried some of these alerts first, or already made the
        message with this key (a digest for the same period): nothing is written.
        """
        try:
            with Session(self.engine) as session, session.begin():
                delivery_id = _add_delivery(session, new)
                _carry_alerts(session, new.alert_ids, delivery_id)
                return delivery_id
        except _AlreadyCarried:
            return None
        except IntegrityError as error:
            if new.key is not None and "idempotency_key" in str(error.orig):
                return None  # the same period's digest, made by another process
            raise

    def claim_next(self, subscription_id: str, now: datetime, lease: timedelta,
                   token: str) -> DeliveryRow | None:
        """The subscription's oldest pending message if it is due, leased to `token`.

        Only the oldest is ever due, so messages go out in order. The lease (a later
        next_attempt_at, and claimed_by) keeps other senders off it and lapses if this one dies
        mid-send; only the lease holder can then mark the message.
        """
        with Session(self.engine) as session, session.begin():
            head = session.exec(select(DeliveryRecord).where(
                col(DeliveryRecord.subscription_id) == subscription_id,
                col(DeliveryRecord.status) == "pending").order_by(col(DeliveryRecord.id))
                .limit(1)).first()
            if head is None or head.next_attempt_at > now:
                return None
            claimed = session.execute(update(DeliveryRecord).where(
                col(DeliveryRecord.id) == head.id, col(DeliveryRecord.status) == "pending",
                col(DeliveryRecord.next_attempt_at) <= now,
            ).values(next_attempt_at=now + lease, claimed_by=token))
            return _delivery(head) if _rowcount(claimed) == 1 else None

    def deliveries(self, status: str | None = None,
                   subscription_id: str | None = None) -> list[DeliveryRow]:
        """Outbox messages, oldest first, optionally of one status and/or subscription."""
        with Session(self.engine) as session:
            query = select(DeliveryRecord).order_by(col(DeliveryRecord.id))
            if status:
                query = query.where(col(DeliveryRecord.status) == status)
            if subscription_id:
                query = query.where(col(DeliveryRecord.subscription_id) == subscription_id)
            return [_delivery(row) for row in session.exec(query).all()]

    def delivery_counts(self) -> dict[str, int]:
        """How many outbox messages are in each status (pending, sent, dead)."""
        with Session(self.engine) as session:
            rows = session.execute(core_select(DeliveryRecord.status, func.count())  # type: ignore[call-overload]
                                   .group_by(DeliveryRecord.status))
            return {status: count for status, count in rows}

    def delivery(self, delivery_id: int) -> DeliveryRow | None:
        with Session(self.engine) as session:
            row = session.get(DeliveryRecord, delivery_id)
            return _delivery(row) if row is not None else None

    def requeue_dead(self, delivery_ids: Iterable[int] | None, now: datetime) -> list[int]:
        """Dead messages (these, or all when None) back to pending and due at `now`.

        The idempotency key and last error are kept (a receiver that did get the message
        before it was given up recognises the resend); the attempts start again from zero.
        """
        dead = col(DeliveryRecord.status) == "dead"
        with Session(self.engine) as session, session.begin():
            query = select(DeliveryRecord.id).where(dead)
            if delivery_ids is not None:
                query = query.where(col(DeliveryRecord.id).in_(list(delivery_ids)))
            ids = sorted(i for i in session.exec(query).all() if i is not None)
            if ids:
                session.execute(update(DeliveryRecord).where(
                    col(DeliveryRecord.id).in_(ids), dead,
                ).values(status="pending", next_attempt_at=now, claimed_by=None, attempts=0))
            return ids

    def replay(self, delivery_id: int, now: datetime) -> DeliveryRow | None:
        """A new pending message copying sent message `delivery_id`, due at `now`.

        A replay is a deliberate second delivery, so it gets a new idempotency key (a receiver
        would drop a resend under the old one): `<original key>-replay-<8 hex>`, which names
        the message it repeats. None when `delivery_id` is not a sent message.
        """
        with Session(self.engine) as session, session.begin():
            original = session.get(DeliveryRecord, delivery_id)
            if original is None or original.status != "sent":
                return None
            root = original.idempotency_key.split(_REPLAY, 1)[0]
            record = DeliveryRecord(
                subscription_id=original.subscription_id,
                idempotency_key=f"{root}{_REPLAY}{uuid.uuid4().hex[:8]}", status="pending",
                subject=original.subject, text=original.text, html=original.html,
                payload=original.payload, next_attempt_at=now, created_at=now)
            session.add(record)
            session.flush()
            return _delivery(record)

    def mark_sent(self, delivery_id: int, token: str, now: datetime) -> bool:
        """Record a send; False (nothing written) if `token` no longer holds the lease."""
        return self._update_claimed(delivery_id, token, status="sent", sent_at=now,
                                    last_error=None, attempts=DeliveryRecord.attempts + 1)

    def mark_parts_sent(self, delivery_id: int, token: str, parts: int) -> bool:
        """Record that the first `parts` parts of a split message were posted."""
        return self._update_claimed(delivery_id, token, parts_sent=parts)

    def mark_retry(self, delivery_id: int, token: str, error: str,
                   next_attempt_at: datetime) -> bool:
        return self._update_claimed(delivery_id, token, last_error=error, claimed_by=None,
                                    next_attempt_at=next_attempt_at,
                                    attempts=DeliveryRecord.attempts + 1)

    def mark_dead(self, delivery_id: int, token: str, error: str) -> bool:
        return self._update_claimed(delivery_id, token, status="dead", last_error=error,
                                    attempts=DeliveryRecord.attempts + 1)

    def oldest_pending_alert_at(self, subscription_id: str) -> datetime | None:
        with Session(self.engine) as session:
            query = select(func.min(AlertRecord.created_at)).where(
                col(AlertRecord.subscription_id) == subscription_id,
                col(AlertRecord.delivery_id).is_(None))
            return session.exec(query).first()

    def last_delivery_at(self, subscription_id: str) -> datetime | None:
        with Session(self.engine) as session:
            query = select(func.max(DeliveryRecord.created_at)).where(
                col(DeliveryRecord.subscription_id) == subscription_id)
            return session.exec(query).first()

    def _update_claimed(self, delivery_id: int, token: str, **values: Any) -> bool:
        with Session(self.engine) as session, session.begin():
            result = session.execute(update(DeliveryRecord).where(
                col(DeliveryRecord.id) == delivery_id, col(DeliveryRecord.status) == "pending",
                col(DeliveryRecord.claimed_by) == token).values(**values))
            return _rowcount(result) == 1

    # --- items whose page failed ------------------------------------------------------

    def follow_failures(self, urls: Iterable[str]) -> dict[str, int]:
        """How many checks in a row failed to fetch each of these pages (absent: none)."""
        wanted = list(urls)
        if not wanted:
            return {}
        with Session(self.engine) as session:
            query = select(FollowFailureRecord).where(col(FollowFailureRecord.url).in_(wanted))
            return {row.url: row.failures for row in session.exec(query)}

    # --- export -----------------------------------------------------------------------

    def iter_documents(self) -> Iterator[Document]:
        with Session(self.engine) as session:
            query = select(DocumentRecord).order_by(col(DocumentRecord.id))
            for row in session.exec(query):
                yield document_from_row(row)

    def iter_matches(self, topic: str | None = None,
                     relevant_only: bool = True) -> Iterator[MatchRow]:
        """Matches with their documents and story; by default only those that reached the
        threshold."""
        with Session(self.engine) as session:
            yield from iter_matches(session, topic, relevant_only)

    # --- explain ----------------------------------------------------------------------

    def stored_document(self, url: str) -> StoredDocument | None:
        with Session(self.engine) as session:
            return stored_document(session, url)

    def matches_of(self, document_id: int) -> tuple[Match, ...]:
        with Session(self.engine) as session:
            return matches_of(session, document_id)


def _matches_by_document(session: Session, ids: list[int]) -> dict[int, tuple[Match, ...]]:
    found: dict[int, list[Match]] = {}
    if ids:
        query = select(MatchRecord).where(col(MatchRecord.document_id).in_(ids))
        for record in session.exec(query):
            found.setdefault(record.document_id, []).append(match_from_row(record))
    return {doc_id: tuple(matches) for doc_id, matches in found.items()}


def _add_delivery(session: Session, new: NewDelivery) -> int:
    record = DeliveryRecord(
        subscription_id=new.subscription_id, idempotency_key=new.key or uuid.uuid4().hex,
        status="pending", subject=new.message.subject, text=new.message.text,
        html=new.message.html, payload=new.message.payload,
        next_attempt_at=new.created_at, created_at=new.created_at)
    session.add(record)
    session.flush()
    return _delivery_id(record)


class _AlreadyCarried(Exception):
    """Another process bundled some of these alerts first; the transaction rolls back."""


def _carry_alerts(session: Session, alert_ids: tuple[int, ...], delivery_id: int) -> None:
    """Mark alerts as carried by a delivery; _AlreadyCarried if any was carried already."""
    if not alert_ids:
        return
    result = session.execute(update(AlertRecord).where(
        col(AlertRecord.id).in_(alert_ids), col(AlertRecord.delivery_id).is_(None),
    ).values(delivery_id=delivery_id))
    if _rowcount(result) != len(alert_ids):
        raise _AlreadyCarried


def _rowcount(result: object) -> int:
    count: int = getattr(result, "rowcount", -1)
    return count


def _delivery_id(row: DeliveryRecord) -> int:
    assert row.id is not None, "a flushed row has an id"
    return row.id


def _id(row: DocumentRecord | AlertRecord) -> int:
    assert row.id is not None, "rows read from the database have ids"
    return row.id


def _others(story: tuple[Document, ...], row: DocumentRecord) -> tuple[Document, ...]:
    return tuple(document for document in story if document.url != row.url)


def _changes(changes: dict[str, Any] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    changes = changes or {}
    return tuple(changes.get("added", ())), tuple(changes.get("removed", ()))


def _delivery(row: DeliveryRecord) -> DeliveryRow:
    assert row.id is not None
    message = RenderedMessage(row.subject, row.text, row.html, row.payload)
    return DeliveryRow(row.id, row.subscription_id, row.idempotency_key, row.status, message,
                       row.attempts, row.next_attempt_at, row.last_error, row.created_at,
                       row.sent_at, row.parts_sent)
