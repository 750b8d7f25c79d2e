"""HTTP endpoints: parse, call a use case, return a schema."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, status
from sqlalchemy import Engine

from hotline import errors, schemas, services
from hotline.domain import Channel, Kind, Status, Ticket, read_tracking_code, vietnam_day
from hotline.settings import Settings
from hotline.uow import UnitOfWork
from minhbach_shared.auth import Principal, Role, require_roles
from minhbach_shared.guard import GuardedRoute
from minhbach_shared.http import PageQuery, ReadSession, RowId, SizeQuery
from minhbach_shared.procedures_api import ProceduresApi
from minhbach_shared.ratelimit import RateLimiter, refuse_floods

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    """What the routes need, built once in create_app."""

    settings: Settings
    engine: Engine
    wake: Callable[[], None]
    policy: services.Policy
    procedures: ProceduresApi
    rate_limiter: RateLimiter
    lookup_limiter: RateLimiter

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.wake)


def _context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


def _limit_public_writes(request: Request, ctx: Annotated[Context, Depends(_context)]) -> None:
    """Refuse floods before the body is validated (its size was checked before it was read:
    minhbach_shared.guard)."""
    refuse_floods(ctx.rate_limiter, request, what="submissions")


Ctx = Annotated[Context, Depends(_context)]
PublicWrite = Annotated[None, Depends(_limit_public_writes)]
Hotline = Annotated[Principal, require_roles(Role.HOTLINE)]
Approver = Annotated[Principal, require_roles(Role.APPROVER)]
Staff = Annotated[Principal, require_roles(Role.HOTLINE, Role.APPROVER)]
Admin = Annotated[Principal, require_roles(Role.ADMIN)]
TicketId = RowId


def _tracking_code(
    code: Annotated[
        str, Path(max_length=40, description="e.g. PAKN-2026-7K3M-9QXD; any case, I/L read as 1, O as 0")
    ],
) -> str:
    normal = read_tracking_code(code)
    if normal is None:
        raise errors.Invalid("code", "not a tracking code; it looks like PAKN-2026-7K3M-9QXD")
    return normal


def _limit_lookups(request: Request, ctx: Annotated[Context, Depends(_context)]) -> None:
    """Counting codes is pointless (they are random), and this makes trying them slow."""
    refuse_floods(ctx.lookup_limiter, request, what="look-ups")


TrackingCode = Annotated[str, Depends(_tracking_code)]
Lookup = Annotated[None, Depends(_limit_lookups)]

router = APIRouter(prefix="/v1", route_class=GuardedRoute)


def _now() -> datetime:
    return datetime.now(UTC)


def _receipt(ticket: Ticket) -> schemas.Receipt:
    return schemas.Receipt(
        tracking_code=ticket.tracking_code,
        status=ticket.status.value,
        received_at=ticket.received_at,
        classify_due_on=ticket.classify_due_on,
        message="Đã tiếp nhận phản ánh, kiến nghị. Dùng mã này để tra cứu tình trạng xử lý.",
    )


# Intake


@router.post(
    "/public/tickets",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=schemas.Receipt,
    tags=["public"],
)
def submit_public_ticket(body: schemas.PublicTicketCreate, ctx: Ctx, _: PublicWrite) -> schemas.Receipt:
    now = _now()
    if body.website:
        log.info("honeypot submission dropped")
        return _receipt(services.receipt_for_a_bot(body.kind, now=now, policy=ctx.policy))
    ticket = services.submit_ticket(
        ctx.uow(),
        body,
        channel=Channel.WEB,
        actor=services.CITIZEN,
        now=now,
        policy=ctx.policy,
        procedures=ctx.procedures,
    )
    return _receipt(ticket)


@router.get("/public/tickets/{code}", response_model=schemas.PublicTicketStatus, tags=["public"])
def get_public_status(_: Lookup, code: TrackingCode, session: ReadSession) -> schemas.PublicTicketStatus:
    """Counted before the code is even read: a malformed guess costs a try too."""
    return services.public_status(session, code)


@router.post(
    "/tickets", status_code=status.HTTP_201_CREATED, response_model=schemas.TicketRead, tags=["tickets"]
)
def log_ticket(
    body: schemas.StaffTicketCreate, ctx: Ctx, session: ReadSession, officer: Hotline
) -> schemas.TicketRead:
    ticket = services.submit_ticket(
        ctx.uow(),
        body,
        channel=body.channel,
        actor=officer.subject,
        now=_now(),
        policy=ctx.policy,
        procedures=ctx.procedures,
        marks=list(body.redact),
        note=body.note,
    )
    assert ticket.id is not None
    return services.get_ticket(session, ticket.id)


# Staff reads


@router.get("/tickets", response_model=schemas.TicketPage, tags=["tickets"])
def list_tickets(
    session: ReadSession,
    _: Staff,
    status: Annotated[list[Status] | None, Query(max_length=len(Status))] = None,
    unit: Annotated[str | None, Query(max_length=300)] = None,
    kind: Kind | None = None,
    channel: Channel | None = None,
    order: Annotated[Literal["newest", "due"], Query()] = "newest",
    page: PageQuery = 1,
    size: SizeQuery = 20,
) -> schemas.TicketPage:
    """`status` may repeat (any of them); `order=due`: the nearest running deadline first,
    tickets with no clock running last."""
    return services.list_tickets(
        session,
        statuses=[s.value for s in status] if status else None,
        unit=unit,
        kind=kind.value if kind else None,
        channel=channel.value if channel else None,
        order=order,
        page=page,
        size=size,
    )


@router.get("/tickets/{ticket_id}", response_model=schemas.TicketRead, tags=["tickets"])
def get_ticket(ticket_id: TicketId, session: ReadSession, _: Staff) -> schemas.TicketRead:
    return services.get_ticket(session, ticket_id)


@router.get(
    "/tickets/{ticket_id}/publication-preview", response_model=schemas.PublicationPreview, tags=["tickets"]
)
def publication_preview(ticket_id: TicketId, session: ReadSession, _: Staff) -> schemas.PublicationPreview:
    """Exactly the redacted question and answer that publishing would show."""
    return services.publication_preview(session, ticket_id)


# Handling: each endpoint parses, calls its use case, and answers with the ticket


@router.post("/tickets/{ticket_id}/notes", response_model=schemas.TicketRead, tags=["handling"])
def add_note(
    ticket_id: TicketId, body: schemas.InternalNote, ctx: Ctx, session: ReadSession, who: Staff
) -> schemas.TicketRead:
    services.add_note(ctx.uow(), ticket_id, note=body.note, actor=who.subject, now=_now())
    return services.get_ticket(session, ticket_id)


@router.post("/tickets/{ticket_id}/public-text", response_model=schemas.TicketRead, tags=["handling"])
def edit_public_text(
    ticket_id: TicketId, body: schemas.PublicTextEdit, ctx: Ctx, session: ReadSession, _: Hotline
) -> schemas.TicketRead:
    """Mark strings to hide and reword the public version; redaction still applies on top."""
    services.edit_public_text(
        ctx.uow(), ticket_id, marks=body.redact, subject=body.public_subject, question=body.public_question
    )
    return services.get_ticket(session, ticket_id)


@router.post("/tickets/{ticket_id}/accept", response_model=schemas.TicketRead, tags=["handling"])
def accept(
    ticket_id: TicketId, ctx: Ctx, session: ReadSession, who: Hotline, body: schemas.NoteIn | None = None
) -> schemas.TicketRead:
    note = body.note if body else None
    services.accept(ctx.uow(), ticket_id, actor=who.subject, now=_now(), policy=ctx.policy, note=note)
    return services.get_ticket(session, ticket_id)


@router.post("/tickets/{ticket_id}/reject", response_model=schemas.TicketRead, tags=["handling"])
def reject(
    ticket_id: TicketId, body: schemas.Reject, ctx: Ctx, session: ReadSession, who: Hotline
) -> schemas.TicketRead:
    """Out of scope (complaints and denunciations go by other procedures); the citizen sees the reason."""
    services.reject(ctx.uow(), ticket_id, actor=who.subject, now=_now(), reason=body.reason, note=body.note)
    return services.get_ticket(session, ticket_id)


@router.post("/tickets/{ticket_id}/forward", response_model=schemas.TicketRead, tags=["handling"])
def forward(
    ticket_id: TicketId, body: schemas.Forward, ctx: Ctx, session: ReadSession, who: Hotline
) -> schemas.TicketRead:
    services.forward(
        ctx.uow(),
        ticket_id,
        actor=who.subject,
        now=_now(),
        agency=body.agency,
        reason=body.reason,
        note=body.note,
    )
    return services.get_ticket(session, ticket_id)


@router.post("/tickets/{ticket_id}/assign", response_model=schemas.TicketRead, tags=["handling"])
def assign(
    ticket_id: TicketId, body: schemas.Assign, ctx: Ctx, session: ReadSession, who: Hotline
) -> schemas.TicketRead:
    services.assign(
        ctx.uow(),
        ticket_id,
        actor=who.subject,
        now=_now(),
        unit=body.unit,
        due_on=body.due_on,
        note=body.note,
    )
    return services.get_ticket(session, ticket_id)


@router.post("/tickets/{ticket_id}/wait", response_model=schemas.TicketRead, tags=["handling"])
def wait(
    ticket_id: TicketId, body: schemas.Wait, ctx: Ctx, session: ReadSession, who: Hotline
) -> schemas.TicketRead:
    """Ask the citizen for information; the clock stops until `resume`."""
    services.wait_for_citizen(
        ctx.uow(), ticket_id, actor=who.subject, now=_now(), reason=body.reason, note=body.note
    )
    return services.get_ticket(session, ticket_id)


@router.post("/tickets/{ticket_id}/resume", response_model=schemas.TicketRead, tags=["handling"])
def resume(
    ticket_id: TicketId, ctx: Ctx, session: ReadSession, who: Hotline, body: schemas.NoteIn | None = None
) -> schemas.TicketRead:
    note = body.note if body else None
    services.resume(ctx.uow(), ticket_id, actor=who.subject, now=_now(), policy=ctx.policy, note=note)
    return services.get_ticket(session, ticket_id)


@router.post("/tickets/{ticket_id}/answer", response_model=schemas.TicketRead, tags=["handling"])
def answer(
    ticket_id: TicketId, body: schemas.Answer, ctx: Ctx, session: ReadSession, who: Hotline
) -> schemas.TicketRead:
    services.draft_answer(
        ctx.uow(),
        ticket_id,
        actor=who.subject,
        now=_now(),
        answer=body.answer,
        redact=body.redact,
        note=body.note,
    )
    return services.get_ticket(session, ticket_id)


@router.post("/tickets/{ticket_id}/approve", response_model=schemas.TicketRead, tags=["handling"])
def approve(
    ticket_id: TicketId, ctx: Ctx, session: ReadSession, who: Approver, body: schemas.Approve | None = None
) -> schemas.TicketRead:
    """Approve the text of the publication preview; pass its digest to be sure nothing changed since."""
    digest = body.preview_digest if body else None
    note = body.note if body else None
    services.approve(ctx.uow(), ticket_id, actor=who.subject, now=_now(), seen_digest=digest, note=note)
    return services.get_ticket(session, ticket_id)


@router.post("/tickets/{ticket_id}/publish", response_model=schemas.TicketRead, tags=["handling"])
def publish(
    ticket_id: TicketId, ctx: Ctx, session: ReadSession, who: Approver, body: schemas.NoteIn | None = None
) -> schemas.TicketRead:
    """Publish the approved answer; it reaches the portal only if the citizen consented."""
    note = body.note if body else None
    services.publish(ctx.uow(), ticket_id, actor=who.subject, now=_now(), note=note)
    return services.get_ticket(session, ticket_id)


@router.post("/tickets/{ticket_id}/withdraw", response_model=schemas.TicketRead, tags=["handling"])
def withdraw(
    ticket_id: TicketId, body: schemas.Withdraw, ctx: Ctx, session: ReadSession, who: Approver
) -> schemas.TicketRead:
    """Take a published answer back: it leaves the portal and every channel; the reason
    stays on the ticket's timeline with who withdrew it."""
    services.withdraw(ctx.uow(), ticket_id, actor=who.subject, now=_now(), reason=body.reason)
    return services.get_ticket(session, ticket_id)


@router.post("/tickets/{ticket_id}/close", response_model=schemas.TicketRead, tags=["handling"])
def close(
    ticket_id: TicketId, ctx: Ctx, session: ReadSession, who: Staff, body: schemas.NoteIn | None = None
) -> schemas.TicketRead:
    note = body.note if body else None
    services.close(ctx.uow(), ticket_id, actor=who.subject, now=_now(), note=note)
    return services.get_ticket(session, ticket_id)


@router.post("/tickets/{ticket_id}/mark-duplicate", response_model=schemas.TicketRead, tags=["handling"])
def mark_duplicate(
    ticket_id: TicketId, body: schemas.MarkDuplicate, ctx: Ctx, session: ReadSession, who: Hotline
) -> schemas.TicketRead:
    services.mark_duplicate(
        ctx.uow(), ticket_id, original_code=body.duplicate_of, actor=who.subject, now=_now(), note=body.note
    )
    return services.get_ticket(session, ticket_id)


# The Department's units: anyone may read the list (the statistics name them); an admin keeps it


@router.get("/units", response_model=schemas.UnitList, tags=["units"])
def list_units(session: ReadSession) -> schemas.UnitList:
    return services.list_units(session)


@router.post("/units", response_model=schemas.UnitRead, status_code=201, tags=["units"])
def add_unit(body: schemas.UnitCreate, ctx: Ctx, who: Admin) -> schemas.UnitRead:
    return services.add_unit(ctx.uow(), name=body.name, actor=who.subject, now=_now())


@router.patch("/units/{unit_id}", response_model=schemas.UnitRead, tags=["units"])
def change_unit(unit_id: RowId, body: schemas.UnitChange, ctx: Ctx, who: Admin) -> schemas.UnitRead:
    """Rename (the unit's tickets follow it), retire (`active: false`) or bring back."""
    return services.change_unit(
        ctx.uow(), unit_id, name=body.name, active=body.active, actor=who.subject, now=_now()
    )


# Public reads: redacted text only


@router.get("/public/answers", response_model=schemas.PublicAnswerPage, tags=["public"])
def list_public_answers(
    session: ReadSession,
    q: Annotated[str | None, Query(max_length=200)] = None,
    procedure_code: Annotated[str | None, Query(max_length=50)] = None,
    page: PageQuery = 1,
    size: SizeQuery = 20,
) -> schemas.PublicAnswerPage:
    return services.public_answers(session, q=q, procedure_code=procedure_code, page=page, size=size)


@router.get("/public/answers/{code}", response_model=schemas.PublicAnswer, tags=["public"])
def get_public_answer(code: TrackingCode, session: ReadSession) -> schemas.PublicAnswer:
    return services.public_answer(session, code)


@router.get("/public/statistics", response_model=schemas.Statistics, tags=["public"])
def get_statistics(ctx: Ctx, session: ReadSession) -> schemas.Statistics:
    return services.statistics(
        session, today=vietnam_day(_now()), calendar=ctx.policy.calendar, settings=ctx.settings
    )


@router.get("/sync/versions", response_model=schemas.SyncVersions, tags=["sync"])
def sync_versions(session: ReadSession) -> schemas.SyncVersions:
    return services.sync_versions(session)
