"""Upgrades: a database left by an earlier release is migrated at start-up and keeps working.

The databases in tests/fixtures/releases were made by the releases themselves (make_fixtures.py):
a baseline, then a blockchain plan alerted, its digest sent to `files` and still pending for
`hook`. The current code must bring each to the Alembic head, keep every row, announce nothing
twice, send the pending digest and announce the next new item once.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from monitor.cli import main
from monitor.store.database import MIGRATIONS
from tests.fixtures.releases.frozen_portal import (
    BASE,
    CONFIG,
    NEXT,
    REPOST,
    REWORDED,
    UPDATE,
    PortalServer,
    hook_ids,
    serve,
)
from tests.fixtures.releases.make_fixtures import PG_SCHEMA

RELEASES = Path(__file__).parent / "fixtures" / "releases"
SQLITE = sorted(RELEASES.glob("*.sqlite"))
DUMPS = sorted(RELEASES.glob("*.postgres.sql"))
PG_SERVER = "postgresql://postgres@127.0.0.1:5432/test"
PLAN = (f"{BASE}/zcwj/b1.html", "某省区块链技术创新发展行动计划（2020—2022年）")
NEW = (f"{BASE}/zcwj/c1.html", "关于公布第二批数字政府区块链应用试点单位名单的通知")
# Messages composed when the fixture was made are older than the default max_age (2 days);
# an operator upgrading keeps them deliverable by raising it (else they go to `dead`).
KEEP_OLD_MESSAGES = "delivery: {max_age: 3650d}\n"

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Snapshot:
    """The rows of the tables every release has, by natural key, in columns of schema 0004."""

    documents: dict[str, Row]  # url → title, text, published, language, hashes, seen, changed
    matches: dict[tuple[str, str], Row]  # (url, topic) → terms, evidence, matched_at
    alerts: set[Row]  # subscription, url, change, created_at, delivery key
    deliveries: dict[str, Row]  # idempotency key → subscription, status, subject, text, …


@pytest.fixture
def portal() -> Iterator[PortalServer]:
    server = PortalServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixtures' config (plus KEEP_OLD_MESSAGES) and a state dir, as the CLI sees them."""
    config = tmp_path / "sources.yaml"
    config.write_text(CONFIG.read_text("utf-8") + KEEP_OLD_MESSAGES, "utf-8")
    state = tmp_path / "state"
    state.mkdir()
    for name, value in {"MONITOR_CONFIG": str(config), "MONITOR_STATE_DIR": str(state),
                        "MONITOR_WORKERS": "0"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return state


@pytest.fixture
def pg_release(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
               workspace: Path) -> Iterator[str]:
    """The release's PostgreSQL dump loaded into a schema of its own; DATABASE_URL set to it."""
    schema = f"monitor_upgrade_{uuid.uuid4().hex[:12]}"
    dump: Path = request.param
    try:
        with psycopg.connect(PG_SERVER) as connection:  # psql's plain SQL, run as one script
            connection.execute(dump.read_text("utf-8").replace(PG_SCHEMA, schema).encode())
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (.ci/run starts it)")
    url = f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("DATABASE_URL", url)
    yield url.replace("postgresql://", "postgresql+psycopg://")
    with psycopg.connect(PG_SERVER) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE'.encode())


@pytest.mark.parametrize("fixture", SQLITE, ids=lambda path: path.stem)
def test_check_upgrades_a_release_database(fixture: Path, workspace: Path,
                                           portal: PortalServer) -> None:
    shutil.copy(fixture, workspace / "monitor.db")
    check_after_upgrade(f"sqlite:///{workspace / 'monitor.db'}", workspace, portal)


@pytest.mark.parametrize("pg_release", DUMPS, ids=lambda path: path.name.split(".")[0],
                         indirect=True)
def test_check_upgrades_a_release_database_on_postgresql(pg_release: str, workspace: Path,
                                                         portal: PortalServer) -> None:
    check_after_upgrade(pg_release, workspace, portal)
    assert not (workspace / "monitor.db").exists(), "PostgreSQL, not SQLite, was used"


@pytest.mark.parametrize("fixture", SQLITE, ids=lambda path: path.stem)
def test_start_up_migrates_without_polling(fixture: Path, workspace: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`monitor status` builds the App as `monitor run` does: the schema is upgraded there."""
    shutil.copy(fixture, workspace / "monitor.db")
    url = f"sqlite:///{workspace / 'monitor.db'}"
    old = snapshot(url)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "portal: new at " in out and "0 failure(s) in a row" in out
    assert "deliveries pending: 1\ndeliveries sent: 1\ndeliveries dead: 0" in out
    assert schema_at_head(url)
    assert snapshot(url) == old


@pytest.mark.parametrize("fixture", SQLITE, ids=lambda path: path.stem)
def test_a_reworded_known_plan_is_stored_not_announced(fixture: Path, workspace: Path,
                                                       portal: PortalServer,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """README: a reworded paragraph (same category and figures) is stored but not announced."""
    url = _upgrade_and_check(fixture, workspace, portal, REWORDED)
    assert "portal: changed (0 new, 1 changed, 0 alerts)" in capsys.readouterr().out
    assert snapshot(url).documents[PLAN[0]][0] == PLAN[1] + "（修订）"


@pytest.mark.parametrize("fixture", SQLITE, ids=lambda path: path.stem)
def test_a_repost_of_a_known_plan_joins_its_story(fixture: Path, workspace: Path,
                                                  portal: PortalServer,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """README: a near-duplicate of a stored document joins its story: no second alert."""
    url = _upgrade_and_check(fixture, workspace, portal, REPOST)
    assert "portal: new (1 new, 0 changed, 0 alerts)" in capsys.readouterr().out
    assert f"{BASE}/zcwj/b3.html" in snapshot(url).documents


def _upgrade_and_check(fixture: Path, state: Path, portal: PortalServer, portal_state: str) -> str:
    shutil.copy(fixture, state / "monitor.db")
    serve(portal, portal_state)
    assert main(["check"]) == 0
    return f"sqlite:///{state / 'monitor.db'}"


def check_after_upgrade(url: str, state: Path, portal: PortalServer) -> None:
    """The user's path: upgrade on the first check, then a new item, then nothing more."""
    old = snapshot(url)
    pending = [key for key, row in old.deliveries.items() if row[1] == "pending"]
    assert len(pending) == 1 and PLAN[0] in old.documents
    serve(portal, UPDATE)  # the portal as the release last saw it
    assert main(["check"]) == 0
    assert schema_at_head(url)
    upgraded = snapshot(url)
    assert_kept(old, upgraded)
    assert hook_ids(portal) == pending, "the old pending digest went out, with its old key"
    assert not list((state / "outbox").glob("*.eml")), "nothing new for files"

    serve(portal, NEXT)
    assert main(["check"]) == 0
    assert main(["check"]) == 0
    assert_new_item_delivered_once(upgraded, snapshot(url), state, portal)


def assert_kept(old: Snapshot, new: Snapshot) -> None:
    """Every old row is there unchanged; no alert was added; the pending digest is sent."""
    assert new.documents == old.documents
    assert new.matches == old.matches
    assert new.documents[PLAN[0]][0] == PLAN[1]
    assert json.loads(new.matches[PLAN[0], "blockchain-policy"][0]) == ["区块链"]
    assert new.alerts == old.alerts, "no known document was announced again"
    assert new.deliveries.keys() == old.deliveries.keys()
    for key, row in old.deliveries.items():
        sent_now = new.deliveries[key]
        assert sent_now[0] == row[0] and sent_now[2:4] == row[2:4]
        assert sent_now[1] == "sent", f"delivery {key} of {row[0]} is {sent_now[1]}"
        assert row[1] == "pending" or sent_now == row


def assert_new_item_delivered_once(before: Snapshot, after: Snapshot, state: Path,
                                   portal: PortalServer) -> None:
    assert set(after.documents) - set(before.documents) == {NEW[0]}
    assert after.documents[NEW[0]][0] == NEW[1]
    assert set(after.matches) - set(before.matches) == {(NEW[0], "blockchain-policy")}
    added = after.alerts - before.alerts
    assert sorted((alert[0], alert[1], alert[2]) for alert in added) == [
        ("files", NEW[0], "new"), ("hook", NEW[0], "new")]
    new_keys = after.deliveries.keys() - before.deliveries.keys()
    assert sorted(after.deliveries[key][:2] for key in new_keys) == [
        ("files", "sent"), ("hook", "sent")]
    assert len(hook_ids(portal)) == 2 and hook_ids(portal)[1] in new_keys
    (message,) = (state / "outbox").glob("*.json")
    assert NEW[1] in message.read_text("utf-8") and PLAN[1] not in message.read_text("utf-8")


def schema_at_head(url: str) -> bool:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads()) == heads
    finally:
        engine.dispose()


def snapshot(url: str) -> Snapshot:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            def rows(sql: str) -> list[Row]:
                return [tuple(map(_plain, row)) for row in connection.execute(text(sql))]
            return Snapshot(
                documents={row[0]: row[1:] for row in rows(
                    "SELECT url, title, text, published, language, item_hash, content_hash,"
                    " first_seen_at, changed_at, source_id FROM documentrecord")},
                matches={row[:2]: row[2:] for row in rows(
                    "SELECT d.url, m.topic_id, m.terms, m.evidence, m.matched_at"
                    " FROM matchrecord m JOIN documentrecord d ON d.id = m.document_id")},
                alerts=set(rows(
                    "SELECT a.subscription_id, d.url, a.change, a.created_at, r.idempotency_key"
                    " FROM alertrecord a JOIN documentrecord d ON d.id = a.document_id"
                    " LEFT JOIN deliveryrecord r ON r.id = a.delivery_id")),
                deliveries={row[0]: row[1:] for row in rows(
                    "SELECT idempotency_key, subscription_id, status, subject, text, html,"
                    " payload, created_at, sent_at FROM deliveryrecord")})
    finally:
        engine.dispose()


def _plain(value: object) -> object:
    """A hashable, comparable form of a column value (PostgreSQL hands JSON back parsed)."""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value
