"""`monitor explain URL`: why a stored document matched a topic or not, step by step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.config import Topic
from monitor.domain import Document, Fact, Match
from monitor.store.intents import evidence_json, facts_json, reasons_json
from monitor.store.queries import StoredDocument


def explain_text(stored: StoredDocument, topics: Mapping[str, Topic]) -> str:
    """The explanation as an analyst reads it."""
    doc = stored.document
    published = doc.published.date().isoformat() if doc.published else "unknown"
    lines = [doc.title, f"  url: {doc.url}",
             f"  source: {doc.source_id} · published {published} · language {doc.language}"
             f" · first seen {stored.first_seen_at.isoformat(timespec='seconds')}",
             f"  story: {_story_line(stored)}"]
    if not stored.matches:
        lines.append("  no topic's terms occur in its title or main text")
    for match in stored.matches:
        lines.extend(_match_lines(match, topics.get(match.topic_id)))
    return "\n".join(lines)


def explain_json(stored: StoredDocument) -> dict[str, Any]:
    """The same explanation as JSON."""
    doc = stored.document
    return {"url": doc.url, "title": doc.title, "source": doc.source_id,
            "published": doc.published.isoformat() if doc.published else None,
            "language": doc.language, "story": stored.story[0].url if stored.story else doc.url,
            "also_reported_by": [other.url for other in _others(stored)],
            "matches": [match_json(match) for match in stored.matches]}


def match_json(match: Match) -> dict[str, Any]:
    """A match's decision and explanation as JSON (also used by `export matches`)."""
    return {"topic": match.topic_id, "relevant": match.relevant, "score": match.score,
            "category": match.category, "regions": list(match.regions), "issuer": match.issuer,
            "facts": facts_json(match), "mentions": match.mentions, "terms": list(match.terms),
            "reasons": reasons_json(match), "evidence": evidence_json(match)}


def fact_text(fact: Fact) -> str:
    """`money 10000000 CNY (1000万元)`."""
    unit = f" {fact.unit}" if fact.unit and fact.kind != "horizon" else ""
    return f"{fact.kind} {fact.value}{unit} ({fact.text})"


def _story_line(stored: StoredDocument) -> str:
    others = _others(stored)
    if not others:
        return "its own (no other document reports it)"
    listed = ", ".join(f"{doc.source_id} <{doc.url}>" for doc in others)
    if stored.story and stored.story[0].url == stored.document.url:
        return f"leads a story of {len(stored.story)}; also reported by: {listed}"
    return f"joined the story first reported by {stored.story[0].url}; others: {listed}"


def _others(stored: StoredDocument) -> list[Document]:
    return [doc for doc in stored.story if doc.url != stored.document.url]


def _match_lines(match: Match, topic: Topic | None) -> list[str]:
    threshold = f"{topic.threshold:.2f}" if topic else "?"
    verdict = "RELEVANT" if match.relevant else "not relevant"
    lines = [f"topic {match.topic_id}: {verdict}, score {match.score:.2f}"
             f" (threshold {threshold})"]
    if match.category:
        lines.append(f"  category: {match.category}")
    lines.append(f"  regions: {', '.join(match.regions) or '-'}")
    lines.append(f"  issuer: {match.issuer or '-'}")
    lines.append(f"  facts: {'; '.join(fact_text(f) for f in match.facts) or '-'}")
    lines.append(f"  mentions: {match.mentions}")
    if match.reasons:
        lines.append("  reasons:")
        lines.extend(f"    {_weight(r.signal, r.weight)} {r.signal}: {r.detail}"
                     for r in match.reasons)
    lines.append("  evidence:")
    lines.extend(f"    {e.term} ({e.field}): {e.snippet}" for e in match.evidence)
    return lines


def _weight(signal: str, weight: float) -> str:
    return "  gate" if signal == "gate" else f"{weight:+.2f}"
