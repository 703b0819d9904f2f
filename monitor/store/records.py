"""Database tables (sqlmodel); each name ends in Record so rows never pass for domain values."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class SourceStateRecord(SQLModel, table=True):
    """What the monitor remembers about each source between checks."""

    source_id: str = Field(primary_key=True, max_length=100)
    baseline_done: bool = False
    last_checked_at: datetime | None = None
    last_success_at: datetime | None = None
    last_outcome: str | None = Field(default=None, max_length=20)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    consecutive_failures: int = 0
    failing: bool = False  # max_failures reached and operators told; cleared on recovery
    last_new_at: datetime | None = None  # when the source last had a new item
    quiet_since: datetime | None = None  # set when operators were told it went quiet


class HttpCacheRecord(SQLModel, table=True):
    """ETag and Last-Modified per URL, for conditional GET."""

    url: str = Field(primary_key=True, max_length=2048)
    etag: str | None = Field(default=None, max_length=512)
    last_modified: str | None = Field(default=None, max_length=128)
    updated_at: datetime


class DocumentRecord(SQLModel, table=True):
    """One document per canonical URL."""

    __table_args__ = (Index("ix_documentrecord_source_id", "source_id"),)

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2048, unique=True)
    source_id: str = Field(max_length=100)
    title: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    published: datetime | None = None
    language: str = Field(max_length=16)
    item_hash: str = Field(max_length=64)  # of what the list page or feed showed
    content_hash: str = Field(max_length=64)  # of the normalised title and main text
    first_seen_at: datetime
    changed_at: datetime | None = None
    story_id: int | None = Field(default=None, index=True)  # its story's first document; None: own


class MatchRecord(SQLModel, table=True):
    """A topic matched a document: which terms, with what evidence."""

    __table_args__ = (UniqueConstraint("document_id", "topic_id"),)

    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="documentrecord.id", index=True)
    topic_id: str = Field(max_length=100)
    terms: list[str] = Field(sa_column=Column(JSON, nullable=False))
    evidence: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    matched_at: datetime
    score: float = 1.0
    relevant: bool = True  # the score reached the threshold and every gate held
    category: str | None = Field(default=None, max_length=40)
    reasons: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    regions: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    issuer: str | None = Field(default=None, sa_column=Column(Text))
    facts: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    mentions: int = 0


class AlertRecord(SQLModel, table=True):
    """A document a subscription is owed, written with the detection; bundled into a delivery."""

    __table_args__ = (Index("ix_alertrecord_pending", "subscription_id", "delivery_id"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: str = Field(max_length=100)
    document_id: int = Field(foreign_key="documentrecord.id")
    change: str = Field(max_length=20)  # "new" or "changed"
    changes: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # added/removed
    created_at: datetime
    delivery_id: int | None = Field(default=None, foreign_key="deliveryrecord.id")


class DeliveryRecord(SQLModel, table=True):
    """The outbox: one rendered message owed to one subscription, and how sending it went."""

    __table_args__ = (Index("ix_deliveryrecord_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: str = Field(max_length=100)
    idempotency_key: str = Field(max_length=64, unique=True)
    status: str = Field(max_length=20)  # pending, sent, dead
    subject: str = Field(sa_column=Column(Text, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    html: str = Field(sa_column=Column(Text, nullable=False))
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    attempts: int = 0
    next_attempt_at: datetime  # while claimed: when the claim's lease ends
    claimed_by: str | None = Field(default=None, max_length=32)  # the sender holding the lease
    parts_sent: int = 0  # of a message posted in parts (Slack): those a retry must not repeat
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime
    sent_at: datetime | None = None


class FollowFailureRecord(SQLModel, table=True):
    """An item whose page could not be fetched yet: tried again at each check, up to a limit."""

    url: str = Field(primary_key=True, max_length=2048)
    source_id: str = Field(max_length=100)
    failures: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    first_failed_at: datetime


class StoryPrintRecord(SQLModel, table=True):
    """What story matching keeps of a document: its MinHash signature, regions and date."""

    document_id: int = Field(primary_key=True, foreign_key="documentrecord.id")
    signature: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    regions: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    category: str | None = Field(default=None, max_length=40)
    language: str = Field(max_length=16)
    dated: datetime  # published, or first seen: translations are linked within a week of it


class StoryBandRecord(SQLModel, table=True):
    """One LSH band key of a document's signature: near-duplicates share at least one."""

    __table_args__ = {"sqlite_with_rowid": False}

    band: int = Field(sa_column=Column(BigInteger, primary_key=True))
    document_id: int = Field(primary_key=True, foreign_key="documentrecord.id")


class StoryFactRecord(SQLModel, table=True):
    """One fact a document states (horizon, money, count), keyed the same in every language."""

    __table_args__ = (Index("ix_storyfactrecord_key_dated", "key", "dated"),
                      {"sqlite_with_rowid": False})

    key: str = Field(primary_key=True, max_length=80)
    document_id: int = Field(primary_key=True, foreign_key="documentrecord.id")
    dated: datetime


class SourceLeaseRecord(SQLModel, table=True):
    """When a source is due, and which replica holds it while checking (a lease that lapses)."""

    __table_args__ = (Index("ix_sourceleaserecord_due", "next_due"),)

    source_id: str = Field(primary_key=True, max_length=100)
    next_due: datetime
    leased_by: str | None = Field(default=None, max_length=64)  # the replica checking it now
    lease_until: datetime | None = None  # past this, another replica may take the source
