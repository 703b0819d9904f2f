"""The spine end to end: a live fixture portal, real SQLite, a real SMTP server, the real CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from monitor.cli import main
from tests.conftest import UseConfig
from tests.fixture_server import FixtureServer
from tests.portal import FEED_POSTS, GB_POSTS, OLD_POSTS, OTHER_POST, TOPIC_POST, serve_portal
from tests.smtp_server import Recorder, serve


@pytest.fixture
def inbox() -> Iterator[tuple[Recorder, int]]:
    handler = Recorder()
    with serve(handler) as port:
        yield handler, port


CONFIG = """
version: 1
defaults: {{interval: 1h, timeout: 5s, allow_private: true, per_host_delay: 0s}}
sources:
  - id: province-policy
    kind: html-list
    url: {base}/zcwj/index.html
    items: {{selector: "ul.list li", link: "a", date: "span"}}
    follow: true
  - id: province-gb
    kind: html-list
    url: {base}/gb/index.html
    items: {{selector: "ul.list li"}}
    follow: true
  - id: lying-charset
    kind: html-list
    url: {base}/lying/index.html
    items: {{selector: "ul.list li"}}
  - id: news-feed
    kind: rss
    url: {base}/feed.xml
topics:
  - id: blockchain-policy
    terms: {{zh: [区块链, 區塊鏈], en: [blockchain], fr: [chaîne de blocs]}}
smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none, sender: monitor@example.org}}
subscriptions:
  - id: analysts
    topics: [blockchain-policy]
    mode: digest
    schedule: "0 8 * * *"
    timezone: Asia/Shanghai
    channel: {{kind: smtp, to: [team@example.org]}}
"""


@pytest.fixture
def workspace(use_config: UseConfig, http_server: FixtureServer,
              inbox: tuple[Recorder, int]) -> Path:
    text = CONFIG.format(base=http_server.base_url, smtp_port=inbox[1])
    return use_config(text, workers=1).parent  # real worker processes here


def _parts(message: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.walk()
            if not part.is_multipart()}


def test_baseline_then_one_digest_naming_only_the_matching_item(
        workspace: Path, http_server: FixtureServer, inbox: tuple[Recorder, int],
        capsys: pytest.CaptureFixture[str]) -> None:
    handler, _ = inbox
    serve_portal(http_server, OLD_POSTS, GB_POSTS, FEED_POSTS)
    assert main(["check"]) == 0
    assert handler.messages == [], "the first check is a baseline and sends nothing"

    serve_portal(http_server, [TOPIC_POST, OTHER_POST, *OLD_POSTS], GB_POSTS, FEED_POSTS)
    assert main(["check"]) == 0
    assert len(handler.messages) == 1
    message = handler.messages[0]
    assert message.get_content_type() == "multipart/alternative"
    parts = _parts(message)
    assert set(parts) == {"text/plain", "text/html"}
    for body in parts.values():
        assert TOPIC_POST.title in body
        assert OTHER_POST.title not in body, "a menu-only mention never matches"
        assert "区块链" in body
    assert "team@example.org" in message["To"]

    assert main(["check"]) == 0
    assert len(handler.messages) == 1, "a third check sends nothing"
    outcomes = capsys.readouterr().out
    assert "province-policy: not-modified" in outcomes, "ETag sent back, 304 understood"
    assert "news-feed: unchanged" in outcomes


def test_charsets_decode_to_exact_text(workspace: Path, http_server: FixtureServer) -> None:
    serve_portal(http_server, OLD_POSTS, GB_POSTS, FEED_POSTS)
    assert main(["check"]) == 0
    out = workspace / "docs.jsonl"
    assert main(["export", "documents", "--format", "jsonl", "--output", str(out)]) == 0
    documents = {d["url"]: d for d in map(json.loads, out.read_text("utf-8").splitlines())}
    gb = documents[http_server.url("/gb/g1.html")]
    assert gb["title"] == GB_POSTS[0].title
    assert "㐀字测试" in gb["text"]
    lying_titles = {d["title"] for d in documents.values() if d["source"] == "lying-charset"}
    assert lying_titles == {OLD_POSTS[0].title, OLD_POSTS[1].title}
    assert all("\ufffd" not in d["title"] + d["text"] for d in documents.values())
    detail = documents[http_server.url("/zcwj/a1.html")]
    assert "首页" not in detail["text"] and "网站标识码" not in detail["text"]
