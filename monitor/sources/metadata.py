"""Government CMS and Open Graph meta tags of a detail page, read before any text extraction."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.sources.dates import parse_date

__all__ = ["PageMetadata", "read_metadata"]

_TITLE = ("articletitle", "og:title")
_PUBLISHED = ("pubdate", "article:published_time", "publishdate", "firstpublishedtime")
_SOURCE = ("contentsource", "source")
_COLUMN = ("columnname",)
_SITE = ("sitename", "og:site_name")
_KEYWORDS = ("keywords",)
_LIST_SEPARATORS = re.compile(r"[,，;；、|]")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class PageMetadata:
    """What a page says about itself in <meta> tags; empty fields when it does not say."""

    title: str = ""  # ArticleTitle, og:title
    published: datetime | None = None  # PubDate, article:published_time, publishdate, …
    source: str = ""  # ContentSource: the issuing body or the outlet copied from
    column: str = ""  # ColumnName: the section of the portal (政策文件, 部门动态, …)
    site_name: str = ""  # SiteName, og:site_name
    keywords: tuple[str, ...] = ()


def read_metadata(tree: Any, *, tz: str = "Asia/Shanghai") -> PageMetadata:
    """The meta tags of an lxml HTML tree; names and properties are matched case-insensitively."""
    metas = meta_tags(tree)
    return PageMetadata(
        title=_first(metas, _TITLE), published=_published(metas, tz),
        source=_first(metas, _SOURCE), column=_first(metas, _COLUMN),
        site_name=_first(metas, _SITE), keywords=_keywords(_first(metas, _KEYWORDS)))


def meta_tags(tree: Any) -> dict[str, str]:
    """Lower-cased name or property of each non-empty <meta> tag, the first one of each wins."""
    metas: dict[str, str] = {}
    for meta in tree.xpath("//meta"):
        key = (meta.get("name") or meta.get("property") or "").strip().lower()
        content = _collapse(meta.get("content") or "")
        if key and content:
            metas.setdefault(key, content)
    return metas


def _first(metas: Mapping[str, str], keys: tuple[str, ...]) -> str:
    return next((metas[key] for key in keys if metas.get(key)), "")


def _published(metas: Mapping[str, str], tz: str) -> datetime | None:
    for key in _PUBLISHED:
        value = parse_date(metas.get(key, ""), tz=tz)
        if value is not None:
            return value
    return None


def _keywords(value: str) -> tuple[str, ...]:
    splitter = _LIST_SEPARATORS if _LIST_SEPARATORS.search(value) else _SPACES
    return tuple(dict.fromkeys(word.strip() for word in splitter.split(value) if word.strip()))


def _collapse(text: str) -> str:
    return " ".join(text.split())
