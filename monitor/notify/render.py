"""Turning a Digest into a RenderedMessage: subject, text and HTML bodies, JSON payload."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

import monitor
from monitor.domain import (
    Digest,
    DigestItem,
    Evidence,
    HealthEvent,
    OperatorNotice,
    RenderedMessage,
)
from monitor.errors import ConfigError
from monitor.text import collapse_spaces

PAYLOAD_VERSION = 1
SUBJECT_LIMIT = 150
_NOUN = "blockchain-policy document"


@dataclass(frozen=True)
class EvidenceView:
    """One matched term as templates show it: `segments` pairs text with 'is the match'."""

    term: str
    field: str
    segments: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class ItemView:
    """One digest item with its fields formatted for display."""

    url: str
    title: str
    source_name: str
    published: str  # YYYY-MM-DD, '' when unknown
    change: str
    topics: tuple[str, ...]
    terms: tuple[str, ...]
    evidence: tuple[EvidenceView, ...]
    added: tuple[str, ...] = ()  # a changed document's new sentences …
    removed: tuple[str, ...] = ()  # … and the ones it dropped
    category: str = ""  # plan, pilot, …; '' for a topic without categories
    regions: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()  # as written: "2020—2022年", "1000万元"
    also: tuple[tuple[str, str], ...] = ()  # (source name, URL): "also reported by"

    @property
    def summary(self) -> str:
        """`plan · Beijing, Hebei · 2020—2022年, 1000万元`, leaving out what is unknown."""
        parts = (self.category, ", ".join(self.regions), ", ".join(self.facts))
        return " · ".join(part for part in parts if part)


@dataclass(frozen=True)
class SourceGroup:
    """The items of one source within a topic."""

    name: str
    items: tuple[ItemView, ...]


@dataclass(frozen=True)
class TopicGroup:
    """The items whose first topic is `topic`, by source."""

    topic: str
    sources: tuple[SourceGroup, ...]


def default_template_dirs() -> list[Path]:
    """Our template directories that exist: the wheel's `_templates`, the repository's."""
    package = Path(monitor.__file__).parent
    candidates = [package / "_templates", package.parent / "templates"]
    return [path for path in candidates if path.is_dir()]


class DigestRenderer:
    """Renders digests with Jinja templates; earlier directories override later ones."""

    def __init__(self, template_dirs: list[Path]) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(template_dirs),
            autoescape=jinja2.select_autoescape(["html", "html.j2", "htm"]),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(self, digest: Digest) -> RenderedMessage:
        """Subject, text and HTML from the templates, and the versioned JSON payload."""
        subject = subject_for(digest)
        context: dict[str, object] = {
            "digest": digest, "subject": subject,
            "groups": group_items(digest.items, ZoneInfo(digest.timezone)),
            "total": len(digest.items) + digest.omitted, "omitted": digest.omitted,
            "generated_at": _display_time(digest),
        }
        text = self._render("digest.txt.j2", context)
        html = self._render("digest.html.j2", context)
        return RenderedMessage(subject, text, html, payload_for(digest))

    def render_operator(self, notice: OperatorNotice) -> RenderedMessage:
        """An operator alert (source failing, recovered or quiet) from operator.*.j2."""
        zone = ZoneInfo(notice.timezone)
        subject = _clip(f"[monitor] source {notice.source_id} {_EVENT_WORDS[notice.event]}")
        context: dict[str, object] = {
            "notice": notice, "subject": subject,
            "generated_at": notice.generated_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z"),
            "last_success_at": _local(notice.last_success_at, zone),
            "last_new_at": _local(notice.last_new_at, zone)}
        payload: dict[str, object] = {
            "version": 1, "type": "operator", "event": notice.event.value,
            "source": notice.source_id, "url": notice.url, "failures": notice.failures,
            "error": notice.error, "generated_at": notice.generated_at.isoformat()}
        return RenderedMessage(subject, self._render("operator.txt.j2", context),
                               self._render("operator.html.j2", context), payload)

    def _render(self, name: str, context: dict[str, object]) -> str:
        """Render one template; a broken or missing template is a ConfigError naming it."""
        try:
            return self._env.get_template(name).render(context)
        except jinja2.TemplateSyntaxError as error:
            where = f"{error.filename or name}:{error.lineno}"
            raise ConfigError([f"{where}: template syntax error: {error.message}"]) from error
        except jinja2.TemplateError as error:
            raise ConfigError([f"{name}: cannot render: {error}"]) from error


def subject_for(digest: Digest) -> str:
    """A short subject: the title for one item, else counts and the topics."""
    items, total = digest.items, len(digest.items) + digest.omitted
    if total == 0:
        return f"No new {_NOUN}s"
    if len(items) == 1 and total == 1:
        return _clip(f"{items[0].change.capitalize()} {_NOUN}: {items[0].title}")
    topics = ", ".join(dict.fromkeys(topic for item in items for topic in item.topics))
    counted = f"{total} {_change_word(items)} {_NOUN}s"
    return _clip(f"{counted}: {topics}" if topics else counted)


def payload_for(digest: Digest) -> dict[str, object]:
    """The JSON payload, version 1 (new keys may be added; removals bump the version).

    {"version": 1, "subscription": id, "mode": "digest" | "immediate",
     "generated_at": ISO 8601, "omitted": items left out past max_items,
     "items": [{"url", "title", "source" (id), "source_name", "published" (ISO 8601 or null),
                "language", "change" ("new" | "changed"), "topics": [id],
                "evidence": [{"term", "field" ("title" | "text"), "snippet"}],
                "added": [sentence], "removed": [sentence]}]}  (changed documents only)
    """
    return {
        "version": PAYLOAD_VERSION,
        "subscription": digest.subscription_id,
        "mode": digest.mode,
        "generated_at": digest.generated_at.isoformat(),
        "items": [_item_payload(item) for item in digest.items],
        "omitted": digest.omitted,
    }


def group_items(items: tuple[DigestItem, ...], zone: ZoneInfo) -> tuple[TopicGroup, ...]:
    """Items by first topic, then by source name, in first-seen order; dates in `zone`."""
    tree: dict[str, dict[str, list[ItemView]]] = {}
    for item in items:
        topic = item.topics[0] if item.topics else "other"
        tree.setdefault(topic, {}).setdefault(item.source_name, []).append(_view(item, zone))
    return tuple(
        TopicGroup(topic, tuple(SourceGroup(name, tuple(views)) for name, views in by.items()))
        for topic, by in tree.items()
    )


def highlight(snippet: str, term: str) -> tuple[tuple[str, bool], ...]:
    """Split `snippet` around case-insensitive occurrences of `term`."""
    if not term:
        return ((snippet, False),)
    parts = re.split(f"({re.escape(term)})", snippet, flags=re.IGNORECASE)
    return tuple((part, index % 2 == 1) for index, part in enumerate(parts) if part)


def _view(item: DigestItem, zone: ZoneInfo) -> ItemView:
    evidence = tuple(EvidenceView(e.term, e.field, highlight(e.snippet, e.term))
                     for e in item.evidence)
    terms = tuple(dict.fromkeys(e.term for e in item.evidence))
    published = _display_date(item.published, zone) if item.published else ""
    return ItemView(item.url, item.title, item.source_name, published, item.change,
                    item.topics, terms, evidence, item.added, item.removed,
                    item.category or "", item.regions,
                    tuple(dict.fromkeys(fact.text for fact in item.facts))[:6], item.also)


def _item_payload(item: DigestItem) -> dict[str, object]:
    return {
        "url": item.url,
        "title": item.title,
        "source": item.source_id,
        "source_name": item.source_name,
        "published": item.published.isoformat() if item.published else None,
        "language": item.language,
        "change": item.change,
        "topics": list(item.topics),
        "evidence": [_evidence_payload(evidence) for evidence in item.evidence],
        "added": list(item.added),
        "removed": list(item.removed),
        "category": item.category,
        "regions": list(item.regions),
        "facts": [{"kind": f.kind, "value": f.value, "unit": f.unit, "text": f.text}
                  for f in item.facts],
        "score": item.score,
        "also_reported_by": [{"source_name": name, "url": url} for name, url in item.also],
    }


def _evidence_payload(evidence: Evidence) -> dict[str, object]:
    return {"term": evidence.term, "field": evidence.field, "snippet": evidence.snippet}


def _change_word(items: tuple[DigestItem, ...]) -> str:
    changes = {item.change for item in items}
    return changes.pop() if len(changes) == 1 else "new or changed"


# Portals give dates without a time; those are stored as midnight in the source's timezone
# (Asia/Shanghai until sources get their own timezone setting).
_DATE_ONLY_ZONE = ZoneInfo("Asia/Shanghai")


def _display_date(published: datetime, zone: ZoneInfo) -> str:
    """A date-only publication date as its calendar date; a timed one in the reader's zone."""
    at_source = published.astimezone(_DATE_ONLY_ZONE)
    if at_source.timetz().replace(tzinfo=None) == time(0):
        return at_source.strftime("%Y-%m-%d")
    return published.astimezone(zone).strftime("%Y-%m-%d")


_EVENT_WORDS = {HealthEvent.FAILING: "is failing", HealthEvent.RECOVERED: "recovered",
                HealthEvent.QUIET: "has gone quiet"}


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else "never"


def _display_time(digest: Digest) -> str:
    local = digest.generated_at.astimezone(ZoneInfo(digest.timezone))
    return local.strftime("%Y-%m-%d %H:%M %Z").strip()


def _clip(text: str) -> str:
    flat = collapse_spaces(text)
    return flat if len(flat) <= SUBJECT_LIMIT else flat[: SUBJECT_LIMIT - 1] + "…"
