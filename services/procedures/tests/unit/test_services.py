"""The use cases, called directly: no HTTP, no Redis, no process.

Each write is one transaction: what it changes, the events it leaves in the outbox with
it, and a wake-up for the relay only when there are events; a refusal changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from minhbach_shared.text import fold
from minhbach_testing.uow import types
from procedures import errors, schemas, services
from procedures.domain import DecisionStatus

from ..decisions import APPROVER, EDITOR, NOW, TODAY, TOMORROW, Units, approve, decide, publish, submit


def create(units: Units, sample: dict[str, dict[str, Any]], code: str, **changes: Any) -> None:
    services.create_procedure(units(), schemas.ProcedureCreate(**{**sample[code], **changes}), actor=EDITOR)


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
    assert decision.status == "in_effect"
    assert (decision.created_by, decision.submitted_by) == (services.DEMO_ACTOR, services.DEMO_ACTOR)
    assert decision.published_by == services.DEMO_APPROVER  # four eyes hold for the demo too


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


def test_an_incomplete_procedure_refuses_the_whole_decision_at_submit_and_nothing_is_written(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    create(units, sample, "MB.XD.001")
    create(units, sample, "MB.XD.002", fees=None, legal_basis=None)
    decision_id = decide(units, ("new", "MB.XD.001"), ("new", "MB.XD.002"))

    with pytest.raises(errors.MissingComponents) as refused:
        submit(units, decision_id)

    assert refused.value.message == "decision 1/QĐ-SXD cannot be submitted: 1 procedure is incomplete"
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

    with pytest.raises(errors.NotAllowed, match="already published"):
        approve(units, decision_id, now=NOW + timedelta(hours=1))
    with pytest.raises(errors.DecisionNotFound):
        approve(units, 404)
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


# The review: editors draft and submit, an approver who did not draft it publishes or
# sends it back. Only publishing writes events.


def test_the_review_writes_no_event_until_the_approver_publishes(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    create(units, sample, "MB.XD.001")
    decision_id = decide(units, ("new", "MB.XD.001"))

    assert submit(units, decision_id) == "submitted"
    services.send_back_decision(units(), decision_id, "Thiếu căn cứ pháp lý", actor=APPROVER, now=NOW)
    returned = units.read(services.get_decision_for_staff, decision_id)
    assert (returned.status, returned.returned_by, returned.return_reason) == (
        "draft",
        APPROVER,
        "Thiếu căn cứ pháp lý",
    )
    services.update_decision(
        units(), decision_id, schemas.DecisionUpdate(title="Công bố thủ tục (bổ sung)"), actor=EDITOR
    )
    assert submit(units, decision_id, NOW + timedelta(minutes=5)) == "submitted"
    assert units.outbox() == [] and units.wakes.count == 0
    with pytest.raises(errors.DecisionNotFound):
        units.read(services.get_decision, decision_id)  # not public while in review

    assert approve(units, decision_id) == "in_effect"
    assert types(units.new_events()) == ["decision.published", "procedure.published"]
    shown = units.read(services.get_decision_for_staff, decision_id)
    assert (shown.created_by, shown.submitted_by, shown.published_by) == (EDITOR, EDITOR, APPROVER)
    assert shown.submitted_at == NOW + timedelta(minutes=5) and shown.return_reason is None


def test_whoever_drafted_a_decision_cannot_publish_it_or_send_it_back(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    create(units, sample, "MB.XD.001")
    decision_id = decide(units, ("new", "MB.XD.001"))  # created by EDITOR
    submit(units, decision_id)

    with pytest.raises(errors.SelfApproval, match="you created decision 1/QĐ-SXD; another approver must"):
        approve(units, decision_id, actor=EDITOR)
    with pytest.raises(errors.SelfApproval):
        services.send_back_decision(units(), decision_id, "Tự trả lại", actor=EDITOR, now=NOW)

    assert units.read(services.get_decision_for_staff, decision_id).status == "submitted"
    assert units.outbox() == [] and units.wakes.count == 0


def test_a_draft_must_be_submitted_before_it_is_published(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    create(units, sample, "MB.XD.001")
    decision_id = decide(units, ("new", "MB.XD.001"))
    with pytest.raises(errors.NotAllowed, match="it is a draft; an editor submits it first"):
        approve(units, decision_id)
    with pytest.raises(errors.NotAllowed, match="only a submitted decision can be sent back"):
        services.send_back_decision(units(), decision_id, "Chưa nộp", actor=APPROVER, now=NOW)
    assert units.outbox() == []


def test_a_draft_is_edited_and_deleted_but_not_once_submitted(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    for code in ("MB.XD.001", "MB.XD.002"):
        create(units, sample, code)
    decision_id = decide(units, ("new", "MB.XD.001"))
    changes = [schemas.ChangeCreate(action="new", procedure_code="MB.XD.002")]
    services.update_decision(
        units(), decision_id, schemas.DecisionUpdate(changes=changes, number="7/QĐ-SXD"), actor="editor-chi"
    )
    edited = units.read(services.get_decision_for_staff, decision_id)
    assert [c.procedure_code for c in edited.changes] == ["MB.XD.002"] and edited.number == "7/QĐ-SXD"
    assert (edited.created_by, edited.edited_by) == (EDITOR, "editor-chi") and edited.edited_at is not None

    # Only one of the two dates sent: checked against the stored other.
    with pytest.raises(errors.Invalid) as invalid:
        services.update_decision(
            units(), decision_id, schemas.DecisionUpdate(effective_on=TODAY - timedelta(days=1)), actor=EDITOR
        )
    assert invalid.value.errors == [
        {"field": "effective_on", "message": "effective_on cannot be before signed_on"}
    ]

    submit(units, decision_id)
    with pytest.raises(errors.NotAllowed, match="it is submitted; only a draft can be edited"):
        services.update_decision(units(), decision_id, schemas.DecisionUpdate(title="x"), actor=EDITOR)
    with pytest.raises(errors.NotAllowed, match="only a draft can be deleted"):
        services.delete_decision(units(), decision_id, actor=EDITOR)

    services.send_back_decision(units(), decision_id, "Làm lại", actor=APPROVER, now=NOW)
    services.delete_decision(units(), decision_id, actor=EDITOR)
    with pytest.raises(errors.DecisionNotFound):
        units.read(services.get_decision_for_staff, decision_id)
    with pytest.raises(errors.DecisionNotFound):
        services.delete_decision(units(), decision_id, actor=EDITOR)
    assert units.outbox() == []


def test_the_public_lists_published_decisions_and_staff_every_one_by_status(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    for code in ("MB.XD.001", "MB.XD.002", "MB.XD.004"):
        create(units, sample, code)
    published = decide(units, ("new", "MB.XD.001"), number="1")
    publish(units, published)
    submitted = decide(units, ("new", "MB.XD.002"), number="2")
    submit(units, submitted)
    draft = decide(units, ("new", "MB.XD.004"), number="3")

    def listed(read: Any, **statuses: Any) -> list[int]:
        return [d.id for d in units.read(read, page=1, size=20, **statuses).items]

    assert listed(services.list_decisions) == [published]
    # Asking the public list for drafts still shows none.
    assert listed(services.list_decisions, statuses=[DecisionStatus.DRAFT]) == []
    assert sorted(listed(services.list_decisions_for_staff)) == sorted([published, submitted, draft])
    in_review = [DecisionStatus.DRAFT, DecisionStatus.SUBMITTED]
    assert sorted(listed(services.list_decisions_for_staff, statuses=in_review)) == sorted([submitted, draft])


def test_staff_list_drafts_accent_insensitively_with_who_last_edited_them(
    units: Units, sample: dict[str, dict[str, Any]]
) -> None:
    in_force(units, sample, "MB.XD.001")
    create(units, sample, "MB.XD.002")
    create(units, sample, "MB.QH.001")
    services.update_procedure(units(), "MB.QH.001", schemas.ProcedureUpdate(result="x"), actor="editor-chi")

    def drafts(q: str | None = None) -> list[tuple[str, str | None]]:
        page = units.read(
            services.search_procedures_for_staff, q=q, field=None, status="draft", page=1, size=20
        )
        return [(p.code, p.edited_by) for p in page.items]

    assert drafts() == [("MB.QH.001", "editor-chi"), ("MB.XD.002", EDITOR)]
    name = sample["MB.XD.002"]["name"]
    assert drafts(fold(name)) == [("MB.XD.002", EDITOR)]  # typed without accents
    assert drafts("mb.qh.001") == [("MB.QH.001", "editor-chi")]
