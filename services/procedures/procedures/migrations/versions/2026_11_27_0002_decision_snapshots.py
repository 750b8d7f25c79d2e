"""decision_changes.content: the content a new or amend puts in force, taken at publication

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 09:00:00.000000

A decision already scheduled when this runs gets its snapshot from the drafts as they
are now (the best that can be known), so from here on later edits no longer reach it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_decisions = sa.table("decisions", sa.column("id", sa.Integer), sa.column("status", sa.String))
_changes = sa.table(
    "decision_changes",
    sa.column("id", sa.Integer),
    sa.column("decision_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("procedure_code", sa.String),
    sa.column("content", sa.JSON),
)
_procedures = sa.table(
    "procedures",
    sa.column("code", sa.String),
    sa.column("draft", sa.JSON),
    sa.column("published", sa.JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("decision_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content", sa.JSON(), nullable=True))

    bind = op.get_bind()
    pending = bind.execute(
        sa.select(_changes.c.id, _procedures.c.draft, _procedures.c.published)
        .join(_decisions, _decisions.c.id == _changes.c.decision_id)
        .join(_procedures, _procedures.c.code == _changes.c.procedure_code)
        .where(_decisions.c.status == "scheduled", _changes.c.action.in_(["new", "amend"]))
    ).all()
    for change_id, draft, published in pending:
        content = draft if draft is not None else published
        if content is not None:
            bind.execute(sa.update(_changes).where(_changes.c.id == change_id).values(content=content))


def downgrade() -> None:
    with op.batch_alter_table("decision_changes", schema=None) as batch_op:
        batch_op.drop_column("content")
