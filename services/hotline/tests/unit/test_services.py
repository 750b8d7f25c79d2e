"""The use cases, called directly: no HTTP, no Redis, no process.

Handling a ticket discloses nothing until its answer is published (with the citizen's
consent), and reminders are written once a day: each write is one transaction, its
events in the outbox with it, the relay woken only when there are any. A refusal
changes nothing. The procedure code is checked against a stand-in for the procedures API.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from hotline import errors, schemas, services
from hotline.deadlines import WorkingCalendar
from hotline.domain import Channel, Deadlines
from hotline.redaction import PLACEHOLDER
from hotline.uow import UnitOfWork
from minhbach_testing.procedures_api import KnownProcedures
from minhbach_testing.uow import UnitsOfWork, types

from ..conftest import ticket_body

Units = UnitsOfWork[UnitOfWork]

POLICY = services.Policy(calendar=WorkingCalendar(), deadlines=Deadlines())
OFFICER, LEADER = "officer-lan", "leader-minh"
UNIT = "Phòng Quản lý xây dựng"


def vn(day: date, hour: int = 9) -> datetime:
    """`hour`:00 in Vietnam (UTC+7) on `day`, as UTC."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=7)


MONDAY = date(2026, 12, 7)
NOW = vn(MONDAY)


@pytest.fixture
def procedures() -> KnownProcedures:
    return KnownProcedures("MB.XD.001")


def receive(units: Units, procedures: KnownProcedures, **fields: Any) -> int:
    ticket = services.submit_ticket(
        units(),
        schemas.PublicTicketCreate(**ticket_body(**fields)),
        channel=Channel.WEB,
        actor=services.CITIZEN,
        now=NOW,
        policy=POLICY,
        procedures=procedures,
    )
    assert ticket.id is not None
    return ticket.id


def answered(units: Units, procedures: KnownProcedures, **fields: Any) -> int:
    """A ticket accepted, assigned and answered; its answer's draft names the citizen's street."""
    ticket_id = receive(units, procedures, **fields)
    services.accept(units(), ticket_id, actor=OFFICER, now=NOW, policy=POLICY, note=None)
    services.assign(units(), ticket_id, actor=OFFICER, now=NOW, unit=UNIT, due_on=None, note=None)
    services.draft_answer(
        units(),
        ticket_id,
        actor=OFFICER,
        now=NOW + timedelta(days=1),
        answer="Hồ sơ của bà tại phố Lê Lợi đã được giải quyết.",
        redact=["phố Lê Lợi"],
        note=None,
    )
    return ticket_id


def test_intake_records_a_random_code_of_the_year_and_discloses_nothing(
    units: Units, procedures: KnownProcedures
) -> None:
    first = receive(units, procedures)
    second = receive(units, procedures, procedure_code=None)

    codes = [units.read(services.get_ticket, t).tracking_code for t in (first, second)]
    # Random, not counted: knowing one code tells nothing of the next (issue 12).
    assert all(re.fullmatch(r"PAKN-2026-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", c) for c in codes)
    assert codes[0] != codes[1]
    ticket = units.read(services.get_ticket, first)
    assert ticket.status == "received" and ticket.classify_due_on == date(2026, 12, 14)  # 5 working days
    assert procedures.asked == ["MB.XD.001"]
    assert units.outbox() == [] and units.wakes.count == 0


def test_intake_refuses_what_it_cannot_check_and_stores_nothing(
    units: Units, procedures: KnownProcedures
) -> None:
    with pytest.raises(errors.Invalid) as unknown:
        receive(units, procedures, procedure_code="MB.XD.999")
    assert unknown.value.errors == [
        {"field": "procedure_code", "message": "no published procedure has the code MB.XD.999"}
    ]
    with pytest.raises(errors.Invalid, match="phone"):
        receive(units, procedures, phone=None, email=None)
    procedures.down = True
    with pytest.raises(errors.ProceduresUnavailable):
        receive(units, procedures)

    assert units.read(services.list_tickets, statuses=None, unit=None, page=1, size=20).total == 0
    assert receive(units, procedures, procedure_code=None)  # nothing to check: taken
    assert units.outbox() == [] and units.wakes.count == 0


def test_accepting_starts_the_answer_clock_and_assigning_hands_it_to_a_unit(
    units: Units, procedures: KnownProcedures
) -> None:
    ticket_id = receive(units, procedures)
    services.accept(units(), ticket_id, actor=OFFICER, now=NOW, policy=POLICY, note="rõ nội dung")
    services.assign(units(), ticket_id, actor=OFFICER, now=NOW, unit=UNIT, due_on=None, note=None)

    ticket = units.read(services.get_ticket, ticket_id)
    assert ticket.status == "assigned" and ticket.unit == UNIT
    assert ticket.answer_due_on == ticket.unit_due_on == date(2026, 12, 21)  # 10 working days
    assert [(t.action, t.actor, t.note) for t in ticket.transitions] == [
        ("receive", services.CITIZEN, None),
        ("accept", OFFICER, "rõ nội dung"),
        ("assign", OFFICER, None),
    ]
    with pytest.raises(errors.Invalid) as past:
        services.assign(
            units(),
            ticket_id,
            actor=OFFICER,
            now=NOW,
            unit=UNIT,
            due_on=MONDAY - timedelta(days=1),
            note=None,
        )
    assert past.value.errors[0]["field"] == "due_on"
    assert units.outbox() == [] and units.wakes.count == 0


def test_an_action_the_status_does_not_allow_is_refused_naming_what_is(
    units: Units, procedures: KnownProcedures
) -> None:
    ticket_id = receive(units, procedures)
    with pytest.raises(errors.NotAllowed) as refused:
        services.publish(units(), ticket_id, actor=LEADER, now=NOW, note=None)

    assert refused.value.errors[0] | {"message": ""} == {
        "field": "status",
        "status": "received",
        "action": "publish",
        "allowed": ["accept", "reject", "forward", "wait", "mark-duplicate"],
        "message": "",
    }
    assert [t.action for t in units.read(services.get_ticket, ticket_id).transitions] == ["receive"]
    with pytest.raises(errors.TicketNotFound):
        services.accept(units(), 404, actor=OFFICER, now=NOW, policy=POLICY, note=None)


def test_a_rejected_or_forwarded_ticket_tells_the_citizen_why_and_can_be_closed(
    units: Units, procedures: KnownProcedures
) -> None:
    rejected, forwarded = receive(units, procedures), receive(units, procedures)
    services.reject(
        units(), rejected, actor=OFFICER, now=NOW, reason="Không thuộc thẩm quyền của Sở", note=None
    )
    services.forward(
        units(),
        forwarded,
        actor=OFFICER,
        now=NOW,
        agency="UBND thành phố Thái Bình",
        reason="Thuộc thẩm quyền cấp huyện",
        note=None,
    )
    services.close(units(), rejected, actor=OFFICER, now=NOW, note=None)

    closed = units.read(services.public_status, units.read(services.get_ticket, rejected).tracking_code)
    sent_on = units.read(services.public_status, units.read(services.get_ticket, forwarded).tracking_code)
    assert (closed.status, closed.reason) == ("closed", "Không thuộc thẩm quyền của Sở")
    assert (sent_on.status, sent_on.forwarded_to) == ("forwarded", "UBND thành phố Thái Bình")
    assert units.outbox() == [] and units.wakes.count == 0


def test_waiting_for_the_citizen_stops_the_clock(units: Units, procedures: KnownProcedures) -> None:
    ticket_id = receive(units, procedures)
    services.accept(units(), ticket_id, actor=OFFICER, now=NOW, policy=POLICY, note=None)
    services.wait_for_citizen(
        units(), ticket_id, actor=OFFICER, now=vn(date(2026, 12, 8)), reason="Bổ sung bản vẽ", note=None
    )
    with pytest.raises(errors.NotAllowed):
        services.assign(units(), ticket_id, actor=OFFICER, now=NOW, unit=UNIT, due_on=None, note=None)

    services.resume(units(), ticket_id, actor=OFFICER, now=vn(date(2026, 12, 10)), policy=POLICY, note=None)

    ticket = units.read(services.get_ticket, ticket_id)
    assert ticket.status == "accepted" and ticket.paused_working_days == 2
    assert ticket.answer_due_on == date(2026, 12, 23)  # 21 Dec, two working days later
    assert units.outbox() == [] and units.wakes.count == 0


def test_an_approved_answer_is_published_redacted_with_one_reply_and_one_wake_up(
    units: Units, procedures: KnownProcedures
) -> None:
    body = "Tôi là Trần Thị Bình (0912 345 678): hồ sơ xin giấy phép nộp đã 30 ngày chưa có kết quả."
    ticket_id = answered(units, procedures, consent_to_publish=True, body=body)
    preview = units.read(services.publication_preview, ticket_id)
    services.approve(units(), ticket_id, actor=LEADER, now=NOW, seen_digest=preview.digest, note=None)
    assert units.outbox() == [] and units.wakes.count == 0

    services.publish(units(), ticket_id, actor=LEADER, now=NOW + timedelta(days=2), note=None)

    # The citizen's reply first (the one event that names an address), then the portal's.
    reply, published = units.new_events()
    code = units.read(services.get_ticket, ticket_id).tracking_code
    assert (published["type"], published["subject"]["id"]) == ("ticket.published", code)
    assert published["data"]["unit"] == UNIT and units.wakes.count == 1
    assert (reply["type"], reply["subject"]["id"]) == ("ticket.answered", code)
    assert reply["version"] < published["version"]
    assert reply["data"]["reply_to"] == "binh.tran@example.vn" and reply["data"]["public"] is True
    assert reply["data"]["answer"] == f"Hồ sơ của bà tại {PLACEHOLDER} đã được giải quyết."
    answer = units.read(services.public_answer, code)
    assert answer.answer == f"Hồ sơ của bà tại {PLACEHOLDER} đã được giải quyết."
    assert answer.question.startswith(f"Tôi là {PLACEHOLDER}") and "0912" not in answer.question


def test_approval_refuses_a_text_changed_since_the_preview(units: Units, procedures: KnownProcedures) -> None:
    ticket_id = answered(units, procedures)
    seen = units.read(services.publication_preview, ticket_id).digest
    services.edit_public_text(units(), ticket_id, marks=["30 ngày"], subject=None, question=None)

    with pytest.raises(errors.NotAllowed, match="review it again"):
        services.approve(units(), ticket_id, actor=LEADER, now=NOW, seen_digest=seen, note=None)
    assert units.read(services.get_ticket, ticket_id).status == "answered"

    services.approve(units(), ticket_id, actor=LEADER, now=NOW, seen_digest=None, note=None)
    with pytest.raises(errors.NotAllowed, match="can no longer change"):
        services.edit_public_text(units(), ticket_id, marks=[], subject="Tiêu đề khác", question=None)
    assert units.outbox() == [] and units.wakes.count == 0


def test_without_consent_publishing_discloses_nothing_but_still_answers_the_citizen(
    units: Units, procedures: KnownProcedures
) -> None:
    ticket_id = answered(units, procedures, consent_to_publish=False)
    services.approve(units(), ticket_id, actor=LEADER, now=NOW, seen_digest=None, note=None)
    services.publish(units(), ticket_id, actor=LEADER, now=NOW, note=None)
    services.add_note(units(), ticket_id, note="đã gọi điện báo kết quả", actor=OFFICER, now=NOW)

    ticket = units.read(services.get_ticket, ticket_id)
    assert ticket.status == "published" and not ticket.is_public
    assert ticket.internal_notes is not None and ticket.internal_notes.endswith("đã gọi điện báo kết quả")
    [reply] = units.new_events()
    assert reply["type"] == "ticket.answered" and reply["data"]["public"] is False


def test_a_citizen_without_an_e_mail_address_gets_no_reply_event(
    units: Units, procedures: KnownProcedures
) -> None:
    ticket_id = answered(units, procedures, consent_to_publish=False, email=None)
    services.approve(units(), ticket_id, actor=LEADER, now=NOW, seen_digest=None, note=None)
    services.publish(units(), ticket_id, actor=LEADER, now=NOW, note=None)
    assert units.outbox() == [] and units.wakes.count == 0


def test_a_withdrawn_answer_leaves_the_public_reads_with_its_reason_on_the_timeline(
    units: Units, procedures: KnownProcedures
) -> None:
    ticket_id = answered(units, procedures, consent_to_publish=True, email=None)
    services.approve(units(), ticket_id, actor=LEADER, now=NOW, seen_digest=None, note=None)
    services.publish(units(), ticket_id, actor=LEADER, now=NOW, note=None)
    code = units.read(services.get_ticket, ticket_id).tracking_code
    [published] = units.new_events()

    services.withdraw(units(), ticket_id, actor=LEADER, now=NOW + timedelta(hours=1), reason="Lộ số nhà")

    [withdrawn] = units.new_events()
    assert (withdrawn["type"], withdrawn["subject"]["id"]) == ("ticket.withdrawn", code)
    assert withdrawn["version"] > published["version"]
    ticket = units.read(services.get_ticket, ticket_id)
    assert ticket.status == "withdrawn" and not ticket.is_public and ticket.allowed_actions == []
    assert (ticket.transitions[-1].action, ticket.transitions[-1].actor) == ("withdraw", LEADER)
    assert ticket.transitions[-1].note == "Lộ số nhà" and ticket.withdrawal_reason == "Lộ số nhà"
    with pytest.raises(errors.AnswerNotFound):
        units.read(services.public_answer, code)
    assert units.read(services.public_answers, q=None, procedure_code=None, page=1, size=10).total == 0
    assert units.read(services.sync_versions).subjects == []
    with pytest.raises(errors.NotAllowed, match="cannot withdraw a ticket that is withdrawn"):
        services.withdraw(units(), ticket_id, actor=LEADER, now=NOW, reason="lần nữa")


def test_only_a_published_answer_can_be_withdrawn(units: Units, procedures: KnownProcedures) -> None:
    ticket_id = receive(units, procedures)
    services.reject(units(), ticket_id, actor=OFFICER, now=NOW, reason="Không thuộc thẩm quyền", note=None)
    services.close(units(), ticket_id, actor=OFFICER, now=NOW, note=None)
    assert units.read(services.get_ticket, ticket_id).allowed_actions == []
    with pytest.raises(errors.NotAllowed, match="only a published answer"):
        services.withdraw(units(), ticket_id, actor=LEADER, now=NOW, reason="nhầm")


def test_units_are_a_managed_list_and_a_rename_carries_the_tickets(
    units: Units, procedures: KnownProcedures
) -> None:
    ticket_id = answered(units, procedures, consent_to_publish=True, email=None)
    services.approve(units(), ticket_id, actor=LEADER, now=NOW, seen_digest=None, note=None)
    services.publish(units(), ticket_id, actor=LEADER, now=NOW, note=None)
    units.new_events()
    listed = units.read(services.list_units).items
    qlxd = next(u for u in listed if u.name == UNIT)

    with pytest.raises(errors.Invalid, match="already exists"):
        services.add_unit(units(), name="  phòng quản lý   xây dựng ", actor="admin", now=NOW)
    services.change_unit(
        units(), qlxd.id, name="Phòng Quản lý xây dựng công trình", active=None, actor="admin", now=NOW
    )

    ticket = units.read(services.get_ticket, ticket_id)
    assert ticket.unit == "Phòng Quản lý xây dựng công trình"
    [again] = units.new_events()  # its published answer shows the unit: disclosed again
    assert (
        again["type"] == "ticket.published" and again["data"]["unit"] == "Phòng Quản lý xây dựng công trình"
    )

    services.change_unit(units(), qlxd.id, name=None, active=False, actor="admin", now=NOW)
    other = receive(units, procedures)
    services.accept(units(), other, actor=OFFICER, now=NOW, policy=POLICY, note=None)
    with pytest.raises(errors.Invalid, match="retired"):
        services.assign(
            units(),
            other,
            actor=OFFICER,
            now=NOW,
            unit="Phòng Quản lý xây dựng công trình",
            due_on=None,
            note=None,
        )
    with pytest.raises(errors.Invalid, match="not one of the Department's units"):
        services.assign(units(), other, actor=OFFICER, now=NOW, unit="Phòng Ma", due_on=None, note=None)
    assert units.read(services.get_ticket, other).status == "accepted"


def test_an_overdue_ticket_gets_one_reminder_per_working_day(
    units: Units, procedures: KnownProcedures
) -> None:
    receive(units, procedures)  # to be classified by Monday 14 Dec
    on_time = receive(units, procedures)
    services.accept(units(), on_time, actor=OFFICER, now=NOW, policy=POLICY, note=None)

    def check(day: date, hour: int = 9) -> int:
        return services.check_overdue(units, now=vn(day, hour), calendar=POLICY.calendar)

    assert check(date(2026, 12, 14)) == 0  # due today: not late yet
    assert check(date(2026, 12, 15)) == 1
    [reminder] = units.new_events()
    assert reminder["type"] == "ticket.overdue" and reminder["data"]["stage"] == "classification"
    assert reminder["data"]["days_overdue"] == 1 and units.wakes.count == 1

    assert check(date(2026, 12, 15), hour=15) == 0  # once a day, however often it runs
    assert check(date(2026, 12, 19)) == 0  # a Saturday: nobody reads reminders
    assert units.new_events() == [] and units.wakes.count == 1
    assert check(date(2026, 12, 21)) == 1 and types(units.new_events()) == ["ticket.overdue"]
    assert units.wakes.count == 2
