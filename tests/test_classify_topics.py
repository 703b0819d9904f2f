"""The shipped blockchain-policy topic on short documents of each kind it must catch or drop."""

from __future__ import annotations

import functools
from pathlib import Path

from monitor.classify import TopicClassifier
from monitor.config import load_config
from monitor.domain import Document, Fact, Match

TOPIC = "blockchain-policy"


@functools.cache
def _classifier() -> TopicClassifier:
    settings = load_config(Path(__file__).parents[1] / "sources.yaml", {})
    return TopicClassifier([topic for topic in settings.topics if topic.id == TOPIC])


def _match(title: str, text: str, language: str = "zh") -> Match | None:
    document = Document("https://gov.example/doc.html", "portal", title, text, None, language,
                        "h")
    matches = {match.topic_id: match for match in _classifier().classify(document)}
    return matches.get(TOPIC)


def _relevant(title: str, text: str, language: str = "zh") -> Match:
    match = _match(title, text, language)
    assert match is not None, "the topic's terms occur"
    assert match.relevant, [(r.signal, r.detail) for r in match.reasons]
    assert 0.0 <= match.score <= 1.0
    return match


def _dropped(title: str, text: str, language: str) -> Match:
    match = _match(title, text, language)
    assert match is not None, "the topic's terms occur, so the topic is matched and explained"
    assert not match.relevant
    return match


def _facts(match: Match, kind: str) -> set[str]:
    return {fact.value for fact in match.facts if fact.kind == kind}


def _explained_by(match: Match, *signals: str) -> bool:
    return any(reason.signal in signals for reason in match.reasons)


# --- what the topic must catch -----------------------------------------------------------------

PLAN_TITLE = "山东省人民政府办公厅关于印发山东省区块链产业发展行动计划（2020—2022年）的通知"
PLAN_TEXT = (
    "各市人民政府，省政府各部门、各直属机构：《山东省区块链产业发展行动计划（2020—2022年）》"
    "已经省政府同意，现印发给你们，请认真贯彻落实。"
    "为抢抓区块链技术发展机遇，推动区块链与实体经济深度融合，结合我省实际，制定本行动计划。"
    "到2022年，全省区块链产业规模明显壮大，在济南、青岛建设区块链产业园区，培育区块链骨干企业"
    "30家以上，打造50个以上区块链典型应用场景。重点任务：推进区块链在政务服务、金融、医疗、"
    "物流等领域的应用；建设全省统一的区块链基础设施；加强区块链人才培养。"
    "省发展改革委、省工业和信息化厅负责统筹协调。")


def test_a_provincial_action_plan_is_a_plan_of_its_province_with_horizon_and_issuer() -> None:
    match = _relevant(PLAN_TITLE, PLAN_TEXT)
    assert match.category == "plan"
    assert match.regions[0] == "Shandong"
    assert "2020-2022" in _facts(match, "horizon")
    assert match.issuer == "山东省人民政府办公厅"
    assert any(e.field == "title" and e.term == "区块链" for e in match.evidence)


def test_a_work_report_naming_the_topic_once_is_a_gov_report() -> None:
    match = _relevant("2021年河南省政府工作报告", (
        "——2021年1月20日在河南省第十三届人民代表大会第五次会议上。各位代表：现在，我代表省人民"
        "政府，向大会报告政府工作，请予审议。一、2020年工作回顾。过去一年，全省经济运行稳中向好，"
        "脱贫攻坚取得决定性胜利。二、2021年主要任务。加快数字经济发展，推进5G网络、数据中心、"
        "区块链等新型基础设施建设，壮大郑州、洛阳国家级开发区。三、持续保障和改善民生，稳定和扩大"
        "就业，办好各项民生实事。"))
    assert match.category == "gov_report"
    assert match.regions[0] == "Henan"
    assert match.mentions == 1


def test_a_national_pilot_list_is_a_pilot_with_its_counts() -> None:
    match = _relevant("中央网信办等十六部门关于公布国家区块链创新应用试点名单的通知", (
        "各省、自治区、直辖市网信办、党委宣传部、发展改革委、工业和信息化主管部门：根据《关于组织"
        "申报区块链创新应用试点的通知》，经地方推荐、专家评审，确定15个综合性试点区域和164家特色"
        "领域试点单位，现将名单予以公布。各试点区域和单位要按照试点方案，在区块链+制造、区块链+"
        "能源、区块链+政务服务等领域探索可复制可推广的经验。附件：国家区块链创新应用试点名单。"))
    assert match.category == "pilot"
    assert {"15", "164"} <= _facts(match, "count")
    assert match.issuer is not None and match.issuer.startswith("中央网信办")


def test_a_city_subsidy_is_funding_with_its_ceiling_in_yuan_and_its_province() -> None:
    match = _relevant("昆明市人民政府关于印发昆明市加快区块链产业发展若干政策措施的通知", (
        "各县（市）区人民政府，市政府各委、办、局：现将《昆明市加快区块链产业发展若干政策措施》"
        "印发给你们，请认真贯彻执行。对新落户我市的区块链企业，按其实际投资额的10%给予补助，"
        "最高1000万元。对获评国家级区块链创新应用试点的项目，给予一次性奖励。本措施由市工业和"
        "信息化局负责解释，自印发之日起施行。"))
    assert match.category == "funding"
    assert Fact("money", "10000000", "CNY", "1000万元") in match.facts
    assert match.regions[0] == "Yunnan", "Kunming is Yunnan's capital"


def test_an_award_notice_is_procurement() -> None:
    match = _relevant("贵阳市大数据发展管理局区块链政务服务平台建设项目中标公告", (
        "一、项目编号：GYDSJ-2021-018。二、项目名称：区块链政务服务平台建设项目。三、中标信息："
        "中标供应商名称：某某信息技术有限公司，中标金额：人民币386.5万元。四、主要标的信息：区块链"
        "底层平台一套、电子证照上链服务、运维服务三年。五、采购人信息：贵阳市大数据发展管理局。"))
    assert match.category == "procurement"
    assert match.regions[0] == "Guizhou"
    assert "3865000" in _facts(match, "money")


def test_an_english_report_of_a_provincial_plan() -> None:
    match = _relevant("Hubei unveils three-year action plan to grow its blockchain industry", (
        "WUHAN, Oct. 12 - The Hubei provincial government has released an action plan to develop "
        "the province's blockchain industry over 2021-2023, according to a document published on "
        "Monday by the provincial department of economy and information technology. The plan aims "
        "to cultivate 20 leading blockchain enterprises and build two blockchain industrial parks "
        "in Wuhan by 2023. It calls for blockchain applications in government services, logistics "
        "and healthcare. Officials said the plan follows China's national push to make blockchain "
        "a core technology for innovation."), "en")
    assert match.category == "plan"
    assert match.regions[0] == "Hubei"
    assert "2021-2023" in _facts(match, "horizon")


def test_a_french_article_on_beijings_plan() -> None:
    match = _relevant("Pékin publie un plan d'action pour la blockchain", (
        "La municipalité de Pékin a dévoilé un plan d'action destiné à faire de la capitale "
        "chinoise un centre de l'innovation en matière de blockchain d'ici 2022. Selon le "
        "document publié par le gouvernement municipal, la ville entend construire une "
        "infrastructure de blockchain ouverte et soutenir une centaine d'applications dans les "
        "services publics et la finance. Les autorités chinoises considèrent la blockchain comme "
        "une technologie stratégique."),
        "fr")
    assert match.category == "plan"
    assert match.regions[0] == "Beijing"
    assert "2022" in _facts(match, "horizon")


# --- what looks like the topic but is not ------------------------------------------------------


def test_bitcoin_price_news_mentioning_china_is_not_policy() -> None:
    match = _dropped("Bitcoin price jumps 8% as traders shrug off China worries", (
        "Bitcoin rallied above $45,000 on Tuesday, with traders betting that selling pressure from "
        "Chinese miners had eased. Ether also climbed 6%. Analysts said trading volume on major "
        "exchanges rose sharply as the market recovered from last week's crash. The blockchain's "
        "hashrate has recovered since Chinese authorities told miners to shut down in June."), "en")
    assert _explained_by(match, "guard", "gate")


def test_an_exchange_hack_is_not_policy() -> None:
    title = "Hackers drain $30 million from crypto exchange in blockchain bridge exploit"
    match = _dropped(title, (
        "A cryptocurrency exchange said on Sunday that hackers had stolen tokens worth about "
        "$30 million after exploiting a flaw in a blockchain bridge. The exchange suspended "
        "withdrawals and said it would cover users' losses. Security researchers traced the stolen "
        "funds to several wallets. It is the third major hack of the year, analysts said."), "en")
    assert _explained_by(match, "guard", "gate")


def test_a_mining_ban_is_not_blockchain_policy() -> None:
    match = _dropped("内蒙古自治区发展和改革委员会关于坚决打击虚拟货币挖矿行为的通知", (
        "各盟市发展改革委：为贯彻落实国家关于打击比特币挖矿和交易行为的部署，现就全面清理虚拟货币"
        "挖矿项目通知如下。一、全面排查辖区内利用区块链技术从事虚拟货币挖矿的矿场，发现一起，关停"
        "一起。二、对违规为挖矿项目供电的企业依法处理。三、鼓励举报矿机违规运行行为。"), "zh")
    assert _explained_by(match, "guard", "gate")
    assert match.regions[:1] == ("Inner Mongolia",), "still placed, for explain and reports"


def test_us_and_eu_blockchain_policy_is_not_about_china() -> None:
    title = "European Commission proposes blockchain strategy as US Congress weighs rules"
    match = _dropped(title, (
        "The European Commission on Wednesday set out a strategy to support blockchain in "
        "Europe, including a European Blockchain Services Infrastructure for public services. In "
        "Washington, members of Congress introduced a bill asking the Department of Commerce to "
        "study blockchain applications. Officials in Germany and France welcomed the plan."), "en")
    assert any(r.signal == "gate" and "country" in r.detail for r in match.reasons)
    assert match.regions == ()


def test_an_ai_plan_naming_blockchain_once_in_a_list_is_a_passing_mention() -> None:
    match = _dropped("某省新一代人工智能产业发展三年行动计划（2020—2022年）", (
        "为加快新一代人工智能产业发展，省政府制定本行动计划。到2022年，全省人工智能核心产业规模"
        "超过500亿元，培育人工智能骨干企业50家。重点任务：突破智能芯片、机器学习、计算机视觉等关键"
        "技术，推动人工智能与5G、大数据、区块链、物联网融合发展。在智能制造、智慧医疗领域打造一批"
        "应用示范。省发展改革委、省科技厅负责统筹推进。"), "zh")
    assert any(r.signal == "gate" and "passing" in r.detail for r in match.reasons)
    assert match.mentions == 1


def test_a_supply_chain_notice_without_the_topic_matches_nothing() -> None:
    assert _match("关于做好2021年重点企业供应链保障工作的通知", (
        "各市商务局：为稳定产业链供应链，保障重点企业生产经营，现就有关事项通知如下。一、建立重点"
        "企业供应链联系制度。二、协调解决物流运输、原材料供应等问题。三、每周报送供应链运行情况。"
    )) is None
