"""subscriptions and subscriber_emails: citizens following a procedure or a field by e-mail

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from minhbach_shared.db import UtcDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("target_kind", sa.String(20), nullable=False),
        sa.Column("target_key", sa.String(200), nullable=False),
        sa.Column("target_label", sa.String(500), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("confirm_sent_at", UtcDateTime(), nullable=True),
        sa.Column("confirmed_at", UtcDateTime(), nullable=True),
        sa.Column("unsubscribed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("token", name=op.f("uq_subscriptions_token")),
        sa.UniqueConstraint("email", "target_kind", "target_key", name=op.f("uq_subscriptions_email")),
    )
    op.create_index(
        "ix_subscriptions_target", "subscriptions", ["status", "target_kind", "target_key"], unique=False
    )
    op.create_table(
        "subscriber_emails",
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["deliveries.id"], name=op.f("fk_subscriber_emails_delivery_id_deliveries")
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_subscriber_emails_subscription_id_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_subscriber_emails")),
    )
    op.create_index(
        "ix_subscriber_emails_subscription_id", "subscriber_emails", ["subscription_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_subscriber_emails_subscription_id", table_name="subscriber_emails")
    op.drop_table("subscriber_emails")
    op.drop_index("ix_subscriptions_target", table_name="subscriptions")
    op.drop_table("subscriptions")
