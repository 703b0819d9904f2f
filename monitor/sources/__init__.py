"""Turning fetched bytes into items (feeds, list pages) and articles (detail pages)."""

from __future__ import annotations

from monitor.sources.article import extract_article
from monitor.sources.base import EXTRACTORS, ListExtractor, SourceConfig, extract_items
from monitor.sources.dates import parse_date
from monitor.sources.html_list import extract_html_list
from monitor.sources.language import detect_language
from monitor.sources.rss import extract_rss
from monitor.sources.urls import canonical_url

__all__ = [
    "EXTRACTORS",
    "ListExtractor",
    "SourceConfig",
    "canonical_url",
    "detect_language",
    "extract_article",
    "extract_html_list",
    "extract_items",
    "extract_rss",
    "parse_date",
]
