"""A catalogue with a history to read: amendments, and a procedure put in force in place of
another (for the read-plan and migration tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from minhbach_testing.uow import UnitsOfWork
from procedures import schemas, services
from procedures.uow import UnitOfWork

from ..decisions import EDITOR, NOW, TOMORROW, decide, publish

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


def make_history(units: UnitsOfWork[UnitOfWork], sample_payload: dict[str, Any]) -> History:
    services.load_demo(units(), sample_payload, now=NOW)
    first, second = (p["code"] for p in sample_payload["procedures"][:2])
    times = [{"value": days, "unit": "working_days"} for days in (41, 42, 43)]
    for number, time in enumerate(times, start=2):
        services.update_procedure(units(), first, schemas.ProcedureUpdate(processing_time=time), actor=EDITOR)
        last = decide(units, ("amend", first), number=str(number))
        publish(units, last)
    successor = {**sample_payload["procedures"][1], "code": SUCCESSOR, "name": "Thủ tục thay thế"}
    services.create_procedure(units(), schemas.ProcedureCreate(**successor), actor=EDITOR)
    replacing = decide(units, ("new", SUCCESSOR), ("replace", second, SUCCESSOR), number="99")
    publish(units, replacing)
    edit = schemas.ProcedureUpdate(processing_time={"value": 44, "unit": "working_days"})
    services.update_procedure(units(), first, edit, actor=EDITOR)
    third = sample_payload["procedures"][2]
    later = {**third, "code": LATER_SUCCESSOR, "name": "Thủ tục thay thế từ ngày mai"}
    services.create_procedure(units(), schemas.ProcedureCreate(**later), actor=EDITOR)
    scheduled = decide(
        units,
        ("amend", first),
        ("new", LATER_SUCCESSOR),
        ("replace", third["code"], LATER_SUCCESSOR),
        effective_on=TOMORROW,
        number="100",
    )
    publish(units, scheduled)
    return History(first, times, last, second, replacing, scheduled)
