"""The internal weekly briefing: once per week, Monday morning in Vietnam, to the Office,
saying what was disclosed during the week and how fast. Real SMTP server, real Redis."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from minhbach_testing.notifier import article_state, envelope, procedure_state, text_of, ticket_answer
from notifier.briefing import domain as briefing
from notifier.briefing import services as briefing_services
from notifier.disclosure import services as disclosure

OFFICE = "vanphong@example.vn"
DIRECTOR = "giamdoc@example.vn"
# Monday 30/11/2026 in Vietnam (UTC+7).
MONDAY_6AM = datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
MONDAY_8AM = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)


def test_weeks_are_iso_weeks_in_vietnam_time():
    week = briefing.week_of(date(2026, 11, 27))
    assert week.id == "2026-W48"
    assert week.start == datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # Monday 23/11 00:00 in Vietnam
    assert week.end == datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
    assert (week.first_day, week.last_day) == (date(2026, 11, 23), date(2026, 11, 29))
    assert briefing.last_week(MONDAY_8AM).id == "2026-W48"
    # Sunday 23:30 in Vietnam is still week 48: the last week that has ended is 47.
    assert briefing.last_week(datetime(2026, 11, 29, 16, 30, tzinfo=UTC)).id == "2026-W47"
    assert briefing.parse_week("2026-W53") == briefing.week_of(date(2026, 12, 28))
    with pytest.raises(ValueError):
        briefing.parse_week("2026-W54")


@pytest.fixture
def office(make_notifier, smtp_port):
    return make_notifier(
        smtp_port=smtp_port, office_email=OFFICE, briefing_recipients=[OFFICE, DIRECTOR, OFFICE]
    )


def test_the_briefing_goes_out_once_on_monday_morning_and_tells_the_week(
    office, owner, content_owner, hotline_owner, inbox
):
    # During week 48 (23-29/11): a procedure in force on 28/11, an article and an answer published,
    # all disclosed on Friday 27/11.
    office.clock = lambda: datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    content_owner.put("article", article_state(7, 1, publish_at="2026-11-24T02:00:00Z"))
    content_owner.put(
        "article", article_state(8, 1, title="Tin của tuần trước", publish_at="2026-11-18T02:00:00Z")
    )
    hotline_owner.put("ticket", ticket_answer("PAKN-2026-000123", 1))
    disclosure.ingest(
        office,
        [
            envelope("procedure", "MB.XD.001", 1),
            envelope("article", "7", 1),
            envelope("article", "8", 1),
            envelope("ticket", "PAKN-2026-000123", 1),
        ],
    )
    assert disclosure.run_channel(office, "portal").sent == 4

    assert briefing_services.plan_briefing(office, now=MONDAY_6AM) is None, (
        "not before briefing_hour on Monday"
    )
    assert briefing_services.plan_briefing(office, now=MONDAY_8AM) == "2026-W48"
    assert briefing_services.plan_briefing(office, now=MONDAY_8AM) is None, (
        "once per week, however often beat asks"
    )
    assert disclosure.run_channel(office, "email", now=MONDAY_8AM).sent == 2  # the Office once, the director
    [to_office] = inbox.to(OFFICE)
    assert len(inbox.to(DIRECTOR)) == 1
    assert str(to_office["Subject"]) == "Bản tin công khai tuần 48/2026 (23/11/2026–29/11/2026)"
    text = text_of(to_office)
    assert "1. Thủ tục hành chính có hiệu lực trong tuần: 1" in text
    assert "Công bố mới: Cấp giấy phép xây dựng mới đối với công trình cấp I, cấp II (mã MB.XD.001" in text
    assert "2. Tin bài cải cách hành chính đăng trong tuần: 1" in text
    assert "Sở Xây dựng đẩy mạnh cải cách hành chính năm 2026" in text and "Tin của tuần trước" not in text
    assert "PAKN-2026-000123: Hồ sơ cấp giấy phép xây dựng bị yêu cầu bổ sung nhiều lần" in text
    assert "Cổng thông tin (mục cải cách hành chính): 4 lượt cập nhật" in text
    assert "/v1/disclosure/report" in text

    # The next Monday, the next week (quiet: nothing happened).
    next_monday = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    assert briefing_services.plan_briefing(office, now=next_monday) == "2026-W49"
    disclosure.run_channel(office, "email", now=next_monday)
    latest = text_of(inbox.to(OFFICE)[-1])
    assert "Trong tuần không có thay đổi nào được công khai." in latest


def test_a_beat_that_was_down_on_monday_catches_up_later_in_the_week(office, inbox):
    wednesday = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    assert briefing_services.plan_briefing(office, now=wednesday) == "2026-W48"
    assert briefing_services.plan_briefing(office, now=wednesday) is None
