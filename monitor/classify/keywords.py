"""The first classifier: a topic matches when its terms occur in a document's title or text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.config import Topic
from monitor.domain import Document, Evidence, Match
from monitor.text import normalised

SNIPPET_RADIUS = 60
MAX_EVIDENCE_PER_TERM = 3


@dataclass(frozen=True)
class _CompiledTopic:
    topic_id: str
    patterns: tuple[tuple[str, re.Pattern[str]], ...]  # (term, pattern)


class KeywordClassifier:
    """Matches documents against topics' terms, keeping the terms found and a snippet each."""

    def __init__(self, topics: Iterable[Topic]) -> None:
        self._topics = tuple(_compile(topic) for topic in topics)

    def classify(self, document: Document) -> tuple[Match, ...]:
        fields = (("title", normalised(document.title)), ("text", normalised(document.text)))
        return tuple(match for topic in self._topics
                     if (match := _match_topic(topic, fields)) is not None)


def _compile(topic: Topic) -> _CompiledTopic:
    terms = dict.fromkeys(term for terms in topic.terms.values() for term in terms)
    return _CompiledTopic(topic.id, tuple((term, _pattern(term)) for term in terms))


def _pattern(term: str) -> re.Pattern[str]:
    """Latin terms must not follow a Latin letter or digit (no 'tokenblockchain'); CJK anywhere."""
    escaped = re.escape(normalised(term))
    if term[:1].isascii() and term[:1].isalnum():
        escaped = r"(?<![A-Za-z0-9])" + escaped
    return re.compile(escaped, re.IGNORECASE)


def _match_topic(topic: _CompiledTopic,
                 fields: tuple[tuple[str, str], ...]) -> Match | None:
    terms: list[str] = []
    evidence: list[Evidence] = []
    for term, pattern in topic.patterns:
        found = [Evidence(term, name, _snippet(text, hit.start(), hit.end()))
                 for name, text in fields for hit in pattern.finditer(text)]
        if found:
            terms.append(term)
            evidence.extend(found[:MAX_EVIDENCE_PER_TERM])
    if not terms:
        return None
    return Match(topic.topic_id, tuple(terms), tuple(evidence))


def _snippet(text: str, start: int, end: int) -> str:
    left = max(0, start - SNIPPET_RADIUS)
    right = min(len(text), end + SNIPPET_RADIUS)
    prefix = "…" if left > 0 else ""
    suffix = "…" if right < len(text) else ""
    return f"{prefix}{text[left:right].strip()}{suffix}"
