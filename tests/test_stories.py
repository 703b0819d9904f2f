"""Stories through the CLI on a live portal: a repost or a translation alerts once, news twice."""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import main
from tests.conftest import UseConfig
from tests.fixture_server import FixtureServer
from tests.portal import Post, detail_page, list_page

ROOT = Path(__file__).parents[1]
TOPIC = "blockchain-policy"
CONFIG = """\
version: 1
defaults: {{allow_private: true, per_host_delay: 0s}}
sources:
  - id: province
    name: 山东省人民政府
    kind: html-list
    url: {base}/zcwj/index.html
    items: {{selector: "ul.list li"}}
    follow: true
    baseline: false
  - id: daily
    name: 大众日报
    kind: html-list
    url: {base}/daily/index.html
    items: {{selector: "ul.list li"}}
    follow: true
    baseline: false
  - id: wire
    name: Wire
    kind: rss
    url: {base}/feed.xml
    language: en
    baseline: false
subscriptions:
  - id: analysts
    topics: [{topic}]
    mode: {mode}
    channel: {{kind: file}}
"""

PLAN_TITLE = "山东省人民政府办公厅关于印发山东省区块链产业发展行动计划（2020—2022年）的通知"
PLAN_BODY = [
    "各市人民政府，省政府各部门、各直属机构：《山东省区块链产业发展行动计划（2020—2022年）》"
    "已经省政府同意，现印发给你们，请认真贯彻落实。",
    "为抢抓区块链技术发展机遇，推动区块链与实体经济深度融合，结合我省实际，制定本行动计划。",
    "到2022年，全省区块链产业规模明显壮大，在济南、青岛建设区块链产业园区，培育区块链骨干企业"
    "30家以上，打造50个以上区块链典型应用场景。",
    "重点任务：推进区块链在政务服务、金融、医疗、物流等领域的应用；建设全省统一的区块链基础设施；"
    "加强区块链人才培养和引进。",
    "保障措施：设立省级区块链产业发展专项资金，对重大项目给予最高1000万元支持；省发展改革委、"
    "省工业和信息化厅负责统筹协调。",
]
PLAN = Post("sd-plan", PLAN_TITLE, "2020-06-30",
            ["来源：山东省人民政府办公厅 发布时间：2020-06-30 16:20", *PLAN_BODY])
REPOST = Post("sd-plan-repost", PLAN_TITLE, "2020-07-01",
              ["来源：大众日报 记者 王晓明 通讯员 李红", *PLAN_BODY[:3], PLAN_BODY[4]])


def _topics() -> str:
    """The shipped topic, as sources.yaml has it now."""
    shipped = yaml.safe_load((ROOT / "sources.yaml").read_text("utf-8"))
    topics = [topic for topic in shipped["topics"] if topic["id"] == TOPIC]
    return yaml.safe_dump({"topics": topics}, allow_unicode=True)


Setup = Callable[..., Path]


@pytest.fixture
def setup(use_config: UseConfig, http_server: FixtureServer) -> Setup:
    """Configure the three sources and one subscription (`mode`); returns the state directory."""
    def write(mode: str = "immediate") -> Path:
        config = CONFIG.format(base=http_server.base_url, topic=TOPIC, mode=mode) + _topics()
        return use_config(config).parent / "state"
    return write


def _publish(server: FixtureServer, folder: str, posts: list[Post]) -> None:
    server.set(f"/{folder}/index.html", list_page(posts, f"/{folder}/"))
    for post in posts:
        server.set(f"/{folder}/{post.slug}.html", detail_page(post))


def _feed(server: FixtureServer, posts: list[Post]) -> None:
    entries = "".join(
        f"<item><title>{p.title}</title><link>{server.base_url}/news/{p.slug}.html</link>"
        f"<description>{' '.join(p.paragraphs)}</description><pubDate>"
        f"{format_datetime(datetime.fromisoformat(p.date).replace(hour=8, tzinfo=UTC))}"
        "</pubDate></item>" for p in posts)
    server.set("/feed.xml", '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
               f"<title>Wire</title><link>{server.base_url}/news/</link><description>news"
               f"</description>{entries}</channel></rss>", content_type="application/rss+xml")


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["check", *args]) == 0
    return capsys.readouterr().out


def _payloads(state: Path) -> list[dict[str, Any]]:
    outbox = state / "outbox"
    return [json.loads(path.read_text("utf-8")) for path in sorted(outbox.glob("*.json"))]


def _items(state: Path) -> list[dict[str, Any]]:
    return [item for payload in _payloads(state) for item in payload["items"]]


def test_a_repost_arriving_before_the_digest_is_listed_under_the_first_report(
        setup: Setup, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    state = setup(mode="digest")
    _publish(http_server, "zcwj", [PLAN])
    _publish(http_server, "daily", [REPOST])
    assert "1 alerts" in _check(capsys, "province", "--digests", "none")
    assert "0 alerts" in _check(capsys, "daily"), "the repost joins the story"
    (payload,) = _payloads(state)
    (item,) = payload["items"]
    assert item["url"] == http_server.url("/zcwj/sd-plan.html")
    assert item["also_reported_by"] == [
        {"source_name": "大众日报", "url": http_server.url("/daily/sd-plan-repost.html")}]
    assert item["category"] == "plan" and item["regions"][0] == "Shandong"
    message = email.message_from_bytes(next((state / "outbox").glob("*.eml")).read_bytes(),
                                       policy=email.policy.default)
    body = message.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    assert (f"also reported by: 大众日报 <{http_server.url('/daily/sd-plan-repost.html')}>"
            in body.get_content()), "the message shows it too"


def test_a_story_found_by_two_sources_in_one_check_is_one_item(
        setup: Setup, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    state = setup(mode="digest")
    _publish(http_server, "zcwj", [PLAN])
    _publish(http_server, "daily", [REPOST])
    out = _check(capsys, "province", "daily")
    assert "deliveries: 1 sent" in out
    (item,) = _items(state)
    urls = {http_server.url("/zcwj/sd-plan.html"), http_server.url("/daily/sd-plan-repost.html")}
    assert [other["url"] for other in item["also_reported_by"]] == list(urls - {item["url"]})


def test_a_repost_after_the_alert_was_delivered_sends_nothing(
        setup: Setup, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    state = setup()
    _publish(http_server, "zcwj", [PLAN])
    assert "deliveries: 1 sent" in _check(capsys, "province")
    _publish(http_server, "daily", [REPOST])
    out = _check(capsys, "province", "daily")
    assert "daily: new (1 new, 0 changed, 0 alerts)" in out
    assert "deliveries: 0 sent" in out
    assert [item["url"] for item in _items(state)] == [http_server.url("/zcwj/sd-plan.html")]


KUNMING = Post("km-fund", "昆明市人民政府关于印发昆明市加快区块链产业发展若干政策措施的通知",
               "2021-03-15", [
                   "各县（市）区人民政府，市政府各委、办、局：现将《昆明市加快区块链产业发展若干政策"
                   "措施》印发给你们，请认真贯彻执行。",
                   "对新落户我市的区块链企业，按其实际投资额的10%给予补助，最高1000万元。",
                   "对获评国家级区块链创新应用试点的项目，给予一次性奖励200万元。",
                   "本措施由市工业和信息化局负责解释，自印发之日起施行。"])
KUNMING_EN = Post("kunming-subsidies", "Kunming offers up to 10 million yuan to blockchain firms",
                  "2021-03-18", [
                      "The Kunming municipal government in Yunnan province has issued measures to "
                      "speed up the development of its blockchain industry.",
                      "Blockchain companies that move to the city will receive a subsidy of 10% of "
                      "their investment, capped at 10 million yuan, according to the policy.",
                      "Projects selected as national blockchain pilots will get a one-off reward "
                      "of 2 million yuan, officials said."])


def test_a_chinese_document_and_an_english_report_of_it_alert_once(
        setup: Setup, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    state = setup()
    _publish(http_server, "zcwj", [KUNMING])
    assert "deliveries: 1 sent" in _check(capsys, "province")
    _feed(http_server, [KUNMING_EN])
    out = _check(capsys, "province", "wire")
    assert "wire: new (1 new, 0 changed, 0 alerts)" in out, "linked by its facts and city"
    assert [item["url"] for item in _items(state)] == [http_server.url("/zcwj/km-fund.html")]


HENAN = Post("hn", "河南省人民政府办公厅关于印发河南省区块链产业发展行动计划（2020—2022年）的通知",
             "2020-06-29", [
                 "各省辖市人民政府、济源示范区管委会，省人民政府各部门：《河南省区块链产业发展"
                 "行动计划（2020—2022年）》已经省政府同意，现印发给你们，请结合实际认真组织实施。",
                 "到2022年，我省区块链技术创新能力明显提升，郑州、洛阳两地集聚区块链企业100家以上，"
                 "建成区块链政务数据共享平台。",
                 "围绕粮食溯源、中原农产品质量追溯和跨境电商等特色领域，每年遴选一批区块链应用示范项目。"])
HUBEI = Post("hb",
             "湖北省人民政府关于印发湖北省加快区块链技术应用三年行动计划（2020—2022年）的通知",
             "2020-07-02", [
                 "各市、州、县人民政府，省政府各部门：现将本行动计划印发给你们，请遵照执行。",
                 "依托武汉国家网络安全人才与创新基地，建设光谷区块链创新中心，到2022年形成千亿级"
                 "数字经济产业集群。",
                 "推动区块链在长江航运物流、汽车制造供应商协同和医疗卫生领域落地，支持襄阳、宜昌"
                 "开展城市级应用。"])


def _notice(slug: str, province: str) -> Post:
    """A province's notice issuing its plan: on most portals, the whole page."""
    plan = f"《{province}区块链产业发展行动计划（2020—2022年）》"
    return Post(slug, f"{province}人民政府办公厅关于印发{province}区块链产业发展行动计划"
                      "（2020—2022年）的通知", "2020-06-30", [
        f"各市人民政府，省政府各部门、各直属机构：{plan}已经省政府同意，现印发给你们，"
        "请认真贯彻落实。", f"{province}人民政府办公厅", "2020年6月30日"])


def test_two_provinces_plans_with_one_horizon_in_one_week_alert_twice(
        setup: Setup, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    state = setup()
    _publish(http_server, "zcwj", [HENAN, HUBEI])
    assert "province: new (2 new, 0 changed, 2 alerts)" in _check(capsys, "province")
    items = _items(state)
    assert sorted(item["regions"][0] for item in items) == ["Henan", "Hubei"]
    assert all("2020-2022" in {f["value"] for f in item["facts"]} for item in items)
    assert all(item["also_reported_by"] == [] for item in items)


def test_two_provinces_templated_notices_alert_twice(
        setup: Setup, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    setup()
    _publish(http_server, "zcwj", [_notice("hn", "河南省"), _notice("hb", "湖北省")])
    assert "province: new (2 new, 0 changed, 2 alerts)" in _check(capsys, "province")


FEED_PLAN = Post("qd-fund", "青岛市区块链产业扶持资金管理办法", "2021-05-10", [
    "为加快区块链产业发展，青岛市人民政府设立区块链产业扶持资金。",
    "对在我市新设立的区块链企业，给予最高1000万元的落户补助。",
    "资金由市财政局、市工业和信息化局共同管理，按年度拨付。"])


def _edited(post: Post, old: str, new: str) -> Post:
    return Post(post.slug, post.title, post.date, [p.replace(old, new) for p in post.paragraphs])


def test_a_reworded_sentence_is_no_news_but_a_new_amount_is(
        setup: Setup, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    state = setup()
    _feed(http_server, [FEED_PLAN])
    assert "wire: new (1 new, 0 changed, 1 alerts)" in _check(capsys, "wire")
    reworded = _edited(FEED_PLAN, "按年度拨付", "每年拨付一次")
    _feed(http_server, [reworded])
    assert "wire: changed (0 new, 1 changed, 0 alerts)" in _check(capsys, "wire")
    assert len(_items(state)) == 1
    _feed(http_server, [_edited(reworded, "1000万元", "2000万元")])
    assert "wire: changed (0 new, 1 changed, 1 alerts)" in _check(capsys, "wire")
    first, second = _items(state)
    assert second["change"] == "changed" and second["url"] == first["url"]
    assert any("2000万元" in sentence for sentence in second["added"])
    assert any("1000万元" in sentence for sentence in second["removed"])
    assert not any("拨付" in sentence for sentence in second["added"] + second["removed"])
    assert {f["value"] for f in second["facts"] if f["kind"] == "money"} == {"20000000"}


def test_the_same_amount_written_differently_is_no_news(
        setup: Setup, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    setup()
    _feed(http_server, [FEED_PLAN])
    _check(capsys, "wire")
    _feed(http_server, [_edited(FEED_PLAN, "最高1000万元", "最高一千万元")])
    assert "wire: changed (0 new, 1 changed, 0 alerts)" in _check(capsys, "wire")
