from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

import monitor.sources
from monitor.config import HtmlListSource, ItemSelectors, RssSource
from monitor.domain import Fetched, Item
from monitor.errors import EmptyListError, ExtractError
from monitor.sources.base import EXTRACTORS, SourceConfig, extract_items
from monitor.sources.html_list import extract_html_list
from monitor.sources.rss import extract_rss

FIXTURES = Path(__file__).parent / "fixtures" / "sources"


def fetched(name: str, url: str = "https://szj.example.gov.cn/zwgk/tzgg/") -> Fetched:
    return Fetched(url=url, status=200, content_type="", body=(FIXTURES / name).read_bytes())


def test_every_config_kind_has_an_extractor() -> None:
    kinds = {kind for model in get_args(SourceConfig)
             for kind in get_args(model.model_fields["kind"].annotation)}
    assert set(EXTRACTORS) == kinds == {"rss", "html-list", "sitemap", "json", "page"}
    assert EXTRACTORS["rss"] is extract_rss
    assert EXTRACTORS["html-list"] is extract_html_list


def test_dispatch_by_kind() -> None:
    feed = RssSource(kind="rss", id="feed", url="https://szj.example.gov.cn/feed")
    listing = HtmlListSource(kind="html-list", id="list", url="https://szj.example.gov.cn/",
                             items=ItemSelectors(selector="ul.news-list li"))
    assert len(extract_items(fetched("feed_atom_zh.xml"), feed)) == 2
    assert len(extract_items(fetched("list_utf8.html"), listing)) == 5


def test_empty_list_message_names_selector_and_url() -> None:
    listing = HtmlListSource(kind="html-list", id="list", url="https://szj.example.gov.cn/",
                             items=ItemSelectors(selector="div.list-box li"))
    with pytest.raises(EmptyListError, match=(
            r"^selector `div\.list-box li` matched 0 elements on "
            r"https://szj\.example\.gov\.cn/zwgk/tzgg/; the page layout may have changed$")):
        extract_items(fetched("list_utf8.html"), listing)


def test_new_kind_is_one_registration(monkeypatch: pytest.MonkeyPatch) -> None:
    def extract_single(fetched: Fetched, source: SourceConfig) -> list[Item]:
        return [Item(url=fetched.url, title=source.id)]

    feed = RssSource.model_construct(
        kind="single-page", id="page", url="https://a.example/")  # type: ignore[arg-type]
    monkeypatch.setitem(EXTRACTORS, "single-page", extract_single)
    assert extract_items(fetched("list_utf8.html", "https://a.example/"), feed) == [
        Item(url="https://a.example/", title="page")]


def test_unknown_kind_is_an_extract_error() -> None:
    odd = RssSource.model_construct(
        kind="gopher", id="odd", url="https://a.example/")  # type: ignore[arg-type]
    with pytest.raises(ExtractError, match="kind 'gopher', which no extractor handles"):
        extract_items(fetched("list_utf8.html"), odd)


def test_public_surface() -> None:
    assert sorted(monitor.sources.__all__) == sorted(
        ["EXTRACTORS", "ListExtractor", "SourceConfig", "canonical_url", "detect_language",
         "extract_article", "extract_html_list", "extract_items", "extract_rss", "parse_date"])
