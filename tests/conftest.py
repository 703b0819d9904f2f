"""Shared fixtures: a real HTTP server on 127.0.0.1, a migrated SQLite store, a CLI workspace."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from monitor.store import Store, make_engine, upgrade_schema
from tests.fixture_server import FixtureServer

UseConfig = Callable[..., Path]


@pytest.fixture
def http_server() -> Iterator[FixtureServer]:
    server = FixtureServer().start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A Store on a fresh SQLite database, schema made by the real migrations."""
    engine = make_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
    upgrade_schema(engine)
    yield Store(engine)
    engine.dispose()


POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """DATABASE_URL of a fresh schema of its own on the machine's PostgreSQL (dropped after);
    the test is skipped when the server is down (.ci/run starts it)."""
    schema = f"monitor_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(POSTGRES_SERVER)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError:
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (.ci/run starts it)")
    yield f"postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def use_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> UseConfig:
    """Write a sources.yaml and point the CLI at it, with state under tmp_path/state."""
    def write(text: str, workers: int = 0) -> Path:
        path = tmp_path / "sources.yaml"
        path.write_text(text, "utf-8")
        monkeypatch.setenv("MONITOR_CONFIG", str(path))
        monkeypatch.setenv("MONITOR_STATE_DIR", str(tmp_path / "state"))
        monkeypatch.setenv("MONITOR_WORKERS", str(workers))
        return path
    return write
