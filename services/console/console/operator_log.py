"""Every operator action (retry a delivery, retry a channel, resync a channel), written after
the notifier answered, with what it answered (a refusal too): who, when, what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from console import db

MAX_OUTCOME = 500


@dataclass(frozen=True)
class OperatorAction:
    at: datetime
    username: str
    name: str
    action: str
    target: str
    outcome: str


def record(engine: Engine, *, at: datetime, username: str, action: str, target: str, outcome: str) -> None:
    with Session(engine) as session:
        session.execute(
            insert(db.operator_actions).values(
                at=at, username=username, action=action, target=target[:120], outcome=outcome[:MAX_OUTCOME]
            )
        )
        session.commit()


def recent(engine: Engine, *, limit: int = 50) -> list[OperatorAction]:
    """The newest first, each with the account's full name (its username if it is gone)."""
    t, a = db.operator_actions, db.accounts
    with Session(engine) as session:
        rows = session.execute(
            select(t.c.at, t.c.username, a.c.display_name, t.c.action, t.c.target, t.c.outcome)
            .join(a, a.c.username == t.c.username, isouter=True)
            .order_by(t.c.id.desc())
            .limit(limit)
        ).all()
    return [
        OperatorAction(
            at=r.at,
            username=r.username,
            name=r.display_name or r.username,
            action=r.action,
            target=r.target,
            outcome=r.outcome,
        )
        for r in rows
    ]
