"""Tables of the procedures database (Alembic migrations are generated from this metadata)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from minhbach_shared.db import UtcDateTime, make_metadata
from minhbach_shared.outbox import outbox_table

metadata = make_metadata()

procedures = Table(
    "procedures",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(50), nullable=False, unique=True),
    Column("status", String(20), nullable=False, index=True),
    # The published version number; 0 while the procedure has never been in force.
    Column("version", Integer, nullable=False, default=0),
    # The public content of `version`, and the editors' working draft (null when none).
    Column("published", JSON, nullable=True),
    Column("draft", JSON, nullable=True),
    Column("name", String(500), nullable=False),
    Column("field", String(500), nullable=True, index=True),
    Column("replaced_by", String(50), nullable=True),
    Column("effective_at", UtcDateTime, nullable=True),
    # Folded (accent-free, lower-case) text of the published content, for the
    # portable search path; SQLite searches the FTS5 table `procedure_search`.
    # PostgreSQL: pg_trgm GIN indexes on both (migration 0003, made by hand).
    Column("search_name", Text, nullable=True),
    Column("search_body", Text, nullable=True),
    # Actors (token subjects), shown to staff only; null: unknown (rows before 0004).
    # drafted_by created it, edited_by last edited its working draft (at edited_at),
    # written_by last edited the content now published.
    Column("drafted_by", Text, nullable=True),
    Column("edited_by", Text, nullable=True),
    Column("edited_at", UtcDateTime, nullable=True),
    Column("written_by", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", String(100), nullable=False),
    Column("title", String(500), nullable=False),
    Column("issuer", String(500), nullable=False),
    Column("signed_on", Date, nullable=False),
    Column("effective_on", Date, nullable=False),
    Column("effective_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("version", Integer, nullable=False, default=0),
    Column("published_at", UtcDateTime, nullable=True),
    Column("applied_at", UtcDateTime, nullable=True),
    Column("failure_reason", Text, nullable=True),
    # Actors, shown to staff only; null: unknown (rows before 0004) or not published yet.
    Column("created_by", Text, nullable=True),
    Column("published_by", Text, nullable=True),
    # The review (0005), staff only: who last edited the draft and last submitted it, and
    # the last send-back (who, when, why), kept until the next submit. Null: not yet.
    Column("edited_by", Text, nullable=True),
    Column("edited_at", UtcDateTime, nullable=True),
    Column("submitted_by", Text, nullable=True),
    Column("submitted_at", UtcDateTime, nullable=True),
    Column("returned_by", Text, nullable=True),
    Column("returned_at", UtcDateTime, nullable=True),
    Column("return_reason", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_decisions_status_effective_at", "status", "effective_at"),
)

decision_changes = Table(
    "decision_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "decision_id", Integer, ForeignKey("decisions.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("position", Integer, nullable=False),
    Column("action", String(20), nullable=False),
    Column("procedure_code", String(50), nullable=False),
    Column("replaced_by", String(50), nullable=True),
    # For `new` and `amend`: the content the change puts in force, snapshotted when the
    # decision is published, so later draft edits never take effect unapproved.
    Column("content", JSON, nullable=True),
    # Who last edited that content, taken with it.
    Column("written_by", Text, nullable=True),
    UniqueConstraint("decision_id", "position", name="uq_decision_changes_decision_id_position"),
    # Every read of a procedure asks which decisions put it in force in place of another;
    # by decision id alone that read every change of a decision of 1,000 procedures.
    Index("ix_decision_changes_replaced_by_decision_id", "replaced_by", "decision_id"),
)

procedure_versions = Table(
    "procedure_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("procedure_code", String(50), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("action", String(20), nullable=False),
    Column("content", JSON, nullable=False),
    Column("decision_id", Integer, ForeignKey("decisions.id"), nullable=True, index=True),
    Column("effective_at", UtcDateTime, nullable=False),
    # Who last edited the content this version holds (staff only; null: unknown).
    Column("written_by", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    # What the version changed (procedures.amendments, as dicts): an amendment against the
    # version before it; a procedure put in force in place of another (`replaces`, that
    # one's code) against that one's content. Null for any other version. Written with the
    # version, so a read decodes these few components, not every version's whole content.
    Column("changes", JSON(none_as_null=True), nullable=True),
    Column("replaces", String(50), nullable=True),
    UniqueConstraint("procedure_code", "version", name="uq_procedure_versions_procedure_code_version"),
)

outbox = outbox_table(metadata)

# Created by the migration on SQLite only (FTS5); rowid is procedures.id.
SEARCH_TABLE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS procedure_search USING fts5("
    "code, name, body, tokenize = 'unicode61 remove_diacritics 2')"
)


def include_in_autogenerate(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic autogenerate ignores what is made by hand: the FTS5 table and its shadow
    tables (SQLite), the pg_trgm indexes `ix_procedures_search_*_trgm` (PostgreSQL)."""
    if type_ == "index" and (name or "").endswith("_trgm"):
        return False
    return not (type_ == "table" and (name or "").startswith("procedure_search"))
