"""`monitor backfill`: walks a source's older list pages and stores their history silently."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from monitor.app import App
from monitor.config import HtmlListSource
from monitor.domain import Item
from monitor.errors import ConfigError, EmptyListError
from monitor.sources import extract_items
from monitor.sources.pagination import next_page_url


@dataclass
class BackfillProgress:
    """How far a backfill got."""

    pages: int = 0
    items: int = 0
    stored: int = 0
    oldest: date | None = None


async def backfill(app: App, source: HtmlListSource, since: date,
                   on_page: Callable[[BackfillProgress], None]) -> BackfillProgress:
    """Store every item published on or after `since` on the older pages; alerts nothing.

    The first page (the source URL) is left to the regular checks: what is new there is
    theirs to alert on, so backfill never swallows a document nobody was told about.
    """
    if source.pagination is None:
        raise ConfigError([f"source {source.id} has no `pagination:` (next or pattern)"])
    progress = BackfillProgress()
    url: str | None = source.url
    while url is not None:
        fetched = await app.checker.fetch(source, url)
        try:
            items = await app.pool.run(extract_items, fetched, source)
        except EmptyListError:
            break  # past the last page
        wanted = [item for item in items if _on_or_after(item, since)]
        if progress.pages > 0:
            progress.stored += await app.checker.record_history(source, wanted)
        _count(progress, items)
        on_page(progress)
        if len(wanted) < len(items):
            break  # the pages are newest first: the rest is older than `since`
        url = next_page_url(fetched, source.pagination, source.url, progress.pages)
    return progress


def _on_or_after(item: Item, since: date) -> bool:
    return item.published is None or item.published.date() >= since


def _count(progress: BackfillProgress, items: list[Item]) -> None:
    progress.pages += 1
    progress.items += len(items)
    dates = [item.published.date() for item in items if item.published]
    if dates:
        progress.oldest = min([*dates, progress.oldest or dates[0]])


def print_progress(progress: BackfillProgress) -> None:
    """One line, redrawn in place on a terminal; one line per page otherwise."""
    oldest = progress.oldest.isoformat() if progress.oldest else "-"
    line = (f"page {progress.pages}: {progress.items} items seen, {progress.stored} new stored, "
            f"oldest {oldest}")
    if sys.stderr.isatty():
        print(f"\r{line}", end="", file=sys.stderr, flush=True)
    else:
        print(line, file=sys.stderr, flush=True)
