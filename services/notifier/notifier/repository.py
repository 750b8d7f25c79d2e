"""Queries on the notifier's tables. Nothing here commits: the caller owns the transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from notifier.db import (
    briefing_emails,
    deliveries,
    email_deliveries,
    ledger,
    seen_events,
    subjects,
    subscriber_emails,
    subscriptions,
    ticket_overdue,
)
from notifier.ledger import DeliveryStatus, SubjectKey

PENDING = DeliveryStatus.PENDING.value


@dataclass(frozen=True)
class SubjectState:
    """One subject of the read model: the owner's state at `version`."""

    kind: str
    id: str
    version: int
    state: dict[str, Any]
    updated_at: datetime
    occurred_at: datetime | None

    @property
    def key(self) -> SubjectKey:
        return (self.kind, self.id)


@dataclass(frozen=True)
class Delivery:
    id: int
    channel: str
    subject_kind: str
    subject_id: str
    version: int
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    occurred_at: datetime | None

    @property
    def key(self) -> SubjectKey:
        return (self.subject_kind, self.subject_id)


def _upsert(session: Session, table: Table) -> Any:
    """INSERT ... ON CONFLICT for the session's database (SQLite or PostgreSQL).

    SQLite runs one writer at a time (BEGIN IMMEDIATE); PostgreSQL lets two ingests
    write at once, so a row another transaction just inserted must not fail ours.
    """
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _chunks(items: Sequence[Any], size: int = 400) -> Iterable[Sequence[Any]]:
    # SQLite limits bound parameters per statement.
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- seen events ---------------------------------------------------------------


def seen_ids(session: Session, event_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(list(event_ids)):
        found.update(session.scalars(select(seen_events.c.event_id).where(seen_events.c.event_id.in_(chunk))))
    return found


def mark_seen(session: Session, event_ids: Sequence[str], *, now: datetime) -> None:
    new = sorted(set(event_ids) - seen_ids(session, event_ids))
    if new:
        session.execute(
            _upsert(session, seen_events).on_conflict_do_nothing(index_elements=[seen_events.c.event_id]),
            [{"event_id": e, "seen_at": now} for e in new],
        )


def prune_seen(session: Session, *, before: datetime) -> int:
    result = session.execute(delete(seen_events).where(seen_events.c.seen_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


# -- read model ----------------------------------------------------------------


def _subject(row: Any) -> SubjectState:
    return SubjectState(
        kind=row.kind,
        id=row.id,
        version=row.version,
        state=json.loads(row.state),
        updated_at=row.updated_at,
        occurred_at=row.occurred_at,
    )


def subject_versions(session: Session, keys: Sequence[SubjectKey] | None = None) -> dict[SubjectKey, int]:
    query = select(subjects.c.kind, subjects.c.id, subjects.c.version)
    if keys is None:
        return {(r.kind, r.id): r.version for r in session.execute(query)}
    out: dict[SubjectKey, int] = {}
    for chunk in _chunks(list(keys)):
        rows = session.execute(query.where(tuple_(subjects.c.kind, subjects.c.id).in_(chunk)))
        out.update({(r.kind, r.id): r.version for r in rows})
    return out


def all_subjects(session: Session) -> list[SubjectState]:
    return [_subject(r) for r in session.execute(select(subjects).order_by(subjects.c.kind, subjects.c.id))]


class SubjectCache:
    """The read model as this process last read it: a run reads again only changed rows.

    Every channel run needs every subject (index pages list them all); decoding every
    state's JSON each time grew with the catalogue. The (version, updated_at) of every
    row is cheap to read; a row whose pair moved is read again, and a row gone is dropped.
    Subject states are never changed in place, so a held one is what the row says.
    """

    def __init__(self) -> None:
        self._held: dict[SubjectKey, SubjectState] = {}

    def load(self, session: Session) -> list[SubjectState]:
        stamps = {
            (r.kind, r.id): (r.version, r.updated_at)
            for r in session.execute(
                select(subjects.c.kind, subjects.c.id, subjects.c.version, subjects.c.updated_at)
            )
        }
        held = {
            key: s
            for key, s in self._held.items()
            if key in stamps and stamps[key] == (s.version, s.updated_at)
        }
        stale = [key for key in stamps if key not in held]
        for chunk in _chunks(stale):
            rows = session.execute(select(subjects).where(tuple_(subjects.c.kind, subjects.c.id).in_(chunk)))
            held.update({(r.kind, r.id): _subject(r) for r in rows})
        self._held = held
        return [held[key] for key in sorted(held)]


def subjects_of_kind(session: Session, kind: str) -> list[SubjectState]:
    rows = session.execute(select(subjects).where(subjects.c.kind == kind).order_by(subjects.c.id))
    return [_subject(r) for r in rows]


def get_subject(session: Session, key: SubjectKey) -> SubjectState | None:
    row = session.execute(select(subjects).where(subjects.c.kind == key[0], subjects.c.id == key[1])).first()
    return _subject(row) if row else None


def upsert_subject(
    session: Session,
    *,
    key: SubjectKey,
    version: int,
    state: dict[str, Any],
    now: datetime,
    occurred_at: datetime | None,
) -> None:
    values = {
        "version": version,
        "state": json.dumps(state, ensure_ascii=False, sort_keys=True),
        "updated_at": now,
        "occurred_at": occurred_at,
    }
    # One statement, and the read model never goes back a version, even when two
    # ingests of the same subject commit at once (PostgreSQL).
    stmt = _upsert(session, subjects).values(kind=key[0], id=key[1], **values)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[subjects.c.kind, subjects.c.id],
            set_={name: stmt.excluded[name] for name in values},
            where=subjects.c.version <= stmt.excluded.version,
        )
    )


# -- deliveries ----------------------------------------------------------------


def _delivery(row: Any) -> Delivery:
    return Delivery(**{c: getattr(row, c) for c in Delivery.__dataclass_fields__})


def add_delivery(
    session: Session,
    *,
    channel: str,
    key: SubjectKey,
    version: int,
    now: datetime,
    occurred_at: datetime | None,
) -> None:
    """A pending delivery of `version`; older pending rows of the subject are superseded by it."""
    session.execute(
        update(deliveries)
        .where(
            deliveries.c.channel == channel,
            deliveries.c.subject_kind == key[0],
            deliveries.c.subject_id == key[1],
            # A newer version makes an older pending or dead row moot.
            deliveries.c.status.in_([PENDING, DeliveryStatus.DEAD.value]),
            deliveries.c.version <= version,
        )
        .values(status=DeliveryStatus.SUPERSEDED.value)
    )
    session.execute(
        insert(deliveries).values(
            channel=channel,
            subject_kind=key[0],
            subject_id=key[1],
            version=version,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            occurred_at=occurred_at,
        )
    )


def due_deliveries(session: Session, *, channel: str, now: datetime, limit: int) -> list[Delivery]:
    rows = session.execute(
        select(deliveries)
        .where(
            deliveries.c.channel == channel,
            deliveries.c.status == PENDING,
            deliveries.c.next_attempt_at <= now,
        )
        .order_by(deliveries.c.id)
        .limit(limit)
    )
    return [_delivery(r) for r in rows]


def oldest_due(session: Session, *, channel: str, now: datetime) -> datetime | None:
    """When the longest-waiting due row of `channel` became due, if any is due."""
    found: datetime | None = session.scalar(
        select(func.min(deliveries.c.next_attempt_at)).where(
            deliveries.c.channel == channel,
            deliveries.c.status == PENDING,
            deliveries.c.next_attempt_at <= now,
        )
    )
    return found


def get_delivery(session: Session, delivery_id: int) -> Delivery | None:
    row = session.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
    return _delivery(row) if row else None


def set_status(session: Session, ids: Sequence[int], status: DeliveryStatus) -> None:
    for chunk in _chunks(list(ids)):
        session.execute(update(deliveries).where(deliveries.c.id.in_(chunk)).values(status=status.value))


def mark_sent(session: Session, ids: Sequence[int], *, now: datetime) -> None:
    for chunk in _chunks(list(ids)):
        session.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(chunk))
            .values(
                status=DeliveryStatus.SENT.value,
                sent_at=now,
                attempts=deliveries.c.attempts + 1,
                last_error=None,
            )
        )


def mark_failed(
    session: Session,
    delivery_id: int,
    *,
    attempts: int,
    status: DeliveryStatus,
    next_at: datetime,
    error: str,
) -> None:
    session.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(attempts=attempts, status=status.value, next_attempt_at=next_at, last_error=error[:2000])
    )


def reschedule(session: Session, delivery_id: int, *, now: datetime) -> None:
    session.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(status=PENDING, next_attempt_at=now, attempts=0)
    )


def open_versions(session: Session, *, channel: str) -> dict[SubjectKey, int]:
    """Per subject the newest version with a pending or dead row (work still owed)."""
    rows = session.execute(
        select(deliveries.c.subject_kind, deliveries.c.subject_id, func.max(deliveries.c.version))
        .where(
            deliveries.c.channel == channel,
            deliveries.c.status.in_([PENDING, DeliveryStatus.DEAD.value]),
        )
        .group_by(deliveries.c.subject_kind, deliveries.c.subject_id)
    )
    return {(r[0], r[1]): r[2] for r in rows}


def page_deliveries(
    session: Session,
    *,
    status: str | None,
    channel: str | None,
    subject_kind: str | None = None,
    subject_id: str | None = None,
    offset: int,
    limit: int,
) -> tuple[list[Delivery], int]:
    conditions = []
    if status:
        conditions.append(deliveries.c.status == status)
    if channel:
        conditions.append(deliveries.c.channel == channel)
    if subject_kind:
        conditions.append(deliveries.c.subject_kind == subject_kind)
    if subject_id:
        conditions.append(deliveries.c.subject_id == subject_id)
    where = and_(*conditions) if conditions else None
    query = select(deliveries).order_by(deliveries.c.id.desc()).offset(offset).limit(limit)
    count = select(func.count()).select_from(deliveries)
    if where is not None:
        query = query.where(where)
        count = count.where(where)
    return [_delivery(r) for r in session.execute(query)], int(session.scalar(count) or 0)


def channel_stats(session: Session, *, channel: str) -> dict[str, Any]:
    row = session.execute(
        select(
            func.count().filter(deliveries.c.status == PENDING),
            func.min(deliveries.c.created_at).filter(deliveries.c.status == PENDING),
            func.count().filter(deliveries.c.status == DeliveryStatus.DEAD.value),
            func.count().filter(and_(deliveries.c.status == PENDING, deliveries.c.attempts > 0)),
        ).where(deliveries.c.channel == channel)
    ).one()
    return {"backlog": int(row[0]), "oldest_pending_at": row[1], "dead": int(row[2]), "failing": int(row[3])}


def latencies(session: Session, *, channel: str, limit: int = 10_000) -> list[float]:
    rows = session.execute(
        select(deliveries.c.sent_at, deliveries.c.occurred_at)
        .where(
            deliveries.c.channel == channel,
            deliveries.c.status == DeliveryStatus.SENT.value,
            deliveries.c.occurred_at.is_not(None),
        )
        .order_by(deliveries.c.id.desc())
        .limit(limit)
    )
    return [max((r.sent_at - r.occurred_at).total_seconds(), 0.0) for r in rows]


# -- ledger --------------------------------------------------------------------


def disclosed(session: Session, *, channel: str) -> dict[SubjectKey, tuple[int, datetime]]:
    rows = session.execute(
        select(ledger.c.subject_kind, ledger.c.subject_id, ledger.c.version, ledger.c.disclosed_at).where(
            ledger.c.channel == channel
        )
    )
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def raise_ledger(session: Session, *, channel: str, key: SubjectKey, version: int, now: datetime) -> None:
    """Record `version` as disclosed unless the ledger already holds it or newer."""
    where = and_(ledger.c.channel == channel, ledger.c.subject_kind == key[0], ledger.c.subject_id == key[1])
    current = session.scalar(select(ledger.c.version).where(where))
    if current is None:
        session.execute(
            insert(ledger).values(
                channel=channel, subject_kind=key[0], subject_id=key[1], version=version, disclosed_at=now
            )
        )
    elif version > current:
        session.execute(update(ledger).where(where).values(version=version, disclosed_at=now))


def forget_ledger(session: Session, *, channel: str, keys: Sequence[SubjectKey] | None = None) -> None:
    """The channel no longer shows these subjects (all when None): their ledger rows go."""
    if keys is None:
        session.execute(delete(ledger).where(ledger.c.channel == channel))
        return
    for chunk in _chunks(list(keys)):
        session.execute(
            delete(ledger).where(
                ledger.c.channel == channel,
                or_(*[and_(ledger.c.subject_kind == k, ledger.c.subject_id == i) for k, i in chunk]),
            )
        )


# -- ticket.overdue notices ----------------------------------------------------


@dataclass(frozen=True)
class OverdueNotice:
    event_id: str
    ticket_id: str
    version: int
    data: dict[str, Any]
    occurred_at: datetime


def add_overdue(session: Session, notices: Sequence[OverdueNotice], *, now: datetime) -> list[OverdueNotice]:
    """Record the notices; return those recorded now (an event id already held is skipped).

    One statement per notice with RETURNING: under PostgreSQL a concurrent ingest of the
    same event waits on the key and gets nothing back, so only one of them sends e-mail.
    """
    added: list[OverdueNotice] = []
    for n in notices:
        stmt = (
            _upsert(session, ticket_overdue)
            .values(
                event_id=n.event_id,
                ticket_id=n.ticket_id,
                version=n.version,
                data=json.dumps(n.data, ensure_ascii=False, sort_keys=True),
                occurred_at=n.occurred_at,
                received_at=now,
            )
            .on_conflict_do_nothing(index_elements=[ticket_overdue.c.event_id])
            .returning(ticket_overdue.c.event_id)
        )
        if session.execute(stmt).first() is not None:
            added.append(n)
    return added


def overdue_notices(session: Session, *, limit: int = 1000) -> list[OverdueNotice]:
    rows = session.execute(select(ticket_overdue).order_by(ticket_overdue.c.received_at.desc()).limit(limit))
    return [
        OverdueNotice(r.event_id, r.ticket_id, r.version, json.loads(r.data), r.occurred_at) for r in rows
    ]


def overdue_stats(session: Session) -> dict[str, Any]:
    row = session.execute(
        select(
            func.count(),
            func.count(func.distinct(ticket_overdue.c.ticket_id)),
            func.max(ticket_overdue.c.received_at),
        )
    ).one()
    return {"count": int(row[0]), "tickets": int(row[1]), "latest_received_at": row[2]}


# -- e-mails -------------------------------------------------------------------


@dataclass(frozen=True)
class EmailJob:
    """One pending e-mail: its delivery row, its recipient, and the overdue event it tells of."""

    delivery: Delivery
    recipient: str
    notice: OverdueNotice


def add_email(
    session: Session, *, notice: OverdueNotice, recipient: str, channel: str, now: datetime
) -> None:
    """A pending e-mail delivery of one overdue event to one recipient (never superseded)."""
    delivery_id = session.scalar(
        insert(deliveries)
        .values(
            channel=channel,
            subject_kind="ticket",
            subject_id=notice.ticket_id,
            version=notice.version,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            occurred_at=notice.occurred_at,
        )
        .returning(deliveries.c.id)
    )
    session.execute(
        insert(email_deliveries).values(
            delivery_id=delivery_id, event_id=notice.event_id, recipient=recipient
        )
    )


def email_jobs(session: Session, batch: Sequence[Delivery]) -> dict[int, EmailJob]:
    """The e-mail behind each delivery of `batch` (a delivery without one is left out)."""
    by_id = {d.id: d for d in batch}
    out: dict[int, EmailJob] = {}
    for chunk in _chunks(list(by_id)):
        rows = session.execute(
            select(
                email_deliveries.c.delivery_id,
                email_deliveries.c.recipient,
                ticket_overdue.c.event_id,
                ticket_overdue.c.ticket_id,
                ticket_overdue.c.version,
                ticket_overdue.c.data,
                ticket_overdue.c.occurred_at,
            )
            .join(ticket_overdue, ticket_overdue.c.event_id == email_deliveries.c.event_id)
            .where(email_deliveries.c.delivery_id.in_(chunk))
        )
        for r in rows:
            notice = OverdueNotice(r.event_id, r.ticket_id, r.version, json.loads(r.data), r.occurred_at)
            out[r.delivery_id] = EmailJob(by_id[r.delivery_id], r.recipient, notice)
    return out


# -- subscriptions -------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    id: int
    email: str
    target_kind: str
    target_key: str
    target_label: str
    token: str
    status: str
    created_at: datetime
    confirm_sent_at: datetime | None
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None


def _subscription(row: Any) -> Subscription:
    return Subscription(**{c: getattr(row, c) for c in Subscription.__dataclass_fields__})


def find_subscription(
    session: Session, *, email: str, target_kind: str, target_key: str
) -> Subscription | None:
    row = session.execute(
        select(subscriptions).where(
            subscriptions.c.email == email,
            subscriptions.c.target_kind == target_kind,
            subscriptions.c.target_key == target_key,
        )
    ).first()
    return _subscription(row) if row else None


def subscription_by_token(session: Session, token: str) -> Subscription | None:
    row = session.execute(select(subscriptions).where(subscriptions.c.token == token)).first()
    return _subscription(row) if row else None


def add_subscription(
    session: Session,
    *,
    email: str,
    target_kind: str,
    target_key: str,
    target_label: str,
    token: str,
    now: datetime,
) -> int:
    return int(
        session.scalar(
            insert(subscriptions)
            .values(
                email=email,
                target_kind=target_kind,
                target_key=target_key,
                target_label=target_label,
                token=token,
                status="pending",
                created_at=now,
            )
            .returning(subscriptions.c.id)
        )
    )


def update_subscription(session: Session, subscription_id: int, **values: Any) -> None:
    session.execute(update(subscriptions).where(subscriptions.c.id == subscription_id).values(**values))


def active_targets(session: Session) -> list[tuple[int, str, str]]:
    """(id, target_kind, target_key) of every active subscription."""
    rows = session.execute(
        select(subscriptions.c.id, subscriptions.c.target_kind, subscriptions.c.target_key).where(
            subscriptions.c.status == "active"
        )
    )
    return [(int(r.id), str(r.target_kind), str(r.target_key)) for r in rows]


def add_subscriber_email(
    session: Session,
    *,
    subscription_id: int,
    kind: str,
    key: SubjectKey,
    version: int,
    channel: str,
    now: datetime,
    due_at: datetime,
    occurred_at: datetime | None,
) -> int:
    """A pending e-mail row to a subscriber (never superseded by another subscriber's row)."""
    delivery_id = int(
        session.scalar(
            insert(deliveries)
            .values(
                channel=channel,
                subject_kind=key[0],
                subject_id=key[1],
                version=version,
                status=PENDING,
                attempts=0,
                next_attempt_at=due_at,
                created_at=now,
                occurred_at=occurred_at,
            )
            .returning(deliveries.c.id)
        )
    )
    session.execute(
        insert(subscriber_emails).values(delivery_id=delivery_id, subscription_id=subscription_id, kind=kind)
    )
    return delivery_id


@dataclass(frozen=True)
class SubscriberRow:
    """A subscriber e-mail row with its subscription."""

    delivery: Delivery
    kind: str
    subscription: Subscription


def subscriber_rows(session: Session, batch: Sequence[Delivery]) -> dict[int, SubscriberRow]:
    """The subscriber e-mail behind each delivery of `batch` (others are left out)."""
    by_id = {d.id: d for d in batch}
    out: dict[int, SubscriberRow] = {}
    for chunk in _chunks(list(by_id)):
        rows = session.execute(
            select(subscriber_emails.c.delivery_id, subscriber_emails.c.kind, subscriptions)
            .join(subscriptions, subscriptions.c.id == subscriber_emails.c.subscription_id)
            .where(subscriber_emails.c.delivery_id.in_(chunk))
        )
        for r in rows:
            out[r.delivery_id] = SubscriberRow(by_id[r.delivery_id], r.kind, _subscription(r))
    return out


def pending_change_rows(session: Session, subscription_ids: Sequence[int]) -> list[Delivery]:
    """Every pending change row of these subscriptions, due or not (they leave together)."""
    out: list[Delivery] = []
    for chunk in _chunks(list(subscription_ids)):
        rows = session.execute(
            select(deliveries)
            .join(subscriber_emails, subscriber_emails.c.delivery_id == deliveries.c.id)
            .where(
                subscriber_emails.c.subscription_id.in_(chunk),
                subscriber_emails.c.kind == "changes",
                deliveries.c.status == PENDING,
            )
            .order_by(deliveries.c.id)
        )
        out.extend(_delivery(r) for r in rows)
    return out


def get_subjects(session: Session, keys: Sequence[SubjectKey]) -> dict[SubjectKey, SubjectState]:
    out: dict[SubjectKey, SubjectState] = {}
    for chunk in _chunks(list(set(keys))):
        rows = session.execute(select(subjects).where(tuple_(subjects.c.kind, subjects.c.id).in_(chunk)))
        for r in rows:
            state = _subject(r)
            out[state.key] = state
    return out


# -- the weekly briefing -------------------------------------------------------


def briefing_planned(session: Session, week: str) -> bool:
    return (
        session.scalar(select(briefing_emails.c.delivery_id).where(briefing_emails.c.week == week).limit(1))
        is not None
    )


def add_briefing_email(session: Session, *, week: str, recipient: str, channel: str, now: datetime) -> None:
    delivery_id = session.scalar(
        insert(deliveries)
        .values(
            channel=channel,
            subject_kind="briefing",
            subject_id=week,
            version=1,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            occurred_at=now,
        )
        .returning(deliveries.c.id)
    )
    session.execute(insert(briefing_emails).values(delivery_id=delivery_id, week=week, recipient=recipient))


def briefing_rows(session: Session, batch: Sequence[Delivery]) -> dict[int, tuple[str, str]]:
    """Delivery id -> (week, recipient) for the briefing rows of `batch`."""
    out: dict[int, tuple[str, str]] = {}
    for chunk in _chunks([d.id for d in batch]):
        rows = session.execute(select(briefing_emails).where(briefing_emails.c.delivery_id.in_(chunk)))
        out.update({r.delivery_id: (r.week, r.recipient) for r in rows})
    return out


def sent_between(session: Session, *, channel: str, start: datetime, end: datetime) -> list[float]:
    """Seconds from event to disclosure of each row of `channel` sent in [start, end)."""
    rows = session.execute(
        select(deliveries.c.sent_at, deliveries.c.occurred_at).where(
            deliveries.c.channel == channel,
            deliveries.c.status == DeliveryStatus.SENT.value,
            deliveries.c.sent_at >= start,
            deliveries.c.sent_at < end,
        )
    )
    return [max((r.sent_at - r.occurred_at).total_seconds(), 0.0) if r.occurred_at else 0.0 for r in rows]


def overdue_between(session: Session, *, start: datetime, end: datetime) -> tuple[int, int]:
    """(reminders, distinct tickets) of ticket.overdue received in [start, end)."""
    row = session.execute(
        select(func.count(), func.count(func.distinct(ticket_overdue.c.ticket_id))).where(
            ticket_overdue.c.received_at >= start, ticket_overdue.c.received_at < end
        )
    ).one()
    return int(row[0]), int(row[1])
