"""One check of one source: fetch → extract → detect → classify → record (with its alerts)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from monitor.classify import TopicClassifier
from monitor.config import Defaults, Settings
from monitor.detect import (
    ItemChange,
    ItemDecision,
    change_matters,
    check_outcome,
    decide_items,
    is_changed,
    item_hash,
    story_clue,
    subscribers,
    text_hash,
)
from monitor.domain import Document, Fetched, Item, Outcome, Validators
from monitor.errors import BodyTooLarge, FetchError, MonitorError, NotModified, StoreError
from monitor.fetch import Fetcher, FetchPolicy
from monitor.fetch.safety import check_link
from monitor.health import HealthMonitor
from monitor.ledger import CheckLedger
from monitor.sources import SourceConfig, detect_language, extract_article, extract_items
from monitor.sources.attachments import attachment_name, check_readable, extract_attachment
from monitor.sources.page import sentence_diff
from monitor.sources.sitemap import SitemapIndex
from monitor.sources.urls import unique_by_url
from monitor.store import CheckIntent, DocumentWrite, SourceState, Store
from monitor.text import without_controls
from monitor.workers import WorkerPool

log = logging.getLogger("monitor.check")

FOLLOW_CONCURRENCY = 4  # detail pages fetched at once per source
MAX_FOLLOW_FAILURES = 5  # checks in a row a page may fail before its list entry stands for it
MAX_BASELINE_FOLLOWS = 100  # pages read in a baseline; the rest is recorded from the list
MAX_DIFF_CHARACTERS = 200_000  # of each version, compared for a changed document's diff
MAX_DIFF_SENTENCES = 20  # added or removed sentences an alert shows for a changed document
MAX_CONCURRENT_CHECKS = 128  # sources checked at once; × FOLLOW_CONCURRENCY = the pool size


@dataclass(frozen=True)
class CheckReport:
    """How a check went, as the CLI and logs show it."""

    source_id: str
    outcome: Outcome
    new: int = 0
    changed: int = 0
    alerts: int = 0
    skipped: int = 0
    error: str | None = None
    seconds: float = 0.0
    documents: tuple[DocumentWrite, ...] = ()


class Checker:
    """Checks sources: owns no state of its own; everything lasting goes to the store."""

    def __init__(self, settings: Settings, store: Store, fetcher: Fetcher,
                 classifier: TopicClassifier, pool: WorkerPool, *,
                 health: HealthMonitor) -> None:
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.classifier = classifier
        self.pool = pool
        self.health = health
        self.ledger = CheckLedger(store)
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_CHECKS)
        self._host_slots: dict[str, asyncio.Semaphore] = {}

    async def check(self, source: SourceConfig, *, dry_run: bool = False) -> CheckReport:
        """Check one source once; never raises for a bad page, feed or network."""
        # A host's checks take at most its share of the slots, so one slow or rate-limited
        # host never holds up the others. Waiting here is not counted against any timeout.
        async with self._host_slot(source), self._slots:
            return await self._check_now(source, dry_run)

    def _host_slot(self, source: SourceConfig) -> asyncio.Semaphore:
        host = (urlsplit(source.url).hostname or "").lower()
        if host not in self._host_slots:
            own = self.settings.hosts.get(host)
            limit = (own.per_host_concurrency if own and own.per_host_concurrency
                     else self.settings.defaults.per_host_concurrency)
            self._host_slots[host] = asyncio.Semaphore(limit)
        return self._host_slots[host]

    async def _check_now(self, source: SourceConfig, dry_run: bool) -> CheckReport:
        started = time.monotonic()
        now = datetime.now(UTC)
        state, validators = await self.ledger.start(source.id, source.url)
        intent, skipped = await self._outcome(source, now, state, validators)
        try:
            intent = self.health.annotate(source, state, intent)
            alerts = 0 if dry_run else await self.ledger.record(intent)
        except StoreError as error:
            intent, alerts = CheckIntent(source.id, Outcome.ERROR, now, error=str(error)), 0
            self._record_failure(self.health.annotate(source, state, intent))
        report = _report(intent, alerts, skipped, time.monotonic() - started)
        _log(report)
        return report

    def _record_failure(self, intent: CheckIntent) -> None:
        """Record an error outcome on its own, if the database takes it."""
        try:
            self.store.apply_check(intent)
        except StoreError:
            log.exception("could not record the failed check of %s", intent.source_id)

    async def _outcome(self, source: SourceConfig, now: datetime, state: SourceState,
                       validators: Validators | None) -> tuple[CheckIntent, int]:
        """What the check found, every failure turned into an error outcome."""
        try:
            return await self._check(source, now, state, validators)
        except NotModified:
            return CheckIntent(source.id, Outcome.NOT_MODIFIED, now), 0
        except MonitorError as error:
            return CheckIntent(source.id, Outcome.ERROR, now, error=str(error)), 0
        except Exception as error:  # a bug or a library failure must not stop the daemon
            log.exception("unexpected error checking %s", source.id)
            return CheckIntent(source.id, Outcome.ERROR, now, error=f"unexpected: {error!r}"), 0

    async def _check(self, source: SourceConfig, now: datetime, state: SourceState,
                     kept: Validators | None) -> tuple[CheckIntent, int]:
        fetched = await self.fetch(source, source.url, kept)
        items, child_validators = await self._items(source, fetched)  # validators to keep
        known = self.store.known_documents(item.url for item in items)
        alerting = not source.baseline or state.baseline_done  # the first check: a baseline
        decisions = decide_items(source.id, items, known)
        documents, failed = await self._documents(source, decisions, alerting)
        writes = tuple([await self._write(doc, decision, alerting) for doc, decision in documents])
        # Items whose page failed are tried again next time: keep no validators, or a 304
        # would hide them, and keep the baseline open.
        validators = {} if failed else child_validators
        return CheckIntent(source.id, check_outcome(writes), now, validators=validators,
                           writes=writes, complete=not failed,
                           follow_failures=tuple(failed)), len(failed)

    async def _items(self, source: SourceConfig,
                     fetched: Fetched) -> tuple[list[Item], dict[str, Validators]]:
        """The items listed, and the validators to keep for the next conditional GET.

        A sitemap index is read through its children, and only their validators are kept: an
        index that answers 304 must not stop its (changed, or once failed) children being read.
        """
        try:
            return (await self.pool.run(extract_items, fetched, source),
                    {source.url: fetched.validators})
        except SitemapIndex as index:
            return await self._child_items(source, index)

    async def _child_items(self, source: SourceConfig,
                           index: SitemapIndex) -> tuple[list[Item], dict[str, Validators]]:
        """Items of an index's children; a broken child is skipped unless every child is."""
        results = await asyncio.gather(*(self._child(source, url) for url in index.children))
        items = [item for found, _, _ in results for item in found]
        errors = [error for _, _, error in results if error is not None]
        if not items and len(errors) == len(results) and errors:
            raise errors[0]
        return unique_by_url(items), {url: found for url, (_, found, _) in
                                      zip(index.children, results, strict=True) if found}

    async def _child(self, source: SourceConfig, url: str
                     ) -> tuple[list[Item], Validators | None, MonitorError | None]:
        """One child listing: its items and validators, or what went wrong (None if a 304)."""
        try:
            check_link(url, source.url, source.allowed_hosts)  # a child stays on the site too
            fetched = await self.fetch(source, url, self.store.validators(url))
            return await self.pool.run(extract_items, fetched, source), fetched.validators, None
        except NotModified:
            return [], None, None
        except SitemapIndex:
            log.warning("%s: nested sitemap index %s skipped", source.id, url)
            return [], None, None
        except MonitorError as error:
            log.warning("%s: child listing %s skipped: %s", source.id, url, error)
            return [], None, error

    async def fetch(self, source: SourceConfig, url: str,
                    validators: Validators | None = None) -> Fetched:
        """A URL of this source, with its timeout and fetch policy."""
        defaults = self.settings.defaults
        return await self.fetcher.fetch(url, validators=validators,
                                        timeout=source_timeout(source, defaults),
                                        policy=fetch_policy(source, defaults))

    async def _documents(self, source: SourceConfig, decisions: Sequence[ItemDecision],
                         alerting: bool) -> tuple[list[tuple[Document, ItemDecision]],
                                                  list[tuple[str, str]]]:
        """Documents for the new and re-checked items, and (url, reason) of pages that failed."""
        todo = [d for d in decisions if d.change is not ItemChange.UNCHANGED]
        if not source.follow:
            return [(_document_from_item(d.item, source), d) for d in todo], []
        if not alerting and len(todo) > MAX_BASELINE_FOLLOWS:  # e.g. a big sitemap's first check
            unread = [(_document_from_item(d.item, source), d)
                      for d in todo[MAX_BASELINE_FOLLOWS:]]
            read, failed = await self._documents(source, todo[:MAX_BASELINE_FOLLOWS], False)
            return read + unread, failed
        failures = self.ledger.follow_failures([d.item.url for d in todo])
        limit = asyncio.Semaphore(FOLLOW_CONCURRENCY)
        results = await asyncio.gather(*(self._follow(source, d, limit) for d in todo))
        documents: list[tuple[Document, ItemDecision]] = []
        failed = []
        for decision, (followed, reason) in zip(todo, results, strict=True):
            if followed is not None:
                documents.append((followed, decision))
            elif not _give_up(decision, failures, alerting, source, reason):
                failed.append((decision.item.url, reason))
            elif decision.change is ItemChange.NEW:
                documents.append((_document_from_item(decision.item, source), decision))
        return documents, failed

    async def _follow(self, source: SourceConfig, decision: ItemDecision,
                      limit: asyncio.Semaphore) -> tuple[Document | None, str]:
        """Fetch an item's page for its full text; a broken page gives None and the reason."""
        item = decision.item
        try:
            check_link(item.url, source.url, source.allowed_hosts)
            async with limit:
                fetched = await self.fetch(source, item.url)
            article = await self.pool.run(extract_article, fetched.body, fetched.content_type,
                                          fetched.url, source.timezone)
        except MonitorError as error:
            log.warning("could not read item %s of %s: %s", item.url, source.id, error)
            return None, str(error)
        except Exception as error:  # a library failure on one odd page skips that page only
            log.exception("could not read item %s of %s: unexpected error", item.url, source.id)
            return None, f"unexpected: {error!r}"
        text = article.text + await self._attachments(source, article.attachments, limit)
        merged = replace(item, title=article.title or item.title, text=text,
                         published=item.published or article.published,
                         language=article.language or item.language)
        return _document_from_item(merged, source), ""

    async def _attachments(self, source: SourceConfig, links: Sequence[str],
                           limit: asyncio.Semaphore) -> str:
        """The text of a page's attached files, each after a `[附件] name` line."""
        if not source.attachments:
            return ""
        chosen = links[:source.max_attachments]
        texts = [await self._attachment(source, url, limit) for url in chosen]
        return "".join(f"\n\n[附件] {attachment_name(url)}\n{text}"
                       for url, text in zip(chosen, texts, strict=True) if text)

    async def _attachment(self, source: SourceConfig, url: str, limit: asyncio.Semaphore) -> str:
        """One attachment's text; a refused, broken or oversized file is skipped (logged).

        A failure that may pass (timeout, 5xx) fails the whole page instead, so the page is
        read again at the next check: a document is never classified without an attachment
        that was only briefly unavailable, nor reported "changed" because of one.
        """
        try:
            check_link(url, source.url, source.allowed_hosts)
            check_readable(url)
            async with limit:
                fetched = await self.fetch(source, url)
            if len(fetched.body) > source.max_attachment_size:
                raise BodyTooLarge(url, source.max_attachment_size)
            return await self.pool.run(extract_attachment, fetched.body, fetched.url)
        except FetchError as error:
            if error.retryable:
                raise
            log.warning("%s: attachment skipped: %s", source.id, error)
        except MonitorError as error:
            log.warning("%s: attachment skipped: %s", source.id, error)
        except Exception:  # a library failure on one odd file skips that file only
            log.exception("%s: attachment %s skipped: unexpected error", source.id, url)
        return ""

    async def record_history(self, source: SourceConfig, items: Sequence[Item]) -> int:
        """Store items a backfill found: no alerts, no validators, source state untouched.

        Returns how many documents were new.
        """
        known = self.store.known_documents(item.url for item in items)
        decisions = decide_items(source.id, items, known)
        documents, _ = await self._documents(source, decisions, alerting=False)
        writes = tuple([await self._write(doc, decision, False) for doc, decision in documents])
        self.store.apply_check(CheckIntent(source.id, check_outcome(writes), datetime.now(UTC),
                                           writes=writes, record_source=False))
        return sum(write.change == "new" for write in writes)

    async def _write(self, document: Document, decision: ItemDecision,
                     alerting: bool) -> DocumentWrite:
        known_id = decision.known.id if decision.known else None
        if decision.change is ItemChange.NEW:
            change = "new"
        elif is_changed(document, decision.known):
            change = "changed"
        else:
            return DocumentWrite(document, item_hash(decision.item), known_id, "unchanged")
        matches = self.classifier.classify(document)
        owed = subscribers(document, matches, self.settings.subscriptions) if alerting else ()
        if owed and known_id and not change_matters(self.store.matches_of(known_id), matches):
            owed = ()  # reworded, but nothing a reader needs to hear about again
        added, removed = await self._diff(known_id, document) if owed and known_id else ((), ())
        clue = story_clue(document, matches, datetime.now(UTC))
        return DocumentWrite(document, item_hash(decision.item), known_id, change, matches, owed,
                             added, removed, clue)

    async def _diff(self, document_id: int,
                    document: Document) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The sentences added and removed since the stored version (at most 20 of each).

        The comparison is quadratic in the worst case: it runs in a worker, on at most
        MAX_DIFF_CHARACTERS of each version.
        """
        old = self.store.document_text(document_id)[:MAX_DIFF_CHARACTERS]
        added, removed = await self.pool.run(sentence_diff, old,
                                             document.text[:MAX_DIFF_CHARACTERS])
        return tuple(added[:MAX_DIFF_SENTENCES]), tuple(removed[:MAX_DIFF_SENTENCES])


def _give_up(decision: ItemDecision, failures: dict[str, int], alerting: bool,
             source: SourceConfig, reason: str) -> bool:
    """Whether to stop retrying a page: during the baseline (it alerts nothing anyway) or after
    MAX_FOLLOW_FAILURES checks. A new item is then recorded from its list entry."""
    attempts = failures.get(decision.item.url, 0) + 1
    if alerting and attempts < MAX_FOLLOW_FAILURES:
        return False
    log.warning("gave up reading %s of %s after %d attempt(s) (%s); recorded from its list entry",
                decision.item.url, source.id, attempts, reason)
    return True


def source_timeout(source: SourceConfig, defaults: Defaults) -> float:
    """Seconds one request of this source may take."""
    return (source.timeout or defaults.timeout).total_seconds()


def fetch_policy(source: SourceConfig, defaults: Defaults) -> FetchPolicy:
    """What the fetcher must know of a source: robots.txt, private addresses, hosts, pacing."""
    private = defaults.allow_private if source.allow_private is None else source.allow_private
    delay = source.per_host_delay.total_seconds() if source.per_host_delay is not None else None
    return FetchPolicy(source=source.id, robots=source.robots, allow_private=private,
                       allowed_hosts=tuple(source.allowed_hosts), delay=delay)


def _document_from_item(item: Item, source: SourceConfig) -> Document:
    title, text = without_controls(item.title), without_controls(item.text)
    language = item.language or source.language or detect_language(f"{title} {text}")
    return Document(url=item.url, source_id=source.id, title=title, text=text,
                    published=item.published, language=language,
                    content_hash=text_hash(title, text))


def _report(intent: CheckIntent, alerts: int, skipped: int, seconds: float) -> CheckReport:
    writes = intent.writes
    return CheckReport(
        source_id=intent.source_id, outcome=intent.outcome,
        new=sum(w.change == "new" for w in writes),
        changed=sum(w.change == "changed" for w in writes),
        alerts=alerts, skipped=skipped, error=intent.error, seconds=seconds,
        documents=writes)


def _log(report: CheckReport) -> None:
    level = logging.WARNING if report.outcome is Outcome.ERROR else logging.INFO
    log.log(level, "checked %s: %s", report.source_id, report.outcome.value, extra={
        "source": report.source_id, "outcome": report.outcome.value, "new": report.new,
        "changed": report.changed, "alerts": report.alerts, "skipped": report.skipped,
        "error": report.error, "seconds": round(report.seconds, 3)})
