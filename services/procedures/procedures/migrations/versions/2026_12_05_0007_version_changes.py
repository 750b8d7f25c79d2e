"""procedure_versions.changes and .replaces: what a version changed, kept with it

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 05:40:00.000000

Every read of a procedure's history, or of a decision in effect, compared whole contents:
each amendment's version against the one before it, each procedure put in force in place
of another against that one. Under load, decoding those contents was a third of the
procedures API's CPU, and it grew with every version a procedure gained. A version now
keeps what it changed when it is made (procedures.amendments, as dicts), and the one it
was put in force in place of. This revision works them out for the versions already
there, with the same rules the service uses (the column is derived from the contents,
which stay as they are).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import sqlalchemy as sa
from alembic import op

from procedures.amendments import compare

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CODES_AT_ONCE = 500  # the versions of this many procedures in memory at a time

_versions = sa.table(
    "procedure_versions",
    sa.column("id", sa.Integer),
    sa.column("procedure_code", sa.String),
    sa.column("version", sa.Integer),
    sa.column("action", sa.String),
    sa.column("decision_id", sa.Integer),
    sa.column("content", sa.JSON),
    sa.column("changes", sa.JSON(none_as_null=True)),
    sa.column("replaces", sa.String),
)
_changes = sa.table(
    "decision_changes",
    sa.column("decision_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("action", sa.String),
    sa.column("procedure_code", sa.String),
    sa.column("replaced_by", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("procedure_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changes", sa.JSON(none_as_null=True), nullable=True))
        batch_op.add_column(sa.Column("replaces", sa.String(50), nullable=True))

    bind = op.get_bind()
    # (decision id, successor) -> the procedure it replaced; the last such change wins, as
    # when a decision is applied.
    in_place_of = {
        (decision_id, successor): replaced
        for decision_id, replaced, successor in bind.execute(
            sa.select(_changes.c.decision_id, _changes.c.procedure_code, _changes.c.replaced_by)
            .where(_changes.c.action == "replace", _changes.c.replaced_by.is_not(None))
            .order_by(_changes.c.decision_id, _changes.c.position)
        )
    }
    codes = list(bind.execute(sa.select(_versions.c.procedure_code).distinct()).scalars())
    for start in range(0, len(codes), CODES_AT_ONCE):
        rows = bind.execute(
            sa.select(_versions)
            .where(_versions.c.procedure_code.in_(codes[start : start + CODES_AT_ONCE]))
            .order_by(_versions.c.procedure_code, _versions.c.version)
        ).all()
        made = {(r.decision_id, r.procedure_code): r.content for r in rows}
        updates = [*_amendments(rows), *_replacements(rows, in_place_of, made, bind)]
        if updates:
            bind.execute(
                sa.update(_versions)
                .where(_versions.c.id == sa.bindparam("b_id"))
                .values(changes=sa.bindparam("b_changes"), replaces=sa.bindparam("b_replaces")),
                updates,
            )


def _amendments(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Each amendment against the version before it (rows in code and version order)."""
    updates = []
    for previous, row in zip(rows, rows[1:], strict=False):
        if row.action == "amend" and previous.procedure_code == row.procedure_code:
            changes = [asdict(c) for c in compare(previous.content, row.content)]
            updates.append({"b_id": row.id, "b_changes": changes, "b_replaces": None})
    return updates


def _replacements(
    rows: Sequence[Any],
    in_place_of: dict[tuple[int, str], str],
    made: dict[tuple[int, str], Any],
    bind: sa.Connection,
) -> list[dict[str, Any]]:
    """Each procedure put in force in place of another against that one's content then (the
    version the same decision made of it)."""
    updates = []
    for row in rows:
        replaced = in_place_of.get((row.decision_id, row.procedure_code)) if row.action == "new" else None
        if replaced is None:
            continue
        before = made.get((row.decision_id, replaced))
        if before is None:  # the replaced procedure's versions are in another batch
            before = bind.execute(
                sa.select(_versions.c.content).where(
                    _versions.c.decision_id == row.decision_id, _versions.c.procedure_code == replaced
                )
            ).scalar()
        if before is None:
            continue
        changes = [asdict(c) for c in compare(before, row.content)]
        updates.append({"b_id": row.id, "b_changes": changes, "b_replaces": replaced})
    return updates


def downgrade() -> None:
    with op.batch_alter_table("procedure_versions", schema=None) as batch_op:
        batch_op.drop_column("replaces")
        batch_op.drop_column("changes")
