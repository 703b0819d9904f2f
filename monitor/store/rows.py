"""Rows to domain values: documents and matches as the pipeline and readers see them."""

from __future__ import annotations

from monitor.domain import Document, Evidence, Fact, Match, Reason
from monitor.store.records import DocumentRecord, MatchRecord


def document_from_row(row: DocumentRecord) -> Document:
    return Document(url=row.url, source_id=row.source_id, title=row.title, text=row.text,
                    published=row.published, language=row.language,
                    content_hash=row.content_hash)


def match_from_row(row: MatchRecord) -> Match:
    evidence = tuple(Evidence(item["term"], item["field"], item["snippet"])
                     for item in row.evidence)
    facts = tuple(Fact(f["kind"], f["value"], f["unit"], f["text"]) for f in row.facts or ())
    reasons = tuple(Reason(r["signal"], r["detail"], r["weight"]) for r in row.reasons or ())
    return Match(row.topic_id, tuple(row.terms), evidence, score=row.score,
                 relevant=row.relevant, category=row.category, reasons=reasons,
                 regions=tuple(row.regions or ()), issuer=row.issuer, facts=facts,
                 mentions=row.mentions)
