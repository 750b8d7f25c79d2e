"""operator actions: who retried or resynced what, when, and what the notifier answered

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 02:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import minhbach_shared.db

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('operator_actions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', minhbach_shared.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('target', sa.String(length=120), nullable=False),
    sa.Column('outcome', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_actions'))
    )
    op.create_index('ix_operator_actions_at', 'operator_actions', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_operator_actions_at', table_name='operator_actions')
    op.drop_table('operator_actions')
