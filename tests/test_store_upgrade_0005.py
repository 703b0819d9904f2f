"""Upgrading a revision-0004 database to layered matches and stories keeps documents and matches."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from monitor.explain import explain_json
from monitor.store import Store, make_engine, upgrade_schema
from monitor.store.database import MIGRATIONS

URL = "https://gov.example/zcwj/plan.html"
EVIDENCE = ('[{"term": "区块链", "field": "title", "snippet": "山东省区块链产业发展行动计划"}]')


def test_upgrade_from_0004_keeps_documents_and_matches(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0004")
        connection.execute(text(
            "INSERT INTO documentrecord (url, source_id, title, text, published, language,"
            " item_hash, content_hash, first_seen_at) VALUES (:url, 'portal',"
            " '山东省区块链产业发展行动计划', '推动区块链发展。', '2020-06-30 01:00:00', 'zh', 'i',"
            " 'c', '2026-01-05 08:00:00')"), {"url": URL})
        connection.execute(text(
            "INSERT INTO matchrecord (document_id, topic_id, terms, evidence, matched_at)"
            " VALUES (1, 'blockchain-policy', '[\"区块链\"]', :evidence,"
            " '2026-01-05 08:00:00')"), {"evidence": EVIDENCE})
    upgrade_schema(engine)
    assert inspect(engine).has_table("storyprintrecord")
    store = Store(engine)
    stored = store.stored_document(URL)
    assert stored is not None and stored.document.title == "山东省区块链产业发展行动计划"
    (match,) = stored.matches
    assert (match.score, match.relevant, match.terms) == (1.0, True, ("区块链",))
    assert match.evidence[0].snippet == "山东省区块链产业发展行动计划"
    assert (match.category, match.regions, match.facts, match.reasons) == (None, (), (), ())
    assert [row.document.url for row in store.iter_matches("blockchain-policy")] == [URL]
    assert explain_json(stored)["story"] == URL, "an old document is a story of its own"
    engine.dispose()
