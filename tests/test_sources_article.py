from __future__ import annotations

import importlib.util
import logging
import pickle
import socket
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from monitor.errors import ExtractError
from monitor.sources import article
from monitor.sources.article import extract_article

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
SHARED_GOV = Path("/work/shared/fixtures/chinese-pages/gov")
SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = "https://www.yunling.example.gov.cn/zwgk/szfwj/202406/t20240612_10001.html"
PLAN_TITLE = ("云岭省人民政府办公厅关于印发云岭省推进区块链技术应用和产业发展行动计划"
              "（2024—2026年）的通知")


def test_plan_notice_main_text_without_page_furniture() -> None:
    found = extract_article((FIXTURES / "detail_plan.html").read_bytes(), "text/html", URL)

    assert found.title == PLAN_TITLE
    assert found.published == datetime(2024, 6, 12, 10, 30, tzinfo=SHANGHAI)
    assert found.language == "zh"
    assert "培育区块链骨干企业30家以上" in found.text
    assert "给予最高200万元奖励" in found.text
    assert "试点示范项目（个）" in found.text  # tables are kept
    for furniture in ("政务公开", "互动交流", "您当前的位置", "相关文章", "元宇宙", "热点推荐",
                      "打印本页", "网站地图", "网站标识码", "请输入关键词", "_hmt"):
        assert furniture not in found.text, furniture


def test_topic_word_only_in_the_nav_menu_is_not_in_the_text() -> None:
    body = (FIXTURES / "detail_nav_only.html").read_bytes()
    assert "区块链".encode() in body

    found = extract_article(body, "text/html; charset=utf-8", URL)

    assert "区块链" not in found.text
    assert "严禁携带火种进山" in found.text
    assert found.title == "云岭省林业和草原局关于做好2024年秋冬季森林草原防灭火工作的通知"
    assert found.published == datetime(2024, 10, 8, 9, 0, tzinfo=SHANGHAI)


def test_gb18030_detail_page() -> None:
    html = ('<html><head><meta charset="gb2312"><title>喆州市区块链扶持政策</title></head><body>'
            '<div class="nav">首页 政务公开</div><div id="zoom">'
            + "<p>喆州市对落户的区块链企业给予房租补贴，最高补贴三年。</p>" * 8
            + "</div></body></html>")
    found = extract_article(html.encode("gb18030"), "text/html", URL)
    assert found.title == "喆州市区块链扶持政策"
    assert "喆州市对落户的区块链企业给予房租补贴" in found.text
    assert "\ufffd" not in found.text


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        ('<meta property="og:title" content="OG 标题"><title>页面标题</title>', "<h1>H1 标题</h1>",
         "OG 标题"),
        ("<title>H1 标题 - 某某网</title>", '<h1 class="logo">某某网</h1><h1>H1 标题</h1>',
         "H1 标题"),
        ("<title>页面标题_某某网</title>", "<h1>无关的标志</h1>", "页面标题_某某网"),
    ],
)
def test_title_fallbacks(head: str, body: str, expected: str) -> None:
    html = f"<html><head>{head}</head><body>{body}<p>{'正文内容。' * 60}</p></body></html>"
    assert extract_article(html.encode(), "text/html", URL).title == expected


def test_published_from_open_graph_article_time() -> None:
    html = ('<html><head><meta property="article:published_time" content="2024-05-02T09:00:00Z">'
            f"</head><body><p>{'The plan was published today. ' * 20}</p></body></html>")
    found = extract_article(html.encode(), "text/html", URL)
    assert found.published == datetime(2024, 5, 2, 17, 0, tzinfo=SHANGHAI)
    assert found.language == "en"


def test_language_declared_by_the_page_unless_the_text_is_chinese() -> None:
    french = ('<html lang="fr-FR"><body><article><p>'
              + "Le gouvernement a publié une stratégie pour la chaîne de blocs. " * 10
              + "</p></article></body></html>")
    assert extract_article(french.encode(), "text/html", URL).language == "fr"
    chinese = f'<html lang="en"><body><p>{"区块链产业发展行动计划。" * 30}</p></body></html>'
    assert extract_article(chinese.encode(), "text/html", URL).language == "zh"


def test_largest_block_when_trafilatura_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(article, "_trafilatura", lambda tree, url: None)
    found = extract_article((FIXTURES / "detail_nav_only.html").read_bytes(), "text/html", URL)
    assert "严禁携带火种进山" in found.text
    assert "区块链" not in found.text
    assert "网站标识码" not in found.text


@pytest.mark.parametrize(
    "body",
    [b"<html><body><script>track()</script><nav>menu</nav></body></html>",
     b"<html><head><title>t</title></head><body></body></html>"],
)
def test_page_without_text_is_an_extract_error(body: bytes) -> None:
    with pytest.raises(ExtractError, match=f"page had content but no text: {URL}"):
        extract_article(body, "text/html", URL)


def test_empty_body_is_an_extract_error() -> None:
    with pytest.raises(ExtractError, match=URL):
        extract_article(b"", "text/html", URL)


def test_no_network_and_no_log_noise(monkeypatch: pytest.MonkeyPatch,
                                     caplog: pytest.LogCaptureFixture) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("extract_article tried to open a socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    with caplog.at_level(logging.DEBUG):
        extract_article((FIXTURES / "detail_plan.html").read_bytes(), "text/html", URL)
        extract_article((FIXTURES / "detail_nav_only.html").read_bytes(), "text/html", URL)
    assert not [record for record in caplog.records
                if record.name.split(".")[0] in {"trafilatura", "htmldate", "courlan", "justext"}]


def test_is_picklable_for_worker_processes() -> None:
    assert pickle.loads(pickle.dumps(extract_article)) is extract_article


@pytest.mark.skipif(not SHARED_GOV.is_dir(), reason="shared real-page fixtures are not present")
@pytest.mark.parametrize("name", sorted(path.name for path in SHARED_GOV.glob("*.html"))
                         if SHARED_GOV.is_dir() else [])
def test_real_government_pages_give_chinese_text(name: str) -> None:
    body = (SHARED_GOV / name).read_bytes()
    found = extract_article(body, "text/html", f"https://www.gov.example.cn/{name}")
    assert len(found.text) > 100
    assert found.language == "zh"
    assert found.title
    assert "\ufffd" not in found.text


BENCH = Path(__file__).resolve().parent.parent / "bench" / "extraction"
PARIS = ZoneInfo("Europe/Paris")
CMS_PAGE = """<html><head><meta name="ArticleTitle" content="元数据里的标题">
<meta name="PubDate" content="2024-06-12 10:30"><title>页面标题_某某网</title></head><body>
<h1>正文上方的标题</h1><p>发布时间：2023-01-01</p><div id="zoom">{text}</div></body></html>"""


def test_cms_meta_tags_come_before_the_page() -> None:
    html = CMS_PAGE.format(text="<p>区块链产业发展行动计划正文。</p>" * 20)
    found = extract_article(html.encode(), "text/html", URL)
    assert found.title == "元数据里的标题"
    assert found.published == datetime(2024, 6, 12, 10, 30, tzinfo=SHANGHAI)


def test_dates_are_read_in_the_source_timezone() -> None:
    html = CMS_PAGE.format(text="<p>区块链产业发展行动计划正文。</p>" * 20)
    found = extract_article(html.encode(), "text/html", URL, "Europe/Paris")
    assert found.published == datetime(2024, 6, 12, 10, 30, tzinfo=PARIS)


def test_date_from_the_page_text_is_read_in_the_source_timezone() -> None:
    html = ("<html><body><h1>通知</h1><div class='info'>发布时间：2024-06-12</div><div>"
            + "<p>各单位要认真做好区块链项目申报工作，按时报送材料。</p>" * 10
            + "</div></body></html>")
    found = extract_article(html.encode(), "text/html", URL, timezone="Europe/Paris")
    assert found.published == datetime(2024, 6, 12, tzinfo=PARIS)


def test_layout_tables_are_not_kept_as_data_tables() -> None:
    html = ("<html><body><table><tr><td>当前位置：首页 &gt;&gt; 通知公告</td></tr><tr><td>"
            "<table><tr><td><h2>关于开展试点申报的通知</h2></td></tr><tr><td class='content'>"
            + "<p>申报单位须在本市注册满一年，项目已完成技术验证。</p>" * 6
            + "</td></tr><tr><td>【打印本页】【关闭窗口】</td></tr></table></td></tr></table>"
            "</body></html>")
    found = extract_article(html.encode(), "text/html", URL)
    assert "申报单位须在本市注册满一年" in found.text
    assert "|" not in found.text
    assert "当前位置" not in found.text


def test_title_is_not_repeated_as_the_first_line_of_the_text() -> None:
    html = ('<html><head><meta name="ArticleTitle" content="座谈会召开"></head><body>'
            '<div class="article"><h1>座谈会召开</h1>'
            + "<p>会议围绕监管沙盒试点和区块链票据应用等话题进行了讨论。</p>" * 6
            + "</div></body></html>")
    found = extract_article(html.encode(), "text/html", URL)
    assert not found.text.startswith("座谈会召开")


@pytest.mark.parametrize("content_type", ["text/html", "text/html; charset=big5"])
@pytest.mark.parametrize("meta", ['<meta charset="big5">', ""])
def test_big5_detail_page(meta: str, content_type: str) -> None:
    html = (f"<html><head>{meta}<title>港府發布區塊鏈政策宣言</title></head><body><div>"
            + "<p>特區政府今日發布政策宣言，推動區塊鏈技術在金融及貿易領域的應用。</p>" * 8
            + "</div></body></html>")
    found = extract_article(html.encode("big5"), content_type, URL)
    assert found.title == "港府發布區塊鏈政策宣言"
    assert "推動區塊鏈技術" in found.text
    assert "\ufffd" not in found.text


def _scorer() -> Any:
    spec = importlib.util.spec_from_file_location("extraction_score", BENCH / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_main_text_f1_on_the_labelled_set() -> None:
    score = _scorer()
    pages = score.load_pages()
    assert len(pages) >= 30
    results = score.score(score.extractors()["monitor"], pages)
    failing = [(result.name, round(result.f1, 3)) for result in results if result.f1 < 0.8]
    assert score.mean_f1(results) >= 0.90, failing
    assert not failing
