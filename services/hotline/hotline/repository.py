"""Loading and saving tickets, and the read queries. Nothing here commits."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import and_, case, exists, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from hotline.db import overdue_notices, ticket_counters, ticket_transitions, tickets, units
from hotline.domain import Channel, Contact, Kind, Overdue, Status, Ticket
from hotline.units import Unit
from minhbach_shared.db import fetch_page
from minhbach_shared.events import Envelope
from minhbach_shared.text import fold

OPEN = (Status.RECEIVED, Status.ACCEPTED, Status.ASSIGNED, Status.ANSWERED)


def to_ticket(row: Row[Any]) -> Ticket:
    return Ticket(
        id=row.id,
        tracking_code=row.tracking_code,
        kind=Kind(row.kind),
        channel=Channel(row.channel),
        status=Status(row.status),
        subject=row.subject,
        body=row.body,
        procedure_code=row.procedure_code,
        submitter=Contact(
            name=row.submitter_name,
            phone=row.submitter_phone,
            email=row.submitter_email,
            address=row.submitter_address,
        ),
        consent_to_publish=row.consent_to_publish,
        redaction_marks=list(row.redaction_marks or []),
        public_subject_override=row.public_subject_override,
        public_question_override=row.public_question_override,
        internal_notes=row.internal_notes or "",
        answer=row.answer,
        citizen_reason=row.citizen_reason,
        forwarded_to=row.forwarded_to,
        unit=row.unit,
        unit_due_on=row.unit_due_on,
        received_at=row.received_at,
        classify_due_on=row.classify_due_on,
        accepted_at=row.accepted_at,
        answer_due_on=row.answer_due_on,
        paused_at=row.paused_at,
        resume_to=Status(row.resume_to) if row.resume_to else None,
        paused_working_days=row.paused_working_days,
        answered_at=row.answered_at,
        approved_at=row.approved_at,
        approved_by=row.approved_by,
        published_at=row.published_at,
        closed_at=row.closed_at,
        withdrawn_at=row.withdrawn_at,
        withdrawal_reason=row.withdrawal_reason,
        duplicate_of_id=row.duplicate_of_id,
        published_subject=row.published_subject,
        published_question=row.published_question,
        published_answer=row.published_answer,
        version=row.version,
    )


def _state(ticket: Ticket) -> dict[str, Any]:
    """The columns that change after intake."""
    public = ticket.is_public
    search_text = None
    if ticket.published_question is not None:
        search_text = fold(
            " ".join(
                [ticket.published_subject or "", ticket.published_question, ticket.published_answer or ""]
            )
        )
    return {
        "status": ticket.status.value,
        "redaction_marks": list(ticket.redaction_marks),
        "public_subject_override": ticket.public_subject_override,
        "public_question_override": ticket.public_question_override,
        "internal_notes": ticket.internal_notes,
        "answer": ticket.answer,
        "citizen_reason": ticket.citizen_reason,
        "forwarded_to": ticket.forwarded_to,
        "unit": ticket.unit,
        "unit_due_on": ticket.unit_due_on,
        "classify_due_on": ticket.classify_due_on,
        "accepted_at": ticket.accepted_at,
        "answer_due_on": ticket.answer_due_on,
        "paused_at": ticket.paused_at,
        "resume_to": ticket.resume_to.value if ticket.resume_to else None,
        "paused_working_days": ticket.paused_working_days,
        "answered_at": ticket.answered_at,
        "approved_at": ticket.approved_at,
        "approved_by": ticket.approved_by,
        "published_at": ticket.published_at,
        "closed_at": ticket.closed_at,
        "withdrawn_at": ticket.withdrawn_at,
        "withdrawal_reason": ticket.withdrawal_reason,
        "duplicate_of_id": ticket.duplicate_of_id,
        "published_subject": ticket.published_subject,
        "published_question": ticket.published_question,
        "published_answer": ticket.published_answer,
        "search_text": search_text,
        "is_public": public,
        "version": ticket.version,
    }


class Repository:
    """Tickets loaded or added in one unit of work; `persist` writes them all back."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._tickets: dict[int, Ticket] = {}
        self._notices: list[tuple[Ticket, date, Overdue]] = []

    def get(self, ticket_id: int) -> Ticket | None:
        if ticket_id in self._tickets:
            return self._tickets[ticket_id]
        row = self.session.execute(
            select(tickets).where(tickets.c.id == ticket_id).with_for_update()
        ).one_or_none()
        if row is None:
            return None
        ticket = to_ticket(row)
        self._tickets[ticket_id] = ticket
        return ticket

    def has_tickets(self) -> bool:
        return bool(self.session.execute(select(exists().select_from(tickets))).scalar())

    def get_by_code(self, code: str) -> Ticket | None:
        found = self.session.execute(select(tickets.c.id).where(tickets.c.tracking_code == code)).scalar()
        return self.get(found) if found is not None else None

    # The units list

    def units(self) -> list[Unit]:
        rows = self.session.execute(select(units).order_by(units.c.id).with_for_update())
        return [Unit(name=r.name, active=r.active, id=r.id) for r in rows]

    def add_unit(self, unit: Unit, *, actor: str, now: datetime) -> None:
        unit.id = self.session.execute(
            insert(units)
            .values(name=unit.name, active=unit.active, updated_by=actor, updated_at=now)
            .returning(units.c.id)
        ).scalar_one()

    def save_unit(self, unit: Unit, *, actor: str, now: datetime) -> None:
        self.session.execute(
            update(units)
            .where(units.c.id == unit.id)
            .values(name=unit.name, active=unit.active, updated_by=actor, updated_at=now)
        )

    def tickets_of_unit(self, name: str) -> list[Ticket]:
        """Every ticket assigned to the unit, loaded for this unit of work."""
        ids = self.session.execute(select(tickets.c.id).where(tickets.c.unit == name)).scalars()
        return [t for t in (self.get(i) for i in list(ids)) if t is not None]

    def next_seq(self, year: int) -> int:
        last = self.session.execute(
            select(ticket_counters.c.last_seq).where(ticket_counters.c.year == year).with_for_update()
        ).scalar()
        if last is None:
            self.session.execute(insert(ticket_counters).values(year=year, last_seq=1))
            return 1
        self.session.execute(
            update(ticket_counters).where(ticket_counters.c.year == year).values(last_seq=last + 1)
        )
        return int(last) + 1

    def add(self, ticket: Ticket, *, year: int, seq: int) -> None:
        now = datetime.now(UTC)
        s = ticket.submitter
        ticket.id = self.session.execute(
            insert(tickets)
            .values(
                tracking_code=ticket.tracking_code,
                year=year,
                seq=seq,
                kind=ticket.kind.value,
                channel=ticket.channel.value,
                subject=ticket.subject,
                body=ticket.body,
                procedure_code=ticket.procedure_code,
                submitter_name=s.name,
                submitter_phone=s.phone,
                submitter_email=s.email,
                submitter_address=s.address,
                consent_to_publish=ticket.consent_to_publish,
                received_at=ticket.received_at,
                created_at=now,
                updated_at=now,
                **_state(ticket),
            )
            .returning(tickets.c.id)
        ).scalar_one()
        self._tickets[ticket.id] = ticket

    def open_ticket_ids(self) -> list[int]:
        return list(
            self.session.execute(
                select(tickets.c.id)
                .where(tickets.c.status.in_([s.value for s in OPEN]))
                .order_by(tickets.c.id)
            ).scalars()
        )

    def notice_sent(self, ticket_id: int, day: date) -> bool:
        return bool(
            self.session.execute(
                select(exists().where(overdue_notices.c.ticket_id == ticket_id, overdue_notices.c.day == day))
            ).scalar()
        )

    def add_notice(self, ticket: Ticket, day: date, overdue: Overdue) -> None:
        self._notices.append((ticket, day, overdue))

    # Unit of work support

    def persist(self) -> None:
        now = datetime.now(UTC)
        for ticket in self._tickets.values():
            self.session.execute(
                update(tickets).where(tickets.c.id == ticket.id).values(updated_at=now, **_state(ticket))
            )
            if ticket.new_transitions:
                self.session.execute(
                    insert(ticket_transitions),
                    [
                        {
                            "ticket_id": ticket.id,
                            "action": t.action,
                            "from_status": t.from_status.value if t.from_status else None,
                            "to_status": t.to_status.value,
                            "actor": t.actor,
                            "at": t.at,
                            "note": t.note,
                        }
                        for t in ticket.new_transitions
                    ],
                )
                ticket.new_transitions.clear()
        for ticket, day, overdue in self._notices:
            self.session.execute(
                insert(overdue_notices).values(
                    ticket_id=ticket.id,
                    day=day,
                    stage=overdue.stage,
                    due_on=overdue.due_on,
                    days_overdue=overdue.days_overdue,
                    created_at=now,
                )
            )
        self._notices.clear()

    def collect_events(self) -> list[Envelope]:
        collected: list[Envelope] = []
        for ticket in self._tickets.values():
            collected.extend(ticket.events)
            ticket.events.clear()
        return collected


# Read queries


def ticket_row(session: Session, ticket_id: int) -> Row[Any] | None:
    return session.execute(select(tickets).where(tickets.c.id == ticket_id)).one_or_none()


def ticket_row_by_code(session: Session, code: str) -> Row[Any] | None:
    return session.execute(select(tickets).where(tickets.c.tracking_code == code)).one_or_none()


def tracking_code_of(session: Session, ticket_id: int | None) -> str | None:
    if ticket_id is None:
        return None
    return session.execute(select(tickets.c.tracking_code).where(tickets.c.id == ticket_id)).scalar()


def transition_rows(session: Session, ticket_id: int) -> list[Row[Any]]:
    return list(
        session.execute(
            select(ticket_transitions)
            .where(ticket_transitions.c.ticket_id == ticket_id)
            .order_by(ticket_transitions.c.id)
        ).all()
    )


def running_due_on() -> ColumnElement[Any]:
    """The due date of the clock that runs now, as Ticket.running_deadline() reads it."""
    return case(
        (tickets.c.status == Status.RECEIVED.value, tickets.c.classify_due_on),
        (tickets.c.status == Status.ACCEPTED.value, tickets.c.answer_due_on),
        (
            tickets.c.status == Status.ASSIGNED.value,
            func.coalesce(tickets.c.unit_due_on, tickets.c.answer_due_on),
        ),
        (tickets.c.status == Status.ANSWERED.value, tickets.c.answer_due_on),
        else_=None,
    )


def staff_list(
    session: Session,
    *,
    statuses: list[str] | None,
    unit: str | None,
    kind: str | None = None,
    channel: str | None = None,
    order: str = "newest",
    page: int,
    size: int,
) -> tuple[list[Row[Any]], int]:
    conditions: list[ColumnElement[bool]] = []
    if statuses:
        conditions.append(tickets.c.status.in_(statuses))
    if unit:
        conditions.append(tickets.c.unit == unit)
    if kind:
        conditions.append(tickets.c.kind == kind)
    if channel:
        conditions.append(tickets.c.channel == channel)
    where = and_(*conditions) if conditions else and_(True)
    statement = select(tickets).where(where)
    if order == "due":
        # The nearest deadline first; tickets with no clock running last, the oldest first.
        due = running_due_on()
        statement = statement.order_by(due.is_(None), due, tickets.c.id)
    else:
        statement = statement.order_by(tickets.c.id.desc())
    return fetch_page(session, statement, page=page, size=size)


def public_answers(
    session: Session, *, q: str | None, procedure_code: str | None, page: int, size: int
) -> tuple[list[Row[Any]], int]:
    conditions: list[ColumnElement[bool]] = [tickets.c.is_public.is_(True)]
    if procedure_code:
        conditions.append(tickets.c.procedure_code == procedure_code)
    for term in fold(q or "").split():
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(tickets.c.search_text.like(f"%{escaped}%", escape="\\"))
    where = and_(*conditions)
    statement = select(tickets).where(where).order_by(tickets.c.published_at.desc(), tickets.c.id.desc())
    return fetch_page(session, statement, page=page, size=size)


def public_versions(session: Session) -> list[tuple[str, int]]:
    return [
        (r.tracking_code, r.version)
        for r in session.execute(
            select(tickets.c.tracking_code, tickets.c.version)
            .where(tickets.c.is_public.is_(True))
            .order_by(tickets.c.id)
        )
    ]


def unit_rows(session: Session) -> list[Row[Any]]:
    return list(session.execute(select(units).order_by(units.c.active.desc(), units.c.name)).all())


def statistics_rows(session: Session) -> list[Row[Any]]:
    """Every ticket, fit for counting but duplicates (they follow the original)."""
    return list(
        session.execute(
            select(tickets).where(tickets.c.status != Status.DUPLICATE.value).order_by(tickets.c.id)
        ).all()
    )
