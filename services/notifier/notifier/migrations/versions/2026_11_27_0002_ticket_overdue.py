"""ticket_overdue: the hotline's overdue reminders, kept for the email channel

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from minhbach_shared.db import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_overdue",
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_ticket_overdue")),
    )
    op.create_index(op.f("ix_ticket_overdue_received_at"), "ticket_overdue", ["received_at"])
    op.create_index("ix_ticket_overdue_ticket", "ticket_overdue", ["ticket_id", "version"])


def downgrade() -> None:
    op.drop_index("ix_ticket_overdue_ticket", table_name="ticket_overdue")
    op.drop_index(op.f("ix_ticket_overdue_received_at"), table_name="ticket_overdue")
    op.drop_table("ticket_overdue")
