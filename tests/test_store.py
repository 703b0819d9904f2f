"""The store: one owner per URL under races, and schema upgrades that keep the data."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from monitor.domain import Document, Outcome
from monitor.store import CheckIntent, DocumentWrite, Store, make_engine, upgrade_schema
from monitor.store.database import MIGRATIONS

NOW = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


URL = "https://gov.example/plan.html"


def _new(source: str, subscriptions: tuple[str, ...] = ("ops",)) -> CheckIntent:
    doc = Document(URL, source, "区块链行动计划", "正文", None, "zh", "h")
    return CheckIntent(source, Outcome.NEW, NOW,
                       writes=(DocumentWrite(doc, "i", None, "new", (), subscriptions),))


def test_a_url_two_sources_found_new_at_once_belongs_to_the_first(store: Store) -> None:
    assert store.apply_check(_new("portal")) == 1
    assert store.apply_check(_new("mirror")) == 0, "no error, no second alert"
    (document,) = store.iter_documents()
    assert document.source_id == "portal"
    assert store.source_state("mirror").last_outcome == "new"


def test_upgrade_from_the_first_schema_keeps_deliveries(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(text(
            "INSERT INTO deliveryrecord (subscription_id, idempotency_key, status, subject, text,"
            " html, payload, attempts, next_attempt_at, created_at) VALUES ('ops', 'k1',"
            " 'pending', 's', 't', 'h', '{}', 0, '2026-01-05 08:00:00', '2026-01-05 08:00:00')"))
        connection.execute(text(
            "INSERT INTO documentrecord (url, source_id, title, text, language, item_hash,"
            " content_hash, first_seen_at) VALUES ('u', 'portal', 't', 'x', 'zh', 'i', 'c',"
            " '2026-01-05 08:00:00')"))
        connection.execute(text(
            "INSERT INTO sourcestaterecord (source_id, baseline_done, consecutive_failures)"
            " VALUES ('portal', 1, 0)"))
    upgrade_schema(engine)
    store = Store(engine)
    assert store.source_state("portal").health.last_new_at == NOW, "quiet can be judged"
    columns = {column["name"] for column in inspect(engine).get_columns("deliveryrecord")}
    assert "claimed_by" in columns and inspect(engine).has_table("followfailurerecord")
    (row,) = store.deliveries("pending")
    assert row.idempotency_key == "k1" and row.next_attempt_at == NOW
    engine.dispose()
