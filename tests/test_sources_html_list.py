from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from monitor.config import HtmlListSource, ItemSelectors, RssSource
from monitor.domain import Fetched
from monitor.errors import EmptyListError, ExtractError
from monitor.sources.html_list import extract_html_list

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
SHANGHAI = ZoneInfo("Asia/Shanghai")
LIST_URL = "https://szj.example.gov.cn/zwgk/tzgg/index.html"


def source(selector: str, link: str = "a", title: str | None = None, date: str | None = None,
           language: str | None = None) -> HtmlListSource:
    return HtmlListSource(kind="html-list", id="list", url=LIST_URL, language=language,
                          items=ItemSelectors(selector=selector, link=link, title=title, date=date))


def fetched(body: bytes, url: str = LIST_URL, content_type: str = "text/html") -> Fetched:
    return Fetched(url=url, status=200, content_type=content_type, body=body)


def page(items: str, head: str = "") -> bytes:
    return f"<html><head>{head}</head><body><ul>{items}</ul></body></html>".encode()


def test_utf8_list_page() -> None:
    body = (FIXTURES / "list_utf8.html").read_bytes()
    items = extract_html_list(fetched(body, content_type="text/html; charset=utf-8"),
                              source("ul.news-list li", date=".date"))

    assert [(item.url, item.published) for item in items[:4]] == [
        ("https://szj.example.gov.cn/zwgk/tzgg/202406/t20240612_10001.html",
         datetime(2024, 6, 12, tzinfo=SHANGHAI)),
        ("https://szj.example.gov.cn/zwgk/tzgg/202405/t20240528_10002.html",
         datetime(2024, 5, 28, tzinfo=SHANGHAI)),
        ("https://szj.example.gov.cn/zwgk/tzgg/202404/t20240415_10003.html",
         datetime(2024, 4, 15, tzinfo=SHANGHAI)),
        ("https://szj.example.gov.cn/zwgk/zcjd/202403/t20240301_10004.html",
         datetime(2024, 3, 1, tzinfo=SHANGHAI)),
    ]
    assert len(items) == 5  # javascript: link, link without href and the duplicate are skipped
    last = items[-1]
    assert last.url == "https://www.example.gov.cn/art/2024/1/5/art_1_10006.html?page=2"
    assert last.published is not None and (last.published.month, last.published.day) == (1, 5)
    assert all(item.language == "zh" and item.text == "" for item in items)
    assert not any("专题" in item.title or "下一页" in item.title for item in items)


def test_truncated_link_text_gives_way_to_the_title_attribute() -> None:
    body = (FIXTURES / "list_utf8.html").read_bytes()
    items = extract_html_list(fetched(body), source("ul.news-list li"))
    assert items[1].title == "关于公布2024年度云岭省区块链创新应用试点名单的通知"
    assert items[0].title == "云岭省推进区块链技术应用和产业发展行动计划（2024—2026年）"


def test_gb18030_list_page_with_base_href() -> None:
    body = (FIXTURES / "list_gb18030.html").read_bytes()
    items = extract_html_list(
        fetched(body, url="http://www.zhezhou.example.gov.cn/index.html", content_type=""),
        source("tr.item", link="a.bt", date="td.sj"))

    assert [item.url for item in items] == [
        "http://www.zhezhou.example.gov.cn/zwgk/zcwj/202312/t20231208_501.html",
        "http://www.zhezhou.example.gov.cn/zwgk/zcwj/202311/t20231120_502.html",
        "http://www.zhezhou.example.gov.cn/zwgk/tzgg/202310/t20231009_503.html",
    ]
    assert items[0].title == "喆州市关于支持区块链企业落户的若干措施"  # 喆 is outside GB2312
    assert items[1].title == "关于印发𠮷祥镇数字乡村建设方案的通知"  # a four-byte GB18030 character
    assert items[0].published == datetime(2023, 12, 8, 9, 30, tzinfo=SHANGHAI)
    assert items[2].published == datetime(2023, 10, 9, tzinfo=SHANGHAI)
    assert not any("\ufffd" in item.title for item in items)


def test_item_that_is_itself_a_link_and_a_title_selector() -> None:
    body = page('<a class="t" href="/a/1.html"><b>区块链</b><i>试点</i><em>2024-06-01</em></a>')
    items = extract_html_list(fetched(body), source("a.t", title="b", date="em"))
    assert items[0].url == "https://szj.example.gov.cn/a/1.html"
    assert items[0].title == "区块链"
    assert items[0].published == datetime(2024, 6, 1, tzinfo=SHANGHAI)


def test_inline_markup_in_titles_adds_no_spaces() -> None:
    body = page('<li><a href="1.html">关于<font color="red">区块链</font>的通知</a></li>')
    assert extract_html_list(fetched(body), source("li"))[0].title == "关于区块链的通知"


def test_time_element_datetime_attribute_wins() -> None:
    body = page('<li><a href="1.html">x</a>'
                '<time datetime="2024-05-02T09:00:00+08:00">昨天</time></li>')
    published = extract_html_list(fetched(body), source("li", date="time"))[0].published
    assert published == datetime(2024, 5, 2, 9, tzinfo=SHANGHAI)


def test_language_comes_from_the_page_then_the_source_hint() -> None:
    english = page('<li><a href="1.html">Blockchain pilots named</a></li>', head="")
    hinted = extract_html_list(fetched(english), source("li", language="fr"))
    assert hinted[0].language == "fr"
    declared = english.replace(b"<html>", b'<html lang="en-GB">')
    assert extract_html_list(fetched(declared), source("li", language="fr"))[0].language == "en"
    assert extract_html_list(fetched(english), source("li"))[0].language == "en"


def test_broken_html_still_yields_its_items() -> None:
    """Unclosed <li>, <a>, <span> and <html>, stray closing tags, a table cell outside a table."""
    body = ('<html><head><title>通知公告</title><body></div><div class="list"><ul>'
            '<li><a href="/a/1.html">区块链试点名单<span class="date">2024-06-12</div>'
            '<li><a href="/a/2.html">数字人民币应用</a></span><span class="date">2024-05-28'
            '</p></ul></div></div><ul><li><a href=/a/3.html>关于区块链的通知<td>2024-04-15'
            "</body>").encode()
    items = extract_html_list(fetched(body), source("li", date=".date"))
    assert [item.url.rsplit("/", 1)[-1] for item in items] == ["1.html", "2.html", "3.html"]
    assert items[0].title.startswith("区块链试点名单")
    assert items[1].title == "数字人民币应用"
    assert items[1].published == datetime(2024, 5, 28, tzinfo=SHANGHAI)


def test_selector_matching_nothing_names_selector_and_url() -> None:
    body = (FIXTURES / "list_utf8.html").read_bytes()
    with pytest.raises(EmptyListError) as raised:
        extract_html_list(fetched(body), source("div.list li"))
    assert str(raised.value) == (
        "selector `div.list li` matched 0 elements on https://szj.example.gov.cn/zwgk/tzgg/"
        "index.html; the page layout may have changed")


def test_items_without_usable_links_are_an_empty_list() -> None:
    body = page('<li><a href="javascript:void(0)">x</a></li><li><a href="mailto:a@b.cn">y</a></li>'
                '<li><a href="#">z</a></li><li><span>no link</span></li>')
    with pytest.raises(EmptyListError, match=r"matched 4 elements on .* but none had a link `a`"):
        extract_html_list(fetched(body), source("li"))


def test_invalid_selector_is_an_extract_error() -> None:
    """Config validation refuses bad CSS; the extractor still guards sources built in code."""
    unchecked = source("li").model_copy(
        update={"items": ItemSelectors.model_construct(selector="li[", link="a")})
    with pytest.raises(ExtractError, match=r"selector `li\[` for .* is not valid CSS"):
        extract_html_list(fetched(page("")), unchecked)


def test_wrong_source_kind_is_refused() -> None:
    rss = RssSource(kind="rss", id="feed", url="https://a.example/f")
    with pytest.raises(ExtractError, match="not an html-list source"):
        extract_html_list(fetched(page("")), rss)
