"""Tables of the hotline database (Alembic migrations are generated from this metadata)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
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

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tracking_code", String(20), nullable=False, unique=True),
    Column("year", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("status", String(30), nullable=False, index=True),
    # The citizen's original text: written once, never changed.
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("procedure_code", String(50), nullable=True, index=True),
    # Personal data: returned to hotline staff only.
    Column("submitter_name", String(200), nullable=False),
    Column("submitter_phone", String(40), nullable=True),
    Column("submitter_email", String(254), nullable=True),
    Column("submitter_address", String(500), nullable=True),
    Column("consent_to_publish", Boolean, nullable=False),
    # The public version: officer's marks and rewording, always redacted on the way out.
    Column("redaction_marks", JSON, nullable=False),
    Column("public_subject_override", String(300), nullable=True),
    Column("public_question_override", Text, nullable=True),
    Column("internal_notes", Text, nullable=False, default=""),
    Column("answer", Text, nullable=True),
    Column("citizen_reason", Text, nullable=True),
    Column("forwarded_to", String(300), nullable=True),
    Column("unit", String(300), nullable=True, index=True),
    Column("unit_due_on", Date, nullable=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("classify_due_on", Date, nullable=False),
    Column("accepted_at", UtcDateTime, nullable=True),
    Column("answer_due_on", Date, nullable=True),
    Column("paused_at", UtcDateTime, nullable=True),
    Column("resume_to", String(30), nullable=True),
    Column("paused_working_days", Integer, nullable=False, default=0),
    Column("answered_at", UtcDateTime, nullable=True),
    Column("approved_at", UtcDateTime, nullable=True),
    Column("approved_by", String(200), nullable=True),
    Column("published_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("withdrawn_at", UtcDateTime, nullable=True),
    Column("withdrawal_reason", Text, nullable=True),
    Column("duplicate_of_id", Integer, ForeignKey("tickets.id"), nullable=True, index=True),
    # Frozen at approval: exactly what is published (redacted).
    Column("published_subject", String(1000), nullable=True),
    Column("published_question", Text, nullable=True),
    Column("published_answer", Text, nullable=True),
    # Folded (accent-free, lower-case) published text, for accent-insensitive search.
    Column("search_text", Text, nullable=True),
    Column("is_public", Boolean, nullable=False, default=False, index=True),
    Column("version", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("year", "seq", name="uq_tickets_year_seq"),
)

ticket_transitions = Table(
    "ticket_transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("action", String(30), nullable=False),
    Column("from_status", String(30), nullable=True),
    Column("to_status", String(30), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("note", Text, nullable=True),
)

# The per-year sequence behind tracking codes (PAKN-2026-000123).
ticket_counters = Table(
    "ticket_counters",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last_seq", Integer, nullable=False),
)

# One row per ticket and Vietnam calendar day a ticket.overdue event was written:
# the unique key is what makes "once a day, however often beat runs" hold.
overdue_notices = Table(
    "overdue_notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("day", Date, nullable=False),
    Column("stage", String(20), nullable=False),
    Column("due_on", Date, nullable=False),
    Column("days_overdue", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("ticket_id", "day", name="uq_overdue_notices_ticket_id_day"),
    Index("ix_overdue_notices_day", "day"),
)

# The Department's divisions (hotline.units): tickets are assigned to one in service.
units = Table(
    "units",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(300), nullable=False, unique=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("updated_by", String(200), nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

outbox = outbox_table(metadata)
