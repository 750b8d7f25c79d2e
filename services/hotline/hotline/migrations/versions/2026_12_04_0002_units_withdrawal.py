"""units: the Department's divisions as a managed list; a published answer can be withdrawn

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 01:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import minhbach_shared.db
from hotline.units import STANDARD_UNITS, clean_name

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    units = op.create_table(
        "units",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", minhbach_shared.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_units")),
        sa.UniqueConstraint("name", name=op.f("uq_units_name")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("withdrawn_at", minhbach_shared.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("withdrawal_reason", sa.Text(), nullable=True))
    # The standard divisions, and every unit tickets were already assigned to (free
    # text until now), so an existing deployment keeps its names.
    now = datetime.now(UTC)
    names: dict[str, str] = {clean_name(n).casefold(): clean_name(n) for n in STANDARD_UNITS}
    for (unit,) in op.get_bind().execute(sa.text("SELECT DISTINCT unit FROM tickets WHERE unit IS NOT NULL")):
        names.setdefault(clean_name(unit).casefold(), clean_name(unit))
    op.bulk_insert(units, [{"name": n, "active": True, "updated_at": now} for n in names.values() if n])


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("withdrawal_reason")
        batch_op.drop_column("withdrawn_at")
    op.drop_table("units")
