"""subjects.updated_at indexed: a channel run reads only the rows updated since its last

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_subjects_updated_at"), "subjects", ["updated_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_subjects_updated_at"), table_name="subjects")
