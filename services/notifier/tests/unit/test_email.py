"""Overdue-ticket reminders by e-mail, against a real SMTP server (aiosmtpd, in-process)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from minhbach_shared import names
from minhbach_testing.notifier import Inbox, envelope, overdue_data, procedure_state, start_smtp, text_of
from notifier.db import deliveries, email_deliveries
from notifier.disclosure import services as disclosure
from notifier.operations import services as operations

CODE = "PAKN-2026-000123"
UNIT = "Phòng Quản lý xây dựng"
UNIT_EMAIL = "qlxd@example.vn"
OFFICE = "vanphong@example.vn"
# Fields a ticket has and a reminder must never carry.
PERSONAL = ("submitter", "contact", "phone", "address", "body", "Nguyễn", "0912")


@pytest.fixture
def mailing(make_notifier, smtp_port):
    return make_notifier(
        smtp_port=smtp_port,
        office_email=OFFICE,
        unit_emails={UNIT: UNIT_EMAIL},
        hotline_staff_url="https://hotline.example.vn",
    )


def overdue(event_version: int = 3, **data):  # type: ignore[no-untyped-def]
    return envelope("ticket", CODE, event_version, "ticket.overdue", overdue_data(**data))


def email_rows(service):  # type: ignore[no-untyped-def]
    with Session(service.engine) as s:
        return s.execute(
            select(deliveries, email_deliveries.c.recipient)
            .join(email_deliveries, email_deliveries.c.delivery_id == deliveries.c.id)
            .order_by(deliveries.c.id)
        ).all()


def test_an_overdue_event_mails_the_unit_and_the_office_in_vietnamese(mailing, inbox, redis_client):
    event = overdue(days=2)
    report = disclosure.ingest(mailing, [event])
    assert report.notices == 1
    rows = email_rows(mailing)
    assert [(r.channel, r.subject_kind, r.subject_id, r.version, r.status) for r in rows] == [
        ("email", "ticket", CODE, 3, "pending"),
        ("email", "ticket", CODE, 3, "pending"),
    ]
    assert {r.recipient for r in rows} == {UNIT_EMAIL, OFFICE}
    assert redis_client.llen(names.channel_queue("email")) == 1, "one run queued on channel.email"

    run = disclosure.run_channel(mailing, "email")
    assert (run.sent, run.failed, run.dead) == (2, 0, 0)
    assert len(inbox.messages) == 2
    [to_unit], [to_office] = inbox.to(UNIT_EMAIL), inbox.to(OFFICE)
    for message in (to_unit, to_office):
        assert message["Subject"] == f"[Quá hạn] Phản ánh, kiến nghị {CODE} — quá hạn 2 ngày làm việc"
        assert "Minh Bạch" in str(message["From"])
        assert message.get_content_charset() == "utf-8"
        body = text_of(message)
        for expected in (CODE, UNIT, "24/11/2026", "quá hạn 2 ngày làm việc", "xử lý của đơn vị được giao"):
            assert expected in body, expected
        assert "https://hotline.example.vn/v1/tickets?unit=Ph%C3%B2ng%20Qu%E1%BA%A3n" in body
        raw = message.as_string()
        for word in PERSONAL:
            assert word not in body and word not in raw, word
        assert "chưa có địa chỉ e-mail" not in body
    assert text_of(to_unit).startswith(f"Kính gửi {UNIT},")
    assert text_of(to_office).startswith("Kính gửi Văn phòng Sở,")
    # The same event to the same recipient always has the same Message-ID (mail systems dedupe).
    event_id = event["id"]
    assert to_unit["Message-ID"] == mailing.mailer.message_id(event_id, UNIT_EMAIL)
    assert to_unit["Message-ID"] != to_office["Message-ID"]
    assert {r.status for r in email_rows(mailing)} == {"sent"}


def test_the_same_event_twice_sends_nothing_more(mailing, inbox):
    event = overdue()
    disclosure.ingest(mailing, [event, event])
    disclosure.run_channel(mailing, "email")
    assert len(inbox.messages) == 2
    again = disclosure.ingest(mailing, [event])
    assert again.duplicates == 1 and again.notices == 0
    assert disclosure.run_channel(mailing, "email").sent == 0
    assert len(inbox.messages) == 2 and len(email_rows(mailing)) == 2
    # Next day's event (a new id) is a new reminder.
    disclosure.ingest(mailing, [overdue(event_version=4, days=3)])
    assert disclosure.run_channel(mailing, "email").sent == 2
    assert len(inbox.messages) == 4


def test_a_unit_without_an_address_only_the_office_is_mailed_and_told(mailing, inbox):
    disclosure.ingest(mailing, [overdue(unit="Phòng Hạ tầng kỹ thuật")])
    assert [r.recipient for r in email_rows(mailing)] == [OFFICE]
    disclosure.run_channel(mailing, "email")
    [(rcpts, message)] = inbox.messages
    assert rcpts == [OFFICE]
    body = text_of(message)
    assert 'đơn vị "Phòng Hạ tầng kỹ thuật" chưa có địa chỉ e-mail được cấu hình' in body
    assert body.startswith("Kính gửi Văn phòng Sở,")


def test_smtp_down_backs_off_then_sends_when_it_is_back(mailing, smtp_port):
    clock = [mailing.clock()]
    mailing.clock = lambda: clock[0]
    disclosure.ingest(mailing, [overdue()])  # nothing listens on smtp_port yet

    first = disclosure.run_channel(mailing, "email")
    assert (first.sent, first.failed) == (0, 2)
    rows = email_rows(mailing)
    assert {r.status for r in rows} == {"pending"} and {r.attempts for r in rows} == {1}
    assert all("SMTP unavailable" in r.last_error for r in rows)
    assert all(r.next_attempt_at > clock[0] for r in rows), "backed off, not due right away"
    assert disclosure.run_channel(mailing, "email").sent == 0, "not due yet"

    box = Inbox()
    controller = start_smtp(smtp_port, box)
    try:
        clock[0] += timedelta(seconds=1)  # past the (test-sized) backoff
        again = disclosure.run_channel(mailing, "email")
    finally:
        controller.stop()
    assert again.sent == 2
    assert {r.status for r in email_rows(mailing)} == {"sent"}
    assert sorted(r for rcpts, _ in box.messages for r in rcpts) == sorted([UNIT_EMAIL, OFFICE])


def test_smtp_down_too_long_is_dead_and_an_operator_retries_it(mailing, smtp_port):
    clock = [mailing.clock()]
    mailing.clock = lambda: clock[0]
    disclosure.ingest(mailing, [overdue(unit=None)])  # no unit: the Office only
    for _ in range(mailing.settings.max_attempts):
        clock[0] += timedelta(seconds=1)
        disclosure.run_channel(mailing, "email")
    [row] = email_rows(mailing)
    assert row.status == "dead" and row.attempts == mailing.settings.max_attempts
    assert next(c for c in operations.channel_status(mailing) if c["name"] == "email")["dead"] == 1

    box = Inbox()
    controller = start_smtp(smtp_port, box)
    try:
        assert operations.retry_delivery(mailing, row.id).status == "pending"
        assert disclosure.run_channel(mailing, "email").sent == 1
    finally:
        controller.stop()
    [(rcpts, message)] = box.messages
    assert rcpts == [OFFICE] and "(chưa giao đơn vị)" in text_of(message)


def test_the_portal_channel_is_unaffected(mailing, inbox, owner, settings):
    owner.put("procedure", procedure_state("MB.XD.001", version=1))
    disclosure.ingest(mailing, [envelope("procedure", "MB.XD.001", 1), overdue()])
    with Session(mailing.engine) as s:
        by_channel = {
            c: n
            for c, n in s.execute(
                select(deliveries.c.channel, deliveries.c.subject_kind).order_by(deliveries.c.id)
            ).all()
        }
    assert by_channel == {"portal": "procedure", "center": "procedure", "email": "ticket"}, (
        "no e-mail for a disclosure"
    )
    assert disclosure.run_channel(mailing, "portal").sent == 1
    assert any(settings.portal_dir.rglob("*.html")), "the portal was written"
    assert disclosure.run_channel(mailing, "email").sent == 2
    # E-mail is no disclosure channel: not in the report, not resyncable, no ledger.
    assert operations.disclosure_report(mailing)["channels"] == ["portal", "center"]
    with pytest.raises(Exception, match="unknown channel"):
        operations.resync(mailing, "email")
    assert operations.disclosure_report(mailing)["ticket_overdue"]["count"] == 1


CITIZEN = "thu.huong@example.com"
ANSWER = "Hồ sơ của bà tại [đã ẩn] đã được giải quyết ngày 20/11/2026."


def answered(event_version: int = 1, *, public: bool = True, reply_to: str = CITIZEN):  # type: ignore[no-untyped-def]
    data = {
        "reply_to": reply_to,
        "subject": "Thời gian cấp giấy phép xây dựng quá lâu",
        "answer": ANSWER,
        "answered_on": "2026-11-20",
        "public": public,
    }
    return envelope("ticket", CODE, event_version, "ticket.answered", data)


def test_the_citizen_gets_one_reply_with_the_answer_and_its_public_link(mailing, inbox, caplog, settings):
    caplog.set_level("DEBUG")
    event = answered()
    report = disclosure.ingest(mailing, [event, event])
    assert report.notices == 1
    rows = email_rows(mailing)
    assert [(r.subject_id, r.recipient, r.status) for r in rows] == [(CODE, CITIZEN, "pending")]

    assert disclosure.run_channel(mailing, "email").sent == 1
    [message] = inbox.to(CITIZEN)
    assert message["Subject"] == f"Sở Xây dựng trả lời phản ánh, kiến nghị {CODE}"
    body = text_of(message)
    assert ANSWER in body and "20/11/2026" in body and CODE in body
    assert f"{mailing.settings.portal_url}/hoi-dap/{CODE}.html" in body
    # Redelivered, or a second answered event of the same ticket: still one e-mail.
    again = disclosure.ingest(mailing, [event, answered(event_version=5)])
    assert again.duplicates == 1
    assert disclosure.run_channel(mailing, "email").sent == 0
    assert len(inbox.messages) == 1
    # The address is in no log line of ours, whatever the level (the test's SMTP server,
    # aiosmtpd's "mail.log", is the mail system: it logs its recipients).
    ours = [r.getMessage() + str(r.__dict__) for r in caplog.records if not r.name.startswith("mail.")]
    assert ours and not [line for line in ours if "thu.huong" in line]


def test_a_reply_that_is_not_public_points_to_the_status_lookup(mailing, inbox):
    disclosure.ingest(mailing, [answered(public=False)])
    disclosure.run_channel(mailing, "email")
    body = text_of(inbox.to(CITIZEN)[0])
    assert f"{mailing.settings.portal_url}/hoi-dap/tra-cuu.html" in body
    assert f"/hoi-dap/{CODE}.html" not in body and "không được công khai" in body


class RefusingServer:
    """An SMTP server that refuses every recipient, quoting the address (as real ones do)."""

    async def handle_RCPT(self, server, session, envelope_, address, rcpt_options):  # type: ignore[no-untyped-def]
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"


def test_a_refused_reply_is_recorded_without_the_address(mailing, smtp_port):
    controller = start_smtp(smtp_port, RefusingServer())  # type: ignore[arg-type]
    try:
        disclosure.ingest(mailing, [answered(reply_to="no-such-user@example.com")])
        disclosure.run_channel(mailing, "email")
    finally:
        controller.stop()
    [row] = email_rows(mailing)
    assert row.status != "sent" and "Recipient address rejected" in row.last_error
    assert "no-such-user" not in row.last_error
