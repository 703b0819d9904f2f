"""Read-only queries behind explain, export, reports and "also reported by"."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select as core_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from monitor.domain import Document, Match
from monitor.store.records import DocumentRecord, MatchRecord
from monitor.store.rows import document_from_row, match_from_row


@dataclass(frozen=True)
class StoredDocument:
    """A stored document with its matches and its story, as `monitor explain` shows it."""

    id: int
    document: Document
    first_seen_at: datetime
    changed_at: datetime | None
    matches: tuple[Match, ...]
    story_id: int  # the id of the story's first document (its own id if it leads)
    story: tuple[Document, ...]  # every document of the story, the first one first


@dataclass(frozen=True)
class MatchRow:
    """One match as exported: the document, the match, and the URL leading its story."""

    document: Document
    match: Match
    story_url: str


def stored_document(session: Session, url: str) -> StoredDocument | None:
    row = session.exec(select(DocumentRecord).where(col(DocumentRecord.url) == url)).first()
    if row is None or row.id is None:
        return None
    story_id = row.story_id or row.id
    return StoredDocument(row.id, document_from_row(row), row.first_seen_at, row.changed_at,
                          matches_of(session, row.id), story_id,
                          story_members(session, [story_id]).get(story_id, ()))


def matches_of(session: Session, document_id: int) -> tuple[Match, ...]:
    query = select(MatchRecord).where(col(MatchRecord.document_id) == document_id)
    return tuple(match_from_row(row) for row in session.exec(query))


def story_members(session: Session, story_ids: Iterable[int]) -> dict[int, tuple[Document, ...]]:
    """The documents of each story, its first document first, then as found (a story of one:
    itself). Text is left out: what lists a story needs is its URLs, titles and sources."""
    wanted = list(dict.fromkeys(story_ids))
    if not wanted:
        return {}
    table = DocumentRecord.__table__  # type: ignore[attr-defined]
    rows = session.execute(
        core_select(table.c.id, table.c.story_id, table.c.url, table.c.source_id,
                    table.c.title, table.c.published, table.c.language, table.c.content_hash)
        .where(table.c.story_id.in_(wanted) | table.c.id.in_(wanted))
        .order_by(table.c.id))
    members: dict[int, list[tuple[bool, Document]]] = {}
    for doc_id, story_id, url, source_id, title, published, language, content_hash in rows:
        story = story_id or doc_id
        document = Document(url, source_id, title, "", published, language, content_hash)
        members.setdefault(story, []).append((doc_id != story, document))
    return {story: tuple(doc for _, doc in sorted(documents, key=lambda pair: pair[0]))
            for story, documents in members.items()}


def iter_matches(session: Session, topic: str | None = None,
                 relevant_only: bool = True) -> Iterator[MatchRow]:
    lead = aliased(DocumentRecord)
    query = (select(MatchRecord, DocumentRecord, lead.url)
             .join(DocumentRecord, col(MatchRecord.document_id) == col(DocumentRecord.id))
             .outerjoin(lead, col(lead.id) == col(DocumentRecord.story_id))
             .order_by(col(MatchRecord.id)))
    if topic is not None:
        query = query.where(col(MatchRecord.topic_id) == topic)
    if relevant_only:
        query = query.where(col(MatchRecord.relevant))
    for match, doc, lead_url in session.exec(query):
        yield MatchRow(document_from_row(doc), match_from_row(match), lead_url or doc.url)
