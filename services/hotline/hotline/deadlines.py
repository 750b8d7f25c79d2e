"""Working days in Vietnam: weekends, public holidays (Tết included) and days the province declares.

Public holidays come from the `holidays` package (`country_holidays("VN")`), which
knows the lunar dates of Tết and the Hùng Kings' day and the observed days the
Government moves; `extra_days_off` adds what the province declares on top, and
`extra_working_days` the Saturdays worked in exchange for a bridged day.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from datetime import date, timedelta

import holidays

SATURDAY = 5


def vietnam_public_holidays() -> Container[date]:
    # Years are filled in on first look-up (expand=True), so any year works.
    return holidays.country_holidays("VN")


class WorkingCalendar:
    """Which days count, and deadlines counted in working days."""

    def __init__(
        self,
        *,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        public_holidays: Container[date] | None = None,
    ) -> None:
        self.public_holidays = public_holidays if public_holidays is not None else vietnam_public_holidays()
        self.extra_days_off = frozenset(extra_days_off)
        self.extra_working_days = frozenset(extra_working_days)

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day.weekday() >= SATURDAY or day in self.extra_days_off:
            return False
        return day not in self.public_holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The day `days` working days after `start` (`start` itself not counted)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        remaining = days
        while remaining:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days d with start < d <= end (0 when end <= start)."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count
