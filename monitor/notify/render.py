"""Turning a Digest into a RenderedMessage: subject, text and HTML bodies, JSON payload."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
import yaml

import monitor
from monitor.domain import (
    Digest,
    DigestItem,
    Evidence,
    HealthEvent,
    OperatorNotice,
    RenderedMessage,
)
from monitor.errors import ConfigError
from monitor.text import collapse_spaces

PAYLOAD_VERSION = 1
SUBJECT_LIMIT = 150
NOUN = ("blockchain policy document", "blockchain policy documents")
OTHER = "other"  # the category of a document no configured category fits
NATIONAL = "National / 全国"  # the region heading of documents that name no province
MAX_FACTS = 6  # figures shown per item


@dataclass(frozen=True)
class EvidenceView:
    """One matched term as templates show it: `segments` pairs text with 'is the match'."""

    term: str
    field: str
    segments: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class ItemView:
    """One digest item with its fields formatted for display."""

    url: str
    title: str
    source_name: str
    published: str  # YYYY-MM-DD, '' when unknown
    change: str
    topics: tuple[str, ...]
    terms: tuple[str, ...]
    evidence: tuple[EvidenceView, ...]
    added: tuple[str, ...] = ()  # a changed document's new sentences …
    removed: tuple[str, ...] = ()  # … and the ones it dropped
    category: str = ""  # plan, pilot, …; '' for a topic without categories
    regions: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()  # as written: "2020—2022年", "1000万元"
    also: tuple[tuple[str, str], ...] = ()  # (source name, URL): "also reported by"
    language: str = ""  # the document's: templates mark the title and snippets with it

    @property
    def category_name(self) -> str:
        """The category in words: 'plan', 'government work report'; '' when none."""
        return category_label(self.category) if self.category else ""

    @property
    def summary(self) -> str:
        """`plan · Beijing, Hebei · 2020—2022年, 1000万元`, leaving out what is unknown."""
        parts = (self.category, ", ".join(self.regions), ", ".join(self.facts))
        return " · ".join(part for part in parts if part)


@dataclass(frozen=True)
class RegionGroup:
    """The items of one category whose match names `region` first ('' for none: national)."""

    region: str
    label: str  # "Guangdong / 广东", "National / 全国"
    items: tuple[ItemView, ...]


@dataclass(frozen=True)
class CategoryGroup:
    """The items of one category, by region."""

    category: str  # as configured ("plan", "gov_report"), or "other"
    label: str  # "Plans", "Government work reports", "Other"
    count: int
    regions: tuple[RegionGroup, ...]


def default_template_dirs() -> list[Path]:
    """Our template directories that exist: the wheel's `_templates`, the repository's."""
    package = Path(monitor.__file__).parent
    candidates = [package / "_templates", package.parent / "templates"]
    return [path for path in candidates if path.is_dir()]


class DigestRenderer:
    """Renders digests with Jinja templates; earlier directories override later ones."""

    def __init__(self, template_dirs: list[Path]) -> None:
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(template_dirs),
            autoescape=jinja2.select_autoescape(["html", "html.j2", "htm"]),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._env.filters["width"] = display_width

    def render(self, digest: Digest, *, categories: Sequence[str] = (),
               more: Sequence[DigestItem] = ()) -> RenderedMessage:
        """Subject, text and HTML from the templates, and the versioned JSON payload.

        `categories` is the configured category order items are grouped in; `more` the items
        past max_items (`digest.omitted` of them), carried in the payload only.
        """
        subject = subject_for(digest, categories=categories, more=more)
        zone = ZoneInfo(digest.timezone)
        context: dict[str, object] = {
            "digest": digest, "subject": subject,
            "groups": group_items(digest.items, zone, categories),
            "total": len(digest.items) + digest.omitted, "omitted": digest.omitted,
            "more": tuple(_view(item, zone) for item in more),
            "several_topics": len({t for item in digest.items for t in item.topics}) > 1,
            "generated_at": _display_time(digest),
        }
        text = self._render("digest.txt.j2", context)
        html = self._render("digest.html.j2", context)
        return RenderedMessage(subject, text, html,
                               payload_for(digest, categories=categories, more=more))

    def render_operator(self, notice: OperatorNotice) -> RenderedMessage:
        """An operator alert (source failing, recovered or quiet) from operator.*.j2."""
        zone = ZoneInfo(notice.timezone)
        subject = _clip(f"[monitor] source {notice.source_id} {_EVENT_WORDS[notice.event]}")
        context: dict[str, object] = {
            "notice": notice, "subject": subject,
            "generated_at": notice.generated_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z"),
            "last_success_at": _local(notice.last_success_at, zone),
            "last_new_at": _local(notice.last_new_at, zone)}
        payload: dict[str, object] = {
            "version": 1, "type": "operator", "event": notice.event.value,
            "source": notice.source_id, "url": notice.url, "failures": notice.failures,
            "error": notice.error, "generated_at": notice.generated_at.isoformat()}
        return RenderedMessage(subject, self._render("operator.txt.j2", context),
                               self._render("operator.html.j2", context), payload)

    def _render(self, name: str, context: dict[str, object]) -> str:
        """Render one template; a broken or missing template is a ConfigError naming it."""
        try:
            return self._env.get_template(name).render(context)
        except jinja2.TemplateSyntaxError as error:
            where = f"{error.filename or name}:{error.lineno}"
            raise ConfigError([f"{where}: template syntax error: {error.message}"]) from error
        except jinja2.TemplateError as error:
            raise ConfigError([f"{name}: cannot render: {error}"]) from error


def subject_for(digest: Digest, *, categories: Sequence[str] = (),
                more: Sequence[DigestItem] = ()) -> str:
    """The title for one item; else counts by category: "3 new blockchain policy documents:
    2 plans, 1 pilot" (or the topics, when no item has a category)."""
    items, total = digest.items, len(digest.items) + digest.omitted
    if total == 0:
        return f"No new {NOUN[1]}"
    if len(items) == 1 and total == 1:
        lead = items[0]
        return _clip(f"{lead.change.capitalize()} {NOUN[0]}: {lead.title or lead.url}")
    everything = (*items, *more)
    counted = f"{total} {_change_word(everything)} {_plural(total, *NOUN)}"
    breakdown = _category_counts(everything, categories, unknown=digest.omitted - len(more))
    if not breakdown:
        breakdown = ", ".join(dict.fromkeys(topic for item in items for topic in item.topics))
    return _clip(f"{counted}: {breakdown}" if breakdown else counted)


def payload_for(digest: Digest, *, categories: Sequence[str] = (),
                more: Sequence[DigestItem] = ()) -> dict[str, object]:
    """The JSON payload, version 1 (new keys may be added; removals bump the version).

    {"version": 1, "subscription": id, "mode": "digest" | "immediate",
     "generated_at": ISO 8601, "timezone": the subscriber's (IANA name),
     "omitted": items left out past max_items,
     "items": [{"url", "title", "source" (id), "source_name", "published" (ISO 8601 or null),
                "language", "change" ("new" | "changed"), "topics": [id],
                "evidence": [{"term", "field" ("title" | "text"), "snippet"}],
                "added": [sentence], "removed": [sentence],  (changed documents only)
                "category", "regions": [province], "facts": [{"kind", "value", "unit", "text"}],
                "score", "also_reported_by": [{"source_name", "url"}]}],
     "more": [item, …]}  (the omitted items, same shape; empty when none)
    Items are in display order: by category (configured order, then "other"), then region.
    """
    return {
        "version": PAYLOAD_VERSION,
        "subscription": digest.subscription_id,
        "mode": digest.mode,
        "generated_at": digest.generated_at.isoformat(),
        "timezone": digest.timezone,
        "items": [_item_payload(item) for item in in_display_order(digest.items, categories)],
        "omitted": digest.omitted,
        "more": [_item_payload(item) for item in more],
    }


def in_display_order(items: Iterable[DigestItem],
                     categories: Sequence[str] = ()) -> list[DigestItem]:
    """Items by category (the configured order, then unconfigured ones, then "other"), then by
    region ("National / 全国" first, then provinces in the conventional order); stable."""
    listed = list(items)
    category_rank = _ranks([category_of(item) for item in listed], categories)
    region_rank = _ranks([region_of(item) for item in listed], ("", *province_names()))
    return sorted(listed, key=lambda item: (category_rank[category_of(item)],
                                            region_rank[region_of(item)]))


def group_items(items: Iterable[DigestItem], zone: ZoneInfo,
                categories: Sequence[str] = ()) -> tuple[CategoryGroup, ...]:
    """Items by category, then by first region, in display order; dates in `zone`."""
    tree: dict[str, dict[str, list[ItemView]]] = {}
    for item in in_display_order(items, categories):
        by_region = tree.setdefault(category_of(item), {})
        by_region.setdefault(region_of(item), []).append(_view(item, zone))
    return tuple(
        CategoryGroup(category, category_heading(category),
                      sum(len(views) for views in by_region.values()),
                      tuple(RegionGroup(region, region_label(region), tuple(views))
                            for region, views in by_region.items()))
        for category, by_region in tree.items())


def category_of(item: DigestItem) -> str:
    """The item's category, "other" when its topic has none."""
    return item.category or OTHER


def region_of(item: DigestItem) -> str:
    """The first province the item's match names ('' when none: a national document)."""
    return item.regions[0] if item.regions else ""


def category_label(category: str, count: int = 1) -> str:
    """'plan' / 'plans', 'gov_report' / 'government work reports': for counts in subjects."""
    singular, plural = _CATEGORY_WORDS.get(category) or _words(category)
    return _plural(count, singular, plural)


def category_heading(category: str) -> str:
    """The heading of a category's group: 'Plans', 'Government work reports', 'Other'."""
    plural = category_label(category, 2)
    return plural[:1].upper() + plural[1:]


def region_label(region: str) -> str:
    """'Guangdong / 广东' for a province, 'National / 全国' for none."""
    if not region:
        return NATIONAL
    chinese = province_names().get(region)
    return f"{region} / {chinese}" if chinese else region


@functools.cache
def province_names() -> dict[str, str]:
    """English name → Chinese name of the 34 provincial-level divisions, in the conventional
    order, from the packaged region gazetteer."""
    source = Path(monitor.__file__).parent / "classify" / "data" / "regions.yaml"
    data = yaml.load(source.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    chinese = {entry["place"]: _DIVISION_SUFFIX.sub("", entry["zh-Hans"][0])
               for entry in data["places"] if entry["place"] == entry["province"]}
    return {name: chinese.get(name, "") for name in data["provinces"]}


def display_width(text: str) -> int:
    """Columns `text` takes in a monospaced font: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def highlight(snippet: str, term: str) -> tuple[tuple[str, bool], ...]:
    """Split `snippet` around case-insensitive occurrences of `term`."""
    if not term:
        return ((snippet, False),)
    parts = re.split(f"({re.escape(term)})", snippet, flags=re.IGNORECASE)
    return tuple((part, index % 2 == 1) for index, part in enumerate(parts) if part)


def _view(item: DigestItem, zone: ZoneInfo) -> ItemView:
    evidence = tuple(EvidenceView(e.term, e.field, highlight(e.snippet, e.term))
                     for e in item.evidence)
    terms = tuple(dict.fromkeys(e.term for e in item.evidence))
    published = display_date(item.published, zone) if item.published else ""
    return ItemView(item.url, item.title, item.source_name, published, item.change,
                    item.topics, terms, evidence, item.added, item.removed,
                    item.category or "", item.regions,
                    tuple(dict.fromkeys(fact.text for fact in item.facts))[:MAX_FACTS], item.also,
                    item.language)


def _item_payload(item: DigestItem) -> dict[str, object]:
    return {
        "url": item.url,
        "title": item.title,
        "source": item.source_id,
        "source_name": item.source_name,
        "published": item.published.isoformat() if item.published else None,
        "language": item.language,
        "change": item.change,
        "topics": list(item.topics),
        "evidence": [_evidence_payload(evidence) for evidence in item.evidence],
        "added": list(item.added),
        "removed": list(item.removed),
        "category": item.category,
        "regions": list(item.regions),
        "facts": [{"kind": f.kind, "value": f.value, "unit": f.unit, "text": f.text}
                  for f in item.facts],
        "score": item.score,
        "also_reported_by": [{"source_name": name, "url": url} for name, url in item.also],
    }


def _evidence_payload(evidence: Evidence) -> dict[str, object]:
    return {"term": evidence.term, "field": evidence.field, "snippet": evidence.snippet}


def _change_word(items: Sequence[DigestItem]) -> str:
    changes = {item.change for item in items}
    return changes.pop() if len(changes) == 1 else "new or changed"


def _category_counts(items: Sequence[DigestItem], categories: Sequence[str],
                     unknown: int) -> str:
    """"2 plans, 1 pilot": most first, ties in display order; '' when no item has a category."""
    counts = Counter(category_of(item) for item in items)
    if set(counts) == {OTHER}:
        return ""
    rank = _ranks(list(counts), categories)
    ordered = sorted(counts, key=lambda category: (-counts[category], rank[category]))
    parts = [f"{counts[c]} {category_label(c, counts[c])}" for c in ordered]
    return ", ".join([*parts, f"{unknown} more"] if unknown > 0 else parts)


def _ranks(keys: Sequence[str], order: Sequence[str]) -> dict[str, int]:
    """A sort key for each of `keys`: its place in `order`, else after those in first-seen
    order; "other" always last."""
    ranks = {key: index for index, key in enumerate(dict.fromkeys(order)) if key != OTHER}
    for key in keys:
        ranks.setdefault(key, len(ranks) if key != OTHER else len(keys) + len(order))
    return ranks


# 广西壮族自治区 → 广西, 北京市 → 北京, 香港特别行政区 → 香港: the name a heading needs.
_DIVISION_SUFFIX = re.compile("(?:壮族|回族|维吾尔)?(?:自治区|特别行政区|省|市)$")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Words for the categories of the shipped topic; others are said as named ("gov_report" would
# be "gov report"), plural by English spelling rules.
_CATEGORY_WORDS = {
    "plan": ("plan", "plans"),
    "pilot": ("pilot", "pilots"),
    "gov_report": ("government work report", "government work reports"),
    "procurement": ("tender", "tenders"),
    "funding": ("funding measure", "funding measures"),
    OTHER: ("other", "other"),
}


def _words(category: str) -> tuple[str, str]:
    singular = category.replace("_", " ").replace("-", " ").replace(".", " ")
    if singular.endswith(("s", "x", "z", "ch", "sh")):
        return singular, singular + "es"
    if singular.endswith("y") and singular[-2:-1] not in tuple("aeiou"):
        return singular, singular[:-1] + "ies"
    return singular, singular + "s"


def _plural(count: int, singular: str, plural: str) -> str:
    return singular if count == 1 else plural


# Portals give dates without a time; those are stored as midnight in the source's timezone
# (Asia/Shanghai until sources get their own timezone setting).
_DATE_ONLY_ZONE = ZoneInfo("Asia/Shanghai")


def display_date(published: datetime, zone: ZoneInfo) -> str:
    """A date-only publication date as its calendar date; a timed one in the reader's zone."""
    at_source = published.astimezone(_DATE_ONLY_ZONE)
    if at_source.timetz().replace(tzinfo=None) == time(0):
        return at_source.strftime("%Y-%m-%d")
    return published.astimezone(zone).strftime("%Y-%m-%d")


_EVENT_WORDS = {HealthEvent.FAILING: "is failing", HealthEvent.RECOVERED: "recovered",
                HealthEvent.QUIET: "has gone quiet"}


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z") if moment else "never"


def _display_time(digest: Digest) -> str:
    local = digest.generated_at.astimezone(ZoneInfo(digest.timezone))
    return local.strftime("%Y-%m-%d %H:%M %Z").strip()


def _clip(text: str) -> str:
    flat = collapse_spaces(text)
    return flat if len(flat) <= SUBJECT_LIMIT else flat[: SUBJECT_LIMIT - 1] + "…"
