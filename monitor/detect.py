"""Pure detection rules: what is new, changed or unchanged, and who is owed an alert."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from monitor.classify.similarity import fingerprint
from monitor.config import Subscription
from monitor.domain import Document, Fact, Item, Match, Outcome
from monitor.store import DocumentWrite, KnownDocument, StoryClue
from monitor.text import normalised

MIN_LINKING_COUNT = 10  # smaller counts ("3 provinces") are too common to link stories by


class ItemChange(StrEnum):
    """What a list entry means for the document behind it."""

    NEW = "new"  # never seen
    RECHECK = "recheck"  # seen, its list entry changed: fetch the page and compare the text
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ItemDecision:
    """An item found on a list page and what to do about it."""

    item: Item
    change: ItemChange
    known: KnownDocument | None


def text_hash(*parts: str) -> str:
    """SHA-256 of the normalised parts."""
    joined = "\x1f".join(normalised(part) for part in parts)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def item_hash(item: Item) -> str:
    """What a list page or feed shows of an item, hashed."""
    return text_hash(item.title, item.text)


def decide_items(source_id: str, items: Sequence[Item],
                 known: Mapping[str, KnownDocument]) -> list[ItemDecision]:
    """Compare the items found with what the store knows, by canonical URL and list entry.

    A document belongs to the source that found it first; another source listing the same URL
    (a syndicated copy, a second list page of the same portal) neither re-announces it nor
    counts its own, differently truncated, list entry as a change.
    """
    return [ItemDecision(item, _change(source_id, item, known.get(item.url)), known.get(item.url))
            for item in items]


def _change(source_id: str, item: Item, stored: KnownDocument | None) -> ItemChange:
    if stored is None:
        return ItemChange.NEW
    if stored.source_id == source_id and stored.item_hash != item_hash(item):
        return ItemChange.RECHECK
    return ItemChange.UNCHANGED


def is_changed(document: Document, known: KnownDocument | None) -> bool:
    """A seen document changed when its normalised text hash differs."""
    return known is not None and known.content_hash != document.content_hash


def check_outcome(writes: Iterable[DocumentWrite]) -> Outcome:
    """New beats changed beats unchanged."""
    changes = {write.change for write in writes}
    if "new" in changes:
        return Outcome.NEW
    if "changed" in changes:
        return Outcome.CHANGED
    return Outcome.UNCHANGED


def subscribers(document: Document, matches: Sequence[Match],
                subscriptions: Iterable[Subscription]) -> tuple[str, ...]:
    """The subscriptions owed an alert: those for which some relevant match passes every filter
    (topics, sources, categories, regions, languages, min_score)."""
    return tuple(sub.id for sub in subscriptions if _wants(sub, document, matches))


def wanted_matches(subscription: Subscription, document: Document,
                   matches: Sequence[Match]) -> tuple[Match, ...]:
    """The relevant matches that pass every filter of `subscription`, best first as given;
    empty when the subscription does not want the document."""
    if not _wants_document(subscription, document):
        return ()
    return tuple(match for match in matches
                 if match.relevant and _wants_match(subscription, match))


def _wants(subscription: Subscription, document: Document, matches: Sequence[Match]) -> bool:
    return bool(wanted_matches(subscription, document, matches))


def _wants_document(subscription: Subscription, document: Document) -> bool:
    return ((not subscription.sources or document.source_id in subscription.sources)
            and (not subscription.languages
                 or document.language.split("-")[0].lower() in subscription.languages))


def _wants_match(subscription: Subscription, match: Match) -> bool:
    """Topic, score, category ("other" when the topic has none) and region of one match."""
    return ((not subscription.topics or match.topic_id in subscription.topics)
            and match.score >= subscription.min_score
            and (not subscription.categories
                 or (match.category or "other") in subscription.categories)
            and (not subscription.regions
                 or any(region in subscription.regions for region in match.regions)))


def change_matters(before: Sequence[Match], after: Sequence[Match]) -> bool:
    """Whether a changed document is news: a topic newly relevant, or its category or key
    figures changed (a plan's years, a fund's amount, a count of 10 or more: by value, however
    written). Reworded text alone is not."""
    old = {match.topic_id: match for match in before if match.relevant}
    for match in after:
        if not match.relevant:
            continue
        previous = old.get(match.topic_id)
        if previous is None:
            return True
        if _read_facts(previous) and _figures(previous) != _figures(match):
            return True
        if previous.reasons and previous.category != match.category:  # scored before too
            return True
    return False


def _read_facts(match: Match) -> bool:
    """Whether the match was made since facts are read (schema 0005): every such match
    counts its mentions, at least one; an older one reads as none."""
    return match.mentions > 0


def _figures(match: Match) -> set[str]:
    return {fact.key for fact in match.facts if _links(fact)}


def story_clue(document: Document, matches: Sequence[Match], seen_at: datetime) -> StoryClue | None:
    """What the store needs to place a relevant document in a story; None if none is relevant."""
    relevant = [match for match in matches if match.relevant]
    if not relevant:
        return None
    print_ = fingerprint(document.title, document.text)
    lead = relevant[0]
    return StoryClue(signature=print_.signature if print_ else None,
                     bands=print_.bands if print_ else (),
                     fact_keys=tuple(fact.key for fact in lead.facts if _links(fact)),
                     regions=lead.regions, category=lead.category, language=document.language,
                     dated=document.published or seen_at)


def _links(fact: Fact) -> bool:
    """Figures specific enough to tell stories apart: amounts, horizons with a start and an
    end (not "by 2025", which half the plans say), counts of ten or more."""
    if fact.kind == "horizon":
        return "-" in fact.value
    return fact.kind == "money" or (fact.value.isdigit() and int(fact.value) >= MIN_LINKING_COUNT)
