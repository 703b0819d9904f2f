"""The `page` kind: one page as one item, its change detected, and the sentence diff."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config.models import PageSource
from monitor.domain import Fetched
from monitor.errors import ExtractError
from monitor.sources.page import extract_page, sentence_diff, sentences
from tests.conftest import UseConfig
from tests.fixture_server import FixtureServer

FIXTURES = Path(__file__).parent / "fixtures" / "sources"
URL = "https://www.example.gov.cn/hdjl/qa.html"
SOURCE = PageSource(kind="page", id="qa", url=URL + "?spm=nav")


def page(name: str) -> str:
    fetched = Fetched(url=URL + "?from=redirect", status=200,
                      content_type="text/html; charset=utf-8",
                      body=(FIXTURES / name).read_bytes())
    [item] = extract_page(fetched, SOURCE)
    return item.text


def test_whole_main_text_is_one_item_at_the_configured_url() -> None:
    fetched = Fetched(url=URL, status=200, content_type="text/html",
                      body=(FIXTURES / "page_v1.html").read_bytes())
    [item] = extract_page(fetched, SOURCE)

    assert item.url == URL  # canonical: tracking parameter dropped
    assert item.title == "区块链产业政策问答"
    assert item.language == "zh"
    assert item.text.startswith("本市支持区块链技术")
    assert item.text.endswith("咨询电话：010-12345678。")
    assert "首页" not in item.text and "版权所有" not in item.text


def test_page_without_text_is_an_extract_error() -> None:
    empty = Fetched(url=URL, status=200, content_type="text/html",
                    body=b"<html><body><nav><a href='/'>home</a></nav></body></html>")
    with pytest.raises(ExtractError):
        extract_page(empty, SOURCE)


def test_page_change_gives_added_and_removed_sentences() -> None:
    added, removed = sentence_diff(page("page_v1.html"), page("page_v2.html"))
    assert added == ["单个项目最高补助300万元。", "申报截止日期延长至2024年7月31日。",
                     "跨省合作项目可联合申报。"]
    assert removed == ["单个项目最高补助200万元。", "申报截止日期为2024年6月30日。",
                       "咨询电话：010-12345678。"]


@pytest.mark.parametrize(("old", "new", "added", "removed"), [
    ("一。二。", "一。二。", [], []),
    ("", "First. Second!", ["First.", "Second!"], []),
    ("Keep this. Drop this?", "Keep this.", [], ["Drop this?"]),
    ("A。B。C。", "C。A。B。", ["C。"], ["C。"]),  # a moved sentence shows as removed and added
])
def test_sentence_diff(old: str, new: str, added: list[str], removed: list[str]) -> None:
    assert sentence_diff(old, new) == (added, removed)


def test_sentences_split_on_terminators_and_lines_not_inside_numbers_or_hosts() -> None:
    text = "补助3.5万元。真的吗？是的！See www.example.gov.cn now. Done\n新的一行"
    assert sentences(text) == ["补助3.5万元。", "真的吗？", "是的！",
                               "See www.example.gov.cn now.", "Done", "新的一行"]


CONFIG = """\
version: 1
sources:
  - id: qa
    kind: page
    url: {base}/hdjl/qa.html
topics:
  - id: blockchain
    terms: {{zh: [区块链]}}
defaults: {{allow_private: true, per_host_delay: 0s}}  # the test server is on 127.0.0.1
"""


def test_a_changed_page_is_reported_changed(
        use_config: UseConfig, http_server: FixtureServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    use_config(CONFIG.format(base=http_server.base_url))
    http_server.set("/hdjl/qa.html", (FIXTURES / "page_v1.html").read_bytes())
    assert main(["check"]) == 0
    assert "qa: new (1 new" in capsys.readouterr().out
    assert main(["check"]) == 0
    assert "qa: unchanged" in capsys.readouterr().out

    http_server.set("/hdjl/qa.html", (FIXTURES / "page_v2.html").read_bytes())
    assert main(["check"]) == 0
    assert "qa: changed (0 new, 1 changed" in capsys.readouterr().out


def test_a_changed_page_alerts_with_the_sentences_added_and_removed(
        use_config: UseConfig, http_server: FixtureServer, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    text = CONFIG.format(base=http_server.base_url) + (
        "subscriptions:\n  - {id: now, mode: immediate, channel: {kind: file}}\n")
    use_config(text)
    http_server.set("/hdjl/qa.html", (FIXTURES / "page_v1.html").read_bytes())
    assert main(["check"]) == 0
    http_server.set("/hdjl/qa.html", (FIXTURES / "page_v2.html").read_bytes())
    assert main(["check"]) == 0
    (sent,) = sorted((tmp_path / "state" / "outbox").glob("*.json"))
    (item,) = json.loads(sent.read_text("utf-8"))["items"]
    assert item["change"] == "changed"
    assert "单个项目最高补助300万元。" in item["added"]
    assert "单个项目最高补助200万元。" in item["removed"]
    bodies = _bodies(sent.with_suffix(".eml"))
    (plain,), (html,) = bodies["text/plain"], bodies["text/html"]
    assert "+ 单个项目最高补助300万元。" in plain and "− 单个项目最高补助200万元。" in plain
    assert "单个项目最高补助300万元。" in html and "line-through" in html
    capsys.readouterr()


def _bodies(path: Path) -> dict[str, list[str]]:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    bodies: dict[str, list[str]] = {}
    for part in message.walk():
        if not part.is_multipart():
            bodies.setdefault(part.get_content_type(), []).append(part.get_content())
    return bodies
