"""The topic classifier with terms alone: where terms count, word boundaries, evidence."""

from __future__ import annotations

from monitor.classify import TopicClassifier
from monitor.config import Topic
from monitor.domain import Document

TOPIC = Topic(id="blockchain-policy",
              terms={"zh": ["区块链"], "en": ["blockchain"], "fr": ["chaîne de blocs"]})


def _classify(title: str, text: str = "") -> list[tuple[str, str, str]]:
    document = Document("https://gov.example/a", "s", title, text, None, "zh", "h")
    return [(e.term, e.field, e.snippet) for match in TopicClassifier([TOPIC]).classify(document)
            for e in match.evidence]


def test_terms_in_any_language_match_title_and_text() -> None:
    assert [t for t, _, _ in _classify("北京市区块链创新发展行动计划")] == ["区块链"]
    assert [t for t, _, _ in _classify("Plan", "La Chaîne de blocs en Chine")] == [
        "chaîne de blocs"]
    assert [t for t, _, _ in _classify("Blockchains in Hubei")] == ["blockchain"]


def test_latin_terms_need_a_word_start_but_may_follow_chinese() -> None:
    assert _classify("tokenblockchain listing") == []
    assert [t for t, _, _ in _classify("推进blockchain应用")] == ["blockchain"]
    assert [t for t, _, _ in _classify("ｂｌｏｃｋｃｈａｉｎ ｐｉｌｏｔ")] == ["blockchain"]


def test_snippets_keep_the_documents_own_punctuation() -> None:
    ((_, field, snippet),) = _classify("某省区块链行动计划（2020—2022年），现予印发")
    assert field == "title" and snippet == "某省区块链行动计划（2020—2022年），现予印发"


def test_hits_already_shown_in_a_snippet_get_no_snippet_of_their_own() -> None:
    text = "推动区块链技术和区块链产业发展。" + "其他内容。" * 40 + "设立区块链专项资金。"
    snippets = [s for _, field, s in _classify("通知", text) if field == "text"]
    assert len(snippets) == 2
    assert snippets[0].startswith("推动区块链技术和区块链产业") and "专项资金" in snippets[1]


def test_no_term_no_match() -> None:
    assert _classify("关于做好防汛抗旱工作的通知", "供应链金融") == []
