"""Detail pages: title, main text, date and language, without navigation, menus or footers."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from monitor.domain import Article
from monitor.errors import ExtractError
from monitor.fetch.charset import decode
from monitor.sources.attachments import find_attachments
from monitor.sources.dates import parse_date
from monitor.sources.language import detect_language, primary_subtag
from monitor.sources.metadata import PageMetadata, read_metadata

if TYPE_CHECKING:  # trafilatura is loaded where pages are extracted: in the worker processes
    from trafilatura.settings import Document

_SPACE = re.compile(r"[ \t\r\f\v\u3000\xa0]+")
_LINES = re.compile(r"\s*\n\s*")
_NOISE = ("nav", "header", "footer", "aside", "script", "style", "noscript", "form", "iframe")
_BLOCKS = ("article", "main", "section", "div", "td", "body")
_INLINE = frozenset({"p", "span", "font", "strong", "b", "em", "i", "u", "br", "sub", "sup"})
_PRUNE = ["//nav", "//footer", "//*[@role='navigation']",
          # the 信息公开 index table of gov.cn-style pages (索引号, 发文机关, …): metadata, not text
          "//table[contains(., '索引号') and string-length(normalize-space(.)) < 400]"]
# A table that holds headings, lists, forms or other tables lays out the page; it holds no data.
_LAYOUT_MARKS = " | ".join(f".//{tag}" for tag in ("table", "h1", "h2", "h3", "ul", "ol", "form"))
_TABLE_PARTS = ("table", "thead", "tbody", "tfoot", "tr", "td", "th")
_QUIET_LOGGERS = ("trafilatura", "htmldate", "courlan", "justext")


def extract_article(body: bytes, content_type: str, url: str,
                    timezone: str = "Asia/Shanghai") -> Article:
    """The article on a detail page; ExtractError when the page has no readable text.

    The page's meta tags come first (see `metadata`); dates without an offset are read in
    `timezone`, the source's.
    """
    import trafilatura  # noqa: PLC0415 (~25 MiB the daemon's own process never needs)

    _quiet_logging()
    tree = trafilatura.load_html(decode(body, content_type).text)
    if tree is None:
        raise ExtractError(f"page had no HTML content: {url}")
    metadata = read_metadata(tree, tz=timezone)
    title = metadata.title or _title(tree)
    attachments = find_attachments(tree, url)  # before extraction prunes the tree
    _unwrap_layout_tables(tree)
    found = _trafilatura(tree, url)
    text = _clean(found.text) if found is not None and found.text else _largest_block(tree)
    text = _without_title(text, title)
    if not text:
        raise ExtractError(f"page had content but no text: {url}")
    return Article(title=title, text=text,
                   published=_published(metadata, found, timezone),
                   language=_language(tree, text), attachments=attachments)


def _trafilatura(tree: Any, url: str) -> Document | None:
    import trafilatura  # noqa: PLC0415
    from trafilatura.settings import Document  # noqa: PLC0415

    found = trafilatura.bare_extraction(
        tree, url=url, include_comments=False, include_tables=True, favor_precision=True,
        with_metadata=True, prune_xpath=_PRUNE)
    return found if isinstance(found, Document) else None


def _unwrap_layout_tables(tree: Any) -> None:
    """Layout tables become plain blocks, so their cells are not kept as a data table."""
    for table in tree.xpath("//table"):
        if table.xpath(_LAYOUT_MARKS):
            for part in (table, *table.iter(*_TABLE_PARTS)):
                part.tag = "div"


def _without_title(text: str, title: str) -> str:
    """The text without leading lines that only repeat the title."""
    lines = text.split("\n")
    while lines and title and _collapse(lines[0]) == title:
        lines.pop(0)
    return "\n".join(lines)


@cache
def _quiet_logging() -> None:
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _title(tree: Any) -> str:
    page_title = _collapse(" ".join(tree.xpath("//title//text()")[:1]))
    headings = [_collapse(heading.text_content()) for heading in tree.xpath("//h1")]
    fitting = [text for text in headings if text and (not page_title or text in page_title)]
    return max(fitting, key=len, default=page_title)


def _published(metadata: PageMetadata, found: Document | None, tz: str) -> datetime | None:
    if metadata.published is not None:
        return metadata.published
    return parse_date(found.date or "", tz=tz) if found is not None else None


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
