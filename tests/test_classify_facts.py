"""The fact extractor: plan horizons, CNY amounts and counts in Chinese, English and French."""

from __future__ import annotations

import pytest

from monitor.classify._numerals import parse_chinese
from monitor.classify.facts import Fact, find_facts


def _only(text: str) -> Fact:
    (fact,) = find_facts(text)
    return fact


def _kinds(text: str, kind: str) -> list[str]:
    return [fact.value for fact in find_facts(text) if fact.kind == kind]


@pytest.mark.parametrize(("text", "value", "written"), [
    ("2020–2022", "2020-2022", "2020–2022"),
    ("2020-2022", "2020-2022", "2020-2022"),
    ("行动计划（2020—2022年）", "2020-2022", "2020—2022年"),
    ("2020至2022年", "2020-2022", "2020至2022年"),
    ("2020年至2022年", "2020-2022", "2020年至2022年"),
    ("从2020到2022年", "2020-2022", "从2020到2022年"),
    ("an action plan from 2020 to 2022.", "2020-2022", "from 2020 to 2022"),
    ("the 2020 to 2022 plan", "2020-2022", "2020 to 2022"),
    ("le plan de 2020 à 2022", "2020-2022", "de 2020 à 2022"),
    ("the 2020-22 plan", "2020-2022", "2020-22"),
    ("到2025年，培育一批企业", "2025", "到2025年"),
    ("力争至2025年底", "2025", "至2025年底"),
    ("2025年前建成", "2025", "2025年前"),
    ("by 2025, the city will", "2025", "by 2025"),
    ("by the end of 2022", "2022", "by the end of 2022"),
    ("d'ici 2022", "2022", "d'ici 2022"),
    ("d’ici à 2025", "2025", "d’ici à 2025"),
    ("d'ici la fin de 2025", "2025", "d'ici la fin de 2025"),
    ("d'ici la fin de l'année 2025", "2025", "d'ici la fin de l'année 2025"),
])
def test_horizons_are_a_year_range_or_an_end_year(text: str, value: str, written: str) -> None:
    assert _only(text) == Fact("horizon", value, "year", written)


@pytest.mark.parametrize("text", [
    "2020年1月至3月",  # months of one year
    "2020年1月至2022年3月",  # dates, not years
    "截至2020年底，共有",  # "as of", a reporting date
    "2011-12",  # December 2011 as much as 2011 to 2012
    "2020-10-01",
    "2022-2020",  # ends before it starts
    "2020-2040",  # longer than a plan
    "1980-1985",  # before 1990
    "2019年前后",  # "around 2019"
    "in 2025 the city",
])
def test_what_is_no_horizon(text: str) -> None:
    assert _kinds(text, "horizon") == []


@pytest.mark.parametrize(("text", "value", "written"), [
    ("1000万元", "10000000", "1000万元"),
    ("1,000万元", "10000000", "1,000万元"),
    ("给予最高1000万元奖励", "10000000", "1000万元"),
    ("5亿元", "500000000", "5亿元"),
    ("3.1亿元", "310000000", "3.1亿元"),
    ("3亿5000万元", "350000000", "3亿5000万元"),
    ("1.5万亿元", "1500000000000", "1.5万亿元"),
    ("5千万元", "50000000", "5千万元"),
    ("100余万元", "1000000", "100余万元"),
    ("合同金额：人民币叁佰壹拾万元整", "3100000", "人民币叁佰壹拾万元整"),
    ("一千万元", "10000000", "一千万元"),
    ("五亿元", "500000000", "五亿元"),
    ("二十万元", "200000", "二十万元"),
    ("¥3,100,000.00", "3100000", "¥3,100,000.00"),
    ("￥310万", "3100000", "￥310万"),
    ("10 million yuan", "10000000", "10 million yuan"),
    ("3.1 million yuan", "3100000", "3.1 million yuan"),
    ("RMB 3.1 million", "3100000", "RMB 3.1 million"),
    ("CNY 500 million", "500000000", "CNY 500 million"),
    ("500 million yuan", "500000000", "500 million yuan"),
    ("1.5 billion yuan", "1500000000", "1.5 billion yuan"),
    ("a ¥10m fund", "10000000", "¥10m"),
    ("10 millions de yuans", "10000000", "10 millions de yuans"),
    ("1,5 million de yuans", "1500000", "1,5 million de yuans"),
    ("500 millions de yuans", "500000000", "500 millions de yuans"),
    ("1 milliard de yuans", "1000000000", "1 milliard de yuans"),
    ("30 000 yuans", "30000", "30 000 yuans"),
    ("30\u00a0000 yuans", "30000", "30\u00a0000 yuans"),
    ("30\u202f000 yuans", "30000", "30\u202f000 yuans"),
    ("500元人民币", "500", "500元人民币"),
    ("500万元人民币", "5000000", "500万元人民币"),
    ("人民幣1000萬元", "10000000", "人民幣1000萬元"),
    ("人民幣參佰貳拾萬元整", "3200000", "人民幣參佰貳拾萬元整"),
])
def test_money_is_whole_yuan(text: str, value: str, written: str) -> None:
    assert _only(text) == Fact("money", value, "CNY", written)


@pytest.mark.parametrize("text", [
    "10 million US dollars", "$10 million", "USD 10 million", "1000万美元", "500万欧元",
    "100亿日元", "200 millions d'euros", "10 millions de dollars",
    "2020年", "电话：010-12345678", "联系电话：12345678",
    "元宇宙", "统一元数据标准", "一元化管理", "数十万元", "数百万元", "三五万元",
])
def test_what_is_no_cny_amount(text: str) -> None:
    assert _kinds(text, "money") == []


def test_an_amount_in_dollars_beside_yuan_is_left_out() -> None:
    assert _kinds("US$10 million (RMB 70 million)", "money") == ["70000000"]
    assert _kinds("10 billion yuan ($1.4 billion)", "money") == ["10000000000"]


@pytest.mark.parametrize(("text", "value", "unit", "written"), [
    ("164家", "164", "entity", "164家"),
    ("共164家单位参与", "164", "entity", "164家单位"),
    ("15个", "15", "", "15个"),
    ("15个综合性试点", "15", "zone", "15个综合性试点"),
    ("30000家企业", "30000", "enterprise", "30000家企业"),
    ("3万家企业", "30000", "enterprise", "3万家企业"),
    ("100余家", "100", "entity", "100余家"),
    ("100多家", "100", "entity", "100多家"),
    ("实施30项重点任务", "30", "item", "30项重点任务"),
    ("建设20个区块链应用场景", "20", "application", "20个区块链应用场景"),
    ("164 entities", "164", "entity", "164 entities"),
    ("15 pilot zones", "15", "zone", "15 pilot zones"),
    ("30,000 firms", "30000", "enterprise", "30,000 firms"),
    ("more than 100 enterprises", "100", "enterprise", "100 enterprises"),
    ("164 entités", "164", "entity", "164 entités"),
    ("15 zones pilotes", "15", "zone", "15 zones"),
    ("30 000 entreprises", "30000", "enterprise", "30 000 entreprises"),
    ("plus de 100 entreprises", "100", "enterprise", "100 entreprises"),
    ("16 national bodies", "16", "body", "16 national bodies"),
    ("16 organismes", "16", "body", "16 organismes"),
    ("31 provinces", "31", "province", "31 provinces"),
    ("164家單位", "164", "entity", "164家單位"),
    ("15個綜合性試點", "15", "zone", "15個綜合性試點"),
    ("3萬家企業", "30000", "enterprise", "3萬家企業"),
    ("100餘家", "100", "entity", "100餘家"),
])
def test_counts_carry_what_they_count(text: str, value: str, unit: str, written: str) -> None:
    assert _only(text) == Fact("count", value, unit, written)


def test_the_head_noun_of_a_chinese_phrase_names_the_unit() -> None:
    facts = find_facts("10个省份、5个自治区、4个城市和15个市场主体")
    assert [(f.value, f.unit) for f in facts] == [
        ("10", "province"), ("5", "region"), ("4", "city"), ("15", "entity")]


@pytest.mark.parametrize("text", [
    "增长15%的企业", "15 per cent of firms", "15 percent of enterprises", "15个百分点",
    "2020年3月", "第15个试点", "第3项任务", "Article 15 projects", "section 3 zones",
    "3个月", "3个多月", "10 years", "5年", "in 2020 projects were", "COVID-19 cases",
    "形成3至5个产业集群", "3-5 pilot zones",
])
def test_what_is_no_count(text: str) -> None:
    assert _kinds(text, "count") == []


def test_full_width_digits_and_signs_are_read_but_the_text_is_kept_as_written() -> None:
    text = "１６４家单位（２０２０－２０２２年），ＲＭＢ　３．１ million，１，０００万元"
    facts = find_facts(text)
    assert facts == (
        Fact("count", "164", "entity", "１６４家单位"),
        Fact("horizon", "2020-2022", "year", "２０２０－２０２２年"),
        Fact("money", "3100000", "CNY", "ＲＭＢ　３．１ million"),
        Fact("money", "10000000", "CNY", "１，０００万元"),
    )


def test_facts_are_distinct_in_order_of_first_appearance_up_to_the_limit() -> None:
    text = "到2025年，支持100家企业，设立1000万元资金；到2025年，再支持100家企业。15个试点。"
    assert [f.key for f in find_facts(text)] == [
        "horizon:2025", "count:100", "money:10000000", "count:15"]
    assert [f.key for f in find_facts(text, limit=2)] == ["horizon:2025", "count:100"]
    assert find_facts(text, limit=0) == ()
    assert find_facts("") == ()


def test_keys_link_a_document_and_its_translations() -> None:
    chinese = "行动计划（2020—2022年）：培育164家单位，设立1000万元基金，建设15个试点。"
    english = ("The 2020-2022 action plan: 164 entities, a fund of 10 million yuan "
               "and 15 pilot zones.")
    french = ("Le plan d'action de 2020 à 2022 : 164 entités, un fonds de 10 millions de yuans "
              "et 15 zones pilotes.")
    keys = [{fact.key for fact in find_facts(text)} for text in (chinese, english, french)]
    assert keys[0] == keys[1] == keys[2] == {
        "horizon:2020-2022", "count:164", "money:10000000", "count:15"}


def test_a_count_key_leaves_its_unit_out() -> None:
    assert Fact("count", "164", "entity", "164家").key == "count:164"
    assert Fact("money", "10000000", "CNY", "1000万元").key == "money:10000000"


@pytest.mark.parametrize(("numeral", "value"), [
    ("叁佰壹拾万", 3_100_000), ("一千零五", 1005), ("十二亿五千万", 1_250_000_000),
    ("一万亿", 10**12), ("一亿零五百万", 105_000_000), ("二〇二〇", 2020), ("十", 10),
])
def test_chinese_numerals(numeral: str, value: int) -> None:
    assert parse_chinese(numeral) == value


def test_a_chinese_numeral_range_is_no_number() -> None:
    assert parse_chinese("三五万") is None
    assert parse_chinese("三x") is None
    assert parse_chinese("") is None
