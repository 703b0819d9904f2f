"""The `html-list` source kind: items of a list page found by CSS selectors."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from urllib.parse import urljoin

import soupsieve
from bs4 import BeautifulSoup, Tag
from soupsieve import SelectorSyntaxError, SoupSieve

from monitor.config import HtmlListSource, ItemSelectors, SourceBase
from monitor.domain import Fetched, Item
from monitor.errors import EmptyListError, ExtractError
from monitor.fetch.charset import decode
from monitor.sources.dates import parse_date
from monitor.sources.language import detect_language, primary_subtag
from monitor.sources.urls import canonical_url, unique_by_url
from monitor.text import collapse_spaces

_NOT_PAGES = ("javascript:", "mailto:", "tel:", "#")
_TRUNCATED = ("…", "...", "..")


def extract_html_list(fetched: Fetched, source: SourceBase) -> list[Item]:
    """The linked items of a list page; EmptyListError when the selectors find none."""
    if not isinstance(source, HtmlListSource):
        raise ExtractError(f"source '{source.id}' is not an html-list source")
    soup = BeautifulSoup(decode(fetched.body, fetched.content_type).text, "lxml")
    selectors = _Selectors.compile(source.items, fetched.url)
    elements = selectors.items.select(soup)
    base = _base_url(soup, fetched.url)
    items = unique_by_url(_item(element, selectors, base, source.timezone)
                          for element in elements)
    if not items:
        raise EmptyListError(_empty_message(source.items, len(elements), fetched.url))
    language = _page_language(soup) or source.language or detect_language(
        " ".join(item.title for item in items))
    return [_with_language(item, language) for item in items]


@dataclass(frozen=True)
class _Selectors:
    """The configured selectors, compiled once per extraction."""

    items: SoupSieve
    link: SoupSieve
    title: SoupSieve | None
    date: SoupSieve | None

    @classmethod
    def compile(cls, config: ItemSelectors, url: str) -> _Selectors:
        return cls(_compile(config.selector, url), _compile(config.link, url),
                   _compile(config.title, url) if config.title else None,
                   _compile(config.date, url) if config.date else None)


def _compile(selector: str, url: str) -> SoupSieve:
    try:
        return soupsieve.compile(selector)
    except SelectorSyntaxError as error:
        raise ExtractError(f"selector `{selector}` for {url} is not valid CSS: {error}") from error


def _empty_message(selectors: ItemSelectors, matched: int, url: str) -> str:
    if not matched:
        return (f"selector `{selectors.selector}` matched 0 elements on {url}; "
                "the page layout may have changed")
    return (f"selector `{selectors.selector}` matched {matched} elements on {url} but none had "
            f"a link `{selectors.link}` with a usable href; the page layout may have changed")


def _base_url(soup: BeautifulSoup, url: str) -> str:
    base = soup.find("base", href=True)
    href = base.get("href") if isinstance(base, Tag) else None
    return urljoin(url, href.strip()) if isinstance(href, str) and href.strip() else url


def _page_language(soup: BeautifulSoup) -> str | None:
    root = soup.find("html")
    lang = root.get("lang") if isinstance(root, Tag) else None
    return primary_subtag(lang) if isinstance(lang, str) else None


def _item(element: Tag, selectors: _Selectors, base: str, tz: str) -> Item | None:
    link = _link(element, selectors.link)
    if link is None:
        return None
    href = str(link.get("href", "")).strip()
    return Item(url=canonical_url(href, base), title=_title(element, link, selectors.title),
                published=_date(element, selectors.date, tz))


def _link(element: Tag, selector: SoupSieve) -> Tag | None:
    candidates = [element] if element.name == "a" else selector.select(element)
    for candidate in candidates:
        href = candidate.get("href")
        if isinstance(href, str) and href.strip() and not _not_page(href):
            return candidate
    return None


def _not_page(href: str) -> bool:
    return href.strip().lower().startswith(_NOT_PAGES)


def _title(element: Tag, link: Tag, selector: SoupSieve | None) -> str:
    chosen = selector.select_one(element) if selector else None
    if chosen is not None:
        return _text(chosen)
    text, attribute = _text(link), link.get("title")
    if isinstance(attribute, str) and attribute.strip() and (
            not text or text.endswith(_TRUNCATED)):
        return collapse_spaces(attribute)
    return text


def _date(element: Tag, selector: SoupSieve | None, tz: str) -> datetime | None:
    chosen = selector.select_one(element) if selector else None
    if chosen is None:
        return None
    stamp = chosen.get("datetime")
    return parse_date(stamp if isinstance(stamp, str) else _text(chosen), tz=tz)


def _text(element: Tag) -> str:
    return collapse_spaces(element.get_text())


def _with_language(item: Item, language: str) -> Item:
    return replace(item, language=language)
