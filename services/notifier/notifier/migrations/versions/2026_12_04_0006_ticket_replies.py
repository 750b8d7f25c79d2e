"""ticket_replies: the one e-mail a citizen gets when the Department answers

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from minhbach_shared.db import UtcDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ticket_replies",
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("ticket_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_ticket_replies")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_ticket_replies_ticket_id")),
    )


def downgrade() -> None:
    op.drop_table("ticket_replies")
