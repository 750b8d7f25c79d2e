"""Citizens follow a procedure or a field by e-mail: double opt-in, one e-mail per burst,
one-click unsubscribe. Against a real SMTP server (aiosmtpd) and a real redis-server."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from minhbach_shared.http import NotFound, Unprocessable
from minhbach_testing.notifier import envelope, procedure_state, text_of
from notifier.db import deliveries, subscriptions
from notifier.disclosure import services as disclosure
from notifier.subscriptions import services as subscribing
from notifier.subscriptions.domain import followers

CITIZEN = "nguoidan@example.vn"
PERMIT = "Cấp giấy phép xây dựng mới đối với công trình cấp I, cấp II"


@pytest.fixture
def mailing(make_notifier, smtp_port):
    return make_notifier(
        smtp_port=smtp_port,
        public_url="https://minhbach.example.vn",
        subscriber_delay_s=30.0,
        confirm_resend_s=600.0,
    )


@pytest.fixture
def in_force(mailing, owner):
    """Three procedures in force, two of them in the field "Hoạt động xây dựng"."""
    states = [
        procedure_state("MB.XD.001", 1),
        procedure_state("MB.XD.002", 1, name="Gia hạn giấy phép xây dựng"),
        procedure_state("MB.NO.001", 1, name="Công nhận chủ đầu tư dự án nhà ở", field="Nhà ở và công sở"),
    ]
    for state in states:
        owner.put("procedure", state)
    disclosure.ingest(mailing, [envelope("procedure", s["code"], 1) for s in states])
    return mailing


def later(service, seconds):
    return service.clock() + timedelta(seconds=seconds)


def token_in(text: str, action: str) -> str:
    match = re.search(
        rf"https://minhbach\.example\.vn/v1/public/subscriptions/{action}\?token=([\w-]+)", text
    )
    assert match, text
    return match.group(1)


def subscribe_and_confirm(service, inbox, **target) -> str:
    subscribing.subscribe(service, CITIZEN, **{"procedure_code": None, "field": None, **target})
    disclosure.run_channel(service, "email")
    token = token_in(text_of(inbox.to(CITIZEN)[-1]), "confirm")
    assert subscribing.confirm_subscription(service, token).status == "active"
    return token


def disclose(service, owner, state, event="procedure.amended"):
    owner.put("procedure", state)
    disclosure.ingest(service, [envelope("procedure", state["code"], state["version"], event)])


def amend(service, owner, code, version, **kw):
    disclose(service, owner, procedure_state(code, version, **kw))


def one_mail_after(service, inbox, seconds) -> str:
    """The e-mail one run sends `seconds` from now, as text."""
    assert disclosure.run_channel(service, "email", now=later(service, seconds)).sent == 1
    return text_of(inbox.to(CITIZEN)[-1])


def test_nothing_is_sent_about_changes_before_the_address_confirms(in_force, owner, inbox):
    service = in_force
    subscribing.subscribe(service, CITIZEN, procedure_code="MB.XD.001", field=None)
    assert disclosure.run_channel(service, "email").sent == 1
    [confirm] = inbox.to(CITIZEN)
    assert str(confirm["Subject"]) == "Xác nhận đăng ký nhận thông báo thay đổi thủ tục hành chính"
    text = text_of(confirm)
    assert f"thủ tục “{PERMIT}” (mã MB.XD.001)" in text
    token_in(text, "confirm")

    amend(service, owner, "MB.XD.001", 2)
    disclosure.run_channel(service, "email", now=later(service, 60))
    assert len(inbox.to(CITIZEN)) == 1, "a pending subscription gets no change e-mail"


def test_a_confirmed_subscriber_gets_the_change_with_its_decision_and_link(in_force, owner, inbox):
    service = in_force
    unsubscribe_token = subscribe_and_confirm(service, inbox, procedure_code="MB.XD.001")
    amend(service, owner, "MB.XD.001", 2)
    assert disclosure.run_channel(service, "email").sent == 0, "changes wait subscriber_delay_s, to coalesce"
    assert disclosure.run_channel(service, "email", now=later(service, 31)).sent == 1
    mail = inbox.to(CITIZEN)[-1]
    assert str(mail["Subject"]) == f"Thay đổi thủ tục hành chính: {PERMIT}"
    text = text_of(mail)
    assert "- Sửa đổi, bổ sung: " + PERMIT + " (mã MB.XD.001, phiên bản 2)" in text
    assert "Theo Quyết định số 22/QĐ-SXD" in text
    assert "https://minhbach.example.vn/portal/thu-tuc/MB.XD.001.html" in text
    assert str(mail["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    assert unsubscribe_token in str(mail["List-Unsubscribe"])
    assert token_in(text, "unsubscribe") == unsubscribe_token

    # What the amendment changed, as the page says it.
    state = procedure_state("MB.XD.001", 3)
    state["history"][2]["changes"] = [
        {
            "component": "processing_time",
            "before": {"value": 20, "unit": "working_days"},
            "after": {"value": 15, "unit": "working_days"},
        }
    ]
    disclose(service, owner, state)
    text = one_mail_after(service, inbox, 62)
    assert "(mã MB.XD.001, phiên bản 3)" in text
    assert (
        "  Thay đổi so với phiên bản trước:\r\n    • Thời hạn giải quyết: 20 → 15 ngày làm việc\r\n" in text
    )
    assert text.count("Thay đổi so với phiên bản trước") == 1

    # A change to another procedure is none of this subscriber's business.
    amend(service, owner, "MB.XD.002", 2, name="Gia hạn giấy phép xây dựng")
    disclosure.run_channel(service, "email", now=later(service, 120))
    assert len(inbox.to(CITIZEN)) == 3


def test_a_burst_in_a_followed_field_is_one_email(in_force, owner, inbox):
    service = in_force
    subscribe_and_confirm(service, inbox, field="hoat dong xay dung")  # accents and case do not matter
    for version in (2, 3):  # two decisions in a row
        amend(service, owner, "MB.XD.001", version)
        amend(service, owner, "MB.XD.002", version, name="Gia hạn giấy phép xây dựng")
    amend(service, owner, "MB.NO.001", 2, name="Công nhận chủ đầu tư dự án nhà ở", field="Nhà ở và công sở")
    report = disclosure.run_channel(service, "email", now=later(service, 31))
    assert report.sent == 4  # four change rows, settled by one e-mail
    [mail] = inbox.to(CITIZEN)[1:]
    assert str(mail["Subject"]) == "2 thay đổi thủ tục hành chính bạn theo dõi"
    text = text_of(mail)
    assert "các thủ tục thuộc lĩnh vực “Hoạt động xây dựng”" in text
    assert "(mã MB.XD.001, phiên bản 3)" in text and "(mã MB.XD.002, phiên bản 3)" in text
    assert "phiên bản 2" not in text and "MB.NO.001" not in text


def test_a_procedure_put_in_force_in_place_of_another_says_what_differs_from_it(in_force, owner, inbox):
    service = in_force
    subscribe_and_confirm(service, inbox, field="Hoạt động xây dựng")
    state = procedure_state("MB.XD.010", 1, name="Cấp giấy phép xây dựng (thay thế)")
    state["history"][0].update(
        replaces="MB.XD.002",
        changes=[{"component": "agency", "before": "Sở Xây dựng", "after": "UBND tỉnh Thái Bình"}],
    )
    disclose(service, owner, state, "procedure.published")
    text = one_mail_after(service, inbox, 31)
    assert "(mã MB.XD.010, phiên bản 1)" in text
    assert (
        "  So với thủ tục MB.XD.002 được thay thế:\r\n    • Cơ quan thực hiện: Sở Xây dựng → UBND tỉnh"
        in text
    )
    assert "so với phiên bản trước" not in text


def test_unsubscribe_stops_the_mail_and_pending_changes_are_dropped(in_force, owner, inbox):
    service = in_force
    token = subscribe_and_confirm(service, inbox, procedure_code="MB.XD.001")
    amend(service, owner, "MB.XD.001", 2)
    assert subscribing.unsubscribe(service, token).status == "unsubscribed"
    assert subscribing.unsubscribe(service, token).status == "unsubscribed"  # twice is fine
    report = disclosure.run_channel(service, "email", now=later(service, 31))
    assert report.sent == 0 and report.superseded == 1
    assert len(inbox.to(CITIZEN)) == 1  # the confirmation only


def test_asking_again_does_not_flood_an_inbox_and_tells_nobody_anything(in_force, inbox):
    service = in_force
    for _ in range(5):
        subscribing.subscribe(service, CITIZEN, procedure_code="MB.XD.001", field=None)
    disclosure.run_channel(service, "email")
    assert len(inbox.to(CITIZEN)) == 1, "one confirmation per confirm_resend_s"
    token = token_in(text_of(inbox.to(CITIZEN)[0]), "confirm")
    subscribing.confirm_subscription(service, token)
    subscribing.subscribe(service, CITIZEN, procedure_code="MB.XD.001", field=None)  # already active: silence
    disclosure.run_channel(service, "email", now=later(service, 3600))
    assert len(inbox.to(CITIZEN)) == 1
    with Session(service.engine) as s:
        assert s.scalar(select(subscriptions.c.email)) == CITIZEN


def test_unknown_targets_and_tokens_are_refused_with_the_field_named(in_force):
    service = in_force
    with pytest.raises(Unprocessable) as unknown_code:
        subscribing.subscribe(service, CITIZEN, procedure_code="MB.XX.404", field=None)
    assert unknown_code.value.errors[0]["field"] == "procedure_code"
    with pytest.raises(Unprocessable) as unknown_field:
        subscribing.subscribe(service, CITIZEN, procedure_code=None, field="Hàng không")
    assert unknown_field.value.errors[0]["field"] == "field"
    assert "Hoạt động xây dựng" in unknown_field.value.errors[0]["message"]
    with pytest.raises(Unprocessable):
        subscribing.subscribe(service, CITIZEN, procedure_code="MB.XD.001", field="Hoạt động xây dựng")
    with pytest.raises(NotFound):
        subscribing.confirm_subscription(service, "x" * 32)
    with Session(service.engine) as s:
        assert s.scalar(select(subscriptions.c.id)) is None
        assert not s.execute(select(deliveries).where(deliveries.c.channel == "email")).all()


def test_smtp_down_backs_the_whole_message_off_and_sends_it_once_later(
    in_force, owner, inbox, smtp_port, redis_client
):
    service = in_force
    subscribe_and_confirm(service, inbox, field="Hoạt động xây dựng")
    amend(service, owner, "MB.XD.001", 2)
    amend(service, owner, "MB.XD.002", 2, name="Gia hạn giấy phép xây dựng")
    service.mailer.settings = service.mailer.settings.model_copy(update={"smtp_port": 1})  # nobody there
    report = disclosure.run_channel(service, "email", now=later(service, 31))
    assert report.sent == 0 and report.failed == 2
    service.mailer.settings = service.mailer.settings.model_copy(update={"smtp_port": smtp_port})
    assert disclosure.run_channel(service, "email", now=later(service, 3600)).sent == 2
    assert disclosure.run_channel(service, "email", now=later(service, 7200)).sent == 0
    changes = [m for m in inbox.to(CITIZEN) if not str(m["Subject"]).startswith("Xác nhận")]
    assert len(changes) == 1


def test_followers_match_the_procedure_or_its_field():
    active = [(1, "procedure", "MB.XD.001"), (2, "field", "hoat-dong-xay-dung"), (3, "field", "nha-o")]
    assert followers({"field": "Hoạt động xây dựng"}, "MB.XD.001", active) == [1, 2]
    assert followers({"field": "Hoạt động xây dựng"}, "MB.XD.009", active) == [2]
    assert followers({"field": ""}, "MB.XD.009", active) == []


def test_portal_pages_carry_the_follow_form_where_it_makes_sense(in_force, owner, settings):
    service = in_force
    abolish = [("new", {"id": 3, "number": "12/QĐ-SXD"}), ("abolish", {"id": 9, "number": "30/QĐ-SXD"})]
    owner.put(
        "procedure",
        procedure_state("MB.NO.001", 2, status="abolished", actions=abolish, field="Nhà ở và công sở"),
    )
    disclosure.ingest(service, [envelope("procedure", "MB.NO.001", 2, "procedure.abolished")])
    disclosure.run_channel(service, "portal")
    action = 'action="https://minhbach.example.vn/v1/public/subscriptions/form"'
    page = (settings.portal_dir / "thu-tuc/MB.XD.001.html").read_text(encoding="utf-8")
    assert action in page and '<input type="hidden" name="procedure_code" value="MB.XD.001">' in page
    field = (settings.portal_dir / "linh-vuc/hoat-dong-xay-dung.html").read_text(encoding="utf-8")
    assert action in field and '<input type="hidden" name="field" value="Hoạt động xây dựng">' in field
    ended = (settings.portal_dir / "thu-tuc/MB.NO.001.html").read_text(encoding="utf-8")
    assert "Đăng ký nhận thông báo" not in ended  # nothing left to follow


class RefusingServer:
    """A mail server that refuses every recipient, quoting the address back (as real ones do)."""

    async def handle_RCPT(self, server, session, envelope_, address, rcpt_options):  # type: ignore[no-untyped-def]
        return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"


def test_a_refused_confirmation_is_stored_without_the_subscribers_address(in_force, smtp_port):
    """Operators read delivery errors; a subscriber's address is not theirs to read (issue 12)."""
    from minhbach_testing.notifier import start_smtp

    controller = start_smtp(smtp_port, RefusingServer())  # type: ignore[arg-type]
    try:
        subscribing.subscribe(in_force, CITIZEN, procedure_code="MB.XD.001", field=None)
        disclosure.run_channel(in_force, "email")
    finally:
        controller.stop()
    with Session(in_force.engine) as s:
        [error] = s.execute(select(deliveries.c.last_error).where(deliveries.c.channel == "email")).scalars()
    assert "Recipient address rejected" in error and "<<địa chỉ e-mail>>" in error
    assert CITIZEN not in error and "nguoidan" not in error
