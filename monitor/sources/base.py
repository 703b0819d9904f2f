"""The seam where source kinds plug in: one extract function per config `kind`."""

from __future__ import annotations

from collections.abc import Callable

from monitor.config.models import AnySource
from monitor.domain import Fetched, Item
from monitor.errors import ExtractError
from monitor.sources.html_list import extract_html_list
from monitor.sources.json_api import extract_json
from monitor.sources.page import extract_page
from monitor.sources.rss import extract_rss
from monitor.sources.sitemap import extract_sitemap

SourceConfig = AnySource
ListExtractor = Callable[[Fetched, SourceConfig], list[Item]]

EXTRACTORS: dict[str, ListExtractor] = {
    "rss": extract_rss,
    "html-list": extract_html_list,
    "sitemap": extract_sitemap,
    "json": extract_json,
    "page": extract_page,
}


def extract_items(fetched: Fetched, source: SourceConfig) -> list[Item]:
    """The items `source` lists in `fetched`; EmptyListError when there are none."""
    extractor = EXTRACTORS.get(source.kind)
    if extractor is None:
        raise ExtractError(f"source '{source.id}' has kind '{source.kind}', which no extractor "
                           f"handles (known: {', '.join(sorted(EXTRACTORS))})")
    return extractor(fetched, source)
