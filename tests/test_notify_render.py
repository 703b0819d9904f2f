"""DigestRenderer: subjects, escaping, highlighting, overrides; helpers for other notify tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.domain import Digest, DigestItem, Evidence, OutboundMessage
from monitor.errors import ConfigError
from monitor.notify.render import DigestRenderer, default_template_dirs, highlight

NOW = datetime(2024, 5, 6, 8, 0, tzinfo=UTC)
CHINESE_TITLE = "中国人民银行关于进一步防范和处置虚拟货币交易炒作风险的通知"


def make_item(title: str = CHINESE_TITLE, *, index: int = 0, change: str = "new",
              topics: tuple[str, ...] = ("crypto-ban",)) -> DigestItem:
    return DigestItem(
        url=f"https://www.pbc.gov.cn/doc/{index}.html?a=1&b=2",
        title=title,
        source_id="pbc",
        source_name="中国人民银行",
        published=datetime(2024, 5, 1, tzinfo=UTC),
        language="zh",
        change=change,
        topics=topics,
        evidence=(Evidence("虚拟货币", "title", f"关于…防范和处置虚拟货币交易炒作风险{index}"),),
    )


def make_digest(count: int = 1, *, omitted: int = 0, title: str = CHINESE_TITLE) -> Digest:
    items = tuple(make_item(title, index=i) for i in range(count))
    return Digest("alice", "digest", items, NOW, omitted)


def make_outbound(digest: Digest | None = None, *, delivery_id: int = 7) -> OutboundMessage:
    rendered = DigestRenderer(default_template_dirs()).render(digest or make_digest(2))
    return OutboundMessage(delivery_id, f"alice-{delivery_id}-k3y", "alice", rendered, NOW)


def render(digest: Digest) -> tuple[str, str, str]:
    message = DigestRenderer(default_template_dirs()).render(digest)
    return message.subject, message.text, message.html


def test_subject_counts_items_and_names_topics() -> None:
    items = (make_item(index=0), make_item(index=1, topics=("stablecoin",)), make_item(index=2))
    subject, _, _ = render(Digest("alice", "digest", items, NOW))
    assert subject == "3 new blockchain policy documents: crypto-ban, stablecoin"


def test_subject_for_one_item_is_its_title_and_short() -> None:
    assert render(make_digest(1))[0] == f"New blockchain policy document: {CHINESE_TITLE}"
    long_subject = render(make_digest(1, title="链" * 400))[0]
    assert len(long_subject) <= 150
    assert long_subject.endswith("…")


def test_subject_for_mixed_changes() -> None:
    items = (make_item(index=0), make_item(index=1, change="changed"))
    assert render(Digest("a", "digest", items, NOW))[0].startswith("2 new or changed ")


def test_chinese_title_renders_intact() -> None:
    _, text, html = render(make_digest(2))
    assert CHINESE_TITLE in text
    assert CHINESE_TITLE in html


def test_html_escapes_titles_but_text_keeps_them() -> None:
    title = "<script>alert(1)</script> R&D > 0"
    _, text, html = render(make_digest(1, title=title))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; R&amp;D &gt; 0" in html
    assert title in text
    assert 'href="https://www.pbc.gov.cn/doc/0.html?a=1&amp;b=2"' in html


def test_matched_term_is_highlighted() -> None:
    _, text, html = render(make_digest(1))
    assert "<mark" in html and ">虚拟货币</mark>" in html
    assert "«虚拟货币»" in text


def test_highlight_is_case_insensitive_and_keeps_other_text() -> None:
    segments = highlight("A Stablecoin and STABLECOIN.", "stablecoin")
    assert segments == (("A ", False), ("Stablecoin", True), (" and ", False),
                        ("STABLECOIN", True), (".", False))


def test_omitted_items_end_the_message() -> None:
    subject, text, html = render(make_digest(2, omitted=3))
    assert subject.startswith("5 new ")
    assert text.rstrip().endswith("…and 3 more")
    assert "and 3 more" in html.split("</a>")[-1]


def test_payload_is_versioned_json() -> None:
    message = DigestRenderer(default_template_dirs()).render(make_digest(1, omitted=2))
    payload = message.payload
    assert payload["version"] == 1
    assert payload["subscription"] == "alice"
    assert payload["generated_at"] == "2024-05-06T08:00:00+00:00"
    assert payload["omitted"] == 2
    assert payload["items"] == [{
        "url": "https://www.pbc.gov.cn/doc/0.html?a=1&b=2", "title": CHINESE_TITLE,
        "source": "pbc", "source_name": "中国人民银行", "published": "2024-05-01T00:00:00+00:00",
        "language": "zh", "change": "new", "topics": ["crypto-ban"],
        "evidence": [{"term": "虚拟货币", "field": "title",
                      "snippet": "关于…防范和处置虚拟货币交易炒作风险0"}],
        "added": [], "removed": [], "category": None, "regions": [], "facts": [],
        "score": None, "also_reported_by": [],
    }]
    assert payload["more"] == []


def test_user_template_dir_overrides_ours(tmp_path: Path) -> None:
    (tmp_path / "digest.txt.j2").write_text("{{ total }} docs for {{ digest.subscription_id }}")
    message = DigestRenderer([tmp_path, *default_template_dirs()]).render(make_digest(2))
    assert message.text == "2 docs for alice"
    assert "<mark" in message.html  # ours still serves what the user did not override


def test_default_template_dirs_finds_the_repository_templates() -> None:
    dirs = default_template_dirs()
    assert any((directory / "digest.html.j2").is_file() for directory in dirs)


def test_empty_digest_renders() -> None:
    subject, text, html = render(Digest("alice", "digest", (), NOW))
    assert subject == "No new blockchain policy documents"
    assert "0 documents" in text and "0 documents" in html


def test_broken_user_template_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "digest.txt.j2").write_text("line one\n{% for x in %}\n")
    with pytest.raises(ConfigError, match=r"digest.txt.j2:2: template syntax error"):
        DigestRenderer([tmp_path, *default_template_dirs()]).render(make_digest(1))


def test_unknown_variable_in_user_template_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "digest.txt.j2").write_text("{{ nonsense }}")
    with pytest.raises(ConfigError, match="nonsense"):
        DigestRenderer([tmp_path, *default_template_dirs()]).render(make_digest(1))
