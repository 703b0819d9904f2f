"""The `sitemap` source kind: URLs of a sitemap, a sitemap index or a gzip sitemap."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from lxml import etree  # type: ignore[import-untyped]

from monitor.config.models import SitemapSource, SourceBase
from monitor.domain import Fetched, Item
from monitor.errors import EmptyListError, ExtractError
from monitor.sources.dates import parse_date
from monitor.sources.urls import canonical_url, unique_by_url

MAX_SITEMAP_BYTES = 50 * 2**20  # the sitemap protocol's own limit for one uncompressed file
MAX_SITEMAP_URLS = 50_000  # and its limit of URLs in one file: more are ignored
_GZIP_MAGIC = b"\x1f\x8b"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, recover=True)
_EPOCH = datetime.min.replace(tzinfo=UTC)
_NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"  # Google News sitemaps


class SitemapIndex(ExtractError):
    """The sitemap is an index: its child sitemaps, newest first, must be fetched instead."""

    def __init__(self, url: str, children: tuple[str, ...]) -> None:
        self.url = url
        self.children = children
        super().__init__(f"{url} is a sitemap index of {len(children)} sitemaps to read")

    def __reduce__(self) -> tuple[Any, ...]:  # survives the worker pool's pickling
        return (SitemapIndex, (self.url, self.children))


@dataclass(frozen=True)
class _Entry:
    """One <url> or <sitemap> entry: its location and lastmod."""

    loc: str
    lastmod: datetime | None
    title: str = ""


def extract_sitemap(fetched: Fetched, source: SourceBase) -> list[Item]:
    """The page URLs of a sitemap as items; SitemapIndex for an index, EmptyListError if none."""
    if not isinstance(source, SitemapSource):
        raise ExtractError(f"source '{source.id}' is not a sitemap source")
    body = gunzipped(fetched.body, fetched.url)
    root = _root(body, fetched.url)
    if root is None:
        entries = _text_entries(body)
    elif _local(root) == "sitemapindex":
        raise SitemapIndex(fetched.url, _newest(_entries(root, "sitemap", source), source))
    else:
        entries = _entries(root, "url", source)
    return _items(entries, fetched.url, source)


def gunzipped(body: bytes, url: str, limit: int = MAX_SITEMAP_BYTES) -> bytes:
    """`body`, decompressed when it starts with the gzip magic; ExtractError past `limit`."""
    if not body.startswith(_GZIP_MAGIC):
        return body
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise ExtractError(f"{url} is not a valid gzip file: {error}") from error
    if len(data) > limit or inflater.unconsumed_tail:
        raise ExtractError(f"{url} decompresses to more than {limit} bytes; refused")
    return data


def _root(body: bytes, url: str) -> Any:
    """The XML root element, or None for a plain-text sitemap (one URL a line)."""
    stripped = body.lstrip()
    if not stripped.startswith(b"<"):
        return None
    try:
        root = etree.fromstring(stripped, _PARSER)
    except etree.XMLSyntaxError as error:
        raise ExtractError(f"sitemap {url} is not valid XML: {error}") from error
    if root is None:
        raise ExtractError(f"sitemap {url} is not valid XML")
    return root


def _local(element: Any) -> str:
    return str(etree.QName(element).localname)


def _entries(root: Any, tag: str, source: SitemapSource) -> list[_Entry]:
    entries = []
    for element in root.iter(f"{{*}}{tag}"):
        loc = _text(element, "{*}loc")
        if loc:
            lastmod = _text(element, "{*}lastmod") or _text(element, f".//{_NEWS}publication_date")
            entries.append(_Entry(loc, _date(lastmod, source), _text(element, f".//{_NEWS}title")))
    return entries


def _text(element: Any, path: str) -> str:
    """Text of the first element at `path` under `element`, stripped; '' when there is none."""
    found = element.find(path)
    return "" if found is None or found.text is None else str(found.text).strip()


def _text_entries(body: bytes) -> list[_Entry]:
    lines = body.decode("utf-8", errors="replace").splitlines()
    return [_Entry(line.strip(), None) for line in lines
            if line.strip().startswith(("http://", "https://"))]


def _date(text: str, source: SitemapSource) -> datetime | None:
    found = parse_date(text, tz=source.timezone) if text else None
    return found.astimezone(UTC) if found else None


def _newest(entries: list[_Entry], source: SitemapSource) -> tuple[str, ...]:
    """The child sitemaps to read: newest lastmod first (undated last), at most max_sitemaps."""
    ordered = sorted(entries, key=lambda entry: entry.lastmod or _EPOCH, reverse=True)
    return tuple(entry.loc for entry in ordered[:source.max_sitemaps])


def _items(entries: list[_Entry], url: str, source: SitemapSource) -> list[Item]:
    if not entries:
        raise EmptyListError(f"sitemap {url} lists no URLs")
    include = re.compile(source.include) if source.include else None
    chosen = [entry for entry in entries if include is None or include.search(entry.loc)]
    if not chosen:
        raise EmptyListError(f"include `{source.include}` matched none of the {len(entries)} "
                             f"URLs of sitemap {url}; the site's URLs may have changed")
    return unique_by_url(_item(entry, url) for entry in chosen[:MAX_SITEMAP_URLS])


def _item(entry: _Entry, base: str) -> Item:
    link = canonical_url(entry.loc, base)
    return Item(url=link, title=entry.title or url_title(link), published=entry.lastmod)


def url_title(url: str) -> str:
    """A stand-in title: the URL's last path segment, or its host for a site root."""
    parts = urlsplit(url)
    segments = [segment for segment in parts.path.split("/") if segment]
    return unquote(segments[-1]) if segments else parts.hostname or url
