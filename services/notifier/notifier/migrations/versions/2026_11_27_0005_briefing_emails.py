"""briefing_emails: the weekly internal briefing, one row per recipient and week

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "briefing_emails",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"], name=op.f("fk_briefing_emails_delivery_id_deliveries")
        ),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_briefing_emails")),
        sa.UniqueConstraint("week", "recipient", name=op.f("uq_briefing_emails_week")),
    )


def downgrade() -> None:
    op.drop_table("briefing_emails")
