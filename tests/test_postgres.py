"""The store on the machine's PostgreSQL (DATABASE_URL), in a schema of its own per test."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.classify.facts import find_facts
from monitor.cli import main
from monitor.detect import story_clue
from monitor.domain import Document, Match, Outcome
from monitor.store import CheckIntent, DocumentWrite, Store, make_engine, upgrade_schema
from monitor.store.database import database_url as url_for
from monitor.store.queries import MatchRow
from tests.fixture_server import FixtureServer
from tests.portal import (
    FEED_POSTS,
    GB_POSTS,
    OLD_POSTS,
    ONE_SOURCE_CONFIG,
    TOPIC_POST,
    serve_portal,
)


def test_check_and_deliver_on_postgresql(postgres_url: str, tmp_path: Path,
                                         http_server: FixtureServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(ONE_SOURCE_CONFIG.format(base=http_server.base_url), "utf-8")
    for name, value in {"MONITOR_CONFIG": str(config), "MONITOR_STATE_DIR": str(tmp_path / "s"),
                        "DATABASE_URL": postgres_url, "MONITOR_WORKERS": "0"}.items():
        monkeypatch.setenv(name, value)
    serve_portal(http_server, OLD_POSTS, GB_POSTS, FEED_POSTS)
    assert main(["check"]) == 0
    serve_portal(http_server, [TOPIC_POST, *OLD_POSTS], GB_POSTS, FEED_POSTS)
    assert main(["check"]) == 0
    assert main(["check"]) == 0
    assert len(list((tmp_path / "s" / "outbox").glob("*.eml"))) == 1
    assert not (tmp_path / "s" / "monitor.db").exists(), "PostgreSQL, not SQLite, was used"


def test_stories_join_and_alert_once_on_postgresql(postgres_url: str) -> None:
    """The story queries (bands, facts, joins) on PostgreSQL: a repost joins, a translation
    with the same facts and place joins, another province's plan does not."""
    engine = make_engine(url_for(Path("."), postgres_url))
    upgrade_schema(engine)
    store = Store(engine)
    now = datetime(2026, 3, 2, tzinfo=UTC)
    text = "昆明市设立区块链产业发展专项资金，对符合条件的项目最高给予1000万元支持。" * 3
    cases = [("https://a.example/1", "昆明出台区块链扶持措施", text, "zh", ("Yunnan",)),
             ("https://b.example/1", "昆明出台区块链扶持措施", text + "（来源：某报）", "zh",
              ("Yunnan",)),
             ("https://c.example/1", "Kunming offers blockchain subsidies",
              "Kunming will give blockchain projects up to 10 million yuan in subsidies.", "en",
              ("Yunnan",)),
             ("https://d.example/1", "贵阳出台区块链扶持措施", text.replace("昆明", "贵阳"), "zh",
              ("Guizhou",))]
    for url, title, body, language, regions in cases:
        doc = Document(url, "s", title, body, now, language, url)
        match = Match("t", ("区块链",), (), category="funding", regions=regions,
                      facts=find_facts(f"{title}\n{body}"))
        write = DocumentWrite(doc, "i", None, "new", (match,), ("ops",),
                              clue=story_clue(doc, [match], now))
        store.apply_check(CheckIntent("s", Outcome.NEW, now, writes=(write,)))
    rows: list[MatchRow] = list(store.iter_matches())
    stories = {row.document.url: row.story_url for row in rows}
    assert stories == {"https://a.example/1": "https://a.example/1",
                       "https://b.example/1": "https://a.example/1",
                       "https://c.example/1": "https://a.example/1",
                       "https://d.example/1": "https://d.example/1"}
    assert len(store.pending_alerts("ops")) == 2, "one alert per story"
    engine.dispose()
