"""Use cases. Each write is one transaction: `with uow: ...; uow.commit()`.

Every write names its `actor`: the subject of the caller's token, or DEMO_ACTOR and
DEMO_APPROVER for the demo loader. Applying a scheduled decision (beat) adds no actor: the
decision keeps the approver who published it. Only the `*_for_staff` reads and the draft
show actors.

A decision's review: editors create, edit, delete and submit a draft; an approver who
did not draft it publishes it or sends it back. Only publishing writes events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from minhbach_shared.celery import run_early_if_soon
from minhbach_shared.db import MAX_ROW_ID
from procedures import amendments, errors, repository, schemas, search
from procedures.domain import (
    PUBLISHED_DECISION,
    Action,
    Change,
    Decision,
    DecisionRejected,
    DecisionStatus,
    InvalidField,
    Procedure,
    ProcedureStatus,
    RuleBroken,
    SelfApproval,
    effective_at_for,
    missing_components,
    vietnam_today,
)
from procedures.uow import UnitOfWork

log = logging.getLogger(__name__)

# The actors of the demo loader's writes (`manage load-demo`): two, since whoever drafts a
# decision cannot publish it.
DEMO_ACTOR = "demo"
DEMO_APPROVER = "demo-approver"


@contextmanager
def _refusals() -> Iterator[None]:
    """The domain's refusals as the API's: 409 (state), 403 (four eyes), 422 (what is wrong)."""
    try:
        yield
    except RuleBroken as exc:
        raise errors.NotAllowed(str(exc)) from None
    except SelfApproval as exc:
        raise errors.SelfApproval(str(exc)) from None
    except DecisionRejected as exc:
        raise errors.MissingComponents(exc.message, [p.as_error() for p in exc.problems]) from None
    except InvalidField as exc:
        raise errors.Invalid(exc.field, exc.message) from None


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


def _changes(given: list[schemas.ChangeCreate]) -> list[Change]:
    return [Change(c.action, c.procedure_code, c.replaced_by) for c in given]


def create_decision(uow: UnitOfWork, data: schemas.DecisionCreate, *, actor: str) -> int:
    with _refusals():
        decision = Decision.create(
            number=data.number,
            title=data.title,
            issuer=data.issuer,
            signed_on=data.signed_on,
            effective_on=data.effective_on,
            changes=_changes(data.changes),
            by=actor,
            at=datetime.now(UTC),
        )
    with uow:
        uow.repo.add_decision(decision)
        uow.commit()
    assert decision.id is not None
    return decision.id


def _decision(uow: UnitOfWork, decision_id: int) -> Decision:
    decision = uow.repo.get_decision(decision_id)
    if decision is None:
        raise errors.DecisionNotFound(decision_id)
    return decision


def update_decision(uow: UnitOfWork, decision_id: int, data: schemas.DecisionUpdate, *, actor: str) -> None:
    """Edit a draft (refused once submitted)."""
    changes = None if data.changes is None else _changes(data.changes)
    with uow, _refusals():
        _decision(uow, decision_id).edit(**data.fields(), changes=changes, by=actor, at=datetime.now(UTC))
        uow.commit()


def delete_decision(uow: UnitOfWork, decision_id: int, *, actor: str) -> None:
    """Delete a draft; nothing of it remains (it was never public), so the log names who."""
    with uow, _refusals():
        decision = _decision(uow, decision_id)
        decision.discard()
        uow.commit()
    log.info("draft decision deleted", extra={"decision_id": decision_id, "actor": actor})


def submit_decision(uow: UnitOfWork, decision_id: int, *, actor: str, now: datetime) -> Decision:
    """Send a draft for approval; refused (422) as publishing would be while a procedure is incomplete."""
    with uow, _refusals():
        decision = _decision(uow, decision_id)
        decision.submit(uow.repo.get_procedures(decision.involved_codes()), by=actor, at=now)
        uow.commit()
    return decision


def send_back_decision(
    uow: UnitOfWork, decision_id: int, reason: str, *, actor: str, now: datetime
) -> Decision:
    """Return a submitted decision to its editors as a draft, with the approver's reason."""
    with uow, _refusals():
        decision = _decision(uow, decision_id)
        decision.send_back(reason, by=actor, at=now)
        uow.commit()
    return decision


def publish_decision(
    uow: UnitOfWork,
    decision_id: int,
    *,
    actor: str,
    now: datetime,
    schedule_apply: Callable[[float], None] | None = None,
) -> Decision:
    """Publish a submitted decision (not by whoever drafted it); applies now if its effective
    moment has come, else it is scheduled.

    A decision due within MAX_COUNTDOWN_S also gets a countdown task, so it takes
    effect on time rather than at the next beat; beat remains the safety net.
    """
    with uow, _refusals():
        decision = _decision(uow, decision_id)
        decision.publish(uow.repo.get_procedures(decision.involved_codes()), by=actor, now=now)
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


def _component_changes(before: dict[str, Any], after: dict[str, Any]) -> list[schemas.ComponentChangeRead]:
    return [schemas.ComponentChangeRead.model_validate(asdict(c)) for c in amendments.compare(before, after)]


_STORED_CHANGES = TypeAdapter(list[schemas.ComponentChangeRead])


def _stored_changes(changes: list[dict[str, Any]] | None) -> list[schemas.ComponentChangeRead] | None:
    """A version's `changes` column, as the reads give it."""
    return None if changes is None else _STORED_CHANGES.validate_python(changes)


def _history_fields(rows: list[Row[Any]]) -> list[dict[str, Any]]:
    """What history entries and version reads share, from `version_rows` rows in version order.
    An amendment also says what it changed against the version before it; a procedure put in
    force in place of another, what differs from that one (both kept with the version)."""
    return [
        {
            "version": v.version,
            "action": v.action,
            "status": v.status,
            "effective_at": v.effective_at,
            "decision": _decision_ref(v),
            "changes": _stored_changes(v.changes),
            "replaces": v.replaces,
        }
        for v in rows
    ]


def procedure_reads(session: Session, codes: Iterable[str]) -> dict[str, schemas.ProcedureRead]:
    """The public read of each of `codes` ever published, by code: two statements for any
    number of them (the notifier asks for up to 200 at once)."""
    rows = {code: row for code, row in repository.procedure_rows(session, codes).items() if row.version > 0}
    versions = repository.version_rows(session, rows)
    return {
        code: schemas.ProcedureRead(
            **(row.published or {}),
            code=row.code,
            status=row.status,
            version=row.version,
            replaced_by=row.replaced_by,
            effective_at=row.effective_at,
            history=[schemas.HistoryEntry(**h) for h in _history_fields(versions[code])],
        )
        for code, row in rows.items()
    }


def get_procedure(session: Session, code: str) -> schemas.ProcedureRead:
    found = procedure_reads(session, [code]).get(code)
    if found is None:
        raise errors.ProcedureNotFound(code)
    return found


def get_draft(session: Session, code: str) -> schemas.ProcedureDraftRead:
    """The editors' view (staff only), with who drafted and last edited it."""
    row = repository.procedure_rows(session, [code]).get(code)
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
    rows = repository.version_rows(session, [code], with_content=True)[code]
    if not rows:
        raise errors.ProcedureNotFound(code)
    fields = _history_fields(rows)
    return rows, [
        schemas.ProcedureVersionRead(**h, content=schemas.ProcedureContent(**v.content))
        for h, v in zip(fields, rows, strict=True)
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
    """Procedures that have been in force (public); never drafts."""
    found = search.search(session, q=q, field=field, status=status, page=page, size=size)
    return schemas.ProcedurePage(
        items=[schemas.ProcedureSummary.model_validate(r, from_attributes=True) for r in found.rows],
        total=found.total,
        page=page,
        size=size,
    )


def search_procedures_for_staff(
    session: Session, *, q: str | None, field: str | None, status: str, page: int, size: int
) -> schemas.ProcedureStaffPage:
    """Any status, drafts too, and who drafted and last edited each one."""
    if status == ProcedureStatus.DRAFT.value:
        found = search.search_drafts(session, q=q, field=field, page=page, size=size)
    else:
        found = search.search(session, q=q, field=field, status=status, page=page, size=size)
    return schemas.ProcedureStaffPage(
        items=[schemas.ProcedureStaffSummary.model_validate(r, from_attributes=True) for r in found.rows],
        total=found.total,
        page=page,
        size=size,
    )


Amended = dict[int, dict[str, list[schemas.ComponentChangeRead]]]


def _amended(session: Session, rows: list[Row[Any]], changes: dict[int, list[Row[Any]]]) -> Amended:
    """What each published decision's amendments changed, by decision id and code: an applied
    one against the version before it made (kept with the version it made); a scheduled one
    against the content in force now. The same for a procedure put in force in place of
    another, against that one's content."""
    found: Amended = {r.id: {} for r in rows}
    applied = [r.id for r in rows if r.status == DecisionStatus.IN_EFFECT]
    for (decision_id, code), made in repository.changes_made(session, applied).items():
        found[decision_id][code] = _STORED_CHANGES.validate_python(made)
    scheduled = [r.id for r in rows if r.status == DecisionStatus.SCHEDULED]
    snapshots = repository.snapshots(session, scheduled)
    pending = [
        (decision_id, c.procedure_code)
        for decision_id in scheduled
        for c in changes[decision_id]
        if c.action == Action.AMEND and (decision_id, c.procedure_code) in snapshots
    ]
    in_force = repository.published_contents(session, {code for _, code in pending})
    for decision_id, code in pending:
        if code in in_force:
            found[decision_id][code] = _component_changes(in_force[code], snapshots[decision_id, code])
    _replacements(session, scheduled, changes, snapshots, found)
    return found


def _replacements(
    session: Session,
    scheduled: list[int],
    changes: dict[int, list[Row[Any]]],
    snapshots: dict[tuple[int, str], dict[str, Any]],
    found: Amended,
) -> None:
    """A procedure a scheduled decision puts in force in place of another: what differs from
    that one (the content in force now against the successor's snapshot). An applied one's
    is kept with the version it made (`_amended`)."""
    pending = []  # (decision id, the replaced code, the successor)
    for decision_id in scheduled:
        new = {c.procedure_code for c in changes[decision_id] if c.action == Action.NEW}
        pending += [
            (decision_id, c.procedure_code, c.replaced_by)
            for c in changes[decision_id]
            if c.action == Action.REPLACE and c.replaced_by in new
        ]
    in_force = repository.published_contents(session, {old for _, old, _ in pending})
    for decision_id, old, successor in pending:
        if old in in_force and (decision_id, successor) in snapshots:
            found[decision_id][successor] = _component_changes(
                in_force[old], snapshots[decision_id, successor]
            )


def _decision_read(
    row: Row[Any], changes: list[Row[Any]], amended: dict[str, list[schemas.ComponentChangeRead]]
) -> schemas.DecisionRead:
    # A successor this decision puts in force, whose summary is known: the code it replaces.
    new_codes = {c.procedure_code for c in changes if c.action == Action.NEW}
    replaced = {
        c.replaced_by: c.procedure_code
        for c in changes
        if c.action == Action.REPLACE and c.replaced_by in new_codes and c.replaced_by in amended
    }
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
                changes=amended.get(c.procedure_code) if c.action in (Action.AMEND, Action.NEW) else None,
                replaces=replaced.get(c.procedure_code),
            )
            for c in changes
        ],
    )


def decision_reads(session: Session, decision_ids: Iterable[int]) -> dict[int, schemas.DecisionRead]:
    """The public read of each of `decision_ids` ever published, by id (a statement a step
    for any number of them)."""
    rows = [r for r in repository.decision_rows(session, decision_ids).values() if r.version > 0]
    changes = repository.change_rows(session, [r.id for r in rows])
    amended = _amended(session, rows, changes)
    return {r.id: _decision_read(r, changes[r.id], amended[r.id]) for r in rows}


def get_decision(session: Session, decision_id: int) -> schemas.DecisionRead:
    """A published decision (public)."""
    found = decision_reads(session, [decision_id]).get(decision_id)
    if found is None:
        raise errors.DecisionNotFound(decision_id)
    return found


def _decision_staff_read(
    row: Row[Any], changes: list[Row[Any]], amended: dict[str, list[schemas.ComponentChangeRead]]
) -> schemas.DecisionStaffRead:
    return schemas.DecisionStaffRead(
        **_decision_read(row, changes, amended).model_dump(),
        created_by=row.created_by,
        edited_by=row.edited_by,
        edited_at=row.edited_at,
        submitted_by=row.submitted_by,
        submitted_at=row.submitted_at,
        published_by=row.published_by,
        returned_by=row.returned_by,
        returned_at=row.returned_at,
        return_reason=row.return_reason,
    )


def get_decision_for_staff(session: Session, decision_id: int) -> schemas.DecisionStaffRead:
    """Any decision, drafts and submitted ones too, and who did what in its review."""
    row = repository.decision_rows(session, [decision_id]).get(decision_id)
    if row is None:
        raise errors.DecisionNotFound(decision_id)
    changes = repository.change_rows(session, [row.id])
    return _decision_staff_read(row, changes[row.id], _amended(session, [row], changes)[row.id])


def list_decisions(
    session: Session, *, statuses: Iterable[DecisionStatus] = PUBLISHED_DECISION, page: int, size: int
) -> schemas.DecisionPage:
    """Published decisions (public) in any of `statuses`, the latest first."""
    # The public never sees a draft or a submitted decision, whatever it asks for.
    wanted = [s for s in statuses if s in PUBLISHED_DECISION]
    rows, total = repository.decisions_in(session, wanted, page=page, size=size)
    changes = repository.change_rows(session, [r.id for r in rows])
    amended = _amended(session, rows, changes)
    return schemas.DecisionPage(
        items=[_decision_read(r, changes[r.id], amended[r.id]) for r in rows],
        total=total,
        page=page,
        size=size,
    )


def list_decisions_for_staff(
    session: Session, *, statuses: Iterable[DecisionStatus] = tuple(DecisionStatus), page: int, size: int
) -> schemas.DecisionStaffPage:
    """Decisions in any of `statuses` (every one by default), with who did what."""
    rows, total = repository.decisions_in(session, statuses, page=page, size=size)
    changes = repository.change_rows(session, [r.id for r in rows])
    amended = _amended(session, rows, changes)
    return schemas.DecisionStaffPage(
        items=[_decision_staff_read(r, changes[r.id], amended[r.id]) for r in rows],
        total=total,
        page=page,
        size=size,
    )


def sync_versions(session: Session) -> schemas.SyncVersions:
    return schemas.SyncVersions(
        subjects=[
            schemas.SubjectVersion(kind=kind, id=id_, version=version)
            for kind, id_, version in repository.subject_versions(session)
        ]
    )


def _decision_id(given: str) -> int | None:
    """A decision's id as a sync request gives it; None where no decision can have it."""
    try:
        value = int(given)
    except ValueError:
        return None
    return value if 1 <= value <= MAX_ROW_ID else None  # as a decision's path takes it (RowId)


def sync_states(session: Session, refs: list[schemas.SubjectRef]) -> schemas.SyncStates:
    """The current public state of each subject, as its own GET gives it (None where that is
    a 404), all read together: a burst asks for many at once."""
    procedures = procedure_reads(session, [r.id for r in refs if r.kind == "procedure"])
    decision_ids = {r.id: _decision_id(r.id) for r in refs if r.kind == "decision"}
    decisions = decision_reads(session, {i for i in decision_ids.values() if i is not None})
    states: list[schemas.SyncState] = []
    for ref in refs:
        state: schemas.ProcedureRead | schemas.DecisionRead | None
        if ref.kind == "procedure":
            state = procedures.get(ref.id)
        else:
            id_ = decision_ids[ref.id]
            state = decisions.get(id_) if id_ is not None else None
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
        decision = Decision.create(
            number="01/QĐ-SXD",
            title="Công bố danh mục thủ tục hành chính lĩnh vực xây dựng (dữ liệu mẫu)",
            issuer="Sở Xây dựng tỉnh Thái Bình",
            signed_on=today,
            effective_on=today,
            changes=[Change(Action.NEW, item.code) for item in items],
            by=DEMO_ACTOR,
            at=now,
        )
        uow.repo.add_decision(decision)
        procedures = uow.repo.get_procedures(decision.involved_codes())
        assert effective_at_for(today) <= now
        # The review as staff would do it: drafted and submitted by one actor, published by another.
        decision.submit(procedures, by=DEMO_ACTOR, at=now)
        decision.publish(procedures, by=DEMO_APPROVER, now=now)
        uow.commit()
    return len(items)
