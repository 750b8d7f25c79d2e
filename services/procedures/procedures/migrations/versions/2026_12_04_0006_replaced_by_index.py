"""An index on decision_changes (replaced_by, decision_id)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 15:40:00.000000

Every read of a procedure (its page, the notifier's fetch) asks which of the decisions
that put it in force replaced another procedure by it (`repository.replaced_for`). With
only the decision_id index SQLite read every change row of those decisions: a decision
of 1,000 new procedures made each of their reads walk 1,000 rows, a quarter of the
procedures API's time under sustained load.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_decision_changes_replaced_by_decision_id"


def upgrade() -> None:
    op.create_index(INDEX, "decision_changes", ["replaced_by", "decision_id"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="decision_changes")
