"""Detection through the CLI on a live portal: nothing hidden by a 304, no spurious changes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from tests.conftest import UseConfig
from tests.fixture_server import FixtureServer
from tests.portal import FEED_POSTS, GB_POSTS, OLD_POSTS, OTHER_POST, TOPIC_POST, serve_portal

CONFIG = """\
version: 1
defaults: {{allow_private: true, per_host_delay: 0s}}
sources:
  - id: portal
    kind: html-list
    url: {base}/zcwj/index.html
    items: {{selector: "ul.list li"}}
    follow: true
  - id: mirror
    kind: html-list
    url: {base}/lying/index.html
    items: {{selector: "ul.list li"}}
  - id: feed
    kind: rss
    url: {base}/feed.xml
topics:
  - id: blockchain-policy
    terms: {{zh: [区块链], en: [blockchain]}}
subscriptions:
  - id: now
    mode: immediate
    channel: {{kind: file}}
"""


@pytest.fixture
def state(use_config: UseConfig, http_server: FixtureServer) -> Path:
    return use_config(CONFIG.format(base=http_server.base_url)).parent / "state"


def _check(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    main(["check"])
    lines = capsys.readouterr().out.splitlines()
    return {line.split(":")[0]: line.split(":", 1)[1].strip() for line in lines
            if not line.startswith(" ")}


def _delivered(state: Path, source: str | None = "portal") -> list[str]:
    """Titles delivered for items of `source` (None: of any source)."""
    return [item["title"] for path in sorted((state / "outbox").glob("*.json"))
            for item in json.loads(path.read_text("utf-8"))["items"]
            if source is None or item["source"] == source]


def test_item_whose_page_failed_is_retried_even_when_the_list_answers_304(
        state: Path, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    serve_portal(http_server, OLD_POSTS, GB_POSTS, FEED_POSTS)
    _check(capsys)
    serve_portal(http_server, [TOPIC_POST, *OLD_POSTS], GB_POSTS, FEED_POSTS)
    http_server.set(f"/zcwj/{TOPIC_POST.slug}.html", "busy", status=503)
    assert _check(capsys)["portal"].startswith("unchanged (0 new")
    serve_portal(http_server, [TOPIC_POST, *OLD_POSTS], GB_POSTS, FEED_POSTS)
    assert _check(capsys)["portal"].startswith("new (1 new")
    assert _delivered(state) == [TOPIC_POST.title]


def test_a_page_failing_during_the_baseline_neither_blocks_it_nor_alerts_later(
        state: Path, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    posts = [TOPIC_POST, *OLD_POSTS]
    serve_portal(http_server, posts, GB_POSTS, FEED_POSTS)
    http_server.set(f"/zcwj/{TOPIC_POST.slug}.html", "busy", status=503)
    assert "3 new" in _check(capsys)["portal"], "recorded from its list entry"
    serve_portal(http_server, posts, GB_POSTS, FEED_POSTS)
    assert _check(capsys)["portal"].startswith("not-modified")
    assert _delivered(state) == [], "documents that existed before the baseline never alert"


def test_a_page_that_never_loads_is_given_up_after_five_checks(
        state: Path, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    serve_portal(http_server, OLD_POSTS, GB_POSTS, FEED_POSTS)
    _check(capsys)
    serve_portal(http_server, [TOPIC_POST, *OLD_POSTS], GB_POSTS, FEED_POSTS)
    http_server.set(f"/zcwj/{TOPIC_POST.slug}.html", "gone", status=404)
    for _ in range(4):
        assert _check(capsys)["portal"].startswith("unchanged (0 new")
    assert _check(capsys)["portal"].startswith("new (1 new, 0 changed")
    assert _delivered(state, source=None) == [TOPIC_POST.title], (
        "alerted on its list entry's title, once: the feed's copy of it is the same story")
    assert _check(capsys)["portal"].startswith("not-modified"), "and the list is 304 again"


def test_a_url_listed_by_two_sources_is_not_a_change(
        state: Path, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    serve_portal(http_server, [TOPIC_POST, OTHER_POST, *OLD_POSTS], GB_POSTS, FEED_POSTS)
    mirror = http_server.routes["/lying/index.html"].body.decode().replace("/lying/", "/zcwj/")
    http_server.set("/lying/index.html", mirror.replace("（2020—2022年）", "…"))
    for _ in range(3):
        outcomes = _check(capsys)
        assert "0 changed" in outcomes["mirror"] and "0 changed" in outcomes["portal"]
    assert _delivered(state) == [] and _delivered(state, "mirror") == []


def test_control_characters_never_reach_the_store(
        state: Path, http_server: FixtureServer, capsys: pytest.CaptureFixture[str]) -> None:
    serve_portal(http_server, OLD_POSTS, GB_POSTS, FEED_POSTS)
    feed = http_server.routes["/feed.xml"].body.replace(b"rules for grain", b"rules\x00 for grain")
    http_server.set("/feed.xml", feed, content_type="application/rss+xml")
    assert "error" not in _check(capsys)["feed"]
    out = state.parent / "docs.jsonl"
    main(["export", "documents", "-o", str(out)])
    assert "\x00" not in out.read_text("utf-8")
    assert "rules for grain" in out.read_text("utf-8")


def test_a_baseline_reads_at_most_a_hundred_pages(
        use_config: UseConfig, http_server: FixtureServer,
        capsys: pytest.CaptureFixture[str]) -> None:
    from tests.portal import Post, detail_page, list_page
    posts = [Post(f"n{n}", f"通知{n}", "2021-01-01", ["正文。"]) for n in range(105)]
    http_server.set("/big/index.html", list_page(posts, "/big/"))
    for post in posts:
        http_server.set(f"/big/{post.slug}.html", detail_page(post))
    use_config(CONFIG.format(base=http_server.base_url).replace(
        "/zcwj/index.html", "/big/index.html"))
    assert _check(capsys)["portal"].startswith("new (105 new, 0 changed, 0 alerts)")
    pages = [r for r in http_server.received if r.path.startswith("/big/n")]
    assert len(pages) == 100, "the other 5 are recorded from their list entries"
