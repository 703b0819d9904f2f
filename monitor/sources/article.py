"""Detail pages: title, main text, date and language, without navigation, menus or footers."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from functools import cache
from typing import Any

import trafilatura
from trafilatura.settings import Document

from monitor.domain import Article
from monitor.errors import ExtractError
from monitor.fetch.charset import decode
from monitor.sources.dates import parse_date
from monitor.sources.language import detect_language, primary_subtag

_SPACE = re.compile(r"[ \t\r\f\v\u3000\xa0]+")
_LINES = re.compile(r"\s*\n\s*")
_TITLE_METAS = ("articletitle", "og:title")
_DATE_METAS = ("pubdate", "article:published_time", "publishdate", "firstpublishedtime")
_NOISE = ("nav", "header", "footer", "aside", "script", "style", "noscript", "form", "iframe")
_BLOCKS = ("article", "main", "section", "div", "td", "body")
_INLINE = frozenset({"p", "span", "font", "strong", "b", "em", "i", "u", "br", "sub", "sup"})
_PRUNE = ["//nav", "//footer", "//*[@role='navigation']"]
_QUIET_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext")


def extract_article(body: bytes, content_type: str, url: str) -> Article:
    """The article on a detail page; ExtractError when the page has no readable text."""
    _quiet_logging()
    tree = trafilatura.load_html(decode(body, content_type).text)
    if tree is None:
        raise ExtractError(f"page had no HTML content: {url}")
    metas = _metas(tree)
    found = _trafilatura(tree, url)
    text = _clean(found.text) if found is not None and found.text else _largest_block(tree)
    if not text:
        raise ExtractError(f"page had content but no text: {url}")
    return Article(title=_title(tree, metas), text=text,
                   published=_published(metas, found), language=_language(tree, text))


def _trafilatura(tree: Any, url: str) -> Document | None:
    found = trafilatura.bare_extraction(
        tree, url=url, include_comments=False, include_tables=True, favor_precision=True,
        with_metadata=True, prune_xpath=_PRUNE)
    return found if isinstance(found, Document) else None


@cache
def _quiet_logging() -> None:
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _metas(tree: Any) -> dict[str, str]:
    metas: dict[str, str] = {}
    for meta in tree.xpath("//meta"):
        key = (meta.get("name") or meta.get("property") or "").strip().lower()
        content = (meta.get("content") or "").strip()
        if key and content:
            metas.setdefault(key, content)
    return metas


def _title(tree: Any, metas: dict[str, str]) -> str:
    for key in _TITLE_METAS:
        if metas.get(key):
            return _collapse(metas[key])
    page_title = _collapse(" ".join(tree.xpath("//title//text()")[:1]))
    headings = [_collapse(heading.text_content()) for heading in tree.xpath("//h1")]
    fitting = [text for text in headings if text and (not page_title or text in page_title)]
    return max(fitting, key=len, default=page_title)


def _published(metas: dict[str, str], found: Document | None) -> datetime | None:
    for key in _DATE_METAS:
        value = parse_date(metas.get(key, ""))
        if value is not None:
            return value
    return parse_date(found.date or "") if found is not None else None


def _language(tree: Any, text: str) -> str:
    detected = detect_language(text)
    if detected == "zh":  # CJK text outweighs a template's copied lang="en"
        return detected
    return primary_subtag(tree.get("lang")) or detected


def _largest_block(tree: Any) -> str:
    for element in tree.xpath(" | ".join(f"//{tag}" for tag in _NOISE)):
        element.drop_tree()
    blocks = tree.xpath(" | ".join(f"//{tag}" for tag in _BLOCKS))
    best = max(blocks, key=_own_text_length, default=None)
    return _collapse(best.text_content()) if best is not None else ""


def _own_text_length(element: Any) -> int:
    length = len((element.text or "").strip())
    for child in element:
        length += len((child.tail or "").strip())
        if isinstance(child.tag, str) and child.tag in _INLINE:
            length += len(child.text_content().strip())
    return length


def _clean(text: str) -> str:
    return _LINES.sub("\n", _SPACE.sub(" ", text)).strip()


def _collapse(text: str) -> str:
    return " ".join(text.split())
