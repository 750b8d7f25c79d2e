"""Queries on the hotline's e-mail tables: ticket.overdue notices, ticket.answered replies,
and the e-mails that tell of them.

Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, func, insert, select
from sqlalchemy.orm import Session

from notifier.db import chunks, email_deliveries, ticket_overdue, ticket_replies, upsert
from notifier.disclosure import repository as disclosure
from notifier.disclosure.domain import Delivery
from notifier.hotline.domain import EmailJob, OverdueNotice, ReplyJob, ReplyNotice


def add_overdue(session: Session, notices: Sequence[OverdueNotice], *, now: datetime) -> list[OverdueNotice]:
    """Record the notices; return those recorded now (an event id already held is skipped).

    One statement per notice with RETURNING: under PostgreSQL a concurrent ingest of the
    same event waits on the key and gets nothing back, so only one of them sends e-mail.
    """
    added: list[OverdueNotice] = []
    for n in notices:
        stmt = (
            upsert(session, ticket_overdue)
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


def add_replies(session: Session, replies: Sequence[ReplyNotice], *, now: datetime) -> list[ReplyNotice]:
    """Record the replies; return those recorded now. One per ticket: an event id or a
    ticket already held is skipped, so no citizen is answered twice by e-mail."""
    added: list[ReplyNotice] = []
    for r in replies:
        stmt = (
            upsert(session, ticket_replies)
            .values(
                event_id=r.event_id,
                ticket_id=r.ticket_id,
                version=r.version,
                data=json.dumps(r.data, ensure_ascii=False, sort_keys=True),
                occurred_at=r.occurred_at,
                received_at=now,
            )
            .on_conflict_do_nothing()
            .returning(ticket_replies.c.event_id)
        )
        if session.execute(stmt).first() is not None:
            added.append(r)
    return added


def overdue_stats(session: Session) -> dict[str, Any]:
    row = session.execute(
        select(
            func.count(),
            func.count(func.distinct(ticket_overdue.c.ticket_id)),
            func.max(ticket_overdue.c.received_at),
        )
    ).one()
    return {"count": int(row[0]), "tickets": int(row[1]), "latest_received_at": row[2]}


def add_email(
    session: Session, *, notice: OverdueNotice | ReplyNotice, recipient: str, channel: str, now: datetime
) -> None:
    """A pending e-mail delivery of one event (overdue, answered) to one recipient (never superseded)."""
    delivery_id = disclosure.insert_delivery(
        session,
        channel=channel,
        key=("ticket", notice.ticket_id),
        version=notice.version,
        now=now,
        occurred_at=notice.occurred_at,
    )
    session.execute(
        insert(email_deliveries).values(
            delivery_id=delivery_id, event_id=notice.event_id, recipient=recipient
        )
    )


def _notice_rows(session: Session, batch: Sequence[Delivery], notices: Table) -> Iterator[Row[Any]]:
    """Each delivery of `batch` that e-mails a notice of `notices` (ticket_overdue or
    ticket_replies): its id, recipient, and the notice's columns."""
    ids = [d.id for d in batch]
    for chunk in chunks(ids):
        yield from session.execute(
            select(email_deliveries.c.delivery_id, email_deliveries.c.recipient, notices)
            .join(notices, notices.c.event_id == email_deliveries.c.event_id)
            .where(email_deliveries.c.delivery_id.in_(chunk))
        )


def email_jobs(session: Session, batch: Sequence[Delivery]) -> dict[int, EmailJob]:
    """The overdue reminder behind each delivery of `batch` (one without is left out)."""
    by_id = {d.id: d for d in batch}
    return {
        r.delivery_id: EmailJob(
            by_id[r.delivery_id],
            r.recipient,
            OverdueNotice(r.event_id, r.ticket_id, r.version, json.loads(r.data), r.occurred_at),
        )
        for r in _notice_rows(session, batch, ticket_overdue)
    }


def reply_jobs(session: Session, batch: Sequence[Delivery]) -> dict[int, ReplyJob]:
    """The citizen's reply behind each delivery of `batch` (one without is left out)."""
    by_id = {d.id: d for d in batch}
    return {
        r.delivery_id: ReplyJob(
            by_id[r.delivery_id],
            r.recipient,
            ReplyNotice(r.event_id, r.ticket_id, r.version, r.recipient, json.loads(r.data), r.occurred_at),
        )
        for r in _notice_rows(session, batch, ticket_replies)
    }


def overdue_between(session: Session, *, start: datetime, end: datetime) -> tuple[int, int]:
    """(reminders, distinct tickets) of ticket.overdue received in [start, end)."""
    row = session.execute(
        select(func.count(), func.count(func.distinct(ticket_overdue.c.ticket_id))).where(
            ticket_overdue.c.received_at >= start, ticket_overdue.c.received_at < end
        )
    ).one()
    return int(row[0]), int(row[1])
