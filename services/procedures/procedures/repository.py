"""Loading and saving procedures and decisions, and the read queries. Nothing here commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, exists, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from minhbach_shared.db import fetch_page
from minhbach_shared.events import Envelope
from procedures import search
from procedures.db import decision_changes, decisions, procedure_versions, procedures
from procedures.domain import (
    Action,
    Change,
    Decision,
    DecisionStatus,
    Procedure,
    ProcedureStatus,
)


def _procedure(row: Row[Any]) -> Procedure:
    return Procedure(
        id=row.id,
        code=row.code,
        status=ProcedureStatus(row.status),
        version=row.version,
        published=row.published,
        draft=row.draft,
        replaced_by=row.replaced_by,
        effective_at=row.effective_at,
        drafted_by=row.drafted_by,
        edited_by=row.edited_by,
        edited_at=row.edited_at,
        written_by=row.written_by,
    )


def _listed(changes: list[Change]) -> list[tuple[Action, str, str | None]]:
    """What an editor chose in a decision's changes, without the snapshots publishing adds."""
    return [(c.action, c.procedure_code, c.replaced_by) for c in changes]


class Repository:
    """Entities loaded or added in one unit of work; `persist` writes them all back."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._procedures: dict[str, Procedure] = {}
        self._decisions: list[Decision] = []
        # Each decision's changes as last written, so saving writes only new snapshots.
        self._stored_changes: dict[int, list[Change]] = {}

    # Procedures

    def get_procedure(self, code: str) -> Procedure | None:
        return self.get_procedures([code]).get(code)

    def get_procedures(self, codes: Sequence[str]) -> dict[str, Procedure]:
        """Procedures by code, in the order asked (missing codes left out)."""
        wanted = [c for c in codes if c not in self._procedures]
        if wanted:
            rows = self.session.execute(
                select(procedures).where(procedures.c.code.in_(wanted)).with_for_update()
            ).all()
            for row in rows:
                self._procedures[row.code] = _procedure(row)
        return {c: self._procedures[c] for c in codes if c in self._procedures}

    def procedure_exists(self, code: str) -> bool:
        return bool(self.session.execute(select(exists().where(procedures.c.code == code))).scalar())

    def has_procedures(self) -> bool:
        return bool(self.session.execute(select(exists().select_from(procedures))).scalar())

    def add_procedure(self, procedure: Procedure) -> None:
        now = datetime.now(UTC)
        content = procedure.working_content
        procedure.id = self.session.execute(
            insert(procedures)
            .values(
                code=procedure.code,
                status=procedure.status.value,
                version=procedure.version,
                published=procedure.published,
                draft=procedure.draft,
                name=content.get("name") or procedure.code,
                field=content.get("field"),
                drafted_by=procedure.drafted_by,
                edited_by=procedure.edited_by,
                edited_at=procedure.edited_at,
                written_by=procedure.written_by,
                created_at=now,
                updated_at=now,
            )
            .returning(procedures.c.id)
        ).scalar_one()
        self._procedures[procedure.code] = procedure

    def _save_procedures(self, loaded: Iterable[Procedure], now: datetime) -> None:
        """Write the loaded procedures back: one statement for their rows, one for their new
        versions, and their search text (search.index_procedures). A decision of ten
        amendments was fifty statements, five a procedure: under load, statements sent one
        by one were the largest part of the procedures API's CPU (bench/README.md)."""
        rows: list[dict[str, Any]] = []
        versions: list[dict[str, Any]] = []
        published: list[tuple[int, str, dict[str, Any]]] = []
        for procedure in loaded:
            assert procedure.id is not None
            # Name and field follow the public version once there is one.
            shown = procedure.published if procedure.published is not None else procedure.working_content
            rows.append(
                {
                    "b_id": procedure.id,
                    "status": procedure.status.value,
                    "version": procedure.version,
                    "published": procedure.published,
                    "draft": procedure.draft,
                    "name": shown.get("name") or procedure.code,
                    "field": shown.get("field"),
                    "replaced_by": procedure.replaced_by,
                    "effective_at": procedure.effective_at,
                    "edited_by": procedure.edited_by,
                    "edited_at": procedure.edited_at,
                    "written_by": procedure.written_by,
                    "updated_at": now,
                }
            )
            if procedure.new_versions:
                versions += [
                    {
                        "procedure_code": v.code,
                        "version": v.version,
                        "status": v.status.value,
                        "action": v.action.value,
                        "content": v.content,
                        "decision_id": v.decision_id,
                        "effective_at": v.effective_at,
                        "written_by": v.written_by,
                        "created_at": now,
                        "changes": None if v.changes is None else [asdict(c) for c in v.changes],
                        "replaces": v.replaces,
                    }
                    for v in procedure.new_versions
                ]
                procedure.new_versions.clear()
                published.append((procedure.id, procedure.code, procedure.published or {}))
        if rows:
            # Without .values(), the SET clause is the rows' keys (b_id is the WHERE's).
            self.session.execute(update(procedures).where(procedures.c.id == bindparam("b_id")), rows)
        if versions:
            self.session.execute(insert(procedure_versions), versions)
        search.index_procedures(self.session, published)

    # Decisions

    def get_decision(self, decision_id: int) -> Decision | None:
        row = self.session.execute(
            select(decisions).where(decisions.c.id == decision_id).with_for_update()
        ).one_or_none()
        if row is None:
            return None
        changes = self.session.execute(
            select(decision_changes)
            .where(decision_changes.c.decision_id == decision_id)
            .order_by(decision_changes.c.position)
        ).all()
        decision = Decision(
            id=row.id,
            number=row.number,
            title=row.title,
            issuer=row.issuer,
            signed_on=row.signed_on,
            effective_on=row.effective_on,
            changes=[
                Change(Action(c.action), c.procedure_code, c.replaced_by, c.content, c.written_by)
                for c in changes
            ],
            status=DecisionStatus(row.status),
            version=row.version,
            published_at=row.published_at,
            applied_at=row.applied_at,
            failure_reason=row.failure_reason,
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
        self._decisions.append(decision)
        self._stored_changes[row.id] = list(decision.changes)
        return decision

    def add_decision(self, decision: Decision) -> None:
        now = datetime.now(UTC)
        decision.id = self.session.execute(
            insert(decisions)
            .values(
                number=decision.number,
                title=decision.title,
                issuer=decision.issuer,
                signed_on=decision.signed_on,
                effective_on=decision.effective_on,
                effective_at=decision.effective_at,
                status=decision.status.value,
                version=decision.version,
                created_by=decision.created_by,
                edited_by=decision.edited_by,
                edited_at=decision.edited_at,
                published_by=decision.published_by,
                created_at=now,
                updated_at=now,
            )
            .returning(decisions.c.id)
        ).scalar_one()
        self._insert_changes(decision.id, decision.changes)
        self._decisions.append(decision)
        self._stored_changes[decision.id] = list(decision.changes)

    def _delete_changes(self, decision_id: int) -> None:
        self.session.execute(delete(decision_changes).where(decision_changes.c.decision_id == decision_id))

    def _insert_changes(self, decision_id: int, changes: list[Change]) -> None:
        self.session.execute(
            insert(decision_changes),
            [
                {
                    "decision_id": decision_id,
                    "position": i,
                    "action": c.action.value,
                    "procedure_code": c.procedure_code,
                    "replaced_by": c.replaced_by,
                    "content": c.content,
                    "written_by": c.written_by,
                }
                for i, c in enumerate(changes)
            ],
        )

    def due_decision_ids(self, now: datetime) -> list[int]:
        return list(
            self.session.execute(
                select(decisions.c.id)
                .where(decisions.c.status == DecisionStatus.SCHEDULED.value, decisions.c.effective_at <= now)
                .order_by(decisions.c.effective_at, decisions.c.id)
            ).scalars()
        )

    def next_effective_at(self, now: datetime) -> datetime | None:
        """When the soonest scheduled decision still ahead of `now` takes effect, if any."""
        return self.session.execute(
            select(func.min(decisions.c.effective_at)).where(
                decisions.c.status == DecisionStatus.SCHEDULED.value, decisions.c.effective_at > now
            )
        ).scalar_one_or_none()

    def _save_decision(self, decision: Decision, now: datetime) -> None:
        assert decision.id is not None
        if decision.discarded:
            # The changes first: SQLite enforces no ON DELETE CASCADE unless told to.
            self._delete_changes(decision.id)
            self.session.execute(delete(decisions).where(decisions.c.id == decision.id))
            return
        self.session.execute(
            update(decisions)
            .where(decisions.c.id == decision.id)
            .values(
                number=decision.number,
                title=decision.title,
                issuer=decision.issuer,
                signed_on=decision.signed_on,
                effective_on=decision.effective_on,
                effective_at=decision.effective_at,
                status=decision.status.value,
                version=decision.version,
                published_at=decision.published_at,
                applied_at=decision.applied_at,
                failure_reason=decision.failure_reason,
                edited_by=decision.edited_by,
                edited_at=decision.edited_at,
                submitted_by=decision.submitted_by,
                submitted_at=decision.submitted_at,
                published_by=decision.published_by,
                returned_by=decision.returned_by,
                returned_at=decision.returned_at,
                return_reason=decision.return_reason,
                updated_at=now,
            )
        )
        stored = self._stored_changes.get(decision.id, [])
        if _listed(decision.changes) != _listed(stored):
            # An edited draft's list, replaced whole (drafts hold no snapshots yet).
            self._delete_changes(decision.id)
            self._insert_changes(decision.id, decision.changes)
            self._stored_changes[decision.id] = list(decision.changes)
            return
        snapshots = [
            {"b_position": i, "b_content": c.content, "b_written_by": c.written_by}
            for i, c in enumerate(decision.changes)
            if i >= len(stored) or (c.content, c.written_by) != (stored[i].content, stored[i].written_by)
        ]
        if snapshots:
            self.session.execute(
                update(decision_changes)
                .where(
                    decision_changes.c.decision_id == decision.id,
                    decision_changes.c.position == bindparam("b_position"),
                )
                .values(content=bindparam("b_content"), written_by=bindparam("b_written_by")),
                snapshots,
            )
            self._stored_changes[decision.id] = list(decision.changes)

    # Unit of work support

    def persist(self) -> None:
        now = datetime.now(UTC)
        for decision in self._decisions:
            self._save_decision(decision, now)
        self._save_procedures(self._procedures.values(), now)

    def collect_events(self) -> list[Envelope]:
        """Events recorded since loading: decisions first, then procedures in load order."""
        collected: list[Envelope] = []
        entities: list[Decision | Procedure] = [*self._decisions, *self._procedures.values()]
        for entity in entities:
            collected.extend(entity.events)
            entity.events.clear()
        return collected


# Read queries (public and editor views)


def _by_key(session: Session, query: Select[Any], column: Any, keys: Iterable[Any]) -> dict[Any, Row[Any]]:
    """The rows of `query` whose `column` is one of `keys`, by that value (one statement)."""
    wanted = set(keys)
    if not wanted:
        return {}
    return {getattr(r, column.key): r for r in session.execute(query.where(column.in_(wanted)))}


def _grouped_by(
    session: Session, query: Select[Any], column: Any, keys: Iterable[Any]
) -> dict[Any, list[Row[Any]]]:
    """The rows of `query` whose `column` is one of `keys`, a list for each key (empty where
    none), in the query's order (one statement)."""
    grouped: dict[Any, list[Row[Any]]] = {k: [] for k in keys}
    if grouped:
        for row in session.execute(query.where(column.in_(grouped))):
            grouped[getattr(row, column.key)].append(row)
    return grouped


def procedure_rows(session: Session, codes: Iterable[str]) -> dict[str, Row[Any]]:
    """The rows of those of `codes` that exist, by code."""
    return _by_key(session, select(procedures), procedures.c.code, codes)


def version_rows(
    session: Session, codes: Iterable[str], *, with_content: bool = False
) -> dict[str, list[Row[Any]]]:
    """The published versions of each of `codes`, in version order, with their decisions;
    `with_content`: each version's whole content too (a history needs only its changes)."""
    columns = [c for c in procedure_versions.c if with_content or c is not procedure_versions.c.content]
    query = (
        select(
            *columns,
            decisions.c.number.label("decision_number"),
            decisions.c.title.label("decision_title"),
            decisions.c.signed_on.label("decision_signed_on"),
            decisions.c.effective_on.label("decision_effective_on"),
        )
        .outerjoin(decisions, decisions.c.id == procedure_versions.c.decision_id)
        .order_by(procedure_versions.c.procedure_code, procedure_versions.c.version)
    )
    return _grouped_by(session, query, procedure_versions.c.procedure_code, codes)


def decision_rows(session: Session, decision_ids: Iterable[int]) -> dict[int, Row[Any]]:
    """The rows of those of `decision_ids` that exist, by id."""
    return _by_key(session, select(decisions), decisions.c.id, decision_ids)


def change_rows(session: Session, decision_ids: Iterable[int]) -> dict[int, list[Row[Any]]]:
    """The changes of each decision, in their order, with the procedure's name; not the
    content each puts in force, which only a scheduled decision's read needs (`snapshots`)."""
    columns = [c for c in decision_changes.c if c is not decision_changes.c.content]
    query = (
        select(*columns, procedures.c.name.label("procedure_name"))
        .outerjoin(procedures, procedures.c.code == decision_changes.c.procedure_code)
        .order_by(decision_changes.c.decision_id, decision_changes.c.position)
    )
    return _grouped_by(session, query, decision_changes.c.decision_id, decision_ids)


def snapshots(session: Session, decision_ids: Iterable[int]) -> dict[tuple[int, str], dict[str, Any]]:
    """The content each `new` and `amend` of these decisions puts in force, as published, by
    (decision id, code)."""
    ids = list(decision_ids)
    if not ids:
        return {}
    changes = decision_changes.c
    rows = session.execute(
        select(changes.decision_id, changes.procedure_code, changes.content).where(
            changes.decision_id.in_(ids), changes.content.is_not(None)
        )
    ).all()
    return {(decision_id, code): content for decision_id, code, content in rows}


def changes_made(
    session: Session, decision_ids: Iterable[int]
) -> dict[tuple[int, str], list[dict[str, Any]]]:
    """What each version these decisions made changed, by (decision id, code), for the
    versions that say (amendments, and procedures put in force in place of others)."""
    ids = list(decision_ids)
    if not ids:
        return {}
    versions = procedure_versions.c
    rows = session.execute(
        select(versions.decision_id, versions.procedure_code, versions.changes).where(
            versions.decision_id.in_(ids), versions.changes.is_not(None)
        )
    ).all()
    return {(decision_id, code): changes for decision_id, code, changes in rows}


def published_contents(session: Session, codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The content in force now of each procedure in `codes` that has been published."""
    wanted = list(codes)
    if not wanted:
        return {}
    rows = session.execute(
        select(procedures.c.code, procedures.c.published).where(procedures.c.code.in_(wanted))
    ).all()
    return {code: published for code, published in rows if published}


def decisions_in(
    session: Session, statuses: Iterable[DecisionStatus], *, page: int, size: int
) -> tuple[list[Row[Any]], int]:
    """Decisions in any of `statuses`, the latest first: published ones by when they were
    published, drafts and submitted ones by their last change."""
    latest = func.coalesce(decisions.c.published_at, decisions.c.updated_at)
    statement = (
        select(decisions)
        .where(decisions.c.status.in_([s.value for s in statuses]))
        .order_by(latest.desc(), decisions.c.id.desc())
    )
    return fetch_page(session, statement, page=page, size=size)


def subject_versions(session: Session) -> list[tuple[str, str, int]]:
    found: list[tuple[str, str, int]] = [
        ("procedure", r.code, r.version)
        for r in session.execute(
            select(procedures.c.code, procedures.c.version)
            .where(procedures.c.version > 0)
            .order_by(procedures.c.code)
        )
    ]
    found.extend(
        ("decision", str(r.id), r.version)
        for r in session.execute(
            select(decisions.c.id, decisions.c.version)
            .where(decisions.c.version > 0)
            .order_by(decisions.c.id)
        )
    )
    return found
