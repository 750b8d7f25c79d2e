"""The ticket's rules without a database: states, deadlines, the paused clock, publication."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from hotline.deadlines import WorkingCalendar
from hotline.domain import (
    Action,
    Channel,
    Contact,
    Deadlines,
    Kind,
    RuleBroken,
    Status,
    Ticket,
    TransitionNotAllowed,
    allowed_actions,
)
from hotline.redaction import PLACEHOLDER

CAL = WorkingCalendar()
RULES = Deadlines()


def at(day: date, hour: int = 3) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)  # 10:00 in Vietnam


def new_ticket(received: date = date(2027, 1, 29), *, consent: bool = True) -> Ticket:
    ticket = Ticket.receive(
        tracking_code="PAKN-2027-000001",
        kind=Kind.KIEN_NGHI,
        channel=Channel.PHONE,
        subject="Đề nghị rút ngắn thời gian cấp phép",
        body="Tôi là Phạm Văn Dũng, số 0988 111 222, đề nghị rút ngắn thời gian.",
        submitter=Contact(name="Phạm Văn Dũng", phone="0988 111 222"),
        consent_to_publish=consent,
        procedure_code="MB.XD.001",
        actor="officer",
        now=at(received),
        calendar=CAL,
        deadlines=RULES,
    )
    ticket.id = 1
    return ticket


def test_deadlines_follow_the_working_calendar() -> None:
    ticket = new_ticket()
    assert ticket.classify_due_on == date(2027, 2, 12)
    ticket.accept(actor="o", now=at(date(2027, 2, 1)), calendar=CAL, deadlines=RULES, note=None)
    # Accepted Mon 1 Feb: 2, 3, 11, 12, 15, 16, 17, 18, 19, 22 Feb.
    assert ticket.answer_due_on == date(2027, 2, 22)


def test_waiting_for_the_citizen_pauses_every_clock() -> None:
    ticket = new_ticket()
    ticket.accept(actor="o", now=at(date(2027, 2, 1)), calendar=CAL, deadlines=RULES, note=None)
    ticket.assign(
        actor="o",
        now=at(date(2027, 2, 1)),
        unit="Phòng Quản lý xây dựng",
        due_on=date(2027, 2, 12),
        note=None,
    )
    ticket.wait_for_citizen(actor="o", now=at(date(2027, 2, 3)), reason="Cần bản sao giấy tờ đất", note=None)
    assert ticket.overdue(date(2027, 3, 1), CAL) is None  # the clock is stopped
    # Back on Tue 16 Feb: Thu 11, Fri 12, Mon 15, Tue 16 were spent waiting (Tết is not).
    paused = ticket.resume(actor="o", now=at(date(2027, 2, 16)), calendar=CAL, note=None)
    assert paused == 4
    assert ticket.status is Status.ASSIGNED
    assert ticket.answer_due_on == CAL.add_working_days(date(2027, 2, 22), 4) == date(2027, 2, 26)
    assert ticket.unit_due_on == date(2027, 2, 18)
    assert ticket.citizen_reason is None


def test_a_disallowed_transition_names_the_allowed_ones() -> None:
    ticket = new_ticket()
    with pytest.raises(TransitionNotAllowed) as caught:
        ticket.publish(actor="a", now=at(date(2027, 2, 1)), note=None)
    assert caught.value.allowed == [
        Action.ACCEPT,
        Action.REJECT,
        Action.FORWARD,
        Action.WAIT,
        Action.MARK_DUPLICATE,
    ]
    assert "allowed now: accept, reject, forward, wait, mark-duplicate" in str(caught.value)
    assert allowed_actions(Status.CLOSED) == [Action.WITHDRAW]  # when an answer was published


def test_publication_is_redacted_and_frozen_at_approval() -> None:
    ticket = new_ticket()
    day = at(date(2027, 2, 1))
    ticket.accept(actor="o", now=day, calendar=CAL, deadlines=RULES, note=None)
    ticket.assign(actor="o", now=day, unit="Phòng Quản lý xây dựng", due_on=None, note=None)
    ticket.draft_answer(actor="o", now=day, answer="Kính gửi ông Phạm Văn Dũng: Sở ghi nhận.", note=None)
    preview = ticket.publication()
    assert "Phạm Văn Dũng" not in preview.question + preview.answer
    assert "0988" not in preview.question and PLACEHOLDER in preview.answer
    with pytest.raises(RuleBroken):
        ticket.approve(actor="leader", now=day, seen_digest="0" * 64, note=None)
    ticket.approve(actor="leader", now=day, seen_digest=preview.digest, note=None)
    with pytest.raises(RuleBroken):
        ticket.edit_public_text(marks=["x"], subject=None, question=None)
    ticket.publish(actor="leader", now=day, note=None)
    assert ticket.publication() == preview
    [event] = ticket.events
    assert event.type == "ticket.published" and event.version == 1
    assert event.subject.id == "PAKN-2027-000001"
    assert "Dũng" not in str(event.data) and "0988" not in str(event.data)
    assert [t.to_status for t in ticket.new_transitions] == [
        Status.RECEIVED,
        Status.ACCEPTED,
        Status.ASSIGNED,
        Status.ANSWERED,
        Status.APPROVED,
        Status.PUBLISHED,
    ]


def test_no_consent_no_event() -> None:
    ticket = new_ticket(consent=False)
    day = at(date(2027, 2, 1))
    ticket.accept(actor="o", now=day, calendar=CAL, deadlines=RULES, note=None)
    ticket.assign(actor="o", now=day, unit="Phòng Quản lý xây dựng", due_on=None, note=None)
    ticket.draft_answer(actor="o", now=day, answer="Trả lời.", note=None)
    ticket.approve(actor="leader", now=day, seen_digest=None, note=None)
    ticket.publish(actor="leader", now=day, note=None)
    assert ticket.status is Status.PUBLISHED and ticket.events == [] and not ticket.is_public


def test_overdue_counts_working_days_past_due() -> None:
    ticket = new_ticket()  # classification due Fri 12 Feb 2027
    assert ticket.overdue(date(2027, 2, 12), CAL) is None
    assert ticket.overdue(date(2027, 2, 14), CAL) is None  # Sunday: no working day lost yet
    overdue = ticket.overdue(date(2027, 2, 16), CAL)
    assert overdue is not None and overdue.days_overdue == 2 and overdue.stage == "classification"


def test_duplicate_rules() -> None:
    original = new_ticket()
    copy = new_ticket()
    copy.id = 2
    with pytest.raises(RuleBroken):
        original.mark_duplicate(original, actor="o", now=at(date(2027, 2, 1)), note=None)
    copy.mark_duplicate(original, actor="o", now=at(date(2027, 2, 1)), note=None)
    assert copy.status is Status.DUPLICATE and copy.duplicate_of_id == 1
    third = new_ticket()
    third.id = 3
    with pytest.raises(RuleBroken):
        third.mark_duplicate(copy, actor="o", now=at(date(2027, 2, 1)), note=None)


def test_a_tracking_code_is_random_and_read_as_a_citizen_types_it() -> None:
    from hotline.domain import read_tracking_code, tracking_code

    codes = {tracking_code(2026) for _ in range(200)}
    assert len(codes) == 200  # no sequence: nothing to count
    assert all(re.fullmatch(r"PAKN-2026-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", c) for c in codes)
    assert read_tracking_code("PAKN-2026-7K3M-9QXD") == "PAKN-2026-7K3M-9QXD"
    assert read_tracking_code(" pakn-2026-7k3m-9qxd ") == "PAKN-2026-7K3M-9QXD"
    assert read_tracking_code("PAKN 2026 7K3M 9QXD") == "PAKN-2026-7K3M-9QXD"
    assert read_tracking_code("PAKN-2026-7K3M9QXD") == "PAKN-2026-7K3M-9QXD"
    # Letters misheard or misread over the phone: I and L are 1, O is 0.
    assert read_tracking_code("PAKN-2026-IK3M-OQXL") == "PAKN-2026-1K3M-0QX1"
    assert read_tracking_code("PAKN-2026-000123") == "PAKN-2026-000123"  # codes from before still found
    for junk in (
        "",
        "PAKN-2026",
        "PAKN-2026-7K3M-9QX",
        "PAKN-2026-7K3M-9QXU",
        "XYZ-2026-7K3M-9QXD",
        "../etc",
    ):
        assert read_tracking_code(junk) is None, junk
