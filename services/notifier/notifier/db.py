"""The notifier's tables (one metadata, one set of migrations), and the few helpers every repository uses."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from minhbach_shared.db import UtcDateTime, make_metadata

T = TypeVar("T")

metadata = make_metadata()

seen_events = Table(
    "seen_events",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("seen_at", UtcDateTime, nullable=False, index=True),
)

# The read model: the owner's current state of every subject, as last fetched.
subjects = Table(
    "subjects",
    metadata,
    Column("kind", String(20), nullable=False),
    Column("id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", Text, nullable=False),
    # Indexed: a channel run reads only the rows updated since its last (SubjectCache).
    Column("updated_at", UtcDateTime, nullable=False, index=True),
    Column("occurred_at", UtcDateTime, nullable=True),
    PrimaryKeyConstraint("kind", "id"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(30), nullable=False),
    Column("subject_kind", String(20), nullable=False),
    Column("subject_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
    Column("occurred_at", UtcDateTime, nullable=True),
    Index("ix_deliveries_due", "channel", "status", "next_attempt_at"),
    Index("ix_deliveries_subject", "channel", "subject_kind", "subject_id"),
    # What a channel sent lately (the lag on /metrics, the weekly briefing): a range, not a scan.
    Index("ix_deliveries_sent", "channel", "sent_at"),
)

ledger = Table(
    "ledger",
    metadata,
    Column("channel", String(30), nullable=False),
    Column("subject_kind", String(20), nullable=False),
    Column("subject_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("disclosed_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("channel", "subject_kind", "subject_id"),
)

# ticket.overdue events: reminders, not disclosures (nothing of them goes on the portal).
# The email channel tells the assigned unit and the Office of each (email_deliveries).
ticket_overdue = Table(
    "ticket_overdue",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("ticket_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("data", Text, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False, index=True),
    Index("ix_ticket_overdue_ticket", "ticket_id", "version"),
)

# The Department's answer to a citizen who left an e-mail address (ticket.answered):
# one per ticket, whatever is redelivered. `data` is allow-listed (the answer as
# published, never the address); the address lives only in its email_deliveries row.
ticket_replies = Table(
    "ticket_replies",
    metadata,
    Column("event_id", String(36), primary_key=True),
    Column("ticket_id", String(200), nullable=False, unique=True),
    Column("version", Integer, nullable=False),
    Column("data", Text, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

# One e-mail of a ticket.overdue (or ticket.answered) event to one recipient. Its delivery row (channel
# "email") carries the status, attempts, backoff and dead state, so operators see and
# retry it like any other; this row says to whom and about which event. An e-mail is
# a message, not a version shown: no ledger row, never superseded.
email_deliveries = Table(
    "email_deliveries",
    metadata,
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), primary_key=True),
    Column("event_id", String(36), nullable=False),
    Column("recipient", String(320), nullable=False),
    UniqueConstraint("event_id", "recipient"),
)

# Citizens following a procedure (target_kind "procedure", key its code) or a field
# ("field", key its slug) by e-mail: pending until the address confirms, then active,
# until unsubscribed. The token is the secret in the confirm and unsubscribe links.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False),
    Column("target_kind", String(20), nullable=False),
    Column("target_key", String(200), nullable=False),
    Column("target_label", String(500), nullable=False),
    Column("token", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("confirm_sent_at", UtcDateTime, nullable=True),
    Column("confirmed_at", UtcDateTime, nullable=True),
    Column("unsubscribed_at", UtcDateTime, nullable=True),
    UniqueConstraint("email", "target_kind", "target_key"),
    Index("ix_subscriptions_target", "status", "target_kind", "target_key"),
)

# One e-mail row (channel "email") to a subscriber: the confirmation, or one change of
# what they follow. Pending change rows of one subscription leave as one e-mail.
subscriber_emails = Table(
    "subscriber_emails",
    metadata,
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), primary_key=True),
    Column("subscription_id", Integer, ForeignKey("subscriptions.id"), nullable=False, index=True),
    Column("kind", String(12), nullable=False),
)

# The internal weekly briefing: one e-mail row (channel "email") per recipient and
# week; a week that has rows is never planned again, however often beat runs.
briefing_emails = Table(
    "briefing_emails",
    metadata,
    Column("delivery_id", Integer, ForeignKey("deliveries.id"), primary_key=True),
    Column("week", String(10), nullable=False),
    Column("recipient", String(320), nullable=False),
    UniqueConstraint("week", "recipient"),
)

# One row per reconciliation round: what it fetched (subjects whose events it had not
# seen) and redelivered (subjects a channel had lost), for the operator's page and the
# repaired counters of /metrics. Rounds that repaired nothing are kept a day.
reconcile_runs = Table(
    "reconcile_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("finished_at", UtcDateTime, nullable=False, index=True),
    Column("at_start", Boolean, nullable=False),
    Column("fetched", Integer, nullable=False),
    Column("redelivered", Integer, nullable=False),
    # JSON: {"redelivered": {channel: [kind:id, ...]}, "fetched": [kind:id, ...], "unreachable": [...]}
    Column("detail", Text, nullable=False),
)

# Each channel's fencing token: taken (incremented) by a run once it holds the channel's
# lock, and checked in the transaction that records the run's work, so a run that lost
# its lock (a pause past its TTL) cannot record over a newer one's (broker.channel_lock).
channel_fences = Table(
    "channel_fences",
    metadata,
    Column("channel", String(30), primary_key=True),
    Column("token", Integer, nullable=False),
)


def upsert(session: Session, table: Table) -> Any:
    """INSERT ... ON CONFLICT for the session's database (SQLite or PostgreSQL).

    SQLite runs one writer at a time (BEGIN IMMEDIATE); PostgreSQL lets two ingests
    write at once, so a row another transaction just inserted must not fail ours.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def chunks(items: Sequence[T], size: int = 400) -> Iterable[Sequence[T]]:
    """`items` in slices of `size`: SQLite limits bound parameters per statement."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def keyed(
    kind: ColumnElement[str], id_: ColumnElement[str], keys: Iterable[tuple[str, str]]
) -> Iterable[ColumnElement[bool]]:
    """Conditions that find the rows of `keys` ((kind, id) pairs) by their key, one per
    kind and chunk of ids.

    Not `tuple_(kind, id).in_(keys)`: SQLite answers a row-value IN list by scanning the
    whole table (EXPLAIN: SCAN), so reading ten subjects cost as much as reading every one.
    """
    ids_by_kind: dict[str, set[str]] = {}
    for key_kind, key_id in keys:
        ids_by_kind.setdefault(key_kind, set()).add(key_id)
    for key_kind, ids in sorted(ids_by_kind.items()):
        for chunk in chunks(sorted(ids)):
            yield and_(kind == key_kind, id_.in_(chunk))
