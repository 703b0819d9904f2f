"""What the pipeline asks the store to write, and the rows it reads back, as plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.domain import Document, Match, Outcome, RenderedMessage, Validators


@dataclass(frozen=True)
class Health:
    """Whether operators were told a source is failing or quiet, and when it last had news."""

    failing: bool = False
    last_new_at: datetime | None = None
    quiet_since: datetime | None = None


@dataclass(frozen=True)
class KnownDocument:
    """The parts of a stored document that detection compares against."""

    id: int
    source_id: str
    item_hash: str
    content_hash: str


@dataclass(frozen=True)
class StoryClue:
    """What places a document in a story: its MinHash, and the facts and regions it states."""

    signature: bytes | None  # None for a text too short to compare
    bands: tuple[int, ...]
    fact_keys: tuple[str, ...]
    regions: tuple[str, ...]
    category: str | None
    language: str
    dated: datetime  # published, else first seen


@dataclass(frozen=True)
class DocumentWrite:
    """Store a new or changed document, its matches, and the alerts it owes."""

    document: Document
    item_hash: str
    document_id: int | None  # None for a new document
    change: str  # "new", "changed", or "unchanged" (list entry changed, text did not)
    matches: tuple[Match, ...] = ()
    alert_subscriptions: tuple[str, ...] = ()
    added: tuple[str, ...] = ()  # for "changed": the sentences added and removed
    removed: tuple[str, ...] = ()
    clue: StoryClue | None = None  # set when the document matched a topic: find its story


@dataclass(frozen=True)
class CheckIntent:
    """Everything one check of a source writes, applied in one transaction."""

    source_id: str
    outcome: Outcome
    checked_at: datetime
    error: str | None = None
    validators: dict[str, Validators] = field(default_factory=dict)
    writes: tuple[DocumentWrite, ...] = ()
    complete: bool = True  # False when items were skipped: the baseline is not done yet
    follow_failures: tuple[tuple[str, str], ...] = ()  # (url, reason) of pages that failed
    record_source: bool = True  # False for a backfill: the source's state is left as it was
    health: Health | None = None  # the source's health after this check
    notices: tuple[NewDelivery, ...] = ()  # operator alerts this check owes


@dataclass(frozen=True)
class SourceState:
    """What the store remembers of a source."""

    source_id: str
    baseline_done: bool = False
    last_checked_at: datetime | None = None
    last_success_at: datetime | None = None
    last_outcome: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    health: Health = field(default_factory=Health)


@dataclass(frozen=True)
class PendingAlert:
    """An alert not yet bundled into a delivery, with what a message needs to show it."""

    alert_id: int
    change: str
    document: Document
    matches: tuple[Match, ...]
    created_at: datetime
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    also: tuple[Document, ...] = ()  # the other documents of its story ("also reported by")


@dataclass(frozen=True)
class NewDelivery:
    """A rendered message to put in the outbox, and the alerts it carries."""

    subscription_id: str
    message: RenderedMessage
    alert_ids: tuple[int, ...]
    created_at: datetime
    key: str | None = None  # idempotency key; set for a digest's period so it is made once


@dataclass(frozen=True)
class DeliveryRow:
    """A message in the outbox."""

    id: int
    subscription_id: str
    idempotency_key: str
    status: str
    message: RenderedMessage
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    parts_sent: int = 0  # parts of a split message already posted (Slack)


def evidence_json(match: Match) -> list[dict[str, Any]]:
    """A match's evidence as JSON-able dicts."""
    return [{"term": e.term, "field": e.field, "snippet": e.snippet} for e in match.evidence]


def facts_json(match: Match) -> list[dict[str, Any]]:
    """A match's facts as JSON-able dicts."""
    return [{"kind": f.kind, "value": f.value, "unit": f.unit, "text": f.text}
            for f in match.facts]


def reasons_json(match: Match) -> list[dict[str, Any]]:
    """A match's score reasons as JSON-able dicts."""
    return [{"signal": r.signal, "detail": r.detail, "weight": r.weight} for r in match.reasons]
