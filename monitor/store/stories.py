"""Which story a document joins: near-duplicates by MinHash-LSH bands, translations by facts.

Each lookup is an indexed query that reads a bounded number of candidates, so the cost per
document does not grow with the number of documents stored.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import Connection, Table, func, insert, select, update

from monitor.classify.similarity import DUPLICATE_SIMILARITY, similarity
from monitor.store.intents import StoryClue
from monitor.store.records import (
    AlertRecord,
    DocumentRecord,
    StoryBandRecord,
    StoryFactRecord,
    StoryPrintRecord,
)

LINK_WINDOW = timedelta(days=7)  # translations: dated within a week of each other
MIN_SHARED_FACTS = 2  # translations: at least this many facts in common (and a region)
MAX_CANDIDATES = 20  # documents compared per lookup, the most promising first


def _table(record: type) -> Table:
    table: Table = record.__table__  # type: ignore[attr-defined]
    return table


def assign_story(connection: Connection, document_id: int, clue: StoryClue) -> int:
    """The story `document_id` belongs to (its own id if it starts one), remembered."""
    known = connection.execute(select(_table(StoryPrintRecord).c.document_id).where(
        _table(StoryPrintRecord).c.document_id == document_id)).first()
    if known is not None:  # a changed document stays in its story
        return story_of(connection, document_id)
    story = (_near_duplicate(connection, clue) or _translation(connection, clue)
             or document_id)
    _remember(connection, document_id, story, clue)
    return story


def story_of(connection: Connection, document_id: int) -> int:
    documents = _table(DocumentRecord)
    story = connection.execute(select(documents.c.story_id).where(
        documents.c.id == document_id)).scalar()
    return int(story) if story is not None else document_id


def already_alerted(connection: Connection, story: int, document_id: int,
                    subscription_id: str) -> bool:
    """Whether another document of the story already owed this subscription an alert."""
    alerts, documents = _table(AlertRecord), _table(DocumentRecord)
    query = (select(alerts.c.id).join(documents, documents.c.id == alerts.c.document_id)
             .where(documents.c.story_id == story, alerts.c.subscription_id == subscription_id,
                    alerts.c.document_id != document_id).limit(1))
    return connection.execute(query).first() is not None


def _near_duplicate(connection: Connection, clue: StoryClue) -> int | None:
    """The story of the most similar stored document, if it is similar enough."""
    if clue.signature is None or not clue.bands:
        return None
    bands = _table(StoryBandRecord)
    shared = func.count().label("shared")
    query = (select(bands.c.document_id, shared).where(bands.c.band.in_(clue.bands))
             .group_by(bands.c.document_id).order_by(shared.desc()).limit(MAX_CANDIDATES))
    candidates = [row[0] for row in connection.execute(query)]
    if not candidates:
        return None
    prints = _table(StoryPrintRecord)
    rows = connection.execute(select(prints.c.document_id, prints.c.signature).where(
        prints.c.document_id.in_(candidates)))
    scored = [(similarity(clue.signature, signature), doc_id) for doc_id, signature in rows
              if signature is not None]
    best = max(scored, default=None)
    if best is None or best[0] < DUPLICATE_SIMILARITY:
        return None
    return story_of(connection, best[1])


def _translation(connection: Connection, clue: StoryClue) -> int | None:
    """The story of a document dated within a week that states the same facts and a region."""
    if len(clue.fact_keys) < MIN_SHARED_FACTS:
        return None
    facts = _table(StoryFactRecord)
    shared = func.count().label("shared")
    query = (select(facts.c.document_id, shared)
             .where(facts.c.key.in_(clue.fact_keys),
                    facts.c.dated.between(clue.dated - LINK_WINDOW, clue.dated + LINK_WINDOW))
             .group_by(facts.c.document_id).having(shared >= MIN_SHARED_FACTS)
             .order_by(shared.desc()).limit(MAX_CANDIDATES))
    counts = Counter({doc_id: n for doc_id, n in connection.execute(query)})
    prints = _table(StoryPrintRecord)
    rows = connection.execute(select(prints.c.document_id, prints.c.regions).where(
        prints.c.document_id.in_(list(counts))))
    linked = [doc_id for doc_id, regions in rows if _same_place(clue.regions, regions or [])]
    if not linked:
        return None
    return story_of(connection, max(linked, key=lambda doc_id: counts[doc_id]))


def _same_place(ours: tuple[str, ...], theirs: list[str]) -> bool:
    """Both name the same main region, or neither names any (a national story)."""
    if not ours or not theirs:
        return not ours and not theirs
    return ours[0] == theirs[0] or bool(set(ours[:3]) & set(theirs[:3]))


def _remember(connection: Connection, document_id: int, story: int, clue: StoryClue) -> None:
    connection.execute(insert(_table(StoryPrintRecord)).values(
        document_id=document_id, signature=clue.signature, regions=list(clue.regions),
        language=clue.language, dated=clue.dated))
    if clue.bands:
        connection.execute(insert(_table(StoryBandRecord)), [
            {"band": band, "document_id": document_id} for band in dict.fromkeys(clue.bands)])
    if clue.fact_keys:
        connection.execute(insert(_table(StoryFactRecord)), [
            {"key": key, "document_id": document_id, "dated": clue.dated}
            for key in dict.fromkeys(clue.fact_keys)])
    documents = _table(DocumentRecord)
    connection.execute(update(documents).where(documents.c.id == document_id)
                       .values(story_id=story))
