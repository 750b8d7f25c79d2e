"""SQLAlchemy and Alembic helpers every service uses the same way."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, Row, Select, create_engine, event, func, select
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite keeps no offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store UTC-aware datetimes only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# The largest row id every database here can hold (PostgreSQL's integer): ids beyond it
# are refused before they reach a driver, which would overflow (minhbach_shared.http.RowId).
MAX_ROW_ID = 2**31 - 1

# Execution options for a session that will write: `session.connection(execution_options=WRITE)`.
WRITE = {"sqlite_begin": "immediate"}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
            # WAL lets the API read while a worker writes; the busy timeout queues
            # writers instead of failing them.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        # pysqlite's own transaction handling is switched off so that BEGIN is ours:
        # a write unit of work asks for BEGIN IMMEDIATE (see WRITE), taking the
        # write lock up front, so two writers queue instead of failing on upgrade.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn: Any, _: Any) -> None:
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("sqlite_begin") == "immediate"
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True)


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def migrate(url: str, script_location: Path) -> None:
    """Upgrade the database at `url` to the newest revision of `script_location`."""
    # Imported here: only `manage migrate` needs Alembic, and importing it costs every
    # API and worker process a few hundred milliseconds at start.
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")


def run_alembic_env(metadata: MetaData, *, include_name: Any = None) -> None:
    """The body of every service's migrations/env.py (online and offline)."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url") or ""
    options: dict[str, Any] = {"target_metadata": metadata, "render_as_batch": True}
    if include_name is not None:
        options["include_name"] = include_name
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, **options)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **options)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def fetch_page(
    session: Session,
    statement: Select[Any],
    *,
    page: int,
    size: int,
    params: Mapping[str, Any] | None = None,
) -> tuple[list[Row[Any]], int]:
    """One page (from 1) of `statement`'s rows, in the caller's order, and how many in all."""
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    total = session.execute(counted, params or {}).scalar_one()
    rows = session.execute(statement.limit(size).offset((page - 1) * size), params or {}).all()
    return list(rows), int(total)
