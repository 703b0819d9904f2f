"""Which story a document joins: near-duplicates by MinHash-LSH bands, translations by facts.

Each lookup is an indexed query on band or fact keys, keeping the 20 best candidates: its cost
follows the number of documents sharing a key (near-duplicates, same-week facts), not the
number stored.
"""

from __future__ import annotations

import functools
from datetime import timedelta

from sqlalchemy import (
    Connection,
    Executable,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    text,
    update,
)

from monitor.classify.similarity import DUPLICATE_SIMILARITY, similarity
from monitor.store.intents import StoryClue
from monitor.store.records import (
    AlertRecord,
    DocumentRecord,
    MatchRecord,
    StoryBandRecord,
    StoryFactRecord,
    StoryPrintRecord,
)

LINK_WINDOW = timedelta(days=7)  # translations: dated within a week of each other
MIN_SHARED_FACTS = 2  # facts in common to link, or one amount or count and the same category
MAX_CANDIDATES = 20  # documents compared per lookup, the most promising first
STORY_LOCK = 0x6D6F6E73  # PostgreSQL advisory lock key ("mons") held while placing a document


def _table(record: type) -> Table:
    table: Table = record.__table__  # type: ignore[attr-defined]
    return table


def assign_story(connection: Connection, document_id: int, clue: StoryClue,
                 new: bool = True) -> int:
    """The story `document_id` belongs to (its own id if it starts one), remembered.

    A changed document (`new` false) that already has a story stays in it, with its
    fingerprint and facts replaced so later copies find it by its new text. On PostgreSQL a
    transaction-scoped advisory lock makes two processes place documents one at a time (on
    SQLite the database's single writer does).
    """
    _serialise(connection)
    if not new and _forget(connection, document_id):
        story = story_of(connection, document_id)
    else:
        story = (_near_duplicate(connection, clue) or _translation(connection, clue)
                 or document_id)
    _remember(connection, document_id, story, clue)
    return story


def _serialise(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": STORY_LOCK})


def _forget(connection: Connection, document_id: int) -> bool:
    """Drop a document's fingerprint, bands and facts; whether it had any."""
    prints = _table(StoryPrintRecord)
    for record in (StoryBandRecord, StoryFactRecord):
        table = _table(record)
        connection.execute(delete(table).where(table.c.document_id == document_id))
    return _rowcount(connection.execute(delete(prints).where(
        prints.c.document_id == document_id))) > 0


def _rowcount(result: object) -> int:
    count: int = getattr(result, "rowcount", 0)
    return count


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
    rows = connection.execute(_band_candidates(), {"bands": list(clue.bands)})
    scored = [(similarity(clue.signature, signature), story or doc_id)
              for doc_id, signature, regions, story in rows
              if signature is not None and not _elsewhere(clue.regions, regions or [])]
    top = max(scored, default=None)
    return top[1] if top is not None and top[0] >= DUPLICATE_SIMILARITY else None


def _translation(connection: Connection, clue: StoryClue) -> int | None:
    """The story of a document dated within a week that names the same place and states the
    same facts: two of them, or one amount or count and the same category (10 million yuan =
    1000万元): a translation, or another outlet's report of the same thing. A plan's horizon
    and category link only across languages: a province may issue several plans for the same
    years on one day, but a foreign report of one of them in that week is rarely of another."""
    if not clue.fact_keys:
        return None
    rows = connection.execute(_fact_candidates(), {
        "keys": list(clue.fact_keys), "since": clue.dated - LINK_WINDOW,
        "until": clue.dated + LINK_WINDOW})
    linked = [(shared, story or doc_id)
              for doc_id, shared, amounts, regions, category, language, story in rows
              if _same_place(clue.regions, regions or []) and (
                  shared >= MIN_SHARED_FACTS or (category == clue.category and (
                      amounts or language != clue.language)))]
    return max(linked)[1] if linked else None


@functools.cache
def _band_candidates() -> Executable:
    """Documents sharing the most bands with :bands, with their signature, regions, story."""
    bands, prints, documents = (_table(StoryBandRecord), _table(StoryPrintRecord),
                                _table(DocumentRecord))
    shared = func.count().label("shared")
    best = (select(bands.c.document_id, shared)
            .where(bands.c.band.in_(bindparam("bands", expanding=True)))
            .group_by(bands.c.document_id).order_by(shared.desc()).limit(MAX_CANDIDATES)
            .subquery())
    return (select(best.c.document_id, prints.c.signature, prints.c.regions,
                   documents.c.story_id)
            .join(prints, prints.c.document_id == best.c.document_id)
            .join(documents, documents.c.id == best.c.document_id))


@functools.cache
def _fact_candidates() -> Executable:
    """Documents dated in [:since, :until] sharing the most of :keys, with what links them."""
    facts, prints, documents = (_table(StoryFactRecord), _table(StoryPrintRecord),
                                _table(DocumentRecord))
    shared = func.count().label("shared")
    amounts = func.sum(case((facts.c.key.like("horizon:%"), 0), else_=1)).label("amounts")
    best = (select(facts.c.document_id, shared, amounts)
            .where(facts.c.key.in_(bindparam("keys", expanding=True)),
                   facts.c.dated.between(bindparam("since"), bindparam("until")))
            .group_by(facts.c.document_id).order_by(shared.desc()).limit(MAX_CANDIDATES)
            .subquery())
    return (select(best.c.document_id, best.c.shared, best.c.amounts, prints.c.regions,
                   prints.c.category, prints.c.language, documents.c.story_id)
            .join(prints, prints.c.document_id == best.c.document_id)
            .join(documents, documents.c.id == best.c.document_id))


def _elsewhere(ours: tuple[str, ...], theirs: list[str]) -> bool:
    """Whether two documents are about different places: the same template filled in by two
    provinces is two stories, however alike the text."""
    return bool(ours and theirs) and ours[0] != theirs[0] and not set(ours) & set(theirs)


def _same_place(ours: tuple[str, ...], theirs: list[str]) -> bool:
    """Both name the same main region, or mostly the same regions."""
    if not ours or not theirs:
        return False
    overlap = len(set(ours) & set(theirs)) / len(set(ours) | set(theirs))
    return ours[0] == theirs[0] or overlap >= 0.5


def unprinted(connection: Connection, after: int, limit: int) -> list[int]:
    """Documents (ids above `after`) with a relevant match but no fingerprint: stored before
    stories existed (schema 0005). The transaction then holds the story lock, so two
    processes starting together never fingerprint the same document."""
    _serialise(connection)
    matches, prints = _table(MatchRecord), _table(StoryPrintRecord)
    query = (select(matches.c.document_id).distinct()
             .outerjoin(prints, prints.c.document_id == matches.c.document_id)
             .where(matches.c.relevant, prints.c.document_id.is_(None),
                    matches.c.document_id > after)
             .order_by(matches.c.document_id).limit(limit))
    return [int(row[0]) for row in connection.execute(query)]


def remember_as_is(connection: Connection, document_id: int, clue: StoryClue) -> None:
    """Fingerprint a stored document in the story it has (its own, if none): later copies
    join it, and nothing it already alerted is reconsidered."""
    _remember(connection, document_id, story_of(connection, document_id), clue)


def _remember(connection: Connection, document_id: int, story: int, clue: StoryClue) -> None:
    connection.execute(insert(_table(StoryPrintRecord)).values(
        document_id=document_id, signature=clue.signature, regions=list(clue.regions),
        category=clue.category, language=clue.language, dated=clue.dated))
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
