"""Story rules at the store, and classifier cases from review: what must not be linked or lost."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.classify import TopicClassifier
from monitor.classify.facts import find_facts
from monitor.config import Topic, load_config
from monitor.detect import story_clue
from monitor.domain import Document, Match, Outcome
from monitor.store import CheckIntent, DocumentWrite, Store, make_engine, upgrade_schema

NOW = datetime(2026, 3, 2, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade_schema(engine)
    return Store(engine)


@pytest.fixture(scope="module")
def topic() -> Topic:
    return next(t for t in load_config(ROOT / "sources.yaml", {}).topics
                if t.id == "blockchain-policy")


def _store(store: Store, url: str, title: str, text: str, language: str,  # noqa: PLR0917
           regions: tuple[str, ...], category: str = "plan", known: int | None = None) -> int:
    doc = Document(url, "s", title, text, NOW, language, url + text)
    match = Match("t", ("区块链",), (), category=category, regions=regions,
                  facts=find_facts(f"{title}\n{text}"))
    change = "new" if known is None else "changed"
    write = DocumentWrite(doc, "i", known, change, (match,), ("ops",),
                          clue=story_clue(doc, [match], NOW))
    return store.apply_check(CheckIntent("s", Outcome.NEW, NOW, writes=(write,)))


def _stories(store: Store) -> dict[str, str]:
    return {row.document.url: row.story_url for row in store.iter_matches()}


def test_two_national_plans_sharing_end_years_are_two_stories(store: Store) -> None:
    _store(store, "https://a.example/miit", "关于加快推动区块链技术应用和产业发展的指导意见",
           "到2025年，区块链产业综合实力达到世界先进水平。到2030年，形成一批知名企业。", "zh", ())
    _store(store, "https://b.example/pbc", "金融科技发展规划（2022—2025年）",
           "到2025年，金融数字化转型取得突破；到2030年，区块链等技术广泛应用。", "zh", ())
    assert len(set(_stories(store).values())) == 2
    assert len(store.pending_alerts("ops")) == 2


def test_another_outlets_report_with_the_same_amounts_joins_the_story(store: Store) -> None:
    _store(store, "https://a.example/1", "广州黄埔区发布区块链扶持办法",
           "黄埔区对区块链企业最高给予1000万元奖励，设立10亿元产业基金，支持企业上市。", "zh",
           ("Guangdong",), "funding")
    _store(store, "https://b.example/2", "广州开发区出台区块链十条",
           "符合条件的区块链项目可获得1000万元支持，同时设立总规模10亿元的基金。", "zh",
           ("Guangdong",), "funding")
    assert len(set(_stories(store).values())) == 1
    assert len(store.pending_alerts("ops")) == 1


def test_one_provinces_two_plans_for_the_same_years_are_two_stories(store: Store) -> None:
    _store(store, "https://a.example/1", "广东省数字经济发展规划（2021—2025年）",
           "推动人工智能、区块链、大数据融合发展，建设数字政府。", "zh", ("Guangdong",))
    _store(store, "https://b.example/2", "广东省区块链产业集群行动计划（2021—2025年）",
           "培育区块链骨干企业，建设区块链创新应用示范区，完善标准体系。", "zh", ("Guangdong",))
    assert len(set(_stories(store).values())) == 2


def test_a_changed_document_is_found_by_its_new_text(store: Store) -> None:
    old = "某市区块链公共服务平台建设方案征求意见，" * 8
    new = "湖北省印发区块链产业发展行动计划，到2022年培育20家骨干企业，" * 8
    _store(store, "https://a.example/page", "区块链", old, "zh", ("Hubei",))
    _store(store, "https://a.example/page", "区块链", new, "zh", ("Hubei",), known=1)
    _store(store, "https://b.example/copy", "区块链", new, "zh", ("Hubei",))
    stories = _stories(store)
    assert stories["https://b.example/copy"] == "https://a.example/page"


def test_a_run_of_digits_is_no_fact_and_no_failure(store: Store) -> None:
    text = "设立区块链专项资金" + "1" * 5000 + "元，另设1000万元。"
    assert [f.value for f in find_facts(text)] == ["10000000"]
    assert _store(store, "https://a.example/x", "区块链资金", text, "zh", ("Yunnan",)) == 1


def test_an_issuer_named_in_the_title_is_a_government_body(topic: Topic) -> None:
    doc = Document("u", "s", "上海市经济信息化委关于支持区块链产业发展的通知",
                   "为推动本市区块链产业发展，对区块链企业给予支持。区块链应用示范项目优先。",
                   None, "zh", "h")
    (match,) = TopicClassifier([topic]).classify(doc)
    assert match.issuer == "上海市经济信息化委"
    assert not [r for r in match.reasons if r.detail == "no government body or document named"]


def test_the_national_peoples_congress_is_not_another_country(topic: Topic) -> None:
    doc = Document("u", "s", "Blockchain named in China's government work report",
                   "Premier Li presented the government work report to the National People's "
                   "Congress. The report calls for blockchain pilots in Beijing and Shanghai, "
                   "and the ministry will issue blockchain guidelines.", None, "en", "h")
    (match,) = TopicClassifier([topic]).classify(doc)
    assert match.relevant and match.category == "gov_report"
