"""Check passes with a history: the same passes as bench/fetch/run.py over a store that already
holds N documents (default: 1,000, then 1,000,000), to see what a large history costs.

Run: .venv/bin/python bench/fetch/history.py [--stored 1000,1000000] [--sources 2000]
                                             [--latency-ms 50] [--rounds 1]

For each N, a fresh state directory is filled before the first pass (SQLAlchemy Core bulk
inserts, batches of 5,000, one transaction) with N documents as a long-running monitor would
have kept them: ~2 KB of Chinese text each (700 characters), titles, hashes, first seen and
published over the last three years, spread over the bench's sources but at URLs no list page
shows any more. RELEVANT (10 %) of them matched the topic: each has a match row (terms,
evidence, score, category, regions, facts), a story print (a random 512-byte MinHash signature
and its 32 LSH band keys, computed by monitor.classify.similarity.band_keys) and one or two
story facts (amounts drawn from 200 values, so some are shared). Alerts and deliveries are not
stored. Then the three passes of bench/fetch/run.py run against the real App (baseline,
(a) unchanged, (b) 10 % new), and the script prints each pass and, at the end, pass (a) and
(b) wall times at every N relative to the smallest N.

Target (issue 6): pass time with 1,000,000 stored <= 1.2 x the time with 1,000 stored.
The database is then ~4.1 GiB (the fill takes ~85 s on the 2-core machine); the machine's page
cache holds it after the fill (as it would for a daemon that has been running), so the passes
read SQLite pages from memory, not disk. Every round runs in this one process, so the RSS
figures of a round after the first include what earlier rounds left: read memory from
bench/fetch/run.py --stored N instead.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, Select, Table, func, insert, select

from monitor.classify.similarity import band_keys
from monitor.store import make_engine, upgrade_schema
from monitor.store.records import (
    DocumentRecord,
    MatchRecord,
    StoryBandRecord,
    StoryFactRecord,
    StoryPrintRecord,
)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from portal_server import CHARACTERS  # noqa: E402 (bench/ is not a package)

BATCH = 5_000
RELEVANT = 0.10  # share of stored documents that matched the topic (match row, story print)
TEXT_CHARACTERS = 700  # ~2 KB of UTF-8
REGIONS = ["Beijing", "Shanghai", "Guangdong", "Zhejiang", "Jiangsu", "Shandong", "Sichuan",
           "Hubei", "Hunan", "Fujian", "Henan", "Hebei", "Tianjin", "Chongqing", "Hainan"]
CATEGORIES = ["plan", "pilot", "funding", "procurement", "gov_report", "other"]


def _table(record: type) -> Table:
    table: Table = record.__table__  # type: ignore[attr-defined]
    return table


def fill(database: Path, count: int, sources: int) -> None:
    """Create (or upgrade) the state database at `database` and store `count` documents.

    bench/fetch/run.py runs this in a process of its own, so neither the rows generated here
    nor SQLite's page cache of the inserts count in the monitor's memory.
    """
    engine = make_engine(f"sqlite:///{database}")
    upgrade_schema(engine)
    seconds = populate(engine, count, sources)
    engine.dispose()
    size = database.stat().st_size / 2**30
    print(f"stored {count} documents in {seconds:.0f} s ({size:.2f} GiB)", flush=True)


def populate(engine: Engine, count: int, sources: int, seed: int = 6) -> float:
    """Store `count` documents of history (10 % matched, with story prints); seconds taken."""
    started = time.perf_counter()
    filler = _Filler(random.Random(seed), sources)
    with engine.begin() as connection:
        first = 1 + (connection.execute(_max_id()).scalar() or 0)
        for start in range(0, count, BATCH):
            rows = filler.batch(first + start, min(BATCH, count - start))
            for record, values in zip((DocumentRecord, MatchRecord, StoryPrintRecord,
                                       StoryBandRecord, StoryFactRecord), rows, strict=True):
                if values:
                    connection.execute(insert(_table(record)), values)
    return time.perf_counter() - started


def _max_id() -> Select[tuple[int | None]]:
    return select(func.max(_table(DocumentRecord).c.id))


class _Filler:
    """Rows of generated history: documents, and matches and story rows for the relevant."""

    def __init__(self, rng: random.Random, sources: int) -> None:
        self.rng = rng
        self.sources = sources
        self.pool = "".join(rng.choices(CHARACTERS, k=1_000_000))  # texts are slices of it
        self.now = datetime.now(UTC)

    def batch(self, first: int, size: int) -> tuple[list[dict[str, object]], ...]:
        documents, matches, prints, bands, facts = [], [], [], [], []
        rng = self.rng
        for doc_id in range(first, first + size):
            seen = self.now - timedelta(seconds=rng.randrange(3 * 365 * 86400))
            relevant = rng.random() < RELEVANT
            documents.append(self._document(doc_id, seen, relevant))
            if not relevant:
                continue
            region, category = rng.choice(REGIONS), rng.choice(CATEGORIES)
            amount = 1_000_000 * rng.randrange(1, 200)
            matches.append(_match(doc_id, seen, region, category, amount))
            signature = rng.randbytes(512)
            prints.append({"document_id": doc_id, "signature": signature, "regions": [region],
                           "category": category, "language": "zh", "dated": seen})
            bands += [{"band": band, "document_id": doc_id}
                      for band in dict.fromkeys(band_keys(signature))]
            keys = sorted({f"money:{amount}", f"horizon:{2018 + rng.randrange(8)}-2025"})
            facts += [{"key": key, "document_id": doc_id, "dated": seen}
                      for key in keys[:rng.randrange(1, 3)]]
        return documents, matches, prints, bands, facts

    def _document(self, doc_id: int, seen: datetime, relevant: bool) -> dict[str, object]:
        offset = self.rng.randrange(len(self.pool) - TEXT_CHARACTERS)
        source = f"s{doc_id % self.sources}"
        return {"id": doc_id, "url": f"http://archive.example.gov.cn/{source}/{doc_id}.html",
                "source_id": source, "title": f"关于印发第{doc_id}号文件的通知",
                "text": self.pool[offset:offset + TEXT_CHARACTERS], "published": seen,
                "language": "zh", "item_hash": f"{doc_id:064x}",
                "content_hash": f"{doc_id * 7:064x}", "first_seen_at": seen,
                "changed_at": None, "story_id": doc_id if relevant else None}


def _match(doc_id: int, seen: datetime, region: str, category: str,
           amount: int) -> dict[str, object]:
    return {"document_id": doc_id, "topic_id": "blockchain-policy", "terms": ["区块链"],
            "evidence": [{"term": "区块链", "field": "text", "snippet": "支持区块链技术的应用"}],
            "matched_at": seen, "score": 3.5, "relevant": True, "category": category,
            "reasons": [{"signal": "terms", "detail": "区块链 x3", "weight": 1.5}],
            "regions": [region], "issuer": None,
            "facts": [{"kind": "money", "value": str(amount), "unit": "CNY", "text": "资金"}],
            "mentions": 3}


def main() -> None:
    sys.path.insert(0, str(HERE))
    import run  # bench/fetch/run.py, beside this file

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fill", type=Path, help="only fill this database (used by run.py)")
    parser.add_argument("--stored", default="1000,1000000")
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=1, help="runs per N (fresh state each)")
    args = parser.parse_args()
    if args.fill:
        fill(args.fill, int(args.stored), args.sources)
        return
    results: dict[int, list[dict[str, float]]] = {}
    for stored in (int(n) for n in args.stored.split(",")):
        for _ in range(args.rounds):
            results.setdefault(stored, []).append(
                run.bench(args.sources, args.latency_ms, stored=stored))
    smallest = min(results)
    for stored, rounds in results.items():
        for label in ("unchanged", "new"):
            walls = [r[label] for r in rounds]
            base = min(r[label] for r in results[smallest])
            print(f"{stored:>9} stored, pass {label:<9}: wall {min(walls):.2f}–{max(walls):.2f} s"
                  f" = {min(walls) / base:.2f}–{max(walls) / base:.2f} x the best at {smallest}")


if __name__ == "__main__":
    main()
