"""Digest content: grouping by category then region, subject counts, highlighting, the `more`
list in the payload, and Slack messages within Slack's limits."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime

from monitor.compose import Composer
from monitor.config import parse_config
from monitor.domain import (
    Digest,
    DigestItem,
    Document,
    Evidence,
    Fact,
    Match,
    OutboundMessage,
    Outcome,
)
from monitor.notify import DigestRenderer, default_template_dirs
from monitor.notify.render import category_label, display_width, region_label
from monitor.notify.slack import (
    HEADER_LIMIT,
    MAX_BLOCKS,
    MESSAGE_TEXT_LIMIT,
    SECTION_LIMIT,
    clip_mrkdwn,
    slack_bodies,
)
from monitor.store import CheckIntent, DocumentWrite, Store

NOW = datetime(2024, 5, 6, 0, 0, tzinfo=UTC)
CATEGORIES = ("gov_report", "pilot", "plan")
GUANGDONG_PLAN = "广东省区块链产业发展行动计划（2024—2026年）"
FRENCH_TITLE = "Shanghai lance un plan d'action pour la chaîne de blocs"


def item(title: str, *, category: str | None = "plan", regions: tuple[str, ...] = (),
         change: str = "new", index: int = 0, language: str = "zh",
         snippet: str = "印发区块链产业发展行动计划", term: str = "区块链") -> DigestItem:
    return DigestItem(
        url=f"https://gov.example/{index}.html", title=title, source_id="gd",
        source_name="广东省人民政府", published=datetime(2024, 3, 1, tzinfo=UTC),
        language=language, change=change, topics=("blockchain-policy",),
        evidence=(Evidence(term, "text", snippet),), category=category, regions=regions,
        facts=(Fact("horizon", "2024-2026", "year", "2024—2026年"),
               Fact("money", "10000000", "CNY", "1000万元")),
        score=0.9, also=(("人民网", "https://people.example/a.html"),))


def render(*items: DigestItem, omitted: int = 0, more: tuple[DigestItem, ...] = ()
           ) -> tuple[str, str, str, dict[str, object]]:
    digest = Digest("analysts", "digest", items, NOW, omitted, timezone="Asia/Shanghai")
    message = DigestRenderer(default_template_dirs()).render(digest, categories=CATEGORIES,
                                                             more=more)
    return message.subject, message.text, message.html, message.payload


def positions(text: str, *needles: str) -> list[int]:
    return [text.index(needle) for needle in needles]


# --- grouping -------------------------------------------------------------------------------


def test_items_group_by_configured_category_order_then_region() -> None:
    items = (item("其他文件", category="other", index=1),
             item("广东试点", category="pilot", regions=("Guangdong",), index=2),
             item(GUANGDONG_PLAN, regions=("Guangdong", "Beijing"), index=3),
             item("全国实施方案", index=4),
             item("北京试点", category="pilot", regions=("Beijing",), index=5),
             item("白皮书", category="white_paper", index=6))
    _, text, html, payload = render(*items)
    assert "Pilots <strong>2</strong> · Plans <strong>2</strong> · White papers" in html
    for body in (text, html[html.index("<h2"):]):
        headings = positions(body, "Pilots", "Beijing / 北京", "北京试点", "Guangdong / 广东",
                             "广东试点", "Plans", "National / 全国", "全国实施方案",
                             GUANGDONG_PLAN, "White papers", "白皮书", "Other", "其他文件")
        assert headings == sorted(headings)
    assert [entry["title"] for entry in payload["items"]] == [  # type: ignore[union-attr]
        "北京试点", "广东试点", "全国实施方案", GUANGDONG_PLAN, "白皮书", "其他文件"]


def test_an_item_with_no_category_is_other_and_no_region_is_national() -> None:
    _, text, _, _ = render(item("甲", category=None), item("乙", category="plan", index=1))
    assert text.index("## Plans (1)") < text.index("## Other (1)")
    assert text.count("### National / 全国") == 2


def test_region_labels_are_english_and_chinese() -> None:
    assert region_label("Inner Mongolia") == "Inner Mongolia / 内蒙古"
    assert region_label("Hong Kong") == "Hong Kong / 香港"
    assert region_label("") == "National / 全国"


# --- each item -------------------------------------------------------------------------------


def test_each_item_shows_everything_a_reader_needs() -> None:
    _, text, html, _ = render(item(GUANGDONG_PLAN, regions=("Guangdong", "Beijing")),
                              item("第二份", index=1))
    for body in (text, html):
        for shown in (GUANGDONG_PLAN, "广东省人民政府", "2024-03-01", "Guangdong, Beijing",
                      "2024—2026年", "1000万元", "https://gov.example/0.html", "人民网",
                      "https://people.example/a.html"):
            assert shown in body, shown
    assert "category: plan" in text and ">Category</td><td>plan<" in html
    assert "also reported by: 人民网 <https://people.example/a.html>" in text
    assert 'Also reported by: <a href="https://people.example/a.html"' in html
    assert f'lang="zh" style="color:#1d4ed8;font-weight:600;font-size:15px;' \
           f'text-decoration:none;">{GUANGDONG_PLAN}</a>' in html


def test_the_matched_term_is_highlighted_and_escaped() -> None:
    french = item(FRENCH_TITLE, language="fr", term="chaîne de blocs",
                  snippet="un plan pour la Chaîne de blocs & <l'industrie>")
    _, text, html, _ = render(french, item(GUANGDONG_PLAN, index=1))
    assert "un plan pour la «Chaîne de blocs» & <l'industrie>" in text
    assert ('<mark style="background:#fde68a;color:inherit;padding:0 1px;">Chaîne de blocs'
            "</mark> &amp; &lt;l&#39;industrie&gt;") in html
    assert "印发«区块链»产业发展行动计划" in text
    assert '<li lang="fr">' in html and '<li lang="zh">' in html


def test_text_underline_fits_a_chinese_subject() -> None:
    subject, text, _, _ = render(item(GUANGDONG_PLAN))
    assert text.splitlines()[1] == "=" * display_width(subject)
    assert display_width("区块链 ab") == 9


# --- subject ---------------------------------------------------------------------------------


def test_subject_counts_by_category_most_first() -> None:
    subject, _, _, _ = render(item("a", category="pilot"), item("b", index=1),
                              item("c", index=2))
    assert subject == "3 new blockchain policy documents: 2 plans, 1 pilot"


def test_subject_singular_and_plural_words() -> None:
    subject = render(item("a", category="pilot"), item("b", category="gov_report", index=1))[0]
    assert subject == "2 new blockchain policy documents: 1 government work report, 1 pilot"
    assert category_label("white_paper", 2) == "white papers"
    assert category_label("policy", 2) == "policies"
    assert category_label("subsidy", 1) == "subsidy"
    assert category_label("other", 3) == "other"


def test_subject_says_changed_when_every_item_changed() -> None:
    changed = (item("a", change="changed"), item("b", change="changed", index=1))
    assert render(*changed)[0] == "2 changed blockchain policy documents: 2 plans"
    mixed = (item("a", change="changed"), item("b", index=1, category="other"))
    assert render(*mixed)[0] == "2 new or changed blockchain policy documents: 1 plan, 1 other"


def test_subject_of_one_document_is_its_title() -> None:
    assert render(item(GUANGDONG_PLAN))[0] == (
        f"New blockchain policy document: {GUANGDONG_PLAN}")
    assert render(item(FRENCH_TITLE, change="changed"))[0] == (
        f"Changed blockchain policy document: {FRENCH_TITLE}")


def test_subject_counts_the_items_past_max_items_too() -> None:
    more = (item("c", category="pilot", index=2), item("d", category="pilot", index=3))
    subject, _, _, _ = render(item("a"), item("b", index=1), omitted=2, more=more)
    assert subject == "4 new blockchain policy documents: 2 pilots, 2 plans"


def test_subject_without_categories_names_the_topics() -> None:
    subject = render(item("a", category=None), item("b", category=None, index=1))[0]
    assert subject == "2 new blockchain policy documents: blockchain-policy"


# --- more: the items past max_items ---------------------------------------------------------


def test_more_carries_the_omitted_items_in_the_payload() -> None:
    more = (item("第三份", index=2), item("第四份", index=3, category="pilot"))
    _, text, html, payload = render(item("第一份"), item("第二份", index=1), omitted=2, more=more)
    assert payload["omitted"] == 2
    listed = payload["more"]
    assert isinstance(listed, list) and [entry["title"] for entry in listed] == ["第三份", "第四份"]
    items = payload["items"]
    assert isinstance(items, list) and set(listed[0]) == set(items[0])
    assert "第三份" not in text and "第三份" not in html
    assert text.rstrip().endswith("…and 2 more")


CONFIG = """\
version: 1
sources:
  - {id: gd, kind: rss, url: "https://gov.example/feed.xml", name: 广东省人民政府}
topics:
  - id: blockchain-policy
    terms: {zh: [区块链]}
    categories: {gov_report: {zh: [工作报告]}, plan: {zh: [行动计划]}}
  - id: digital-yuan
    terms: {zh: [数字人民币]}
    categories: {pilot: {zh: [试点]}}
subscriptions:
  - {id: south, regions: [Guangdong, Hainan], max_items: 2, channel: {kind: file}}
"""


def test_composer_fills_more_and_leads_with_the_match_the_subscription_wanted(
        store: Store) -> None:
    settings = parse_config(CONFIG, "sources.yaml", {})
    national = Match("blockchain-policy", ("区块链",), (), category="plan", regions=())
    writes = tuple(DocumentWrite(
        Document(f"https://gov.example/{n}.html", "gd", f"区块链文件{n}", "区块链", None, "zh",
                 f"h{n}"), f"i{n}", None, "new",
        (national, Match("digital-yuan", ("数字人民币",), (), category="pilot",
                         regions=("Hainan", "Guangdong"))), ("south",)) for n in range(3))
    store.apply_check(CheckIntent("gd", Outcome.NEW, NOW, writes=writes))
    composer = Composer(settings, store, DigestRenderer(default_template_dirs()))
    assert composer.compose(settings.subscriptions[0], NOW) == 1
    (delivery,) = store.deliveries()
    payload = delivery.message.payload
    assert payload["omitted"] == 1
    assert [entry["title"] for entry in payload["more"]] == ["区块链文件2"]  # type: ignore[union-attr]
    first = payload["items"][0]  # type: ignore[index]
    assert (first["category"], first["regions"]) == ("pilot", ["Hainan", "Guangdong"])
    assert first["topics"] == ["digital-yuan"], "only the matches the subscription wanted"
    assert delivery.message.subject == "3 new blockchain policy documents: 3 pilots"
    assert "### Hainan / 海南" in delivery.message.text


# --- Slack ------------------------------------------------------------------------------------


def outbound(*items: DigestItem, omitted: int = 0) -> OutboundMessage:
    digest = Digest("analysts", "digest", items, NOW, omitted)
    rendered = DigestRenderer(default_template_dirs()).render(digest, categories=CATEGORIES)
    return OutboundMessage(1, "k", "analysts", rendered, NOW)


def texts(block: dict[str, object]) -> list[str]:
    found: list[str] = []
    for value in block.values():
        if isinstance(value, dict):
            found += texts(value)
        elif isinstance(value, list):
            for entry in value:
                found += texts(entry) if isinstance(entry, dict) else []
    text = block.get("text")
    return [*found, text] if isinstance(text, str) else found


def test_slack_keeps_every_limit_with_long_chinese_text() -> None:
    title = "关于印发《区块链技术应用与产业发展若干措施》的通知&<>" * 30  # about 600 characters
    snippet = "为贯彻落实国家关于把区块链作为核心技术自主创新重要突破口的部署&" * 200
    items = tuple(item(f"{index}号{title}", index=index, snippet=snippet,
                       category=("plan", "pilot")[index // 40 % 2],
                       regions=(("Beijing",), ())[index // 20 % 2]) for index in range(120))
    bodies = slack_bodies(outbound(*items, omitted=5))
    assert len(bodies) > 3
    sections: list[str] = []
    for number, body in enumerate(bodies, start=1):
        blocks = body["blocks"]
        assert isinstance(blocks, list) and len(blocks) <= MAX_BLOCKS
        header = blocks[0]["text"]["text"]
        assert blocks[0]["type"] == "header" and len(header) <= HEADER_LIMIT
        assert header.endswith(f"({number}/{len(bodies)})")
        assert sum(len(text) for block in blocks for text in texts(block)) <= MESSAGE_TEXT_LIMIT
        assert blocks[1]["type"] == "context", "a continued message repeats its group heading"
        for block in blocks:
            if block["type"] == "section":
                text = block["text"]["text"]
                assert len(text) <= SECTION_LIMIT
                assert not re.search(r"&[a-z]*…", text), "never cut inside an escape"
                sections.append(text)
    shown = [int(text.split("|")[1].split("号")[0]) for text in sections]
    pilots_first = sorted(range(120), key=lambda i: (i // 40 % 2 == 0, i // 20 % 2 == 0, i))
    assert shown == pilots_first, "display order: pilots, then plans; national, then Beijing"
    assert bodies[-1]["blocks"][-1]["elements"][0]["text"] == "…and 5 more"  # type: ignore[index]
    assert all("and 5 more" not in json.dumps(body, ensure_ascii=False) for body in bodies[:-1])


def test_slack_sections_show_details_snippet_and_also() -> None:
    (body,) = slack_bodies(outbound(item(GUANGDONG_PLAN, regions=("Guangdong",)),
                                    item("北京试点", category="pilot", regions=("Beijing",),
                                         index=1)))
    blocks = body["blocks"]
    assert isinstance(blocks, list)
    assert [block["type"] for block in blocks] == [
        "header", "context", "section", "context", "section"]
    assert blocks[1]["elements"][0]["text"] == "*Pilots* · Beijing / 北京"
    section = blocks[4]["text"]["text"]
    assert f"|{GUANGDONG_PLAN}>*" in section
    assert "plan · Guangdong · 2024—2026年, 1000万元" in section
    assert ">印发\u200b`区块链`\u200b产业发展行动计划" in section
    assert "Also reported by: <https://people.example/a.html|人民网>" in section


def test_clipping_mrkdwn_never_breaks_an_escape_or_a_link() -> None:
    assert clip_mrkdwn("abc &amp; def", 7) == "abc…"
    assert clip_mrkdwn("see <https://x.example/a|a link> now", 20) == "see…"
    assert clip_mrkdwn("short", 10) == "short"


def test_slack_shows_a_portals_date_as_its_calendar_date() -> None:
    midnight_in_shanghai = datetime(2024, 4, 30, 16, 0, tzinfo=UTC)
    dated = replace(item(GUANGDONG_PLAN), published=midnight_in_shanghai)
    (body,) = slack_bodies(outbound(dated))
    blocks = body["blocks"]
    assert isinstance(blocks, list)
    assert "广东省人民政府 · 2024-05-01 · new" in blocks[1]["text"]["text"]
