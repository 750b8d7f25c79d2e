"""Decision review: who last edited and submitted a decision, and the last send-back

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 21:10:00.000000

A decision is now submitted by an editor before an approver publishes it or sends it
back with a reason. Rows written before this revision keep null: a draft that was
never submitted, an edit or a send-back nobody recorded.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from minhbach_shared.db import UtcDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS: list[tuple[str, sa.types.TypeEngine[object]]] = [
    ("edited_by", sa.Text()),
    ("edited_at", UtcDateTime(timezone=True)),
    ("submitted_by", sa.Text()),
    ("submitted_at", UtcDateTime(timezone=True)),
    ("returned_by", sa.Text()),
    ("returned_at", UtcDateTime(timezone=True)),
    ("return_reason", sa.Text()),
]


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
