"""Queries on the subscriptions' tables: subscriptions and the e-mails to subscribers.

Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from notifier.db import chunks, deliveries, subscriber_emails, subscriptions
from notifier.disclosure import repository as disclosure
from notifier.disclosure.domain import Delivery, SubjectKey
from notifier.subscriptions.domain import SubscriberRow, Subscription


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
    delivery_id = disclosure.insert_delivery(
        session, channel=channel, key=key, version=version, now=now, occurred_at=occurred_at, due_at=due_at
    )
    session.execute(
        insert(subscriber_emails).values(delivery_id=delivery_id, subscription_id=subscription_id, kind=kind)
    )
    return delivery_id


def subscriber_rows(session: Session, batch: Sequence[Delivery]) -> dict[int, SubscriberRow]:
    """The subscriber e-mail behind each delivery of `batch` (others are left out)."""
    by_id = {d.id: d for d in batch}
    out: dict[int, SubscriberRow] = {}
    for chunk in chunks(list(by_id)):
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
    for chunk in chunks(list(subscription_ids)):
        rows = session.execute(
            select(deliveries)
            .join(subscriber_emails, subscriber_emails.c.delivery_id == deliveries.c.id)
            .where(
                subscriber_emails.c.subscription_id.in_(chunk),
                subscriber_emails.c.kind == "changes",
                deliveries.c.status == disclosure.PENDING,
            )
            .order_by(deliveries.c.id)
        )
        out.extend(disclosure.delivery_of(r) for r in rows)
    return out
