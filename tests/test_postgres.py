"""The store on the machine's PostgreSQL (DATABASE_URL), in a schema of its own per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from monitor.cli import main
from tests.fixture_server import FixtureServer
from tests.portal import (
    FEED_POSTS,
    GB_POSTS,
    OLD_POSTS,
    ONE_SOURCE_CONFIG,
    TOPIC_POST,
    serve_portal,
)

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"



@pytest.fixture
def database_url() -> Iterator[str]:
    schema = f"monitor_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(SERVER)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (.ci/run starts it)")
    yield f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def test_check_and_deliver_on_postgresql(database_url: str, tmp_path: Path,
                                         http_server: FixtureServer,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "sources.yaml"
    config.write_text(ONE_SOURCE_CONFIG.format(base=http_server.base_url), "utf-8")
    for name, value in {"MONITOR_CONFIG": str(config), "MONITOR_STATE_DIR": str(tmp_path / "s"),
                        "DATABASE_URL": database_url, "MONITOR_WORKERS": "0"}.items():
        monkeypatch.setenv(name, value)
    serve_portal(http_server, OLD_POSTS, GB_POSTS, FEED_POSTS)
    assert main(["check"]) == 0
    serve_portal(http_server, [TOPIC_POST, *OLD_POSTS], GB_POSTS, FEED_POSTS)
    assert main(["check"]) == 0
    assert main(["check"]) == 0
    assert len(list((tmp_path / "s" / "outbox").glob("*.eml"))) == 1
    assert not (tmp_path / "s" / "monitor.db").exists(), "PostgreSQL, not SQLite, was used"
