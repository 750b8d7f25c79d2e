"""A procedure's read does not walk the other changes of the decision that put it in force.

Each read asks which decisions replaced another procedure by this one. By the decision id
alone SQLite read every change of the decision: at 1,000 procedures a decision, a quarter
of the API's time under load went there. The plan is SQLite's own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from minhbach_testing.uow import UnitsOfWork
from procedures import services
from procedures.uow import UnitOfWork


def test_reading_a_procedure_finds_what_it_replaced_by_its_code(
    units: UnitsOfWork[UnitOfWork], sample_payload: dict[str, Any]
) -> None:
    services.load_demo(units(), sample_payload, now=datetime.now(UTC))
    code = sample_payload["procedures"][0]["code"]
    sent: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "decision_changes" in statement:
            sent.append((statement, parameters))

    event.listen(units.engine, "before_cursor_execute", record)
    try:
        with Session(units.engine) as session:
            read = services.get_procedure(session, code)
    finally:
        event.remove(units.engine, "before_cursor_execute", record)
    assert read.code == code and read.version == 1
    assert sent, "the read no longer asks what the procedure replaced"
    with units.engine.connect() as conn:
        plans = [
            [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            for statement, parameters in sent
        ]
    for plan in plans:
        on_changes = [step for step in plan if " decision_changes " in f" {step} " or " dc " in step]
        assert on_changes, plan
        assert all("replaced_by=?" in step for step in on_changes), plan
