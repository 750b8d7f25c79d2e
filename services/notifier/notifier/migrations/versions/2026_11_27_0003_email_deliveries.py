"""email_deliveries: who each overdue e-mail goes to, beside its delivery row

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_deliveries",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_email_deliveries_delivery_id_deliveries"),
        ),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_email_deliveries")),
        sa.UniqueConstraint("event_id", "recipient", name=op.f("uq_email_deliveries_event_id")),
    )


def downgrade() -> None:
    op.drop_table("email_deliveries")
