"""Working days across weekends, Tết 2027 and days the province declares off."""

from __future__ import annotations

from datetime import date

import holidays

from hotline.deadlines import WorkingCalendar

# Tết Đinh Mùi: the package gives Thu 4 Feb to Wed 10 Feb 2027 (29 Tết to the 5th day).
TET_2027 = [date(2027, 2, d) for d in range(4, 11)]


def test_the_package_knows_tet_2027() -> None:
    vn = holidays.country_holidays("VN", years=2027)
    for day in TET_2027:
        assert day in vn, day
    assert date(2027, 2, 6) in vn and "Lunar New Year" in str(vn.get(date(2027, 2, 6)))
    assert date(2027, 2, 3) not in vn and date(2027, 2, 11) not in vn


def test_weekends_are_skipped() -> None:
    cal = WorkingCalendar()
    friday = date(2026, 11, 27)
    assert cal.add_working_days(friday, 1) == date(2026, 11, 30)
    assert cal.add_working_days(friday, 5) == date(2026, 12, 4)
    assert not cal.is_working_day(date(2026, 11, 28))


def test_classification_across_tet_2027() -> None:
    cal = WorkingCalendar()
    # Received Friday 29 Jan: Mon 1, Tue 2, Wed 3, then Tết and its weekend, then Thu 11, Fri 12.
    assert cal.add_working_days(date(2027, 1, 29), 5) == date(2027, 2, 12)
    assert all(not cal.is_working_day(d) for d in TET_2027)
    assert cal.is_working_day(date(2027, 2, 3)) and cal.is_working_day(date(2027, 2, 11))


def test_answer_due_across_tet_2027() -> None:
    cal = WorkingCalendar()
    # Accepted Wed 27 Jan 2027, 10 working days: 28, 29 Jan, 1, 2, 3 Feb, 11, 12, 15, 16, 17 Feb.
    assert cal.add_working_days(date(2027, 1, 27), 10) == date(2027, 2, 17)


def test_extra_days_off_and_working_saturdays() -> None:
    cal = WorkingCalendar(extra_days_off=[date(2027, 2, 11)], extra_working_days=[date(2027, 2, 13)])
    assert cal.add_working_days(date(2027, 2, 3), 1) == date(2027, 2, 12)
    assert cal.add_working_days(date(2027, 2, 12), 1) == date(2027, 2, 13)


def test_working_days_between() -> None:
    cal = WorkingCalendar()
    assert cal.working_days_between(date(2027, 2, 3), date(2027, 2, 11)) == 1  # only Thu 11 counts
    assert cal.working_days_between(date(2026, 11, 27), date(2026, 11, 29)) == 0  # the weekend
    assert cal.working_days_between(date(2026, 11, 27), date(2026, 11, 27)) == 0
    assert cal.working_days_between(date(2026, 11, 30), date(2026, 11, 27)) == 0
