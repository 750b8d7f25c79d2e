"""document_corrections: each correction of a filed document keeps who, when and the previous values

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 01:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import minhbach_shared.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "document_corrections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("corrected_by", sa.String(length=200), nullable=False),
        sa.Column("corrected_at", minhbach_shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_corrections_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_corrections")),
        sa.UniqueConstraint("document_id", "version", name="uq_document_corrections_document_id_version"),
    )


def downgrade() -> None:
    op.drop_table("document_corrections")
