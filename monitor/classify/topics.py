"""Layered topic classification: terms, then who and where, category cues and guards, scored."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from monitor.classify.evidence import evidence
from monitor.classify.facts import find_facts
from monitor.classify.issuer import find_issuer
from monitor.classify.regions import Gazetteer
from monitor.classify.terms import Hit, TermIndex, searchable
from monitor.config import Topic
from monitor.domain import Document, Fact, Match, Reason

MAX_TEXT = 100_000  # characters of main text classified; a work report fits, a database dump not

# What each signal adds to the relevance score (then clipped to 0…1). See README.
TITLE_TERM = 0.35
TEXT_MENTIONS = (0.0, 0.05, 0.15, 0.2, 0.25)  # by mentions in the text: 0, 1, 2, 3, 4+
AUTHORITY = 0.2
PLACE = 0.15
CATEGORY_TITLE = 0.3
CATEGORY_TEXT = 0.15
GUARD_TITLE = -0.45  # a guard in the title: the story is about that, not the policy
GUARD_TEXT = -0.1  # per distinct guard term, down to GUARD_FLOOR in all
GUARD_FLOOR = -0.4
FIGURE_BONUS = 1.5  # category points for a plan's horizon, a fund's amount
PROMINENT_MENTIONS = 3  # a topic named less often, and not in the title, is only in passing …
PASSING_CATEGORIES = ("gov_report",)  # … which counts only where a mention is the news

TERM, AUTHORITIES, PLACES, ELSEWHERE, GUARDS = "term", "authority", "place", "elsewhere", "guard"


_NONE: Counter[str] = Counter()  # never modified: what a label without hits has


class _Found:
    """The hits of one topic's index in a document's title and text, counted once by
    (label, field) and term."""

    def __init__(self, title: list[Hit], text: list[Hit]) -> None:
        self.title, self.text = title, text
        self._terms: dict[tuple[str, str], Counter[str]] = {}
        for field, hits in (("title", title), ("text", text)):
            for hit in hits:
                for label in hit.labels:
                    self._terms.setdefault((label, field), Counter())[hit.term] += 1

    def count(self, label: str, field: str | None = None) -> int:
        return sum(self.terms(label, field).values())

    def terms(self, label: str, field: str | None = None) -> Counter[str]:
        if field is not None:
            return self._terms.get((label, field), _NONE)
        return self.terms(label, "title") + self.terms(label, "text")


@dataclass(frozen=True)
class _Context:
    """What is read once per document, whatever the topic: regions, facts, issuer."""

    regions: dict[str, int]
    title_regions: tuple[str, ...]
    facts: tuple[Fact, ...]
    issuer: str | None


class TopicClassifier:
    """Matches documents against topics; every topic whose terms occur gives a scored Match."""

    def __init__(self, topics: Iterable[Topic], gazetteer: Gazetteer | None = None) -> None:
        self._topics = tuple((topic, _index(topic)) for topic in topics)
        self._gazetteer = gazetteer or Gazetteer.default()

    def classify(self, document: Document) -> tuple[Match, ...]:
        title, text = searchable(document.title), searchable(document.text[:MAX_TEXT])
        found = [(topic, _Found(index.find(title), index.find(text)))
                 for topic, index in self._topics]
        found = [(topic, hits) for topic, hits in found if hits.count(TERM)]
        if not found:
            return ()
        context = self._context(title, text)
        return tuple(_match(topic, hits, context, title, text) for topic, hits in found)

    def _context(self, title: str, text: str) -> _Context:
        title_regions = tuple(self._gazetteer.provinces_in(title))
        regions = self._gazetteer.provinces_in(f"{title}\n{text}")
        return _Context(regions, title_regions, find_facts(f"{title}\n{text}"),
                        find_issuer(title, text))


def _index(topic: Topic) -> TermIndex:
    labelled: dict[str, list[str]] = {
        TERM: _all(topic.terms), AUTHORITIES: _all(topic.authorities),
        PLACES: _all(topic.places), ELSEWHERE: _all(topic.elsewhere), GUARDS: _all(topic.guards)}
    for name, cues in topic.categories.items():
        labelled[f"category:{name}"] = _all(cues)
    return TermIndex(labelled)


def _all(terms_by_language: dict[str, list[str]]) -> list[str]:
    return [term for terms in terms_by_language.values() for term in terms]


def _match(topic: Topic, found: _Found, context: _Context, title: str, text: str) -> Match:
    term_hits = found.terms(TERM)
    proof = [*evidence("title", title, (h for h in found.title if TERM in h.labels)),
             *evidence("text", text, (h for h in found.text if TERM in h.labels))]
    regions = _ordered_regions(context)
    base = Match(topic.id, tuple(term_hits), tuple(proof), regions=regions,
                 issuer=context.issuer, facts=context.facts, mentions=found.count(TERM))
    if not topic.layered():
        return base
    category, category_reason = _category(topic, found, context.facts)
    reasons = [*_topic_reasons(found), *_context_reasons(found, context), *category_reason,
               *_guard_reasons(found)]
    gates = _gates(topic, found, context, category)
    score = round(min(1.0, max(0.0, sum(reason.weight for reason in reasons))), 3)
    relevant = score >= topic.threshold and not gates
    return Match(topic.id, base.terms, base.evidence, score=score, relevant=relevant,
                 category=category or "other", reasons=(*reasons, *gates), regions=regions,
                 issuer=context.issuer, facts=context.facts, mentions=base.mentions)


def _ordered_regions(context: _Context) -> tuple[str, ...]:
    """Regions named in the title first, then the others by how often they are named."""
    rest = sorted((r for r in context.regions if r not in context.title_regions),
                  key=lambda region: -context.regions[region])
    return (*context.title_regions, *rest)


def _topic_reasons(found: _Found) -> list[Reason]:
    reasons = []
    if found.count(TERM, "title"):
        reasons.append(Reason("topic", f"{_listed(found.terms(TERM, 'title'))} in the title",
                              TITLE_TERM))
    mentions = found.count(TERM, "text")
    if mentions:
        weight = TEXT_MENTIONS[min(mentions, len(TEXT_MENTIONS) - 1)]
        reasons.append(Reason("topic", f"{_listed(found.terms(TERM, 'text'))} in the text",
                              weight))
    return reasons


def _context_reasons(found: _Found, context: _Context) -> list[Reason]:
    reasons = []
    if found.count(AUTHORITIES):
        reasons.append(Reason("authority", _listed(found.terms(AUTHORITIES)), AUTHORITY))
    elif context.issuer:
        reasons.append(Reason("authority", f"issued by {context.issuer}", AUTHORITY))
    places = found.count(PLACES) + sum(context.regions.values())
    if places:
        named = _listed(found.terms(PLACES) + Counter(context.regions))
        reasons.append(Reason("place", named, PLACE))
    return reasons


def _guard_reasons(found: _Found) -> list[Reason]:
    reasons = []
    if found.count(GUARDS, "title"):
        reasons.append(Reason("guard", f"{_listed(found.terms(GUARDS, 'title'))} in the title",
                              GUARD_TITLE))
    distinct = len(found.terms(GUARDS, "text"))
    if distinct:
        weight = round(max(GUARD_FLOOR, GUARD_TEXT * distinct), 3)
        reasons.append(Reason("guard", f"{_listed(found.terms(GUARDS, 'text'))} in the text",
                              weight))
    return reasons


def _category(topic: Topic, found: _Found,
              facts: Sequence[Fact]) -> tuple[str | None, list[Reason]]:
    """The category the title names (the first configured, if it names several); else the one
    whose cues the text names most."""
    in_title = [name for name in topic.categories if found.count(f"category:{name}", "title")]
    best = in_title[0] if in_title else _best_in_text(topic, found, facts)
    if best is None:
        return None, []
    label = f"category:{best}"
    detail = f"{best}: {_listed(found.terms(label))}" + (" (title)" if in_title else "")
    return best, [Reason("category", detail, CATEGORY_TITLE if in_title else CATEGORY_TEXT)]


def _best_in_text(topic: Topic, found: _Found, facts: Sequence[Fact]) -> str | None:
    best, best_score = None, 0.0
    for name in topic.categories:
        score = _category_score(f"category:{name}", name, found, facts)
        if score > best_score:
            best, best_score = name, score
    return best


def _category_score(label: str, name: str, found: _Found, facts: Sequence[Fact]) -> float:
    """Distinct cues by how specific they are, a little for repeats, and the figures the
    category is made of: a plan states its horizon, a fund its amount."""
    text = found.terms(label, "text")
    if not text:
        return 0.0
    score = sum(_specificity(cue) for cue in text) + 0.25 * min(8, sum(text.values()) - len(text))
    kinds = {fact.kind for fact in facts}
    if (name == "plan" and "horizon" in kinds) or (name == "funding" and "money" in kinds):
        score += FIGURE_BONUS
    return score


def _specificity(cue: str) -> float:
    """How much a cue says: "government work report" more than "plan", 政府工作报告 than 规划."""
    if cue[:1].isascii():
        return float(len(cue.split()))
    return max(1.0, len(cue) / 2)


def _gates(topic: Topic, found: _Found, context: _Context, category: str | None) -> list[Reason]:
    """What a relevant document must have whatever its score; each failed gate says why."""
    failed = []
    prominent = (found.count(TERM, "title") or found.count(TERM, "text") >= PROMINENT_MENTIONS
                 or category in PASSING_CATEGORIES)
    if not prominent:
        failed.append(Reason("gate", "the topic is only mentioned in passing", 0.0))
    if topic.authorities and not found.count(AUTHORITIES) and not context.issuer:
        failed.append(Reason("gate", "no government body or document named", 0.0))
    ours = found.count(PLACES) + sum(context.regions.values())
    if topic.places and (not ours or found.count(ELSEWHERE) > ours):
        failed.append(Reason("gate", "not about the configured country", 0.0))
    return failed


def _listed(counts: Counter[str]) -> str:
    return ", ".join(f"{term} ×{n}" if n > 1 else term for term, n in counts.most_common(6))
