"""Actors: who drafted, edited and wrote procedures, who created and published decisions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 19:40:00.000000

Each is the subject of the token that made the write ("demo" or "system" for the
service's own paths). Rows written before this revision keep null: unknown, nothing
is guessed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from minhbach_shared.db import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> its new columns
COLUMNS: dict[str, list[tuple[str, sa.types.TypeEngine[object]]]] = {
    "procedures": [
        ("drafted_by", sa.Text()),
        ("edited_by", sa.Text()),
        ("edited_at", UtcDateTime(timezone=True)),
        ("written_by", sa.Text()),
    ],
    "decisions": [("created_by", sa.Text()), ("published_by", sa.Text())],
    "decision_changes": [("written_by", sa.Text())],
    "procedure_versions": [("written_by", sa.Text())],
}


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, type_ in columns:
                batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for table, columns in reversed(COLUMNS.items()):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _ in reversed(columns):
                batch_op.drop_column(name)
