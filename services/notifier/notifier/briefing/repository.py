"""Queries on the weekly briefing's table: one e-mail row per week and recipient.

Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from notifier.db import briefing_emails, chunks
from notifier.disclosure import repository as disclosure
from notifier.disclosure.domain import Delivery


def briefing_planned(session: Session, week: str) -> bool:
    return (
        session.scalar(select(briefing_emails.c.delivery_id).where(briefing_emails.c.week == week).limit(1))
        is not None
    )


def add_briefing_email(session: Session, *, week: str, recipient: str, channel: str, now: datetime) -> None:
    delivery_id = disclosure.insert_delivery(
        session, channel=channel, key=("briefing", week), version=1, now=now, occurred_at=now
    )
    session.execute(insert(briefing_emails).values(delivery_id=delivery_id, week=week, recipient=recipient))


def briefing_rows(session: Session, batch: Sequence[Delivery]) -> dict[int, tuple[str, str]]:
    """Delivery id -> (week, recipient) for the briefing rows of `batch`."""
    out: dict[int, tuple[str, str]] = {}
    for chunk in chunks([d.id for d in batch]):
        rows = session.execute(select(briefing_emails).where(briefing_emails.c.delivery_id.in_(chunk)))
        out.update({r.delivery_id: (r.week, r.recipient) for r in rows})
    return out
