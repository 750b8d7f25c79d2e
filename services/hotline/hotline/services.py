"""Use cases. Each write is one transaction: `with uow: ...; uow.commit()`."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline import errors, repository, schemas, units
from hotline.deadlines import WorkingCalendar
from hotline.domain import (
    Calendar,
    Channel,
    Contact,
    Deadlines,
    Kind,
    RuleBroken,
    Status,
    Ticket,
    TransitionNotAllowed,
    tracking_code,
    vietnam_day,
)
from hotline.settings import Settings
from hotline.uow import UnitOfWork
from minhbach_shared.procedures_api import ProcedureRegister, ProceduresUnreachable

log = logging.getLogger(__name__)

CITIZEN = "citizen"


@dataclass(frozen=True)
class Policy:
    """The working calendar and deadlines in force, built from settings."""

    calendar: Calendar
    deadlines: Deadlines

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(
            calendar=WorkingCalendar(
                extra_days_off=settings.extra_days_off, extra_working_days=settings.extra_working_days
            ),
            deadlines=Deadlines(
                classify_within_working_days=settings.classify_within_working_days,
                answer_within_working_days=settings.answer_within_working_days,
            ),
        )


# Intake


def check_procedure(procedures: ProcedureRegister, code: str | None) -> None:
    if code is None:
        return
    try:
        exists = procedures.exists(code)
    except ProceduresUnreachable as exc:
        raise errors.ProceduresUnavailable(str(exc)) from None
    if not exists:
        raise errors.Invalid("procedure_code", f"no published procedure has the code {code}")


def submit_ticket(
    uow: UnitOfWork,
    data: schemas.TicketFields,
    *,
    channel: Channel,
    actor: str,
    now: datetime,
    policy: Policy,
    procedures: ProcedureRegister,
    marks: list[str] | None = None,
    note: str | None = None,
) -> Ticket:
    """Record a new ticket under a new random tracking code; nothing is stored on refusal."""
    if data.contact_missing():
        raise errors.Invalid("phone", "give a phone number or an email address (or both)")
    check_procedure(procedures, data.procedure_code)
    with uow:
        year = vietnam_day(now).year
        seq = uow.repo.next_seq(year)
        code = tracking_code(year)
        while uow.repo.get_by_code(code) is not None:  # one in 10^12 a year; draw again
            code = tracking_code(year)
        ticket = Ticket.receive(
            tracking_code=code,
            kind=data.kind,
            channel=channel,
            subject=data.subject,
            body=data.body,
            submitter=Contact(name=data.name, phone=data.phone, email=data.email, address=data.address),
            consent_to_publish=data.consent_to_publish,
            procedure_code=data.procedure_code,
            redaction_marks=marks or [],
            actor=actor,
            now=now,
            calendar=policy.calendar,
            deadlines=policy.deadlines,
        )
        if note:
            ticket.add_note(note, actor=actor, now=now)
        uow.repo.add(ticket, year=year, seq=seq)
        uow.commit()
    return ticket


def receipt_for_a_bot(kind: Kind, *, now: datetime, policy: Policy) -> Ticket:
    """A bot filled the field people never see (the honeypot): a ticket that looks like
    any other, under a random code, kept nowhere. The bot learns nothing."""
    return Ticket.receive(
        tracking_code=tracking_code(vietnam_day(now).year),
        kind=kind,
        channel=Channel.WEB,
        subject="-",
        body="-",
        submitter=Contact(name="-"),
        consent_to_publish=False,
        procedure_code=None,
        actor=CITIZEN,
        now=now,
        calendar=policy.calendar,
        deadlines=policy.deadlines,
    )


# Handling: one use case per action, each one domain call in one transaction


def handle(uow: UnitOfWork, ticket_id: int, change: Callable[[Ticket], Any]) -> Ticket:
    """Load the ticket, apply `change` (a domain method call), commit; refusals become 409/422."""
    with uow:
        ticket = _get(uow, ticket_id)
        _apply(ticket, change)
        uow.commit()
    return ticket


def _get(uow: UnitOfWork, ticket_id: int) -> Ticket:
    ticket = uow.repo.get(ticket_id)
    if ticket is None:
        raise errors.TicketNotFound(ticket_id)
    return ticket


def _apply(ticket: Ticket, change: Callable[[Ticket], Any]) -> None:
    try:
        change(ticket)
    except TransitionNotAllowed as exc:
        raise errors.NotAllowed.from_transition(exc) from None
    except RuleBroken as exc:
        if exc.field:
            raise errors.Invalid(exc.field, str(exc)) from None
        raise errors.NotAllowed(str(exc)) from None


def add_note(uow: UnitOfWork, ticket_id: int, *, note: str, actor: str, now: datetime) -> Ticket:
    return handle(uow, ticket_id, lambda t: t.add_note(note, actor=actor, now=now))


def edit_public_text(
    uow: UnitOfWork, ticket_id: int, *, marks: list[str] | None, subject: str | None, question: str | None
) -> Ticket:
    """Mark strings to hide and reword the public version; redaction still applies on top."""
    return handle(
        uow, ticket_id, lambda t: t.edit_public_text(marks=marks, subject=subject, question=question)
    )


def accept(
    uow: UnitOfWork, ticket_id: int, *, actor: str, now: datetime, policy: Policy, note: str | None
) -> Ticket:
    return handle(
        uow,
        ticket_id,
        lambda t: t.accept(
            actor=actor, now=now, calendar=policy.calendar, deadlines=policy.deadlines, note=note
        ),
    )


def reject(
    uow: UnitOfWork, ticket_id: int, *, actor: str, now: datetime, reason: str, note: str | None
) -> Ticket:
    return handle(uow, ticket_id, lambda t: t.reject(actor=actor, now=now, reason=reason, note=note))


def forward(
    uow: UnitOfWork,
    ticket_id: int,
    *,
    actor: str,
    now: datetime,
    agency: str,
    reason: str,
    note: str | None,
) -> Ticket:
    return handle(
        uow, ticket_id, lambda t: t.forward(actor=actor, now=now, agency=agency, reason=reason, note=note)
    )


def assign(
    uow: UnitOfWork,
    ticket_id: int,
    *,
    actor: str,
    now: datetime,
    unit: str,
    due_on: date | None,
    note: str | None,
) -> Ticket:
    """Assign to a unit in service (the managed list), named as the list names it."""
    with uow:
        ticket = _get(uow, ticket_id)
        try:
            found = units.assignable(unit, uow.repo.units())
        except units.UnitRefused as exc:
            raise errors.Invalid(exc.field, str(exc)) from None
        _apply(ticket, lambda t: t.assign(actor=actor, now=now, unit=found.name, due_on=due_on, note=note))
        uow.commit()
    return ticket


def wait_for_citizen(
    uow: UnitOfWork, ticket_id: int, *, actor: str, now: datetime, reason: str, note: str | None
) -> Ticket:
    """Ask the citizen for information; the clock stops until `resume`."""
    return handle(
        uow, ticket_id, lambda t: t.wait_for_citizen(actor=actor, now=now, reason=reason, note=note)
    )


def resume(
    uow: UnitOfWork, ticket_id: int, *, actor: str, now: datetime, policy: Policy, note: str | None
) -> Ticket:
    return handle(
        uow, ticket_id, lambda t: t.resume(actor=actor, now=now, calendar=policy.calendar, note=note)
    )


def draft_answer(
    uow: UnitOfWork,
    ticket_id: int,
    *,
    actor: str,
    now: datetime,
    answer: str,
    redact: list[str] | None,
    note: str | None,
) -> Ticket:
    """The answer's draft; strings to hide in the public version may come with it."""

    def change(ticket: Ticket) -> None:
        ticket.draft_answer(actor=actor, now=now, answer=answer, note=note)
        if redact is not None:
            ticket.edit_public_text(marks=[*ticket.redaction_marks, *redact], subject=None, question=None)

    return handle(uow, ticket_id, change)


def approve(
    uow: UnitOfWork, ticket_id: int, *, actor: str, now: datetime, seen_digest: str | None, note: str | None
) -> Ticket:
    """Approve the publication preview's text; with its digest, only if nothing changed since."""
    return handle(
        uow, ticket_id, lambda t: t.approve(actor=actor, now=now, seen_digest=seen_digest, note=note)
    )


def publish(uow: UnitOfWork, ticket_id: int, *, actor: str, now: datetime, note: str | None) -> Ticket:
    """Publish the approved answer; it reaches the portal only if the citizen consented."""
    return handle(uow, ticket_id, lambda t: t.publish(actor=actor, now=now, note=note))


def withdraw(uow: UnitOfWork, ticket_id: int, *, actor: str, now: datetime, reason: str) -> Ticket:
    """Take a published answer back from the portal and every channel."""
    return handle(uow, ticket_id, lambda t: t.withdraw(actor=actor, now=now, reason=reason))


def close(uow: UnitOfWork, ticket_id: int, *, actor: str, now: datetime, note: str | None) -> Ticket:
    return handle(uow, ticket_id, lambda t: t.close(actor=actor, now=now, note=note))


def mark_duplicate(
    uow: UnitOfWork, ticket_id: int, *, original_code: str, actor: str, now: datetime, note: str | None
) -> Ticket:
    with uow:
        ticket = uow.repo.get(ticket_id)
        if ticket is None:
            raise errors.TicketNotFound(ticket_id)
        original = uow.repo.get_by_code(original_code)
        if original is None:
            raise errors.Invalid("duplicate_of", f"no ticket {original_code}")
        try:
            ticket.mark_duplicate(original, actor=actor, now=now, note=note)
        except TransitionNotAllowed as exc:
            raise errors.NotAllowed.from_transition(exc) from None
        except RuleBroken as exc:
            raise errors.Invalid(exc.field or "duplicate_of", str(exc)) from None
        uow.commit()
    return ticket


# The units list


def list_units(session: Session) -> schemas.UnitList:
    """In service first, then retired, each by name."""
    return schemas.UnitList(
        items=[schemas.UnitRead(id=r.id, name=r.name, active=r.active) for r in repository.unit_rows(session)]
    )


def add_unit(uow: UnitOfWork, *, name: str, actor: str, now: datetime) -> schemas.UnitRead:
    with uow:
        try:
            cleaned = units.check_new_name(name, uow.repo.units())
        except units.UnitRefused as exc:
            raise errors.Invalid(exc.field, str(exc)) from None
        unit = units.Unit(name=cleaned)
        uow.repo.add_unit(unit, actor=actor, now=now)
        uow.commit()
    assert unit.id is not None
    return schemas.UnitRead(id=unit.id, name=unit.name, active=unit.active)


def change_unit(
    uow: UnitOfWork, unit_id: int, *, name: str | None, active: bool | None, actor: str, now: datetime
) -> schemas.UnitRead:
    """Rename (its tickets follow; a published answer is disclosed again), retire or restore."""
    with uow:
        every = uow.repo.units()
        unit = next((u for u in every if u.id == unit_id), None)
        if unit is None:
            raise errors.UnitNotFound(unit_id)
        if name is not None and units.clean_name(name) != unit.name:
            try:
                cleaned = units.check_new_name(name, [u for u in every if u.id != unit_id])
            except units.UnitRefused as exc:
                raise errors.Invalid(exc.field, str(exc)) from None
            for ticket in uow.repo.tickets_of_unit(unit.name):
                ticket.unit_renamed(cleaned, now)
            unit.name = cleaned
        if active is not None:
            unit.active = active
        uow.repo.save_unit(unit, actor=actor, now=now)
        uow.commit()
    assert unit.id is not None
    return schemas.UnitRead(id=unit.id, name=unit.name, active=unit.active)


def check_overdue(uow_factory: Callable[[], UnitOfWork], *, now: datetime, calendar: Calendar) -> int:
    """Write one ticket.overdue per overdue ticket and Vietnam day, however often this runs.

    Nobody reads reminders on weekends and holidays: those days send none.
    """
    today = vietnam_day(now)
    if not calendar.is_working_day(today):
        return 0
    with uow_factory() as uow:
        candidates = uow.repo.open_ticket_ids()
    sent = 0
    for ticket_id in candidates:
        try:
            with uow_factory() as uow:
                ticket = uow.repo.get(ticket_id)
                if ticket is None:
                    continue
                overdue = ticket.overdue(today, calendar)
                if overdue is None or uow.repo.notice_sent(ticket_id, today):
                    continue
                uow.repo.add_notice(ticket, today, overdue)
                ticket.record_overdue(overdue, now)
                uow.commit()
                sent += 1
        except IntegrityError:
            # Another run wrote today's notice between our check and our insert.
            log.info("overdue notice already written", extra={"ticket_id": ticket_id})
    return sent


# Staff reads


def _load(session: Session, ticket_id: int) -> tuple[Row[Any], Ticket]:
    row = repository.ticket_row(session, ticket_id)
    if row is None:
        raise errors.TicketNotFound(ticket_id)
    return row, repository.to_ticket(row)


def get_ticket(session: Session, ticket_id: int) -> schemas.TicketRead:
    row, ticket = _load(session, ticket_id)
    publication = ticket.publication()
    s = ticket.submitter
    return schemas.TicketRead(
        id=row.id,
        tracking_code=ticket.tracking_code,
        kind=ticket.kind,
        channel=ticket.channel,
        status=ticket.status.value,
        allowed_actions=ticket.allowed_actions(),
        subject=ticket.subject,
        body=ticket.body,
        procedure_code=ticket.procedure_code,
        submitter=schemas.Submitter(name=s.name, phone=s.phone, email=s.email, address=s.address),
        consent_to_publish=ticket.consent_to_publish,
        redaction_marks=ticket.redaction_marks,
        public_subject_override=ticket.public_subject_override,
        public_question_override=ticket.public_question_override,
        public_subject=publication.subject,
        public_question=publication.question,
        answer=ticket.answer,
        public_answer=publication.answer if ticket.answer else None,
        internal_notes=ticket.internal_notes,
        citizen_reason=ticket.citizen_reason,
        forwarded_to=ticket.forwarded_to,
        unit=ticket.unit,
        unit_due_on=ticket.unit_due_on,
        duplicate_of=repository.tracking_code_of(session, ticket.duplicate_of_id),
        received_at=ticket.received_at,
        classify_due_on=ticket.classify_due_on,
        accepted_at=ticket.accepted_at,
        answer_due_on=ticket.answer_due_on,
        paused_at=ticket.paused_at,
        paused_working_days=ticket.paused_working_days,
        answered_at=ticket.answered_at,
        approved_at=ticket.approved_at,
        approved_by=ticket.approved_by,
        published_at=ticket.published_at,
        closed_at=ticket.closed_at,
        withdrawn_at=ticket.withdrawn_at,
        withdrawal_reason=ticket.withdrawal_reason,
        is_public=ticket.is_public,
        version=ticket.version,
        transitions=[
            schemas.TransitionRead(
                action=t.action,
                from_status=t.from_status,
                to_status=t.to_status,
                actor=t.actor,
                at=t.at,
                note=t.note,
            )
            for t in repository.transition_rows(session, ticket_id)
        ],
    )


def publication_preview(session: Session, ticket_id: int) -> schemas.PublicationPreview:
    _, ticket = _load(session, ticket_id)
    publication = ticket.publication()
    return schemas.PublicationPreview(
        tracking_code=ticket.tracking_code,
        consent_to_publish=ticket.consent_to_publish,
        subject=publication.subject,
        question=publication.question,
        answer=publication.answer,
        digest=publication.digest,
    )


def list_tickets(
    session: Session,
    *,
    statuses: list[str] | None,
    unit: str | None,
    kind: str | None = None,
    channel: str | None = None,
    order: str = "newest",
    page: int,
    size: int,
) -> schemas.TicketPage:
    rows, total = repository.staff_list(
        session,
        statuses=statuses,
        unit=unit,
        kind=kind,
        channel=channel,
        order=order,
        page=page,
        size=size,
    )
    items = []
    for row in rows:
        ticket = repository.to_ticket(row)
        running = ticket.running_deadline()
        items.append(
            schemas.TicketSummary(
                id=row.id,
                tracking_code=ticket.tracking_code,
                kind=ticket.kind,
                channel=ticket.channel,
                status=ticket.status.value,
                subject=ticket.subject,
                unit=ticket.unit,
                received_at=ticket.received_at,
                due_on=running[1] if running else None,
            )
        )
    return schemas.TicketPage(items=items, total=total, page=page, size=size)


# Public reads: only redacted text, never personal data


def public_status(session: Session, code: str) -> schemas.PublicTicketStatus:
    row = repository.ticket_row_by_code(session, code)
    if row is None:
        raise errors.TicketNotFound(code)
    own = repository.to_ticket(row)
    followed = own
    if own.duplicate_of_id is not None:
        original = repository.ticket_row(session, own.duplicate_of_id)
        if original is not None:
            followed = repository.to_ticket(original)
    return schemas.PublicTicketStatus(
        tracking_code=own.tracking_code,
        status=followed.public_status(),
        kind=own.kind,
        received_on=vietnam_day(own.received_at),
        classify_due_on=followed.classify_due_on if followed.status is Status.RECEIVED else None,
        answer_due_on=followed.answer_due_on,
        answered_on=followed.answered_on,
        published_at=followed.published_at if followed.is_public else None,
        reason=followed.public_reason(),
        forwarded_to=followed.forwarded_to,
        duplicate_of=followed.tracking_code if followed is not own else None,
        answer_url=f"/v1/public/answers/{followed.tracking_code}" if followed.is_public else None,
    )


def _public_answer(row: Row[Any]) -> schemas.PublicAnswer:
    ticket = repository.to_ticket(row)
    publication = ticket.publication()
    assert ticket.published_at is not None
    return schemas.PublicAnswer(
        id=ticket.tracking_code,
        version=ticket.version,
        status="published",
        kind=ticket.kind,
        subject=publication.subject,
        question=publication.question,
        answer=publication.answer,
        procedure_code=ticket.procedure_code,
        unit=ticket.unit,
        received_on=vietnam_day(ticket.received_at),
        answered_on=ticket.answered_on,
        published_at=ticket.published_at,
    )


def public_answer(session: Session, code: str) -> schemas.PublicAnswer:
    row = repository.ticket_row_by_code(session, code)
    if row is None or not row.is_public:
        raise errors.AnswerNotFound(code)
    return _public_answer(row)


def public_answers(
    session: Session, *, q: str | None, procedure_code: str | None, page: int, size: int
) -> schemas.PublicAnswerPage:
    rows, total = repository.public_answers(session, q=q, procedure_code=procedure_code, page=page, size=size)
    return schemas.PublicAnswerPage(
        items=[_public_answer(r) for r in rows], total=total, page=page, size=size
    )


def statistics(
    session: Session, *, today: date, calendar: Calendar, settings: Settings
) -> schemas.Statistics:
    counts: dict[tuple[str, str | None], dict[str, int]] = defaultdict(
        lambda: {"received": 0, "answered_on_time": 0, "answered_late": 0, "open_overdue": 0}
    )
    for row in repository.statistics_rows(session):
        ticket = repository.to_ticket(row)
        bucket = counts[(vietnam_day(ticket.received_at).strftime("%Y-%m"), ticket.unit)]
        bucket["received"] += 1
        late = ticket.answered_late
        if late is True:
            bucket["answered_late"] += 1
        elif late is False:
            bucket["answered_on_time"] += 1
        elif ticket.overdue(today, calendar) is not None:
            bucket["open_overdue"] += 1
    months = [
        schemas.MonthUnit(month=month, unit=unit, **values)
        for (month, unit), values in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))
    ]
    return schemas.Statistics(
        months=months,
        hotline=schemas.HotlineInfo(phones=settings.phones, office_hours=settings.office_hours),
    )


def sync_versions(session: Session) -> schemas.SyncVersions:
    return schemas.SyncVersions(
        subjects=[
            schemas.SubjectVersion(kind="ticket", id=code, version=version)
            for code, version in repository.public_versions(session)
        ]
    )
