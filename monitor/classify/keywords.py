"""The first classifier: a topic matches when its terms occur in a document's title or text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from monitor.config import Topic
from monitor.domain import Document, Evidence, Match
from monitor.text import collapse_spaces

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
        fields = (("title", _searchable(document.title)), ("text", _searchable(document.text)))
        return tuple(match for topic in self._topics
                     if (match := _match_topic(topic, fields)) is not None)


def _compile(topic: Topic) -> _CompiledTopic:
    terms = dict.fromkeys(term for terms in topic.terms.values() for term in terms)
    return _CompiledTopic(topic.id, tuple((term, _pattern(term)) for term in terms))


def _pattern(term: str) -> re.Pattern[str]:
    """Latin terms must not follow a Latin letter or digit (no 'tokenblockchain'); CJK anywhere."""
    escaped = re.escape(_searchable(term))
    if term[:1].isascii() and term[:1].isalnum():
        escaped = r"(?<![A-Za-z0-9])" + escaped
    return re.compile(escaped, re.IGNORECASE)


def _match_topic(topic: _CompiledTopic,
                 fields: tuple[tuple[str, str], ...]) -> Match | None:
    terms: list[str] = []
    evidence: list[Evidence] = []
    for term, pattern in topic.patterns:
        found = [Evidence(term, name, snippet) for name, text in fields
                 for snippet in _snippets(pattern, text)]
        if found:
            terms.append(term)
            evidence.extend(found[:MAX_EVIDENCE_PER_TERM])
    if not terms:
        return None
    return Match(topic.topic_id, tuple(terms), tuple(evidence))


def _snippets(pattern: re.Pattern[str], text: str) -> list[str]:
    """A snippet around each hit, but none for a hit the previous snippet already shows."""
    snippets: list[str] = []
    shown_until = -1
    for hit in pattern.finditer(text):
        if hit.start() >= shown_until:
            snippets.append(_snippet(text, hit.start(), hit.end()))
            shown_until = hit.end() + SNIPPET_RADIUS
    return snippets


def _snippet(text: str, start: int, end: int) -> str:
    left = max(0, start - SNIPPET_RADIUS)
    right = min(len(text), end + SNIPPET_RADIUS)
    prefix = "…" if left > 0 else ""
    suffix = "…" if right < len(text) else ""
    return f"{prefix}{text[left:right].strip()}{suffix}"


# Full-width letters and digits (ｂｌｏｃｋ, ２０２０) read as ASCII; Chinese punctuation stays.
_FULLWIDTH_ALNUM = {code: code - 0xFEE0 for start, stop in ((0xFF10, 0xFF1A), (0xFF21, 0xFF3B),
                                                          (0xFF41, 0xFF5B))
                    for code in range(start, stop)}


def _searchable(text: str) -> str:
    """The text as matched and quoted: full-width alphanumerics folded, whitespace collapsed."""
    return collapse_spaces(text.translate(_FULLWIDTH_ALNUM))
