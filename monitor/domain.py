"""Value types that travel between the stages: fetched bytes, items, documents, matches."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True)
class Validators:
    """HTTP cache validators kept per URL for conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    """What a fetcher got from a URL: raw bytes plus the headers that matter."""

    url: str  # the final URL, after redirects
    status: int
    content_type: str  # the Content-Type header, '' when absent
    body: bytes
    validators: Validators = field(default_factory=Validators)
    elapsed: float = 0.0  # seconds


@dataclass(frozen=True)
class Item:
    """One entry found on a list page or feed, before its page is (maybe) fetched."""

    url: str  # canonical URL
    title: str
    published: datetime | None = None
    text: str = ""  # summary or full text when the source carries it
    language: str | None = None


@dataclass(frozen=True)
class Article:
    """Title and main text extracted from a detail page; navigation and footers left out."""

    title: str
    text: str
    published: datetime | None = None
    language: str | None = None
    attachments: tuple[str, ...] = ()  # absolute URLs of linked files (PDF, DOCX, …)


@dataclass(frozen=True)
class Document:
    """A stored unit of content: what detection and classification see."""

    url: str  # canonical URL, the identity
    source_id: str
    title: str
    text: str
    published: datetime | None
    language: str
    content_hash: str


class Outcome(StrEnum):
    """How one check of a source ended."""

    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    NOT_MODIFIED = "not-modified"
    ERROR = "error"


@dataclass(frozen=True)
class Evidence:
    """One place a term matched: the term, where (title or text), and the text around it."""

    term: str
    field: str  # "title" or "text"
    snippet: str


@dataclass(frozen=True)
class Fact:
    """A figure a document states: a plan horizon, an amount of money, a count."""

    kind: str  # "horizon", "money" or "count"
    value: str  # normalised: "2020-2022" or "2025"; whole yuan "10000000"; "164"
    unit: str  # "year"; "CNY"; the counted noun ("entity", "zone", …) or ""
    text: str  # as written: "1000万元", "10 millions de yuans"

    @property
    def key(self) -> str:
        """The same in every language: links a story's translations."""
        return f"{self.kind}:{self.value}"


@dataclass(frozen=True)
class Reason:
    """One signal that moved a match's relevance score, as `explain` shows it."""

    signal: str  # "topic", "authority", "place", "category", "guard", "elsewhere", "gate"
    detail: str  # what was found: "区块链 ×4 (title, text)"
    weight: float  # what it added to the score (negative for guards; 0 for a failed gate)


@dataclass(frozen=True)
class Match:
    """A topic's terms were found in a document: the evidence, and what the layers made of it."""

    topic_id: str
    terms: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    score: float = 1.0
    relevant: bool = True  # the score reached the topic's threshold and every gate held
    category: str | None = None
    reasons: tuple[Reason, ...] = ()
    regions: tuple[str, ...] = ()  # provincial-level divisions named, the document's own first
    issuer: str | None = None  # the issuing body, when the document states it
    facts: tuple[Fact, ...] = ()
    mentions: int = 0  # how often the topic's terms occur in the title and text


@dataclass(frozen=True)
class DigestItem:
    """One document as a subscriber sees it in a digest or alert."""

    url: str
    title: str
    source_id: str
    source_name: str
    published: datetime | None
    language: str
    change: str  # "new" or "changed"
    topics: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    added: tuple[str, ...] = ()  # for a changed document: sentences added …
    removed: tuple[str, ...] = ()  # … and removed since the version last seen
    category: str | None = None
    regions: tuple[str, ...] = ()
    facts: tuple[Fact, ...] = ()
    score: float | None = None
    also: tuple[tuple[str, str], ...] = ()  # (source name, URL) of the story's other documents


@dataclass(frozen=True)
class Digest:
    """What one message to one subscription carries."""

    subscription_id: str
    mode: str  # "digest" or "immediate"
    items: tuple[DigestItem, ...]
    generated_at: datetime
    omitted: int = 0  # items past max_items, announced as "and N more"
    timezone: str = "UTC"  # the subscriber's: dates are shown in it


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready for any transport: subject, text and HTML bodies, JSON payload."""

    subject: str
    text: str
    html: str
    payload: dict[str, object]


@dataclass(frozen=True)
class OutboundMessage:
    """A rendered message plus the delivery facts a notifier needs."""

    delivery_id: int
    idempotency_key: str  # stable across retries: Message-ID and webhook-id derive from it
    subscription_id: str
    message: RenderedMessage
    created_at: datetime
    unsubscribe_url: str | None = None  # the subscription's, for List-Unsubscribe
    parts_sent: int = 0  # of a message sent in parts: those already posted, not to repeat
    on_part_sent: Callable[[int], None] | None = field(default=None, compare=False)  # records it


class HealthEvent(StrEnum):
    """What operators are told about a source."""

    FAILING = "failing"  # max_failures checks in a row failed
    RECOVERED = "recovered"  # a failing source checked fine again
    QUIET = "quiet"  # no new item for longer than expect_every


@dataclass(frozen=True)
class OperatorNotice:
    """One message to operators about one source's health."""

    event: HealthEvent
    source_id: str
    source_name: str
    url: str
    failures: int
    error: str | None
    last_success_at: datetime | None
    last_new_at: datetime | None
    generated_at: datetime
    timezone: str = "UTC"
