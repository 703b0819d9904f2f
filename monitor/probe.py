"""Tries a source without writing anything: what `monitor test-source` shows its author."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from monitor.domain import Article, Fetched, Item
from monitor.errors import MonitorError
from monitor.fetch import Fetcher, decode
from monitor.fetch.base import FetchPolicy
from monitor.fetch.safety import check_link
from monitor.sources import SourceConfig, extract_article, extract_items
from monitor.workers import WorkerPool


@dataclass
class FollowedPage:
    """One item page as extraction sees it, or why it could not be read."""

    item: Item
    article: Article | None = None
    error: str | None = None
    seconds: float = 0.0


@dataclass
class ProbeReport:
    """Everything `test-source` prints about one source."""

    source_id: str
    url: str
    fetched: Fetched | None = None
    encoding: str = ""
    fetch_seconds: float = 0.0
    extract_seconds: float = 0.0
    items: list[Item] = field(default_factory=list)
    followed: list[FollowedPage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class ProbeRules:
    """How the probe fetches: as the checks do, with the source's policy and timeout."""

    fetcher: Fetcher
    pool: WorkerPool
    policy: FetchPolicy
    timeout: float


async def probe(source: SourceConfig, rules: ProbeRules, *, follow: int) -> ProbeReport:
    """Fetch and extract the source's list, then up to `follow` item pages; store nothing."""
    report = ProbeReport(source.id, source.url)
    with _warnings_into(report.warnings):
        try:
            await _probe_list(report, source, rules)
        except MonitorError as error:
            report.error = str(error)
            return report
        if source.follow:
            for item in report.items[:follow]:
                report.followed.append(await _probe_page(item, source, rules))
    return report


async def _probe_list(report: ProbeReport, source: SourceConfig, rules: ProbeRules) -> None:
    started = time.monotonic()
    report.fetched = await rules.fetcher.fetch(source.url, timeout=rules.timeout,
                                               policy=rules.policy)
    report.fetch_seconds = time.monotonic() - started
    report.encoding = decode(report.fetched.body, report.fetched.content_type).encoding
    started = time.monotonic()
    report.items = await rules.pool.run(extract_items, report.fetched, source)
    report.extract_seconds = time.monotonic() - started


async def _probe_page(item: Item, source: SourceConfig, rules: ProbeRules) -> FollowedPage:
    started = time.monotonic()
    try:
        check_link(item.url, source.url, source.allowed_hosts)
        fetched = await rules.fetcher.fetch(item.url, timeout=rules.timeout, policy=rules.policy)
        article = await rules.pool.run(extract_article, fetched.body, fetched.content_type,
                                       fetched.url, source.timezone)
    except MonitorError as error:
        return FollowedPage(item, error=str(error), seconds=time.monotonic() - started)
    return FollowedPage(item, article, seconds=time.monotonic() - started)


@contextmanager
def _warnings_into(sink: list[str]) -> Iterator[None]:
    """Collect what the monitor logs at WARNING and above while the probe runs."""
    handler = _ListHandler(sink)
    logger = logging.getLogger("monitor")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


def describe(report: ProbeReport) -> str:
    """The report as the terminal shows it."""
    lines = [f"source {report.source_id}: {report.url}"]
    if report.fetched is not None:
        fetched = report.fetched
        lines.append(f"  fetched: HTTP {fetched.status}, {len(fetched.body):,} bytes, "
                     f"{fetched.content_type or 'no content type'}, charset {report.encoding}, "
                     f"{report.fetch_seconds * 1000:.0f} ms")
    if report.error:
        return "\n".join([*lines, f"  error: {report.error}"])
    lines.append(f"  items: {len(report.items)} (extracted in "
                 f"{report.extract_seconds * 1000:.0f} ms)")
    lines += [_item_line(n, item) for n, item in enumerate(report.items, start=1)]
    lines += [line for page in report.followed for line in _page_lines(page)]
    lines += [f"  warning: {warning}" for warning in report.warnings]
    return "\n".join(lines)


def _item_line(number: int, item: Item) -> str:
    date = item.published.date().isoformat() if item.published else "no date"
    return f"  {number:>3}. [{date}] {item.title or '(no title)'}\n       {item.url}"


def _page_lines(page: FollowedPage) -> list[str]:
    head = f"  page {page.item.url} ({page.seconds * 1000:.0f} ms)"
    if page.article is None:
        return [head, f"    error: {page.error}"]
    article = page.article
    excerpt = " ".join(article.text.split())[:160]
    date = article.published.isoformat() if article.published else "no date"
    return [head, f"    title: {article.title}", f"    published: {date}, language: "
            f"{article.language or '?'}, text: {len(article.text)} characters",
            f"    text: {excerpt}…"]
