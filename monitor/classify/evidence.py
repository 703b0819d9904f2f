"""Snippets of a document's own text around the places a term was found."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.classify.terms import Hit
from monitor.domain import Evidence

SNIPPET_RADIUS = 60
MAX_EVIDENCE_PER_TERM = 3


def evidence(field: str, text: str, hits: Iterable[Hit]) -> list[Evidence]:
    """A snippet per hit (at most 3 per term), none for a hit the previous snippet shows."""
    found: list[Evidence] = []
    per_term: dict[str, int] = {}
    shown_until = -1
    for hit in hits:
        if hit.start < shown_until or per_term.get(hit.term, 0) >= MAX_EVIDENCE_PER_TERM:
            continue
        per_term[hit.term] = per_term.get(hit.term, 0) + 1
        found.append(Evidence(hit.term, field, snippet(text, hit.start, hit.end)))
        shown_until = hit.end + SNIPPET_RADIUS
    return found


def snippet(text: str, start: int, end: int) -> str:
    """The text around [start, end), with an ellipsis where it was cut."""
    left = max(0, start - SNIPPET_RADIUS)
    right = min(len(text), end + SNIPPET_RADIUS)
    prefix = "…" if left > 0 else ""
    suffix = "…" if right < len(text) else ""
    return f"{prefix}{text[left:right].strip()}{suffix}"
