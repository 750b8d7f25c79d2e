"""PostgreSQL: pg_trgm GIN indexes on the folded search columns (a no-op on SQLite)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 12:00:00.000000

On PostgreSQL the public search matches every word with `LIKE '%word%'` on
`search_name` and `search_body` (procedures/search.py); without an index each query
reads every procedure. A GIN index with `gin_trgm_ops` serves those LIKEs (and ILIKEs;
words of 3 characters or more). SQLite searches through its FTS5 table and gets nothing here.

pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it
without being a superuser. In docker compose the service user owns its database
(deploy/postgres/init-databases.sh) and is the image's superuser besides.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# index name -> the folded column it serves
INDEXES = {
    "ix_procedures_search_name_trgm": "search_name",
    "ix_procedures_search_body_trgm": "search_body",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, column in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON procedures USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    # The extension stays: other objects may use it, and it is harmless on its own.
