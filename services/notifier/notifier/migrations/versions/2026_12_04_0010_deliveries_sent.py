"""deliveries indexed by (channel, sent_at): what a channel sent lately is a range

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_deliveries_sent", "deliveries", ["channel", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_sent", table_name="deliveries")
