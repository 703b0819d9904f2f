"""Exports of documents and matches as JSON lines or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, TextIO

from monitor.domain import Document
from monitor.store import Store
from monitor.store.intents import evidence_json, facts_json, reasons_json

DOCUMENT_FIELDS = ["url", "title", "source", "published", "language", "text"]
MATCH_FIELDS = ["url", "title", "source", "published", "language", "topic", "category",
                "regions", "issuer", "facts", "score", "story", "terms", "reasons", "evidence"]


def write_export(store: Store, what: str, fmt: str, out: TextIO) -> int:
    """Write every document or match to `out`; returns the number of records."""
    rows = _documents(store) if what == "documents" else _matches(store)
    fields = DOCUMENT_FIELDS if what == "documents" else MATCH_FIELDS
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=fields)
        writer.writeheader()
        count = 0
        for count, row in enumerate(rows, start=1):  # noqa: B007
            writer.writerow({k: _cell(v) for k, v in row.items()})
        return count
    count = 0
    for count, row in enumerate(rows, start=1):  # noqa: B007
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
    return count


def _base(doc: Document) -> dict[str, Any]:
    return {"url": doc.url, "title": doc.title, "source": doc.source_id,
            "published": doc.published.isoformat() if doc.published else None,
            "language": doc.language}


def _documents(store: Store) -> Iterator[dict[str, Any]]:
    for doc in store.iter_documents():
        yield {**_base(doc), "text": doc.text}


def _matches(store: Store) -> Iterator[dict[str, Any]]:
    """Relevant matches: what the topic is about, where, which figures, and why."""
    for row in store.iter_matches():
        match = row.match
        yield {**_base(row.document), "topic": match.topic_id, "category": match.category,
               "regions": list(match.regions), "issuer": match.issuer,
               "facts": facts_json(match), "score": match.score, "story": row.story_url,
               "terms": list(match.terms), "reasons": reasons_json(match),
               "evidence": evidence_json(match)}


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value
