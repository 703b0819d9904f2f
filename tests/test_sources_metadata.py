from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import trafilatura

from monitor.sources.metadata import PageMetadata, read_metadata

SHANGHAI = ZoneInfo("Asia/Shanghai")
SHARED_DEQING = Path("/work/shared/fixtures/chinese-pages/gov/deqing-county-news.html")
CMS_HEAD = """
<meta name="SiteName" content="云岭省人民政府门户网站">
<meta name="ColumnName" content="省政府文件">
<meta name="ArticleTitle" content="云岭省区块链产业发展行动计划">
<meta name="PubDate" content="2024-06-12 10:30">
<meta name="ContentSource" content="云岭省人民政府办公厅">
<meta name="Keywords" content="区块链，产业发展, 行动计划">
<meta name="ContentStart">
"""


def metadata_of(head: str, tz: str = "Asia/Shanghai") -> PageMetadata:
    tree = trafilatura.load_html(f"<html><head>{head}</head><body><p>正文</p></body></html>")
    return read_metadata(tree, tz=tz)


def test_government_cms_tags() -> None:
    assert metadata_of(CMS_HEAD) == PageMetadata(
        title="云岭省区块链产业发展行动计划",
        published=datetime(2024, 6, 12, 10, 30, tzinfo=SHANGHAI),
        source="云岭省人民政府办公厅", column="省政府文件", site_name="云岭省人民政府门户网站",
        keywords=("区块链", "产业发展", "行动计划"))


def test_names_are_case_insensitive_and_the_first_non_empty_tag_wins() -> None:
    found = metadata_of('<meta name="articletitle" content=""><meta name="ARTICLETITLE" '
                        'content=" 第一 标题 "><meta name="ArticleTitle" content="第二">'
                        '<meta name="CONTENTSOURCE" content="某局">')
    assert found.title == "第一 标题"
    assert found.source == "某局"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('<meta property="article:published_time" content="2024-05-02T09:00:00Z">',
         datetime(2024, 5, 2, 17, 0, tzinfo=SHANGHAI)),
        ('<meta name="publishdate" content="2024年5月2日">', datetime(2024, 5, 2, tzinfo=SHANGHAI)),
        ('<meta name="firstpublishedtime" content="2007-08-20-23:59:59">',
         datetime(2007, 8, 20, tzinfo=SHANGHAI)),
        ('<meta name="PubDate" content="不详"><meta name="publishdate" content="2024-05-02">',
         datetime(2024, 5, 2, tzinfo=SHANGHAI)),
        ('<meta name="PubDate" content="">', None),
    ],
)
def test_published_from_any_date_tag(head: str, expected: datetime | None) -> None:
    assert metadata_of(head).published == expected


def test_dates_without_offset_are_read_in_the_source_timezone() -> None:
    found = metadata_of('<meta name="PubDate" content="2024-06-12 10:30">', tz="Europe/Paris")
    assert found.published is not None
    assert found.published.astimezone(UTC) == datetime(2024, 6, 12, 8, 30, tzinfo=UTC)


def test_open_graph_fallbacks() -> None:
    found = metadata_of('<meta property="og:title" content="Blockchain plan">'
                        '<meta property="og:site_name" content="Policy Wire">')
    assert (found.title, found.site_name) == ("Blockchain plan", "Policy Wire")
    assert metadata_of('<meta property="og:title" content="OG"><meta name="ArticleTitle" '
                       'content="CMS">').title == "CMS"


@pytest.mark.parametrize(
    ("keywords", "expected"),
    [("投资 完成 亿元", ("投资", "完成", "亿元")),
     ("digital currency, blockchain; blockchain", ("digital currency", "blockchain")),
     ("区块链、数字经济|政策", ("区块链", "数字经济", "政策")),
     ("", ())],
)
def test_keywords_split_on_list_separators_else_spaces(keywords: str,
                                                       expected: tuple[str, ...]) -> None:
    assert metadata_of(f'<meta name="Keywords" content="{keywords}">').keywords == expected


def test_page_without_meta_tags_has_empty_metadata() -> None:
    assert metadata_of("<title>t</title>") == PageMetadata()


@pytest.mark.skipif(not SHARED_DEQING.is_file(), reason="shared real-page fixtures are not present")
def test_real_zhejiang_cms_page() -> None:
    tree = trafilatura.load_html(SHARED_DEQING.read_bytes().decode("utf-8"))
    found = read_metadata(tree)
    assert found.title == "1-10月德清县固定资产投资结构趋稳趋优"
    assert found.published == datetime(2016, 11, 22, 9, 53, tzinfo=SHANGHAI)
    assert (found.source, found.column) == ("省发改委", "投资运行")
    assert found.site_name == "浙江省发展和改革委员会"
