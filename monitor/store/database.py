"""Engine creation (SQLite in WAL mode by default, PostgreSQL by URL) and Alembic upgrades."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK = 0x6D6F6E69746F72  # PostgreSQL advisory lock key held while migrating


def database_url(state_dir: Path, override: str | None) -> str:
    """DATABASE_URL when set, else SQLite at <state>/monitor.db."""
    if override:
        return override.replace("postgresql://", "postgresql+psycopg://", 1).replace(
            "postgres://", "postgresql+psycopg://", 1)
    return f"sqlite:///{state_dir / 'monitor.db'}"


def make_engine(url: str) -> Engine:
    """An engine; SQLite connections get WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(_with_timeouts(url), pool_pre_ping=True, pool_timeout=30,
                         connect_args=dict(POSTGRES_LIMITS))


POSTGRES_LIMITS = {"connect_timeout": 10, "keepalives": 1, "keepalives_idle": 30,
                   "keepalives_interval": 10, "keepalives_count": 3}
POSTGRES_TIMEOUTS = "-c statement_timeout=120s -c lock_timeout=30s"


def _with_timeouts(url: str) -> str:
    """The URL with statement and lock time-outs added to its `options` (a database that
    stops answering fails a statement, instead of holding the daemon for good)."""
    parsed = make_url(url)
    options = " ".join(filter(None, [str(parsed.query.get("options") or ""),
                                     POSTGRES_TIMEOUTS]))
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                   "busy_timeout=10000", "cache_size=-8192"):  # 8 MiB of pages per connection
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def newest_revision() -> str:
    """The head of our migrations: they are numbered, one file each (versions/0007_….py)."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*.py"))


def current_revision(connection: Connection) -> str | None:
    """The migration the database is at; None for an empty database."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_schema(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (Alembic is loaded only then)."""
    try:
        with engine.connect() as connection:
            if current_revision(connection) == newest_revision():
                return
        _upgrade(engine)
    except SQLAlchemyError as error:
        raise StoreError(f"cannot migrate the database: {error}") from error


def _upgrade(engine: Engine) -> None:
    from alembic import command  # noqa: PLC0415 (about 0.5 s of start-up otherwise)
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":  # replicas starting together: one at a time
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
