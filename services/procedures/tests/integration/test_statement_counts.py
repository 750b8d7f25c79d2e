"""Publishing a decision, and reading many subjects at once, send as many SQL statements for
two procedures as for ten.

Under load (bench.load, 100 changes a second), SQLAlchemy's cost per statement was most of
the procedures API's CPU: five statements per procedure to publish, three per subject for
the notifier's batch read. Both are now a few statements for the whole batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from minhbach_testing.uow import UnitsOfWork, statements
from procedures import schemas, services
from procedures.uow import UnitOfWork

from ..decisions import EDITOR, approve, decide, submit

T = TypeVar("T")


def sent_by(engine: Engine, call: Callable[[], T]) -> tuple[T, int]:
    """What `call` returns, and how many statements it sent to `engine`."""
    with statements(engine) as sent:
        result = call()
    return result, len(sent)


def publish_new(units: UnitsOfWork[UnitOfWork], procedures: list[dict[str, Any]]) -> tuple[int, int]:
    """Put `procedures` in force by one decision: its id, and the statements its publishing sent."""
    for p in procedures:
        services.create_procedure(units(), schemas.ProcedureCreate(**p), actor=EDITOR)
    decision_id = decide(units, *(("new", p["code"]) for p in procedures), number=str(len(procedures)))
    submit(units, decision_id)
    status, sent = sent_by(units.engine, lambda: approve(units, decision_id))
    assert status == "in_effect"
    return decision_id, sent


def test_publishing_ten_procedures_sends_no_more_statements_than_two(
    units: UnitsOfWork[UnitOfWork], sample_payload: dict[str, Any]
) -> None:
    sample = sample_payload["procedures"]
    _, for_two = publish_new(units, sample[:2])
    _, for_ten = publish_new(units, sample[2:12])
    assert for_ten <= for_two

    # And all twelve are in force, found by the search, each with its version.
    with Session(units.engine) as session:
        found = services.search_procedures(session, q=None, field=None, status="in_force", page=1, size=50)
        assert sorted(p.code for p in found.items) == sorted(p["code"] for p in sample[:12])
        for p in sample[:12]:
            assert services.get_procedure(session, p["code"]).version == 1
            hit = services.search_procedures(
                session, q=p["name"], field=None, status="in_force", page=1, size=5
            )
            assert p["code"] in [h.code for h in hit.items], p["name"]


def test_the_notifiers_batch_read_sends_no_more_statements_for_ten_subjects_than_for_two(
    units: UnitsOfWork[UnitOfWork], sample_payload: dict[str, Any]
) -> None:
    sample = sample_payload["procedures"]
    first, _ = publish_new(units, sample[:6])
    second, _ = publish_new(units, sample[6:12])
    few = [schemas.SubjectRef(kind="procedure", id=sample[0]["code"])]
    few.append(schemas.SubjectRef(kind="decision", id=str(first)))
    many = [schemas.SubjectRef(kind="procedure", id=p["code"]) for p in sample[:8]]
    many += [schemas.SubjectRef(kind="decision", id=str(i)) for i in (first, second)]
    with Session(units.engine) as session:
        _, for_two = sent_by(units.engine, lambda: services.sync_states(session, few))
        read, for_ten = sent_by(units.engine, lambda: services.sync_states(session, many))
    assert for_ten <= for_two
    states = read.states
    assert [s.id for s in states] == [r.id for r in many]
    assert all(s.state is not None for s in states)
