"""The rules of procedures and decisions, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from minhbach_shared.events import EventType
from procedures.amendments import ComponentChange
from procedures.domain import (
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

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam, 27 Nov
EDITOR, APPROVER = "editor-an", "approver-binh"


def drafted(code: str, content: dict[str, Any], *, by: str = EDITOR) -> Procedure:
    return Procedure.create(code, content, by=by, at=NOW)


def complete(name: str = "Cấp giấy phép xây dựng") -> dict[str, Any]:
    return {
        "name": name,
        "field": "Hoạt động xây dựng",
        "level": "Cấp tỉnh",
        "agency": "Sở Xây dựng",
        "subjects": ["Tổ chức"],
        "steps": ["Bước 1: nộp hồ sơ"],
        "submission_methods": ["Trực tuyến"],
        "dossier": {"items": [{"name": "Đơn đề nghị", "originals": 1, "copies": 0}], "sets": 1},
        "processing_time": {"value": 20, "unit": "working_days"},
        "result": "Giấy phép",
        "fees": [],
        "forms": [],
        "requirements": [],
        "legal_basis": ["Luật Xây dựng 2014"],
        "online_service": "một phần",
    }


def decision(
    *changes: Change,
    effective_on: date = date(2026, 11, 27),
    id: int = 7,
    status: DecisionStatus = DecisionStatus.SUBMITTED,
) -> Decision:
    """A decision an editor created; submitted unless `status` says otherwise."""
    return Decision(
        id=id,
        number="12/QĐ-SXD",
        title="Công bố thủ tục",
        issuer="Sở Xây dựng",
        signed_on=date(2026, 11, 20),
        effective_on=effective_on,
        changes=list(changes),
        status=status,
        created_by=EDITOR,
        edited_by=EDITOR,
    )


def drafted_decision(*changes: Change) -> Decision:
    return decision(*changes, status=DecisionStatus.DRAFT)


def in_force(code: str, name: str = "Thủ tục") -> Procedure:
    procedure = drafted(code, complete(name))
    decision(Change(Action.NEW, code), id=1).publish({code: procedure}, by=APPROVER, now=NOW)
    procedure.events.clear()
    procedure.new_versions.clear()
    return procedure


class TestCompleteness:
    def test_a_complete_procedure_lacks_nothing(self) -> None:
        assert missing_components(complete()) == []

    def test_missing_components_are_named_in_form_order(self) -> None:
        content = complete()
        del content["fees"]
        content["steps"] = []
        content["agency"] = "  "
        assert missing_components(content) == ["agency", "steps", "fees"]

    def test_empty_fees_forms_and_requirements_are_complete_but_null_is_not(self) -> None:
        content = complete() | {"fees": [], "forms": [], "requirements": []}
        assert missing_components(content) == []
        content["requirements"] = None
        assert missing_components(content) == ["requirements"]

    def test_a_dossier_without_items_is_missing(self) -> None:
        assert missing_components(complete() | {"dossier": {"items": [], "sets": 1}}) == ["dossier"]

    def test_a_draft_with_only_a_name_lacks_everything_else(self) -> None:
        assert len(missing_components({"name": "x"})) == 14

    def test_the_online_service_level_is_mandatory_and_named_last(self) -> None:
        content = complete()
        del content["online_service"]
        assert missing_components(content) == ["online_service"]
        assert missing_components(complete() | {"online_service": None, "steps": []}) == [
            "steps",
            "online_service",
        ]

    def test_every_sample_procedure_is_complete(self, sample: dict[str, dict[str, Any]]) -> None:
        assert {code: missing_components(p) for code, p in sample.items()} == {code: [] for code in sample}


class TestEffectiveTime:
    def test_a_decision_takes_effect_at_midnight_in_vietnam(self) -> None:
        assert effective_at_for(date(2026, 11, 27)) == datetime(2026, 11, 26, 17, 0, tzinfo=UTC)

    def test_vietnam_date_is_ahead_of_utc_in_the_evening(self) -> None:
        evening_utc = datetime(2026, 11, 26, 18, 30, tzinfo=UTC)  # 01:30 on 27 Nov in Vietnam
        assert vietnam_today(evening_utc) == date(2026, 11, 27)
        assert effective_at_for(vietnam_today(evening_utc)) <= evening_utc

    def test_a_decision_for_tomorrow_in_vietnam_is_due_at_17_utc_today(self) -> None:
        d = decision(Change(Action.NEW, "A"), effective_on=date(2026, 11, 28))
        d.publish({"A": drafted("A", complete())}, by=APPROVER, now=NOW)
        assert d.status is DecisionStatus.SCHEDULED
        assert not d.is_due(datetime(2026, 11, 27, 16, 59, 59, tzinfo=UTC))
        assert d.is_due(datetime(2026, 11, 27, 17, 0, tzinfo=UTC))


class TestPublishNew:
    def test_publishing_puts_a_complete_procedure_in_force(self) -> None:
        procedure = drafted("A", complete())
        d = decision(Change(Action.NEW, "A"))
        d.publish({"A": procedure}, by=APPROVER, now=NOW)
        assert d.status is DecisionStatus.IN_EFFECT and d.version == 1
        assert procedure.status is ProcedureStatus.IN_FORCE and procedure.version == 1
        assert procedure.published == complete() and procedure.draft is None
        assert procedure.effective_at == datetime(2026, 11, 26, 17, 0, tzinfo=UTC)
        assert [(e.type, e.version) for e in [*d.events, *procedure.events]] == [
            (EventType.DECISION_PUBLISHED, 1),
            (EventType.PROCEDURE_PUBLISHED, 1),
        ]
        assert procedure.new_versions[0].action is Action.NEW

    def test_an_incomplete_procedure_is_refused_and_nothing_changes(self) -> None:
        good = drafted("A", complete())
        bad = drafted(
            "B",
            {"name": "Thiếu", **{k: v for k, v in complete().items() if k not in ("name", "steps", "fees")}},
        )
        d = decision(Change(Action.NEW, "A"), Change(Action.NEW, "B"))
        with pytest.raises(DecisionRejected) as rejected:
            d.publish({"A": good, "B": bad}, by=APPROVER, now=NOW)
        assert rejected.value.message == "decision 12/QĐ-SXD cannot be published: 1 procedure is incomplete"
        assert [p.as_error() for p in rejected.value.problems] == [
            {
                "field": "changes[1]",
                "procedure_code": "B",
                "missing": ["steps", "fees"],
                "message": "missing mandatory components: steps, fees",
            }
        ]
        assert d.status is DecisionStatus.SUBMITTED and d.events == []
        assert good.status is ProcedureStatus.DRAFT and good.events == [] and good.version == 0

    def test_new_refuses_a_procedure_that_was_ever_in_force(self) -> None:
        procedure = in_force("A")
        with pytest.raises(DecisionRejected, match="1 problem found"):
            decision(Change(Action.NEW, "A")).publish({"A": procedure}, by=APPROVER, now=NOW)

    def test_an_unknown_procedure_and_a_repeated_code_are_refused(self) -> None:
        d = decision(Change(Action.NEW, "A"), Change(Action.ABOLISH, "A"), Change(Action.NEW, "Z"))
        problems = d.problems({"A": drafted("A", complete())})
        assert [(p.index, p.message) for p in problems] == [
            (1, "procedure A appears more than once in the decision"),
            (2, "procedure Z does not exist"),
        ]

    def test_a_decision_is_published_once(self) -> None:
        procedure = drafted("A", complete())
        d = decision(Change(Action.NEW, "A"))
        d.publish({"A": procedure}, by=APPROVER, now=NOW)
        with pytest.raises(RuleBroken):
            d.publish({"A": procedure}, by=APPROVER, now=NOW)


class TestAmendReplaceAbolish:
    def test_amend_publishes_the_working_draft_as_the_next_version(self) -> None:
        procedure = in_force("A")
        procedure.edit({"fees": [{"name": "Lệ phí", "amount_vnd": 100000}]}, by=EDITOR, at=NOW)
        assert procedure.published is not None and procedure.published["fees"] == []  # public unchanged
        d = decision(Change(Action.AMEND, "A"))
        d.publish({"A": procedure}, by=APPROVER, now=NOW)
        assert procedure.version == 2 and procedure.draft is None
        assert procedure.published["fees"] == [{"name": "Lệ phí", "amount_vnd": 100000}]
        assert [(e.type, e.version) for e in d.events] == [
            (EventType.DECISION_PUBLISHED, 1),
            (EventType.PROCEDURE_AMENDED, 2),
        ]
        # The version keeps what it changed against the one before it.
        (version,) = procedure.new_versions
        assert version.changes == (
            ComponentChange("fees", added=({"name": "Lệ phí", "amount_vnd": 100000},)),
        )
        assert version.replaces is None

    def test_amend_needs_a_working_draft_that_is_complete(self) -> None:
        procedure = in_force("A")
        assert decision(Change(Action.AMEND, "A")).problems({"A": procedure})[0].message == (
            "procedure A has no working draft to amend"
        )
        procedure.edit({"steps": []}, by=EDITOR, at=NOW)
        assert decision(Change(Action.AMEND, "A")).problems({"A": procedure})[0].missing == ("steps",)

    def test_replace_by_a_new_procedure_listed_later_in_the_same_decision(self) -> None:
        old, new = in_force("OLD"), drafted("NEW", complete("Thủ tục mới"))
        d = decision(Change(Action.REPLACE, "OLD", "NEW"), Change(Action.NEW, "NEW"))
        d.publish({"OLD": old, "NEW": new}, by=APPROVER, now=NOW)
        assert old.status is ProcedureStatus.REPLACED and old.replaced_by == "NEW" and old.version == 2
        assert new.status is ProcedureStatus.IN_FORCE and new.version == 1
        assert [e.type for e in d.events][1:] == [EventType.PROCEDURE_REPLACED, EventType.PROCEDURE_PUBLISHED]
        assert d.events[1].data["replaced_by"] == "NEW"
        # The successor's version keeps what differs from the procedure it replaces.
        (put_in_force,) = new.new_versions
        assert put_in_force.replaces == "OLD"
        assert put_in_force.changes == (ComponentChange("name", before="Thủ tục", after="Thủ tục mới"),)
        assert [v.changes for v in old.new_versions] == [None]  # the replacement itself says none

    def test_replace_needs_a_replacement_in_force_or_put_in_force(self) -> None:
        old, draft = in_force("OLD"), drafted("NEW", complete())
        problems = decision(Change(Action.REPLACE, "OLD", "NEW")).problems({"OLD": old, "NEW": draft})
        assert "is not in force" in problems[0].message
        missing = decision(Change(Action.REPLACE, "OLD", None)).problems({"OLD": old})
        assert missing[0].message == "replaced_by is required to replace a procedure"

    def test_abolish_takes_a_procedure_out_of_force(self) -> None:
        procedure = in_force("A")
        d = decision(Change(Action.ABOLISH, "A"))
        d.publish({"A": procedure}, by=APPROVER, now=NOW)
        assert procedure.status is ProcedureStatus.ABOLISHED and procedure.version == 2
        assert d.events[1].type is EventType.PROCEDURE_ABOLISHED
        with pytest.raises(RuleBroken):
            procedure.edit({"name": "x"}, by=EDITOR, at=NOW)

    def test_abolish_refuses_a_procedure_not_in_force(self) -> None:
        problems = decision(Change(Action.ABOLISH, "A")).problems({"A": drafted("A", complete())})
        assert problems[0].message == "procedure A is not in force"


class TestScheduled:
    def test_a_scheduled_decision_applies_whole_when_due(self) -> None:
        a, b = drafted("A", complete()), drafted("B", complete())
        d = decision(Change(Action.NEW, "A"), Change(Action.NEW, "B"), effective_on=date(2026, 12, 1))
        d.publish({"A": a, "B": b}, by=APPROVER, now=NOW)
        assert a.status is ProcedureStatus.DRAFT and a.events == [] and d.version == 1
        assert not d.apply_due({"A": a, "B": b}, now=NOW)
        assert d.apply_due({"A": a, "B": b}, now=datetime(2026, 12, 1, tzinfo=UTC))
        assert d.status is DecisionStatus.IN_EFFECT and d.version == 2
        assert [e.type for e in d.events] == [
            EventType.DECISION_PUBLISHED,
            EventType.DECISION_APPLIED,
            EventType.PROCEDURE_PUBLISHED,
            EventType.PROCEDURE_PUBLISHED,
        ]
        assert a.status is b.status is ProcedureStatus.IN_FORCE

    def test_what_takes_effect_is_what_was_published_not_a_later_edit(self) -> None:
        a = drafted("A", complete())
        d = decision(Change(Action.NEW, "A"), effective_on=date(2026, 12, 1))
        d.publish({"A": a}, by=APPROVER, now=NOW)
        # An editor, after the approver.
        a.edit({"legal_basis": [], "name": "Sửa sau khi công bố"}, by=EDITOR, at=NOW)
        assert d.apply_due({"A": a}, now=datetime(2026, 12, 1, tzinfo=UTC))
        assert a.status is ProcedureStatus.IN_FORCE and a.published == complete()
        assert a.new_versions[0].content == complete()
        assert d.events[-1].data["name"] == "Cấp giấy phép xây dựng"
        # The edit is kept as the working draft, for a decision of its own.
        assert a.draft is not None and a.draft["name"] == "Sửa sau khi công bố"

    def test_a_scheduled_amend_applies_its_snapshot_and_keeps_later_edits_as_a_draft(self) -> None:
        a = in_force("A")
        a.edit({"fees": [{"name": "Lệ phí", "amount_vnd": 100000}]}, by=EDITOR, at=NOW)
        d = decision(Change(Action.AMEND, "A"), effective_on=date(2026, 12, 1))
        d.publish({"A": a}, by=APPROVER, now=NOW)
        a.edit({"fees": [{"name": "Lệ phí", "amount_vnd": 999999}]}, by=EDITOR, at=NOW)
        assert d.apply_due({"A": a}, now=datetime(2026, 12, 1, tzinfo=UTC))
        assert a.version == 2 and a.published is not None
        assert a.published["fees"] == [{"name": "Lệ phí", "amount_vnd": 100000}]
        assert a.draft is not None and a.draft["fees"] == [{"name": "Lệ phí", "amount_vnd": 999999}]

    def test_each_version_names_who_wrote_what_took_effect_not_a_later_editor(self) -> None:
        a = drafted("A", complete(), by="an")
        d = decision(Change(Action.NEW, "A"), effective_on=date(2026, 12, 1))
        d.publish({"A": a}, by=APPROVER, now=NOW)
        a.edit({"result": "Giấy phép (sửa sau)"}, by="chi", at=NOW)
        assert d.apply_due({"A": a}, now=datetime(2026, 12, 1, tzinfo=UTC))
        assert d.published_by == APPROVER and a.new_versions[0].written_by == "an"
        assert (a.drafted_by, a.edited_by, a.written_by) == ("an", "chi", "an")
        amend = decision(Change(Action.AMEND, "A"), id=8)
        amend.publish({"A": a}, by=APPROVER, now=datetime(2026, 12, 2, tzinfo=UTC))
        abolish = decision(Change(Action.ABOLISH, "A"), id=9)
        abolish.publish({"A": a}, by=APPROVER, now=datetime(2026, 12, 2, tzinfo=UTC))
        # The abolished version keeps the content, and its writer, of the version before.
        assert [v.written_by for v in a.new_versions] == ["an", "chi", "chi"]

    def test_without_later_edits_no_working_draft_is_left(self) -> None:
        a = drafted("A", complete())
        d = decision(Change(Action.NEW, "A"), effective_on=date(2026, 12, 1))
        d.publish({"A": a}, by=APPROVER, now=NOW)
        assert d.changes[0].content == complete()
        assert d.apply_due({"A": a}, now=datetime(2026, 12, 1, tzinfo=UTC))
        assert a.draft is None

    def test_a_scheduled_decision_that_became_invalid_fails_and_changes_nothing(self) -> None:
        a = in_force("A")
        a.edit({"steps": ["Bước 1: nộp hồ sơ trực tuyến"]}, by=EDITOR, at=NOW)
        d = decision(Change(Action.AMEND, "A"), effective_on=date(2026, 12, 1))
        d.publish({"A": a}, by=APPROVER, now=NOW)
        d.events.clear()
        decision(Change(Action.ABOLISH, "A"), id=8).publish(
            {"A": a}, by=APPROVER, now=NOW
        )  # abolished meanwhile
        a.events.clear()
        assert not d.apply_due({"A": a}, now=datetime(2026, 12, 1, tzinfo=UTC))
        assert d.status is DecisionStatus.FAILED and d.events == [] and a.events == []
        assert d.failure_reason == "A: procedure A is not in force"
        assert a.status is ProcedureStatus.ABOLISHED and a.version == 2


class TestReview:
    """Editors draft and submit; an approver who did not draft it publishes or sends it back."""

    def test_submitting_a_complete_draft_records_who_and_when_and_no_event(self) -> None:
        a = drafted("A", complete())
        d = drafted_decision(Change(Action.NEW, "A"))
        d.submit({"A": a}, by="editor-chi", at=NOW)
        assert d.status is DecisionStatus.SUBMITTED
        assert (d.submitted_by, d.submitted_at) == ("editor-chi", NOW)
        assert d.events == [] and a.status is ProcedureStatus.DRAFT  # nothing public yet

    def test_submit_refuses_what_publish_would_naming_each_missing_component(self) -> None:
        bad = drafted("B", {k: v for k, v in complete().items() if k not in ("steps", "fees")})
        d = drafted_decision(Change(Action.NEW, "B"))
        with pytest.raises(DecisionRejected) as rejected:
            d.submit({"B": bad}, by=EDITOR, at=NOW)
        assert rejected.value.message == "decision 12/QĐ-SXD cannot be submitted: 1 procedure is incomplete"
        assert [p.as_error() for p in rejected.value.problems] == [
            {
                "field": "changes[0]",
                "procedure_code": "B",
                "missing": ["steps", "fees"],
                "message": "missing mandatory components: steps, fees",
            }
        ]
        assert d.status is DecisionStatus.DRAFT and d.submitted_by is None

    def test_a_draft_cannot_be_published(self) -> None:
        d = drafted_decision(Change(Action.NEW, "A"))
        with pytest.raises(RuleBroken, match="it is a draft; an editor submits it first"):
            d.publish({"A": drafted("A", complete())}, by=APPROVER, now=NOW)
        assert d.status is DecisionStatus.DRAFT and d.events == []

    def test_publish_checks_again_what_changed_since_the_submit(self) -> None:
        a = drafted("A", complete())
        d = drafted_decision(Change(Action.NEW, "A"))
        d.submit({"A": a}, by=EDITOR, at=NOW)
        a.edit({"legal_basis": []}, by=EDITOR, at=NOW)  # the draft changed while in review
        with pytest.raises(DecisionRejected) as rejected:
            d.publish({"A": a}, by=APPROVER, now=NOW)
        assert rejected.value.problems[0].missing == ("legal_basis",)
        assert d.status is DecisionStatus.SUBMITTED

    @pytest.mark.parametrize("drafter", ["creator", "last editor"])
    def test_whoever_drafted_a_decision_can_neither_publish_nor_send_it_back(self, drafter: str) -> None:
        a = drafted("A", complete())
        d = drafted_decision(Change(Action.NEW, "A"))
        if drafter == "last editor":
            d.edit(title="Công bố thủ tục (sửa)", by="chi", at=NOW)
        who = EDITOR if drafter == "creator" else "chi"
        d.submit({"A": a}, by=EDITOR, at=NOW)
        with pytest.raises(SelfApproval, match="another approver must publish it"):
            d.publish({"A": a}, by=who, now=NOW)
        with pytest.raises(SelfApproval, match="another approver must send it back"):
            d.send_back("Thiếu căn cứ", by=who, at=NOW)
        assert d.status is DecisionStatus.SUBMITTED and d.published_by is None
        d.publish({"A": a}, by=APPROVER, now=NOW)
        assert (d.status, d.created_by, d.submitted_by, d.published_by) == (
            DecisionStatus.IN_EFFECT,
            EDITOR,
            EDITOR,
            APPROVER,
        )

    def test_sent_back_with_a_reason_kept_until_the_next_submit(self) -> None:
        a = drafted("A", complete())
        d = drafted_decision(Change(Action.NEW, "A"))
        d.submit({"A": a}, by=EDITOR, at=NOW)
        d.send_back("  Thiếu căn cứ pháp lý  ", by=APPROVER, at=NOW)
        assert d.status is DecisionStatus.DRAFT and d.events == []
        assert (d.returned_by, d.returned_at, d.return_reason) == (APPROVER, NOW, "Thiếu căn cứ pháp lý")
        d.edit(title="Công bố thủ tục (bổ sung căn cứ)", by=EDITOR, at=NOW)
        assert d.return_reason == "Thiếu căn cứ pháp lý"  # still shown while the editors work
        d.submit({"A": a}, by=EDITOR, at=NOW)
        assert (d.returned_by, d.returned_at, d.return_reason) == (None, None, None)

    def test_send_back_needs_a_reason_and_a_submitted_decision(self) -> None:
        d = decision(Change(Action.NEW, "A"))
        with pytest.raises(InvalidField) as invalid:
            d.send_back("   ", by=APPROVER, at=NOW)
        assert invalid.value.field == "reason" and d.status is DecisionStatus.SUBMITTED
        d.send_back("Sai số quyết định", by=APPROVER, at=NOW)
        with pytest.raises(RuleBroken, match="it is draft; only a submitted decision can be sent back"):
            d.send_back("Lần nữa", by=APPROVER, at=NOW)

    def test_a_draft_is_edited_whole_list_at_a_time_and_only_while_a_draft(self) -> None:
        d = drafted_decision(Change(Action.NEW, "A"), Change(Action.NEW, "B"))
        d.edit(number="13/QĐ-SXD", changes=[Change(Action.ABOLISH, "C")], by="chi", at=NOW)
        assert d.number == "13/QĐ-SXD" and d.title == "Công bố thủ tục"  # left out: kept
        assert d.changes == [Change(Action.ABOLISH, "C")]
        assert (d.created_by, d.edited_by, d.edited_at) == (EDITOR, "chi", NOW)
        d.status = DecisionStatus.SUBMITTED
        with pytest.raises(RuleBroken, match="it is submitted; only a draft can be edited"):
            d.edit(title="x", by=EDITOR, at=NOW)

    def test_an_edit_that_would_take_effect_before_signing_changes_nothing(self) -> None:
        d = drafted_decision(Change(Action.NEW, "A"))
        with pytest.raises(InvalidField) as invalid:
            d.edit(title="Khác", effective_on=date(2026, 11, 19), by=EDITOR, at=NOW)  # signed on the 20th
        assert invalid.value.field == "effective_on"
        assert (d.title, d.effective_on) == ("Công bố thủ tục", date(2026, 11, 27))

    def test_only_a_draft_can_be_deleted(self) -> None:
        d = drafted_decision(Change(Action.NEW, "A"))
        d.discard()
        assert d.discarded
        published = in_force_decision()
        with pytest.raises(RuleBroken, match="it is in_effect; only a draft can be deleted"):
            published.discard()
        assert not published.discarded


def in_force_decision() -> Decision:
    d = decision(Change(Action.NEW, "A"))
    d.publish({"A": drafted("A", complete())}, by=APPROVER, now=NOW)
    return d
