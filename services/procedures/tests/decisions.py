"""Decisions for the tests that call the use cases directly: drafted by an editor,
submitted, and published by an approver (four eyes), at a fixed moment."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from minhbach_testing.uow import UnitsOfWork
from procedures import schemas, services
from procedures.uow import UnitOfWork

Units = UnitsOfWork[UnitOfWork]

# 10:00 in Vietnam on 27 Nov 2026: a decision effective that day applies at once.
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
TODAY = date(2026, 11, 27)
TOMORROW = TODAY + timedelta(days=1)
EDITOR, APPROVER = "editor-an", "approver-binh"


def decide(
    units: Units,
    *changes: tuple[str, str] | tuple[str, str, str],
    effective_on: date = TODAY,
    number: str = "1",
) -> int:
    """A draft decision of (action, procedure_code[, replaced_by]) changes; its id."""
    return services.create_decision(
        units(),
        schemas.DecisionCreate(
            number=f"{number}/QĐ-SXD",
            title="Công bố thủ tục hành chính",
            issuer="Sở Xây dựng tỉnh Thái Bình",
            signed_on=TODAY,
            effective_on=effective_on,
            changes=[
                schemas.ChangeCreate(
                    action=c[0], procedure_code=c[1], replaced_by=c[2] if len(c) > 2 else None
                )
                for c in changes
            ],
        ),
        actor=EDITOR,
    )


def submit(units: Units, decision_id: int, now: datetime = NOW) -> str:
    return services.submit_decision(units(), decision_id, actor=EDITOR, now=now).status.value


def approve(units: Units, decision_id: int, now: datetime = NOW, *, actor: str = APPROVER) -> str:
    return services.publish_decision(units(), decision_id, actor=actor, now=now).status.value


def publish(units: Units, decision_id: int, now: datetime = NOW) -> str:
    """The review: the editor submits, an approver publishes."""
    submit(units, decision_id, now)
    return approve(units, decision_id, now)
