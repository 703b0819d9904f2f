"""The `rss` source kind: items from RSS 2.0 and Atom feeds (feedparser) and JSON Feed."""

from __future__ import annotations

import calendar
import html
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from bs4 import BeautifulSoup

from monitor.config import SourceBase
from monitor.domain import Fetched, Item
from monitor.errors import EmptyListError, ExtractError
from monitor.fetch.charset import decode
from monitor.sources.dates import parse_date
from monitor.sources.language import detect_language, primary_subtag
from monitor.sources.urls import canonical_url, unique_by_url
from monitor.text import collapse_spaces

_LETTERS_BUT_T_Z = re.compile(r"[A-SU-Ya-su-y]")  # RFC 822 day, month and zone names
_JSON_FEED_VERSION = ("https://jsonfeed.org/", "http://jsonfeed.org/")
_BLOCKS = sorted({
    "p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2", "h3", "h4",
    "h5", "h6", "section", "article", "blockquote", "pre", "dd", "dt",
})


def extract_rss(fetched: Fetched, source: SourceBase) -> list[Item]:
    """The entries of an RSS, Atom or JSON Feed as items; EmptyListError when it has none."""
    json_feed = _json_feed(fetched)
    if json_feed is not None:
        return _json_feed_items(json_feed, fetched.url, source)
    import feedparser  # noqa: PLC0415 (loaded only where feeds are parsed: the workers)

    feed = feedparser.parse(fetched.body, response_headers=_headers(fetched))
    if not feed.entries:
        raise EmptyListError(f"feed {fetched.url} has no entries{_bozo_note(feed)}")
    feed_language = primary_subtag(feed.feed.get("language")) or source.language
    items = unique_by_url(_item(entry, fetched.url, feed_language, source.timezone)
                          for entry in feed.entries)
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
    return collapse_spaces(text)


def _headers(fetched: Fetched) -> dict[str, str]:
    headers = {"content-location": fetched.url}
    if fetched.content_type:
        headers["content-type"] = fetched.content_type
    return headers


def _bozo_note(feed: Any) -> str:
    if not feed.get("bozo"):
        return ""
    return f" (it is not a well-formed feed: {feed.get('bozo_exception')})"


def _item(entry: Any, base: str, feed_language: str | None, tz: str) -> Item | None:
    link = entry.get("link") or _alternate_link(entry)
    if not link:
        return None
    title = html_to_text(entry.get("title", ""))
    text = html_to_text(_body(entry))
    language = _entry_language(entry) or feed_language or detect_language(f"{title} {text}")
    return Item(url=canonical_url(link, base), title=title, published=_published(entry, tz),
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


def _published(entry: Any, tz: str) -> datetime | None:
    local = _numeric_date(entry.get("published") or entry.get("updated") or "", tz)
    if local is not None:
        return local
    for key in ("published_parsed", "updated_parsed"):
        parsed: time.struct_time | None = entry.get(key)
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    raw = entry.get("published") or entry.get("updated") or ""
    found = parse_date(raw, tz=tz)
    return found.astimezone(UTC) if found else None


def _numeric_date(raw: str, tz: str) -> datetime | None:
    """A date written in digits only (2020-06-30 10:30): feedparser would read it as UTC."""
    if not raw or _LETTERS_BUT_T_Z.search(raw):
        return None
    found = parse_date(raw, tz=tz)
    return found.astimezone(UTC) if found else None


def _json_feed(fetched: Fetched) -> dict[str, Any] | None:
    """The parsed JSON Feed (jsonfeed.org 1 or 1.1), or None when the body is another format."""
    declared = "application/feed+json" in fetched.content_type.lower()
    if not declared and not fetched.body.lstrip().startswith(b"{"):
        return None
    try:
        document = json.loads(decode(fetched.body, fetched.content_type).text)
    except ValueError as error:
        if declared:
            raise ExtractError(f"JSON Feed {fetched.url} is not valid JSON: {error}") from error
        return None
    version = document.get("version") if isinstance(document, dict) else None
    if isinstance(version, str) and version.startswith(_JSON_FEED_VERSION):
        return dict(document)
    if declared:
        raise ExtractError(f"{fetched.url} is served as a JSON Feed but has no jsonfeed.org "
                           "version")
    return None


def _json_feed_items(feed: dict[str, Any], url: str, source: SourceBase) -> list[Item]:
    entries = [entry for entry in feed.get("items") or [] if isinstance(entry, dict)]
    if not entries:
        raise EmptyListError(f"JSON Feed {url} has no items")
    language = primary_subtag(_string(feed.get("language"))) or source.language
    items = unique_by_url(_json_feed_item(entry, url, language, source.timezone)
                          for entry in entries)
    if not items:
        raise EmptyListError(f"JSON Feed {url} has {len(entries)} items but none has a url")
    return items


def _json_feed_item(entry: dict[str, Any], base: str, feed_language: str | None,
                    timezone: str) -> Item | None:
    link = _string(entry.get("url")) or _string(entry.get("external_url"))
    if not link:
        return None
    title = html_to_text(_string(entry.get("title")))
    text = (_string(entry.get("content_text")) or html_to_text(_string(entry.get("content_html")))
            or _string(entry.get("summary")))
    language = (primary_subtag(_string(entry.get("language"))) or feed_language
                or detect_language(f"{title} {text}"))
    stamp = _string(entry.get("date_published")) or _string(entry.get("date_modified"))
    published = parse_date(stamp, tz=timezone) if stamp else None
    return Item(url=canonical_url(link, base), title=title, text=_collapse(text),
                published=published.astimezone(UTC) if published else None, language=language)


def _string(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""
