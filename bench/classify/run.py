"""Scores the classifier and story collapse on the labelled corpus, and times them.

Run: .venv/bin/python bench/classify/run.py [--stored 1000,100000] [--config sources.yaml]

Prints precision, recall and F1 for "is a Chinese government blockchain policy document", the
same per category, category accuracy, region accuracy, story-collapse accuracy, documents per
second for classify + dedup on one core, and that cost with N documents already stored.
The corpus (bench/classify/corpus/*.yaml) is ours, written for this benchmark; see its README.
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from datetime import time as clock
from pathlib import Path

import yaml
from sqlalchemy import Engine, insert

from monitor.classify import TopicClassifier
from monitor.classify.regions import Gazetteer
from monitor.classify.similarity import fingerprint
from monitor.config import load_config
from monitor.detect import story_clue
from monitor.domain import Document, Match
from monitor.store import make_engine, upgrade_schema
from monitor.store.records import DocumentRecord, StoryBandRecord, StoryPrintRecord
from monitor.store.stories import assign_story

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
TOPIC = "blockchain-policy"


@dataclass(frozen=True)
class Labelled:
    """One corpus document and what a reader says it is."""

    id: str
    document: Document
    policy: bool
    category: str | None
    regions: frozenset[str]
    story: str


@dataclass(frozen=True)
class Scored:
    case: Labelled
    match: Match | None

    @property
    def predicted(self) -> bool:
        return self.match is not None and self.match.relevant


def load_corpus(directory: Path) -> list[Labelled]:
    cases = []
    for path in sorted(directory.glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")):
            cases.append(_labelled(entry))
    return cases


def _labelled(entry: dict[str, object]) -> Labelled:
    label = entry["label"]
    assert isinstance(label, dict)
    published = entry.get("published")
    moment = (datetime.combine(published, clock(9), tzinfo=UTC)
              if isinstance(published, date) else None)
    doc = Document(url=f"https://corpus.example/{entry['id']}", source_id=str(entry["source"]),
                   title=str(entry["title"]), text=str(entry["text"]), published=moment,
                   language=str(entry["language"]), content_hash=str(entry["id"]))
    return Labelled(str(entry["id"]), doc, bool(label["policy"]), label.get("category"),
                    frozenset(label.get("regions") or ()), str(label.get("story") or entry["id"]))


def classify_all(classifier: TopicClassifier, cases: Sequence[Labelled]) -> list[Scored]:
    return [Scored(case, next((m for m in classifier.classify(case.document)
                               if m.topic_id == TOPIC), None)) for case in cases]


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def report_detection(scored: Sequence[Scored]) -> list[str]:
    tp = sum(s.predicted and s.case.policy for s in scored)
    fp = sum(s.predicted and not s.case.policy for s in scored)
    fn = sum(not s.predicted and s.case.policy for s in scored)
    p, r, f = prf(tp, fp, fn)
    lines = [f"documents: {len(scored)} ({sum(s.case.policy for s in scored)} positive) "
             f"by language {dict(Counter(s.case.document.language for s in scored))}",
             f"policy document: precision {p:.3f} recall {r:.3f} F1 {f:.3f} "
             f"(tp {tp}, fp {fp}, fn {fn})"]
    lines += [f"  false positive: {s.case.id} (score {s.match.score if s.match else 0:.2f})"
              for s in scored if s.predicted and not s.case.policy]
    lines += [f"  missed: {s.case.id} (score {s.match.score if s.match else 0:.2f}; "
              f"{_gates(s.match)})" for s in scored if s.case.policy and not s.predicted]
    return lines


def _gates(match: Match | None) -> str:
    if match is None:
        return "no topic term"
    return "; ".join(r.detail for r in match.reasons if r.signal == "gate") or "below threshold"


def report_categories(scored: Sequence[Scored]) -> list[str]:
    both = [s for s in scored if s.predicted and s.case.policy]
    right = sum(s.match is not None and s.match.category == s.case.category for s in both)
    lines = [f"category accuracy: {right / len(both) if both else 0:.3f} ({right}/{len(both)} "
             "true positives)"]
    for category in sorted({s.case.category or "" for s in scored if s.case.policy}):
        tp = sum(_cat(s) == category and s.case.category == category for s in both)
        fp = sum(_cat(s) == category and s.case.category != category
                 for s in scored if s.predicted)
        fn = sum(s.case.category == category and _cat(s) != category
                 for s in scored if s.case.policy)
        p, r, f = prf(tp, fp, fn)
        lines.append(f"  {category:<12} precision {p:.3f} recall {r:.3f} F1 {f:.3f}")
    lines += [f"  wrong: {s.case.id} labelled {s.case.category}, got {_cat(s)}"
              for s in both if _cat(s) != s.case.category]
    return lines


def _cat(scored: Scored) -> str | None:
    return scored.match.category if scored.match is not None and scored.predicted else None


def report_regions(cases: Sequence[Labelled], gazetteer: Gazetteer) -> list[str]:
    wrong = []
    for case in cases:
        found = frozenset(gazetteer.provinces_in(f"{case.document.title}\n{case.document.text}"))
        if found != case.regions:
            wrong.append(f"  {case.id}: labelled {sorted(case.regions)}, found {sorted(found)}")
    accuracy = 1 - len(wrong) / len(cases)
    return [f"region accuracy (exact set of provinces named): {accuracy:.3f} "
            f"({len(cases) - len(wrong)}/{len(cases)})", *wrong]


def report_stories(scored: Sequence[Scored]) -> list[str]:
    """Story collapse over the documents detected, in the order they would be found."""
    found = sorted((s for s in scored if s.predicted and s.case.policy),
                   key=lambda s: (s.case.document.published or datetime.min.replace(tzinfo=UTC),
                                  s.case.id))
    with tempfile.TemporaryDirectory() as scratch:
        engine = _engine(Path(scratch))
        stories = _assign(engine, [(s.case.document, s.match) for s in found if s.match])
    predicted = dict(zip((s.case.id for s in found), stories, strict=True))
    labelled = {s.case.id: s.case.story for s in found}
    tp = fp = fn = 0
    for a, b in itertools.combinations(predicted, 2):
        same_p, same_l = predicted[a] == predicted[b], labelled[a] == labelled[b]
        tp, fp, fn = tp + (same_p and same_l), fp + (same_p and not same_l), fn + (
            same_l and not same_p)
    p, r, f = prf(tp, fp, fn)
    exact = sum(_mates(predicted, doc) == _mates(labelled, doc) for doc in predicted)
    lines = [f"story collapse: accuracy {exact / len(predicted) if predicted else 0:.3f} "
             f"({exact}/{len(predicted)} documents with exactly their story's documents); "
             f"pairs precision {p:.3f} recall {r:.3f} F1 {f:.3f}; "
             f"{len(set(predicted.values()))} stories found, {len(set(labelled.values()))} "
             "labelled"]
    lines += [f"  {doc}: grouped with {sorted(_mates(predicted, doc))}, labelled "
              f"{sorted(_mates(labelled, doc))}" for doc in predicted
              if _mates(predicted, doc) != _mates(labelled, doc)]
    return lines


def _mates(groups: dict[str, object], doc: str) -> set[str]:
    return {other for other, group in groups.items() if group == groups[doc] and other != doc}


def _engine(directory: Path) -> Engine:
    return _engine_at(directory / "bench.db")


def _assign(engine: Engine, documents: Sequence[tuple[Document, Match]]) -> list[int]:
    """Store each document and place it in a story, as the pipeline does; the story ids."""
    stories = []
    with engine.begin() as connection:
        for document, match in documents:
            doc_id = _insert_document(connection, document)
            clue = story_clue(document, [match], datetime.now(UTC))
            stories.append(assign_story(connection, doc_id, clue) if clue else doc_id)
    return stories


def _insert_document(connection: object, document: Document) -> int:
    result = connection.execute(insert(DocumentRecord.__table__).values(  # type: ignore
        url=document.url, source_id=document.source_id, title=document.title, text="",
        language=document.language, item_hash="", content_hash=document.content_hash,
        first_seen_at=datetime.now(UTC), published=document.published))
    return int(result.inserted_primary_key[0])


def time_throughput(classifier: TopicClassifier, cases: Sequence[Labelled], stored: int,
                    rounds: int = 3) -> str:
    """Classify + fingerprint + story lookup per document, with `stored` documents stored;
    the best of `rounds` runs, each on a fresh copy of the prefilled database."""
    with tempfile.TemporaryDirectory() as scratch:
        template = Path(scratch) / "template.db"
        _prefill(_engine_at(template), stored)
        best = min(_timed_round(classifier, cases, template, Path(scratch) / f"r{n}.db")
                   for n in range(rounds))
    wall, cpu = best
    return (f"  {stored:>7} stored: {len(cases) / wall:7.0f} documents/s "
            f"({1000 * wall / len(cases):.2f} ms each, CPU {1000 * cpu / len(cases):.2f} ms)")


def _timed_round(classifier: TopicClassifier, cases: Sequence[Labelled], template: Path,
                 copy: Path) -> tuple[float, float]:
    shutil.copy(template, copy)
    engine = _engine_at(copy)
    with engine.begin() as connection:
        started, cpu = time.perf_counter(), time.process_time()
        for case in cases:
            matches = classifier.classify(case.document)
            doc_id = _insert_document(connection, case.document)
            clue = story_clue(case.document, matches, datetime.now(UTC))
            if clue is not None:
                assign_story(connection, doc_id, clue)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    engine.dispose()
    return wall, cpu


def _engine_at(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade_schema(engine)
    return engine


def _prefill(engine: Engine, count: int) -> None:
    """`count` stored, fingerprinted documents of generated text (unrelated to the corpus)."""
    rng = random.Random(7)
    words = [f"w{n}" for n in range(5000)]
    with engine.begin() as connection:
        for start in range(0, count, 1000):
            docs, prints, bands = [], [], []
            for n in range(start, min(count, start + 1000)):
                text = " ".join(rng.choices(words, k=120))
                found = fingerprint(f"filler {n}", text)
                assert found is not None
                docs.append({"id": n + 1, "url": f"https://filler.example/{n}",
                             "source_id": "filler", "title": f"filler {n}", "text": "",
                             "language": "en", "item_hash": "", "content_hash": "",
                             "first_seen_at": datetime.now(UTC), "story_id": n + 1})
                prints.append({"document_id": n + 1, "signature": found.signature,
                               "regions": [], "language": "en", "dated": datetime.now(UTC)})
                bands += [{"band": band, "document_id": n + 1} for band in found.bands]
            connection.execute(insert(DocumentRecord.__table__), docs)  # type: ignore
            connection.execute(insert(StoryPrintRecord.__table__), prints)  # type: ignore
            connection.execute(insert(StoryBandRecord.__table__), bands)  # type: ignore


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=str(ROOT / "sources.yaml"))
    parser.add_argument("--corpus", default=str(HERE / "corpus"))
    parser.add_argument("--stored", default="1000,100000")
    args = parser.parse_args(argv)
    settings = load_config(Path(args.config), {})
    classifier = TopicClassifier([t for t in settings.topics if t.id == TOPIC])
    cases = load_corpus(Path(args.corpus))
    scored = classify_all(classifier, cases)
    for line in (*report_detection(scored), *report_categories(scored),
                 *report_regions(cases, Gazetteer.default()), *report_stories(scored)):
        print(line)
    started = time.perf_counter()
    for _ in range(3):
        classify_all(classifier, cases)
    per_doc = (time.perf_counter() - started) / (3 * len(cases))
    print(f"classify alone: {1 / per_doc:.0f} documents/s ({1000 * per_doc:.2f} ms each)")
    print("classify + dedup (fingerprint, LSH lookup, store), one core:")
    for stored in (int(n) for n in args.stored.split(",")):
        print(time_throughput(classifier, cases, stored))
    return 0


if __name__ == "__main__":
    sys.exit(main())
