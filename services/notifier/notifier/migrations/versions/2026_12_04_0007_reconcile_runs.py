"""reconcile_runs: what each reconciliation round repaired (the operator's page, /metrics)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from minhbach_shared.db import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reconcile_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=False),
        sa.Column("at_start", sa.Boolean(), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("redelivered", sa.Integer(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconcile_runs")),
    )
    op.create_index(op.f("ix_reconcile_runs_finished_at"), "reconcile_runs", ["finished_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_reconcile_runs_finished_at"), table_name="reconcile_runs")
    op.drop_table("reconcile_runs")
