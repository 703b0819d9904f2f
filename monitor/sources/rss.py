"""The `rss` source kind: items from RSS 2.0 and Atom feeds, via feedparser."""

from __future__ import annotations

import calendar
import html
import re
import time
from datetime import UTC, datetime
from typing import Any

import feedparser
from bs4 import BeautifulSoup

from monitor.config import SourceBase
from monitor.domain import Fetched, Item
from monitor.errors import EmptyListError
from monitor.sources.dates import parse_date
from monitor.sources.language import detect_language, primary_subtag
from monitor.sources.urls import canonical_url, unique_by_url

_SPACE = re.compile(r"\s+")
_BLOCKS = sorted({
    "p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2", "h3", "h4",
    "h5", "h6", "section", "article", "blockquote", "pre", "dd", "dt",
})


def extract_rss(fetched: Fetched, source: SourceBase) -> list[Item]:
    """The entries of an RSS or Atom feed as items; EmptyListError when it has none."""
    feed = feedparser.parse(fetched.body, response_headers=_headers(fetched))
    if not feed.entries:
        raise EmptyListError(f"feed {fetched.url} has no entries{_bozo_note(feed)}")
    feed_language = primary_subtag(feed.feed.get("language")) or source.language
    items = unique_by_url(_item(entry, fetched.url, feed_language) for entry in feed.entries)
    if not items:
        raise EmptyListError(f"feed {fetched.url} has {len(feed.entries)} entries but none "
                             "has a link")
    return items


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: tags stripped, blocks spaced, whitespace collapsed."""
    if "<" not in markup:
        return _collapse(html.unescape(markup))
    soup = BeautifulSoup(markup, "lxml")
    for hidden in soup.find_all(["script", "style"]):
        hidden.decompose()
    for block in soup.find_all(_BLOCKS):
        block.insert_after(" ")
    return _collapse(soup.get_text())


def _collapse(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _headers(fetched: Fetched) -> dict[str, str]:
    headers = {"content-location": fetched.url}
    if fetched.content_type:
        headers["content-type"] = fetched.content_type
    return headers


def _bozo_note(feed: Any) -> str:
    if not feed.get("bozo"):
        return ""
    return f" (it is not a well-formed feed: {feed.get('bozo_exception')})"


def _item(entry: Any, base: str, feed_language: str | None) -> Item | None:
    link = entry.get("link") or _alternate_link(entry)
    if not link:
        return None
    title = html_to_text(entry.get("title", ""))
    text = html_to_text(_body(entry))
    language = _entry_language(entry) or feed_language or detect_language(f"{title} {text}")
    return Item(url=canonical_url(link, base), title=title, published=_published(entry),
                text=text, language=language)


def _alternate_link(entry: Any) -> str | None:
    for link in entry.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    return None


def _body(entry: Any) -> str:
    for content in entry.get("content", []):
        if content.get("value"):
            return str(content["value"])
    return str(entry.get("summary", ""))


def _entry_language(entry: Any) -> str | None:
    details = (*entry.get("content", []), entry.get("summary_detail"), entry.get("title_detail"))
    for detail in details:
        if detail and detail.get("language"):
            return primary_subtag(detail["language"])
    return None


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        parsed: time.struct_time | None = entry.get(key)
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    raw = entry.get("published") or entry.get("updated") or ""
    found = parse_date(raw)
    return found.astimezone(UTC) if found else None
