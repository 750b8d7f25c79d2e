"""The internal weekly briefing: what was disclosed last week, and how well.

Plain rules, no framework. A briefing covers one ISO week in Vietnam time (Monday 00:00
to the next Monday 00:00, Asia/Ho_Chi_Minh); it is planned once per week, whenever
beat first runs after the week ended, for the Department's Office and whoever else
the settings name. Its content is computed from the read model and the ledger when
it is sent, so a resend after a crash says the same thing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from minhbach_shared.times import EPOCH, VIETNAM, parse_moment

BRIEFING = "briefing"


@dataclass(frozen=True)
class Week:
    """One ISO week in Vietnam time: id like 2026-W48, [start, end) in UTC."""

    id: str
    start: datetime
    end: datetime

    @property
    def first_day(self) -> date:
        return self.start.astimezone(VIETNAM).date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(seconds=1)).astimezone(VIETNAM).date()

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


def week_of(day: date) -> Week:
    monday = day - timedelta(days=day.weekday())
    start = datetime.combine(monday, time(0), tzinfo=VIETNAM).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=VIETNAM).astimezone(UTC)
    year, number, _ = monday.isocalendar()
    return Week(f"{year}-W{number:02d}", start, end)


def last_week(now: datetime) -> Week:
    """The most recent week that has ended, as of `now`."""
    return week_of(now.astimezone(VIETNAM).date() - timedelta(days=7))


def parse_week(week_id: str) -> Week:
    """2026-W48 -> that week; ValueError otherwise."""
    year, _, number = week_id.partition("-W")
    return week_of(date.fromisocalendar(int(year), int(number), 1))


@dataclass
class Digest:
    """What the briefing says, each list newest first."""

    week: Week
    procedures: list[dict[str, Any]] = field(default_factory=list)
    upcoming: list[dict[str, Any]] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)
    answers: list[dict[str, Any]] = field(default_factory=list)
    overdue_reminders: int = 0
    overdue_tickets: int = 0
    channels: list[dict[str, Any]] = field(default_factory=list)

    @property
    def quiet(self) -> bool:
        return not (self.procedures or self.articles or self.answers)


def procedure_changes(week: Week, procedures: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every version of a procedure that took effect during the week."""
    out = []
    for p in procedures:
        for h in p.get("history") or []:
            at = parse_moment(h.get("effective_at"))
            if week.holds(at):
                decision = h.get("decision") or {}
                out.append(
                    {
                        "code": p.get("code"),
                        "name": p.get("name"),
                        "action": h.get("action"),
                        "version": h.get("version"),
                        "decision": decision.get("number"),
                        "at": at,
                    }
                )
    return sorted(out, key=lambda c: (c["at"], str(c["code"])), reverse=True)


def published_in(
    week: Week, states: Iterable[dict[str, Any]], *, status: str = "published"
) -> list[dict[str, Any]]:
    """States published during the week (articles, answers), newest first."""
    found = [
        s for s in states if s.get("status") == status and week.holds(parse_moment(s.get("published_at")))
    ]
    return sorted(found, key=lambda s: parse_moment(s.get("published_at")) or EPOCH, reverse=True)
