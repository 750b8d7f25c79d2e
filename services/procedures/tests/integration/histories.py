"""A catalogue with a history to read: amendments, and a procedure put in force in place of
another (for the read-plan and migration tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from minhbach_testing.uow import UnitsOfWork
from procedures import schemas, services
from procedures.uow import UnitOfWork

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam: effective at once
TODAY = date(2026, 11, 27)
SUCCESSOR = "MB.XD.NEW"
LATER_SUCCESSOR = "MB.XD.NEW2"


@dataclass(frozen=True)
class History:
    amended: str  # amended three times: four versions
    times: list[dict[str, Any]]  # its processing time after each amendment
    last_amendment: int  # the decision of the third
    replaced: str
    replacing: int  # the decision that put SUCCESSOR in force in place of `replaced`
    # In effect tomorrow: a fourth amendment of `amended`, and LATER_SUCCESSOR in place of
    # the third sample procedure.
    scheduled: int


def publish(
    units: UnitsOfWork[UnitOfWork], number: int, *changes: dict[str, Any], effective_on: date = TODAY
) -> int:
    decision_id = services.create_decision(
        units(),
        schemas.DecisionCreate(
            number=f"{number}/QĐ-SXD",
            title="Công bố thủ tục hành chính",
            issuer="Sở Xây dựng tỉnh Thái Bình",
            signed_on=TODAY,
            effective_on=effective_on,
            changes=[schemas.ChangeCreate(**c) for c in changes],
        ),
        actor="editor",
    )
    services.submit_decision(units(), decision_id, actor="editor", now=NOW)
    services.publish_decision(units(), decision_id, actor="approver", now=NOW)
    return decision_id


def make_history(units: UnitsOfWork[UnitOfWork], sample_payload: dict[str, Any]) -> History:
    services.load_demo(units(), sample_payload, now=NOW)
    first, second = (p["code"] for p in sample_payload["procedures"][:2])
    times = [{"value": days, "unit": "working_days"} for days in (41, 42, 43)]
    for number, time in enumerate(times, start=2):
        services.update_procedure(
            units(), first, schemas.ProcedureUpdate(processing_time=time), actor="editor"
        )
        last = publish(units, number, {"action": "amend", "procedure_code": first})
    successor = {**sample_payload["procedures"][1], "code": SUCCESSOR, "name": "Thủ tục thay thế"}
    services.create_procedure(units(), schemas.ProcedureCreate(**successor), actor="editor")
    replacing = publish(
        units,
        99,
        {"action": "new", "procedure_code": SUCCESSOR},
        {"action": "replace", "procedure_code": second, "replaced_by": SUCCESSOR},
    )
    edit = schemas.ProcedureUpdate(processing_time={"value": 44, "unit": "working_days"})
    services.update_procedure(units(), first, edit, actor="editor")
    third = sample_payload["procedures"][2]
    later = {**third, "code": LATER_SUCCESSOR, "name": "Thủ tục thay thế từ ngày mai"}
    services.create_procedure(units(), schemas.ProcedureCreate(**later), actor="editor")
    scheduled = publish(
        units,
        100,
        {"action": "amend", "procedure_code": first},
        {"action": "new", "procedure_code": LATER_SUCCESSOR},
        {"action": "replace", "procedure_code": third["code"], "replaced_by": LATER_SUCCESSOR},
        effective_on=TODAY + timedelta(days=1),
    )
    return History(first, times, last, second, replacing, scheduled)
