"""Use cases. Each write is one transaction: `with uow: ...; uow.commit()`.

Every write names its `actor`: the subject of the caller's token, or DEMO_ACTOR for
the demo loader. Applying a scheduled decision (beat) adds no actor: the decision keeps
the approver who published it. Only the `*_for_staff` reads and the draft show actors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from minhbach_shared.celery import run_early_if_soon
from procedures import errors, repository, schemas, search
from procedures.domain import (
    Action,
    Change,
    Decision,
    DecisionRejected,
    DecisionStatus,
    Procedure,
    ProcedureStatus,
    RuleBroken,
    effective_at_for,
    missing_components,
    vietnam_today,
)
from procedures.uow import UnitOfWork

log = logging.getLogger(__name__)

# The actor of the demo loader's writes (`manage load-demo`).
DEMO_ACTOR = "demo"


# Writes


def create_procedure(uow: UnitOfWork, data: schemas.ProcedureCreate, *, actor: str) -> None:
    with uow:
        if uow.repo.procedure_exists(data.code):
            raise errors.ProcedureExists(data.code)
        uow.repo.add_procedure(Procedure.create(data.code, data.content(), by=actor, at=datetime.now(UTC)))
        uow.commit()


def update_procedure(uow: UnitOfWork, code: str, data: schemas.ProcedureUpdate, *, actor: str) -> None:
    with uow:
        procedure = uow.repo.get_procedure(code)
        if procedure is None:
            raise errors.ProcedureNotFound(code)
        try:
            procedure.edit(data.changes(), by=actor, at=datetime.now(UTC))
        except RuleBroken as exc:
            raise errors.NotAllowed(str(exc)) from None
        uow.commit()


def create_decision(uow: UnitOfWork, data: schemas.DecisionCreate, *, actor: str) -> int:
    decision = Decision(
        number=data.number,
        title=data.title,
        issuer=data.issuer,
        signed_on=data.signed_on,
        effective_on=data.effective_on,
        changes=[Change(c.action, c.procedure_code, c.replaced_by) for c in data.changes],
        created_by=actor,
    )
    with uow:
        uow.repo.add_decision(decision)
        uow.commit()
    assert decision.id is not None
    return decision.id


def publish_decision(
    uow: UnitOfWork,
    decision_id: int,
    *,
    actor: str,
    now: datetime,
    schedule_apply: Callable[[float], None] | None = None,
) -> Decision:
    """Publish; applies now if its effective moment has come, else it is scheduled.

    A decision due within MAX_COUNTDOWN_S also gets a countdown task, so it takes
    effect on time rather than at the next beat; beat remains the safety net.
    """
    with uow:
        decision = uow.repo.get_decision(decision_id)
        if decision is None:
            raise errors.DecisionNotFound(decision_id)
        procedures = uow.repo.get_procedures(decision.involved_codes())
        try:
            decision.publish(procedures, by=actor, now=now)
        except RuleBroken as exc:
            raise errors.NotAllowed(str(exc)) from None
        except DecisionRejected as exc:
            raise errors.MissingComponents(exc.message, [p.as_error() for p in exc.problems]) from None
        uow.commit()
    if decision.status is DecisionStatus.SCHEDULED:
        run_early_if_soon(schedule_apply, decision.effective_at, now=now, what="a decision")
    return decision


def apply_due_decisions(
    uow_factory: Callable[[], UnitOfWork],
    *,
    now: datetime,
    schedule_apply: Callable[[float], None] | None = None,
) -> int:
    """Apply every scheduled decision due at `now`, each whole in its own transaction.

    With `schedule_apply`, a decision due within MAX_COUNTDOWN_S also gets a countdown
    task, so it takes effect at 00:00 on the second rather than at a later beat tick.
    """
    with uow_factory() as uow:
        due = uow.repo.due_decision_ids(now)
        next_at = uow.repo.next_effective_at(now)
    run_early_if_soon(schedule_apply, next_at, now=now, what="the next scheduled decision")
    applied = 0
    for decision_id in due:
        with uow_factory() as uow:
            decision = uow.repo.get_decision(decision_id)
            if decision is None or not decision.is_due(now):
                continue  # another worker got there first
            procedures = uow.repo.get_procedures(decision.involved_codes())
            if decision.apply_due(procedures, now=now):
                applied += 1
                log.info("decision applied", extra={"decision_id": decision_id})
            else:
                log.warning(
                    "scheduled decision failed",
                    extra={"decision_id": decision_id, "reason": decision.failure_reason},
                )
            uow.commit()
    return applied


# Reads


def _decision_ref(row: Row[Any]) -> schemas.DecisionRef | None:
    if row.decision_id is None:
        return None
    return schemas.DecisionRef(
        id=row.decision_id,
        number=row.decision_number,
        title=row.decision_title,
        signed_on=row.decision_signed_on,
        effective_on=row.decision_effective_on,
    )


def _history_fields(v: Row[Any]) -> dict[str, Any]:
    """What a history entry and a version read share, from a `version_rows` row."""
    return {
        "version": v.version,
        "action": v.action,
        "status": v.status,
        "effective_at": v.effective_at,
        "decision": _decision_ref(v),
    }


def get_procedure(session: Session, code: str) -> schemas.ProcedureRead:
    row = repository.procedure_row(session, code)
    if row is None or row.version == 0:
        raise errors.ProcedureNotFound(code)
    history = [schemas.HistoryEntry(**_history_fields(v)) for v in repository.version_rows(session, code)]
    return schemas.ProcedureRead(
        **(row.published or {}),
        code=row.code,
        status=row.status,
        version=row.version,
        replaced_by=row.replaced_by,
        effective_at=row.effective_at,
        history=history,
    )


def get_draft(session: Session, code: str) -> schemas.ProcedureDraftRead:
    """The editors' view (staff only), with who drafted and last edited it."""
    row = repository.procedure_row(session, code)
    if row is None:
        raise errors.ProcedureNotFound(code)
    content = row.draft if row.draft is not None else (row.published or {})
    return schemas.ProcedureDraftRead(
        **content,
        code=row.code,
        status=row.status,
        version=row.version,
        has_working_draft=row.draft is not None and row.status != ProcedureStatus.DRAFT.value,
        missing=missing_components(content),
        updated_at=row.updated_at,
        drafted_by=row.drafted_by,
        edited_by=row.edited_by,
        edited_at=row.edited_at,
    )


def _versions(session: Session, code: str) -> tuple[list[Row[Any]], list[schemas.ProcedureVersionRead]]:
    rows = repository.version_rows(session, code)
    if not rows:
        raise errors.ProcedureNotFound(code)
    return rows, [
        schemas.ProcedureVersionRead(**_history_fields(v), content=schemas.ProcedureContent(**v.content))
        for v in rows
    ]


def list_versions(session: Session, code: str) -> schemas.ProcedureVersions:
    """Every published version (public)."""
    return schemas.ProcedureVersions(code=code, items=_versions(session, code)[1])


def list_versions_for_staff(session: Session, code: str) -> schemas.ProcedureVersionsStaff:
    """Every published version, and who wrote each one."""
    rows, items = _versions(session, code)
    return schemas.ProcedureVersionsStaff(
        code=code,
        items=[
            schemas.ProcedureVersionStaffRead(**item.model_dump(), written_by=v.written_by)
            for item, v in zip(items, rows, strict=True)
        ],
    )


def search_procedures(
    session: Session, *, q: str | None, field: str | None, status: str, page: int, size: int
) -> schemas.ProcedurePage:
    found = search.search(session, q=q, field=field, status=status, page=page, size=size)
    return schemas.ProcedurePage(
        items=[schemas.ProcedureSummary.model_validate(r, from_attributes=True) for r in found.rows],
        total=found.total,
        page=page,
        size=size,
    )


def _decision_read(row: Row[Any], changes: list[Row[Any]]) -> schemas.DecisionRead:
    return schemas.DecisionRead(
        id=row.id,
        number=row.number,
        title=row.title,
        issuer=row.issuer,
        signed_on=row.signed_on,
        effective_on=row.effective_on,
        effective_at=row.effective_at,
        status=row.status,
        version=row.version,
        published_at=row.published_at,
        applied_at=row.applied_at,
        failure_reason=row.failure_reason,
        changes=[
            schemas.ChangeRead(
                action=c.action,
                procedure_code=c.procedure_code,
                procedure_name=c.procedure_name,
                replaced_by=c.replaced_by,
            )
            for c in changes
        ],
    )


def get_decision(session: Session, decision_id: int) -> schemas.DecisionRead:
    """A published decision (public)."""
    row = repository.decision_row(session, decision_id)
    if row is None or row.version == 0:
        raise errors.DecisionNotFound(decision_id)
    return _decision_read(row, repository.change_rows(session, [row.id])[row.id])


def get_decision_for_staff(session: Session, decision_id: int) -> schemas.DecisionStaffRead:
    """Any decision, drafts too, and who created and published it."""
    row = repository.decision_row(session, decision_id)
    if row is None:
        raise errors.DecisionNotFound(decision_id)
    public = _decision_read(row, repository.change_rows(session, [row.id])[row.id])
    return schemas.DecisionStaffRead(
        **public.model_dump(), created_by=row.created_by, published_by=row.published_by
    )


def list_decisions(session: Session, *, page: int, size: int) -> schemas.DecisionPage:
    rows, total = repository.published_decisions(session, page=page, size=size)
    changes = repository.change_rows(session, [r.id for r in rows])
    return schemas.DecisionPage(
        items=[_decision_read(r, changes[r.id]) for r in rows], total=total, page=page, size=size
    )


def sync_versions(session: Session) -> schemas.SyncVersions:
    return schemas.SyncVersions(
        subjects=[
            schemas.SubjectVersion(kind=kind, id=id_, version=version)
            for kind, id_, version in repository.subject_versions(session)
        ]
    )


def sync_states(session: Session, refs: list[schemas.SubjectRef]) -> schemas.SyncStates:
    """The current public state of each subject, as its own GET gives it (None where that is a 404)."""
    states: list[schemas.SyncState] = []
    for ref in refs:
        state: schemas.ProcedureRead | schemas.DecisionRead | None
        try:
            if ref.kind == "procedure":
                state = get_procedure(session, ref.id)
            else:
                state = get_decision(session, int(ref.id))
        except (errors.ProcedureNotFound, errors.DecisionNotFound, ValueError):
            state = None
        states.append(schemas.SyncState(kind=ref.kind, id=ref.id, state=state))
    return schemas.SyncStates(states=states)


# Demo data


def load_demo(uow: UnitOfWork, payload: dict[str, Any], *, now: datetime) -> int:
    """Put the sample procedures in force by one decision, only into an empty database."""
    items = [schemas.ProcedureCreate.model_validate(p) for p in payload["procedures"]]
    today = vietnam_today(now)
    with uow:
        if uow.repo.has_procedures():
            return 0
        for item in items:
            uow.repo.add_procedure(Procedure.create(item.code, item.content(), by=DEMO_ACTOR, at=now))
        decision = Decision(
            number="01/QĐ-SXD",
            title="Công bố danh mục thủ tục hành chính lĩnh vực xây dựng (dữ liệu mẫu)",
            issuer="Sở Xây dựng tỉnh Thái Bình",
            signed_on=today,
            effective_on=today,
            changes=[Change(Action.NEW, item.code) for item in items],
            created_by=DEMO_ACTOR,
        )
        uow.repo.add_decision(decision)
        procedures = uow.repo.get_procedures(decision.involved_codes())
        assert effective_at_for(today) <= now
        decision.publish(procedures, by=DEMO_ACTOR, now=now)
        uow.commit()
    return len(items)
