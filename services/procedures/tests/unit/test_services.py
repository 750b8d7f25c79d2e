"""The use cases, called directly: no HTTP, no Redis, no process.

Each write is one transaction: what it changes, the events it leaves in the outbox with
it, and a wake-up for the relay only when there are events; a refusal changes nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from minhbach_testing.uow import UnitsOfWork, types
from procedures import errors, schemas, services
from procedures.uow import UnitOfWork

Units = UnitsOfWork[UnitOfWork]

# 10:00 in Vietnam on 27 Nov 2026: a decision effective that day applies at once.
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
TODAY = date(2026, 11, 27)
TOMORROW = TODAY + timedelta(days=1)
EDITOR, APPROVER = "editor-an", "approver-binh"


def create(units: Units, sample: dict[str, dict[str, Any]], code: str, **changes: Any) -> None:
    services.create_procedure(units(), schemas.ProcedureCreate(**{**sample[code], **changes}), actor=EDITOR)


def decide(units: Units, *changes: tuple[str, str], effective_on: date = TODAY, number: str = "1") -> int:
    """A draft decision of (action, procedure_code) changes; its id."""
    return services.create_decision(
        units(),
        schemas.DecisionCreate(
            number=f"{number}/QĐ-SXD",
            title="Công bố thủ tục hành chính",
            issuer="Sở Xây dựng tỉnh Thái Bình",
            signed_on=TODAY,
            effective_on=effective_on,
            changes=[schemas.ChangeCreate(action=a, procedure_code=c) for a, c in changes],
        ),
        actor=EDITOR,
    )


def publish(units: Units, decision_id: int, now: datetime = NOW) -> str:
    return services.publish_decision(units(), decision_id, actor=APPROVER, now=now).status.value


def in_force(units: Units, sample: dict[str, dict[str, Any]], *codes: str) -> None:
    for code in codes:
        create(units, sample, code)
    publish(units, decide(units, *(("new", c) for c in codes), number="0"))
    units.new_events()


def test_drafts_are_written_without_an_event_or_a_wake_up(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    create(units, sample, "MB.XD.001")
    services.update_procedure(units(), "MB.XD.001", schemas.ProcedureUpdate(result="Giấy phép"), actor=EDITOR)
    decide(units, ("new", "MB.XD.001"))

    assert units.read(services.get_draft, "MB.XD.001").result == "Giấy phép"
    assert units.outbox() == [] and units.wakes.count == 0
    with pytest.raises(errors.ProcedureNotFound):
        units.read(services.get_procedure, "MB.XD.001")  # not public before a decision


def test_each_write_stores_its_actor_and_only_staff_reads_show_it(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    create(units, sample, "MB.XD.001")
    services.update_procedure(
        units(), "MB.XD.001", schemas.ProcedureUpdate(result="Giấy phép"), actor="editor-chi"
    )
    decision_id = decide(units, ("new", "MB.XD.001"))
    publish(units, decision_id)

    draft = units.read(services.get_draft, "MB.XD.001")
    assert (draft.drafted_by, draft.edited_by) == (EDITOR, "editor-chi") and draft.edited_at is not None
    decision = units.read(services.get_decision_for_staff, decision_id)
    assert (decision.created_by, decision.published_by) == (EDITOR, APPROVER)
    versions = units.read(services.list_versions_for_staff, "MB.XD.001")
    assert [v.written_by for v in versions.items] == ["editor-chi"]
    public = [
        units.read(services.get_decision, decision_id).model_dump_json(),
        units.read(services.list_versions, "MB.XD.001").model_dump_json(),
        units.read(services.get_procedure, "MB.XD.001").model_dump_json(),
    ]
    assert not any(name in body for body in public for name in (EDITOR, "editor-chi", APPROVER))


def test_the_demo_loader_writes_as_demo(units: Units, sample_payload: dict[str, Any]) -> None:
    assert services.load_demo(units(), sample_payload, now=NOW) == len(sample_payload["procedures"])
    code = sample_payload["procedures"][0]["code"]
    assert units.read(services.get_draft, code).drafted_by == services.DEMO_ACTOR
    decision = units.read(services.get_decision_for_staff, 1)
    assert decision.created_by == decision.published_by == services.DEMO_ACTOR


def test_a_second_procedure_with_the_same_code_is_refused(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    create(units, sample, "MB.XD.001")
    with pytest.raises(errors.ProcedureExists):
        create(units, sample, "MB.XD.001", name="Một tên khác")
    assert units.read(services.get_draft, "MB.XD.001").name == sample["MB.XD.001"]["name"]
    with pytest.raises(errors.ProcedureNotFound):
        services.update_procedure(units(), "MB.XX.404", schemas.ProcedureUpdate(result="x"), actor=EDITOR)


def test_a_decision_due_now_puts_its_procedures_in_force_with_its_events_in_one_commit(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    create(units, sample, "MB.XD.001")
    create(units, sample, "MB.XD.002")
    decision_id = decide(units, ("new", "MB.XD.002"), ("new", "MB.XD.001"))

    assert publish(units, decision_id) == "in_effect"

    written = units.new_events()
    assert types(written) == ["decision.published", "procedure.published", "procedure.published"]
    assert [e["subject"]["id"] for e in written] == [str(decision_id), "MB.XD.002", "MB.XD.001"]
    assert units.wakes.count == 1  # once per commit, however many events
    assert (
        units.read(services.get_procedure, "MB.XD.001").status == "in_force"
        and units.read(services.get_procedure, "MB.XD.001").version == 1
    )


def test_an_incomplete_procedure_refuses_the_whole_decision_and_nothing_is_written(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    create(units, sample, "MB.XD.001")
    create(units, sample, "MB.XD.002", fees=None, legal_basis=None)
    decision_id = decide(units, ("new", "MB.XD.001"), ("new", "MB.XD.002"))

    with pytest.raises(errors.MissingComponents) as refused:
        publish(units, decision_id)

    assert refused.value.errors == [
        {
            "field": "changes[1]",
            "procedure_code": "MB.XD.002",
            "message": "missing mandatory components: fees, legal_basis",
            "missing": ["fees", "legal_basis"],
        }
    ]
    assert units.outbox() == [] and units.wakes.count == 0
    with pytest.raises(errors.ProcedureNotFound):
        units.read(
            services.get_procedure, "MB.XD.001"
        )  # the complete one did not come into force alone either
    assert units.read(services.get_decision_for_staff, decision_id).status == "draft"


def test_a_decision_is_published_once(units: Units, sample: dict[str, dict[str, Any]]) -> None:
    create(units, sample, "MB.XD.001")
    decision_id = decide(units, ("new", "MB.XD.001"))
    publish(units, decision_id)
    units.new_events()

    with pytest.raises(errors.NotAllowed):
        publish(units, decision_id, now=NOW + timedelta(hours=1))
    with pytest.raises(errors.DecisionNotFound):
        publish(units, 404)
    assert units.new_events() == [] and units.wakes.count == 1


def test_a_future_decision_is_scheduled_and_applied_once_when_due(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    create(units, sample, "MB.XD.001")
    decision_id = decide(units, ("new", "MB.XD.001"), effective_on=TOMORROW)

    assert publish(units, decision_id) == "scheduled"
    assert types(units.new_events()) == ["decision.published"] and units.wakes.count == 1
    with pytest.raises(errors.ProcedureNotFound):
        units.read(services.get_procedure, "MB.XD.001")

    midnight = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)  # 00:00 on the 28th in Vietnam
    assert services.apply_due_decisions(units, now=midnight - timedelta(seconds=1)) == 0
    assert units.new_events() == [] and units.wakes.count == 1

    assert services.apply_due_decisions(units, now=midnight) == 1
    assert types(units.new_events()) == ["decision.applied", "procedure.published"]
    assert units.wakes.count == 2
    assert units.read(services.get_procedure, "MB.XD.001").effective_at == midnight

    assert services.apply_due_decisions(units, now=midnight + timedelta(minutes=1)) == 0
    assert units.new_events() == [] and units.wakes.count == 2


def test_a_scheduled_decision_whose_procedure_left_force_fails_whole_and_discloses_nothing(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    in_force(units, sample, "MB.XD.001")
    services.update_procedure(
        units(), "MB.XD.001", schemas.ProcedureUpdate(result="Giấy phép (mới)"), actor=EDITOR
    )
    amendment = decide(units, ("amend", "MB.XD.001"), effective_on=TOMORROW, number="2")
    publish(units, amendment)
    publish(units, decide(units, ("abolish", "MB.XD.001"), number="3"))
    assert types(units.new_events()) == ["decision.published", "decision.published", "procedure.abolished"]
    wakes = units.wakes.count

    assert services.apply_due_decisions(units, now=NOW + timedelta(days=1)) == 0

    assert units.new_events() == [] and units.wakes.count == wakes
    failed = units.read(services.get_decision, amendment)
    assert failed.status == "failed" and "MB.XD.001: procedure MB.XD.001 is not in force" in (
        failed.failure_reason or ""
    )
    assert units.read(services.get_procedure, "MB.XD.001").status == "abolished"


def test_an_amendment_puts_the_working_draft_in_force_as_the_next_version(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    in_force(units, sample, "MB.XD.001")
    time = {"value": 15, "unit": "working_days"}
    services.update_procedure(
        units(), "MB.XD.001", schemas.ProcedureUpdate(processing_time=time), actor=EDITOR
    )
    assert (
        units.new_events() == [] and units.read(services.get_procedure, "MB.XD.001").processing_time != time
    )

    publish(units, decide(units, ("amend", "MB.XD.001"), number="2"))

    amended = [e for e in units.new_events() if e["type"] == "procedure.amended"]
    assert [(e["subject"]["id"], e["version"]) for e in amended] == [("MB.XD.001", 2)]
    shown = units.read(services.get_procedure, "MB.XD.001")
    assert shown.version == 2 and shown.processing_time is not None
    assert shown.processing_time.model_dump(mode="json") == time
    assert [h.action for h in shown.history] == ["new", "amend"]


def test_an_abolished_procedure_can_no_longer_be_edited(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    in_force(units, sample, "MB.XD.001")
    publish(units, decide(units, ("abolish", "MB.XD.001"), number="2"))
    assert types(units.new_events()) == ["decision.published", "procedure.abolished"]
    wakes = units.wakes.count

    with pytest.raises(errors.NotAllowed, match="abolished"):
        services.update_procedure(units(), "MB.XD.001", schemas.ProcedureUpdate(result="x"), actor=EDITOR)
    assert units.new_events() == [] and units.wakes.count == wakes
