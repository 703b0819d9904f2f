"""Subscription filters: topics, sources, categories, regions, languages, min_score."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import Settings, parse_config
from monitor.detect import subscribers, wanted_matches
from monitor.domain import Document, Match
from monitor.errors import ConfigError
from tests.conftest import UseConfig
from tests.fixture_server import FixtureServer
from tests.portal import OLD_POSTS, Post, detail_page, list_page

TOPICS = """\
topics:
  - id: blockchain-policy
    terms: {zh: [区块链], fr: [blockchain, chaîne de blocs]}
    authorities: {zh: [人民政府, 办公厅, 印发], fr: [gouvernement, municipalité]}
    places: {zh: [全国, 我国], fr: [Chine]}
    categories:
      pilot: {zh: [试点, 名单], fr: [pilote]}
      plan: {zh: [行动计划, 实施方案], fr: [plan d'action]}
  - id: digital-yuan
    terms: {zh: [数字人民币]}
"""
SOURCES = """\
version: 1
sources:
  - {id: portal, kind: rss, url: "https://gov.example/feed.xml"}
  - {id: news, kind: rss, url: "https://news.example/feed.xml"}
"""


def settings(subscriptions: str) -> Settings:
    return parse_config(f"{SOURCES}{TOPICS}subscriptions:\n{subscriptions}", "sources.yaml", {})


def doc(source: str = "portal", language: str = "zh") -> Document:
    return Document("https://gov.example/1.html", source, "区块链", "区块链", None, language, "h")


def match(topic: str = "blockchain-policy", *, category: str | None = "plan",
          regions: tuple[str, ...] = ("Guangdong",), score: float = 0.8,
          relevant: bool = True) -> Match:
    return Match(topic, ("区块链",), (), score=score, relevant=relevant, category=category,
                 regions=regions)


def owed(filters: str, document: Document, *matches: Match) -> bool:
    config = settings(f"  - {{id: s, {filters}channel: {{kind: file}}}}\n")
    return subscribers(document, matches, config.subscriptions) == ("s",)


@pytest.mark.parametrize(("filters", "kept", "dropped"), [
    ("topics: [blockchain-policy], ", match(), match("digital-yuan", category=None)),
    ("categories: [plan], ", match(), match(category="pilot")),
    ("categories: [other], ", match("digital-yuan", category=None), match()),
    ("regions: [Beijing, Guangdong], ", match(regions=("Hebei", "Guangdong")),
     match(regions=("Hebei",))),
    ("regions: [Beijing], ", match(regions=("Beijing",)), match(regions=())),
    ("min_score: 0.7, ", match(score=0.7), match(score=0.69)),
])
def test_each_match_filter_keeps_and_drops(filters: str, kept: Match, dropped: Match) -> None:
    assert owed(filters, doc(), kept)
    assert not owed(filters, doc(), dropped)


def test_sources_and_languages_filter_the_document() -> None:
    assert owed("sources: [portal], ", doc("portal"), match())
    assert not owed("sources: [portal], ", doc("news"), match())
    assert owed("languages: [fr, en], ", doc(language="fr"), match())
    assert not owed("languages: [fr, en], ", doc(language="zh"), match())


def test_no_filters_want_any_relevant_match_and_never_an_irrelevant_one() -> None:
    assert owed("", doc(), match("digital-yuan", category=None, regions=()))
    assert not owed("", doc(), match(relevant=False))
    assert not owed("min_score: 0.1, ", doc(), match(relevant=False, score=0.9))


def test_one_match_must_pass_every_filter() -> None:
    plan_in_guangdong = match(category="plan", regions=("Guangdong",))
    pilot_in_beijing = match("digital-yuan", category="pilot", regions=("Beijing",))
    filters = "categories: [plan], regions: [Beijing], "
    assert not owed(filters, doc(), plan_in_guangdong, pilot_in_beijing)
    assert owed(filters, doc(), plan_in_guangdong, match(regions=("Beijing",)))


def test_wanted_matches_are_the_ones_that_pass() -> None:
    config = settings("  - {id: s, regions: [Beijing], channel: {kind: file}}\n")
    beijing, guangdong = match(regions=("Beijing",)), match(regions=("Guangdong",))
    assert wanted_matches(config.subscriptions[0], doc(), (guangdong, beijing)) == (beijing,)


def test_several_subscriptions_each_decide() -> None:
    config = settings("""\
  - {id: plans, categories: [plan], channel: {kind: file}}
  - {id: beijing, regions: [Beijing], channel: {kind: file}}
  - {id: french, languages: [fr], channel: {kind: file}}
  - {id: everything, channel: {kind: file}}
""")
    assert subscribers(doc(), (match(),), config.subscriptions) == ("plans", "everything")


@pytest.mark.parametrize(("filters", "message"), [
    ("categories: [plan, plans]",
     "sources.yaml:16: subscriptions[0].categories[1]: unknown category 'plans': "
     "did you mean 'plan'?"),
    ("topics: [digital-yuan], categories: [plan]",
     "sources.yaml:16: subscriptions[0].categories[0]: unknown category 'plan': "
     "expected one of other"),
    ("regions: [Guangdong, beijing]",
     "sources.yaml:16: subscriptions[0].regions[1]: unknown region 'beijing': "
     "did you mean 'Beijing'?"),
    ("regions: [Atlantis]",
     "sources.yaml:16: subscriptions[0].regions[0]: unknown region 'Atlantis': "
     "expected one of Beijing, Tianjin, Hebei"),
    ("languages: [zh-CN]",
     "sources.yaml:16: subscriptions[0].languages[0]: language 'zh-CN': documents carry "
     "primary language codes only (zh, en, fr); write 'zh'"),
])
def test_unknown_filter_values_are_config_errors(filters: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(f"  - {{id: s, {filters}, channel: {{kind: file}}}}\n")
    assert str(caught.value).startswith(message)


def test_known_filter_values_load() -> None:
    config = settings("  - {id: s, categories: [pilot, other], regions: [Hong Kong, Tibet],"
                      " languages: [zh, fr], min_score: 0.6, channel: {kind: file}}\n")
    assert config.subscriptions[0].regions == ["Hong Kong", "Tibet"]


# --- end to end: the fixture portal and `monitor check` -------------------------------------

PORTAL = """\
version: 1
defaults: {{interval: 1h, timeout: 5s, allow_private: true, per_host_delay: 0s}}
sources:
  - id: portal
    kind: html-list
    url: {base}/zcwj/index.html
    items: {{selector: "ul.list li", link: "a", date: "span"}}
    follow: true
{topics}subscriptions:
  - {{id: guangdong-plans, categories: [plan], regions: [Guangdong], channel: {{kind: file}}}}
  - {{id: beijing, regions: [Beijing], channel: {{kind: file}}}}
  - {{id: french, languages: [fr], channel: {{kind: file}}}}
  - {{id: pilots, categories: [pilot], channel: {{kind: file}}}}
  - {{id: everything, channel: {{kind: file}}}}
"""
GUANGDONG_PLAN = Post("p1", "广东省区块链产业发展行动计划（2024—2026年）", "2024-03-01", [
    "广东省人民政府办公厅印发《广东省区块链产业发展行动计划（2024—2026年）》。",
    "到2026年，全省培育区块链骨干企业50家，设立专项资金1000万元。"])
BEIJING_PILOT = Post("p2", "北京市区块链创新应用试点名单公布", "2024-03-02", [
    "北京市人民政府办公厅公布区块链创新应用试点名单，共15个项目入选。"])


def _serve(server: FixtureServer, posts: list[Post]) -> None:
    server.set("/zcwj/index.html", list_page(posts, "./"))
    for post in posts:
        server.set(f"/zcwj/{post.slug}.html", detail_page(post))


def _titles_by_subscription(outbox: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in outbox.glob("*.json"):
        payload = json.loads(path.read_text("utf-8"))
        titles = {item["title"] for item in payload["items"]}
        found.setdefault(payload["subscription"], set()).update(titles)
    return found


def test_filters_decide_who_is_told_through_a_real_check(
        use_config: UseConfig, http_server: FixtureServer) -> None:
    path = use_config(PORTAL.format(base=http_server.base_url, topics=TOPICS))
    _serve(http_server, OLD_POSTS)
    assert main(["check"]) == 0  # the baseline: nothing is owed
    _serve(http_server, [GUANGDONG_PLAN, BEIJING_PILOT, *OLD_POSTS])
    assert main(["check"]) == 0
    got = _titles_by_subscription(path.parent / "state" / "outbox")
    assert got == {
        "guangdong-plans": {GUANGDONG_PLAN.title},
        "beijing": {BEIJING_PILOT.title},
        "pilots": {BEIJING_PILOT.title},
        "everything": {GUANGDONG_PLAN.title, BEIJING_PILOT.title},
    }, "nobody subscribed to French documents hears of Chinese ones"
