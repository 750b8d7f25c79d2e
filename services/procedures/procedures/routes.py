"""HTTP endpoints: parse, call a use case, return a schema."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from sqlalchemy import Engine

from minhbach_shared.auth import Principal, Role, optional_principal, require_roles
from minhbach_shared.guard import GuardedRoute
from minhbach_shared.http import PageQuery, ReadSession, RowId, SizeQuery
from procedures import errors, schemas, services
from procedures.domain import PUBLISHED_DECISION, DecisionStatus, ProcedureStatus
from procedures.uow import UnitOfWork


@dataclass(frozen=True)
class Context:
    """What the routes need, built once in create_app."""

    engine: Engine
    wake: Callable[[], None]
    schedule_apply: Any

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.wake)


def _context(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


def _is_staff(request: Request) -> bool:
    """Optional auth for reads that show more to staff (editors, approvers): drafts and who
    did what. No token or a bad one just sees the public view."""
    principal = optional_principal(request)
    return principal is not None and bool(principal.roles & {Role.EDITOR, Role.APPROVER})


Ctx = Annotated[Context, Depends(_context)]
# Reads shared with the public show more to staff (schemas.VersionsAnswer, DecisionAnswer,
# ProceduresAnswer, DecisionsAnswer).
IsStaff = Annotated[bool, Depends(_is_staff)]
Editor = Annotated[Principal, require_roles(Role.EDITOR)]
Approver = Annotated[Principal, require_roles(Role.APPROVER)]
# Reads of work in progress: the editors who write it and the approvers who review it.
Staff = Annotated[Principal, require_roles(Role.EDITOR, Role.APPROVER)]
CodePath = Annotated[str, Path(max_length=50, description="procedure code")]
DecisionId = RowId


def _procedure_status(staff: IsStaff, status: ProcedureStatus = ProcedureStatus.IN_FORCE) -> ProcedureStatus:
    """`?status=`: the public lists procedures that have been in force; staff drafts too."""
    if status is ProcedureStatus.DRAFT and not staff:
        raise errors.Invalid(
            "query.status", "Input should be 'in_force', 'replaced' or 'abolished' (drafts: staff only)"
        )
    return status


def _decision_statuses(
    staff: IsStaff, status: Annotated[list[DecisionStatus] | None, Query()] = None
) -> list[DecisionStatus]:
    """`?status=` (repeatable): the public sees published decisions, staff every one; all by default."""
    visible = list(DecisionStatus) if staff else list(PUBLISHED_DECISION)
    if status is None:
        return visible
    if hidden := [s.value for s in status if s not in visible]:
        raise errors.Invalid("query.status", f"{', '.join(hidden)} decisions are listed for staff only")
    return status


ProcedureStatusQuery = Annotated[ProcedureStatus, Depends(_procedure_status)]
DecisionStatusQuery = Annotated[list[DecisionStatus], Depends(_decision_statuses)]

router = APIRouter(prefix="/v1", route_class=GuardedRoute)


@router.post(
    "/procedures",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.ProcedureDraftRead,
    tags=["procedures"],
)
def create_procedure(
    body: schemas.ProcedureCreate, ctx: Ctx, session: ReadSession, editor: Editor
) -> schemas.ProcedureDraftRead:
    services.create_procedure(ctx.uow(), body, actor=editor.subject)
    return services.get_draft(session, body.code)


@router.patch("/procedures/{code}", response_model=schemas.ProcedureDraftRead, tags=["procedures"])
def update_procedure(
    code: CodePath, body: schemas.ProcedureUpdate, ctx: Ctx, session: ReadSession, editor: Editor
) -> schemas.ProcedureDraftRead:
    services.update_procedure(ctx.uow(), code, body, actor=editor.subject)
    return services.get_draft(session, code)


@router.get("/procedures", response_model=schemas.ProceduresAnswer, tags=["procedures"])
def search_procedures(
    session: ReadSession,
    staff: IsStaff,
    status: ProcedureStatusQuery,
    q: Annotated[str | None, Query(max_length=200)] = None,
    field: Annotated[str | None, Query(max_length=500)] = None,
    page: PageQuery = 1,
    size: SizeQuery = 20,
) -> schemas.ProceduresAnswer:
    """Public: in force (or replaced, abolished); with a staff token drafts too, and who last edited each."""
    if staff:
        return services.search_procedures_for_staff(
            session, q=q, field=field, status=status.value, page=page, size=size
        )
    return services.search_procedures(session, q=q, field=field, status=status.value, page=page, size=size)


@router.get("/procedures/{code}", response_model=schemas.ProcedureRead, tags=["procedures"])
def get_procedure(code: CodePath, session: ReadSession) -> schemas.ProcedureRead:
    return services.get_procedure(session, code)


@router.get("/procedures/{code}/draft", response_model=schemas.ProcedureDraftRead, tags=["procedures"])
def get_draft(code: CodePath, session: ReadSession, _: Staff) -> schemas.ProcedureDraftRead:
    """The working draft (editors and approvers: the approver reviews what a decision
    will put in force)."""
    return services.get_draft(session, code)


@router.get("/procedures/{code}/versions", response_model=schemas.VersionsAnswer, tags=["procedures"])
def list_versions(code: CodePath, staff: IsStaff, session: ReadSession) -> schemas.VersionsAnswer:
    """Public; with a staff token each version also names who wrote it (`written_by`)."""
    return services.list_versions_for_staff(session, code) if staff else services.list_versions(session, code)


@router.post(
    "/decisions",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.DecisionStaffRead,
    tags=["decisions"],
)
def create_decision(
    body: schemas.DecisionCreate, ctx: Ctx, session: ReadSession, editor: Editor
) -> schemas.DecisionStaffRead:
    decision_id = services.create_decision(ctx.uow(), body, actor=editor.subject)
    return services.get_decision_for_staff(session, decision_id)


@router.patch("/decisions/{decision_id}", response_model=schemas.DecisionStaffRead, tags=["decisions"])
def update_decision(
    decision_id: DecisionId, body: schemas.DecisionUpdate, ctx: Ctx, session: ReadSession, editor: Editor
) -> schemas.DecisionStaffRead:
    """A draft only (409 once submitted); `changes`, when sent, replaces the whole list."""
    services.update_decision(ctx.uow(), decision_id, body, actor=editor.subject)
    return services.get_decision_for_staff(session, decision_id)


@router.delete("/decisions/{decision_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["decisions"])
def delete_decision(decision_id: DecisionId, ctx: Ctx, editor: Editor) -> Response:
    """A draft only (409 once submitted); it is gone, as it was never public."""
    services.delete_decision(ctx.uow(), decision_id, actor=editor.subject)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/decisions/{decision_id}/submit", response_model=schemas.DecisionStaffRead, tags=["decisions"])
def submit_decision(
    decision_id: DecisionId, ctx: Ctx, session: ReadSession, editor: Editor
) -> schemas.DecisionStaffRead:
    """For approval; 422 listing what each procedure lacks, as publishing would be."""
    services.submit_decision(ctx.uow(), decision_id, actor=editor.subject, now=datetime.now(UTC))
    return services.get_decision_for_staff(session, decision_id)


@router.post(
    "/decisions/{decision_id}/send-back", response_model=schemas.DecisionStaffRead, tags=["decisions"]
)
def send_back_decision(
    decision_id: DecisionId,
    body: schemas.SendBackRequest,
    ctx: Ctx,
    session: ReadSession,
    approver: Approver,
) -> schemas.DecisionStaffRead:
    """A submitted decision back to draft, with the reason; not by whoever drafted it (403)."""
    services.send_back_decision(
        ctx.uow(), decision_id, body.reason, actor=approver.subject, now=datetime.now(UTC)
    )
    return services.get_decision_for_staff(session, decision_id)


@router.post("/decisions/{decision_id}/publish", response_model=schemas.DecisionStaffRead, tags=["decisions"])
def publish_decision(
    decision_id: DecisionId, ctx: Ctx, session: ReadSession, approver: Approver
) -> schemas.DecisionStaffRead:
    services.publish_decision(
        ctx.uow(),
        decision_id,
        actor=approver.subject,
        now=datetime.now(UTC),
        schedule_apply=ctx.schedule_apply,
    )
    return services.get_decision_for_staff(session, decision_id)


@router.get("/decisions", response_model=schemas.DecisionsAnswer, tags=["decisions"])
def list_decisions(
    session: ReadSession,
    staff: IsStaff,
    statuses: DecisionStatusQuery,
    page: PageQuery = 1,
    size: SizeQuery = 20,
) -> schemas.DecisionsAnswer:
    """Published decisions, the latest first; with a staff token drafts and submitted ones too,
    and who did what."""
    if staff:
        return services.list_decisions_for_staff(session, statuses=statuses, page=page, size=size)
    return services.list_decisions(session, statuses=statuses, page=page, size=size)


@router.get("/decisions/{decision_id}", response_model=schemas.DecisionAnswer, tags=["decisions"])
def get_decision(decision_id: DecisionId, staff: IsStaff, session: ReadSession) -> schemas.DecisionAnswer:
    """Published decisions; with a staff token drafts and submitted ones too, and who did what."""
    if staff:
        return services.get_decision_for_staff(session, decision_id)
    return services.get_decision(session, decision_id)


@router.get("/sync/versions", response_model=schemas.SyncVersions, tags=["sync"])
def sync_versions(session: ReadSession) -> schemas.SyncVersions:
    return services.sync_versions(session)


@router.post("/sync/states", response_model=schemas.SyncStates, tags=["sync"])
def sync_states(body: schemas.SyncStatesRequest, session: ReadSession) -> schemas.SyncStates:
    """Many subjects' current states in one request (at most 200): what the notifier fetches in a burst."""
    return services.sync_states(session, body.subjects)
