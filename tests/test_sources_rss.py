from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import RssSource
from monitor.domain import Fetched
from monitor.errors import EmptyListError, ExtractError
from monitor.sources.rss import extract_rss, html_to_text

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
SOURCE = RssSource(kind="rss", id="feed", url="https://news.example.com/feed.xml")


def fetched(body: bytes, url: str = "https://news.example.com/feed.xml",
            content_type: str = "application/rss+xml; charset=utf-8") -> Fetched:
    return Fetched(url=url, status=200, content_type=content_type, body=body)


def test_rss_feed_in_english() -> None:
    items = extract_rss(fetched((FIXTURES / "feed_rss_en.xml").read_bytes()), SOURCE)

    assert [item.url for item in items] == [
        "https://news.example.com/2024/06/12/blockchain-plan",
        "https://news.example.com/2024/05/28/pilot-list",
    ]
    first, second = items
    assert first.title == "Province unveils three-year blockchain action plan"
    assert first.published == datetime(2024, 6, 12, 0, 15, tzinfo=UTC)
    assert first.published.tzinfo is UTC
    assert first.text == ("The provincial government published a plan to build 100 pilot "
                          "projects by 2026. Funding comes from a special budget.")
    assert first.language == "en"
    assert second.text == ("The list names thirty projects in supply-chain finance and "
                           "product tracing.")


def test_atom_feed_in_chinese() -> None:
    items = extract_rss(fetched((FIXTURES / "feed_atom_zh.xml").read_bytes(),
                                content_type="application/atom+xml"), SOURCE)

    assert [item.url for item in items] == [
        "https://szj.example.gov.cn/zwgk/202406/t20240612_10001.html",
        "https://szj.example.gov.cn/zwgk/202405/t20240528_10002.html",
    ]
    assert items[0].published == datetime(2024, 6, 12, 2, 30, tzinfo=UTC)
    assert items[1].published == datetime(2024, 5, 28, 8, 0, tzinfo=UTC)  # from <updated>
    assert items[0].text.startswith("到2026年，建成省级区块链公共服务平台")
    assert items[1].text == "经专家评审，确定30个项目入选试点名单。"
    assert {item.language for item in items} == {"zh"}


def test_gb2312_feed_decoded_by_its_declaration() -> None:
    feed = ('<?xml version="1.0" encoding="gb2312"?><rss version="2.0"><channel><title>通知</title>'
            "<item><title>区块链试点名单公布</title><link>http://a.example.cn/1.html</link>"
            "<description>入选项目共三十个</description></item></channel></rss>")
    items = extract_rss(fetched(feed.encode("gb2312"), content_type="text/xml"), SOURCE)

    assert items[0].title == "区块链试点名单公布"
    assert items[0].text == "入选项目共三十个"
    assert items[0].language == "zh"  # detected: the feed names no language


def test_language_hint_of_the_source_when_the_feed_names_none() -> None:
    feed = (b'<rss version="2.0"><channel><title>x</title><item><title>Plan</title>'
            b"<link>https://a.example/1</link></item></channel></rss>")
    source = RssSource(kind="rss", id="feed", url="https://a.example/f", language="fr")
    assert extract_rss(fetched(feed), source)[0].language == "fr"


def test_feed_without_entries_names_the_url() -> None:
    feed = b'<rss version="2.0"><channel><title>empty</title></channel></rss>'
    message = r"feed https://news\.example\.com/feed\.xml has no entries"
    with pytest.raises(EmptyListError, match=message):
        extract_rss(fetched(feed), SOURCE)


def test_html_page_instead_of_a_feed_is_an_empty_list() -> None:
    page = (FIXTURES / "detail_plan.html").read_bytes()
    with pytest.raises(EmptyListError, match="has no entries"):
        extract_rss(fetched(page, content_type="text/html"), SOURCE)


def test_bozo_feed_that_still_has_entries_is_fine() -> None:
    feed = (b'<rss version="2.0"><channel><item><title>A &nbsp; B</title>'
            b"<link>https://a.example/1?from=rss</link></item>")
    items = extract_rss(fetched(feed), SOURCE)
    assert [item.url for item in items] == ["https://a.example/1"]


def test_entries_without_links_are_reported() -> None:
    feed = b'<rss version="2.0"><channel><item><title>no link</title></item></channel></rss>'
    with pytest.raises(EmptyListError, match="1 entries but none has a link"):
        extract_rss(fetched(feed), SOURCE)


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>one</p><p>two</p>", "one two"),
        ("关于<em>区块链</em>的通知", "关于区块链的通知"),
        ("a<br>b", "a b"),
        ("x<script>alert(1)</script>y<style>p{}</style>", "xy"),
        ("AT&amp;T   and\n\tco", "AT&T and co"),
        ("plain text.html", "plain text.html"),
        ("", ""),
    ],
)
def test_html_to_text(markup: str, expected: str) -> None:
    assert html_to_text(markup) == expected


def test_json_feed_by_its_content_type() -> None:
    body = (FIXTURES / "json_feed.json").read_bytes()
    items = extract_rss(fetched(body, content_type="application/feed+json"), SOURCE)

    assert [item.url for item in items] == [
        "https://news.example.com/2024/06/12/plan.html",
        "https://www.example.gov.cn/zcwj/t20240528_10002.html",  # external_url
    ]  # the item without any url is left out
    first, second = items
    assert first.title == "省级区块链三年行动计划发布"
    assert first.text == "到2026年，建成100个试点项目。 资金来自专项预算。"
    assert first.published == datetime(2024, 6, 12, 0, 15, tzinfo=UTC)
    assert first.language == "zh"  # the feed's language
    assert (second.title, second.text) == ("", "Pilot list published.")
    assert second.published == datetime(2024, 5, 28, 8, 0, tzinfo=UTC)  # date_modified
    assert second.language == "en"  # the item's own language


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
def test_json_feed_version_1_by_its_version(content_type: str) -> None:
    body = (b'{"version": "https://jsonfeed.org/version/1", "title": "t", "items": ['
            b'{"id": "1", "url": "/a.html", "title": "A", "content_text": "x"}]}')
    [item] = extract_rss(fetched(body, content_type=content_type), SOURCE)
    assert (item.url, item.title) == ("https://news.example.com/a.html", "A")


def test_declared_json_feed_that_is_not_one_is_an_error() -> None:
    with pytest.raises(ExtractError, match=r"no jsonfeed\.org version"):
        extract_rss(fetched(b'{"items": []}', content_type="application/feed+json"), SOURCE)
    with pytest.raises(EmptyListError, match=r"JSON Feed .* has no items"):
        extract_rss(fetched(b'{"version": "https://jsonfeed.org/version/1.1", "items": []}',
                            content_type="application/feed+json"), SOURCE)
