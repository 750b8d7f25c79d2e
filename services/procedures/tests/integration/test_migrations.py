"""Migrations on a database that already holds data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from minhbach_shared.db import make_engine, migrate
from minhbach_testing.uow import UnitsOfWork, sqlite_units_of_work
from procedures import services
from procedures.manage import MIGRATIONS
from procedures.uow import UnitOfWork

from .histories import SUCCESSOR, make_history


def _config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def test_a_decision_scheduled_before_snapshots_gets_one_from_the_draft(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'procedures.db'}"
    command.upgrade(_config(url), "0001")
    engine = create_engine(url)
    now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC).isoformat()
    draft = {"name": "Thủ tục", "fees": []}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO procedures (id, code, status, version, draft, name, created_at, updated_at)"
                " VALUES (1, 'A', 'draft', 0, :draft, 'Thủ tục', :now, :now)"
            ),
            {"draft": json.dumps(draft), "now": now},
        )
        for decision_id, status in ((1, "scheduled"), (2, "draft")):
            conn.execute(
                text(
                    "INSERT INTO decisions (id, number, title, issuer, signed_on, effective_on, effective_at,"
                    " status, version, created_at, updated_at) VALUES (:id, 'n', 't', 'i', :on, :on, :now,"
                    " :status, 1, :now, :now)"
                ),
                {"id": decision_id, "on": date(2026, 12, 1).isoformat(), "now": now, "status": status},
            )
            conn.execute(
                text(
                    "INSERT INTO decision_changes (decision_id, position, action, procedure_code)"
                    " VALUES (:id, 0, 'new', 'A')"
                ),
                {"id": decision_id},
            )

    command.upgrade(_config(url), "head")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT decision_id, content FROM decision_changes ORDER BY decision_id"))
        snapshots = {r.decision_id: r.content for r in rows}
    assert json.loads(snapshots[1]) == draft  # scheduled: frozen as the draft stood
    assert snapshots[2] is None  # not published yet: snapshotted when it is
    command.downgrade(_config(url), "0001")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UnitsOfWork[UnitOfWork]]:
    """Units of work on a database migrated to head: SQLite, or PostgreSQL as compose runs it."""
    if request.param == "sqlite":
        with sqlite_units_of_work(UnitOfWork, tmp_path / "procedures.db", MIGRATIONS) as units:
            yield units
        return
    url = request.getfixturevalue("postgres_url")
    migrate(url, MIGRATIONS)
    engine = make_engine(url)
    try:
        yield UnitsOfWork(UnitOfWork, engine)
    finally:
        engine.dispose()


def test_versions_made_before_changes_were_kept_get_them_as_the_service_makes_them(
    database: UnitsOfWork[UnitOfWork], sample_payload: dict[str, Any]
) -> None:
    """Revision 0007 works out what each version already there changed: the reads after it
    are the reads the service gave with the changes it kept as it made each version."""
    history = make_history(database, sample_payload)
    codes = [history.amended, history.replaced, SUCCESSOR]
    decision_ids = [history.last_amendment, history.replacing, history.scheduled]

    def reads() -> tuple[dict[str, Any], dict[int, Any]]:
        with Session(database.engine) as session:
            return services.procedure_reads(session, codes), services.decision_reads(session, decision_ids)

    made_by_the_service = reads()
    amended = made_by_the_service[0][history.amended]
    assert [bool(h.changes) for h in amended.history] == [False, True, True, True]
    url = database.engine.url.render_as_string(hide_password=False)
    database.engine.dispose()
    command.downgrade(_config(url), "0006")  # the columns go, with what they held
    command.upgrade(_config(url), "head")
    assert reads() == made_by_the_service
