"""Migrations on a database that already holds data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from procedures.manage import MIGRATIONS


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
