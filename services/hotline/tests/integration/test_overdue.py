"""ticket.overdue: at most once per ticket per Vietnam calendar day, however often the check runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from hotline import schemas, services
from hotline.domain import Channel
from hotline.settings import Settings
from hotline.uow import UnitOfWork
from minhbach_shared.db import make_engine
from minhbach_shared.outbox import relay_waker
from minhbach_shared.procedures_api import ProceduresApi
from minhbach_testing.plugin import RedisServer

from ..conftest import outbox_envelopes, ticket_body

UNIT = "Phòng Quản lý xây dựng"


def vn(day: date, hour: int, minute: int = 0) -> datetime:
    """`hour:minute` in Vietnam (UTC+7) on `day`, as UTC."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


class Desk:
    """Drives the use cases at chosen moments, the way the routes do."""

    def __init__(self, settings: Settings, engine: Engine, redis: Any) -> None:
        self.settings = settings
        self.policy = services.Policy.from_settings(settings)
        self.procedures = ProceduresApi(settings.procedures_url)
        wake = relay_waker(redis, "hotline")
        self.uow: Callable[[], UnitOfWork] = lambda: UnitOfWork(engine, wake)
        self.codes: dict[int, str] = {}

    def receive(self, now: datetime, **overrides: Any) -> int:
        data = schemas.PublicTicketCreate(**ticket_body(**overrides))
        ticket = services.submit_ticket(
            self.uow(),
            data,
            channel=Channel.WEB,
            actor="citizen",
            now=now,
            policy=self.policy,
            procedures=self.procedures,
        )
        assert ticket.id is not None
        self.codes[ticket.id] = ticket.tracking_code
        return ticket.id

    def do(self, ticket_id: int, change: Callable[[Any], Any]) -> None:
        services.handle(self.uow(), ticket_id, change)

    def check(self, now: datetime) -> int:
        return services.check_overdue(self.uow, now=now, calendar=self.policy.calendar)


@pytest.fixture
def desk(settings: Settings, redis_server: RedisServer) -> Iterator[Desk]:
    engine = make_engine(settings.database_url)
    redis = redis_server.client()
    yield Desk(settings, engine, redis)
    engine.dispose()
    redis.close()


def test_overdue_once_a_day_across_tet(desk: Desk, settings: Settings) -> None:
    cal, rules = desk.policy.calendar, desk.policy.deadlines
    received = vn(date(2027, 1, 29), 9)  # Friday before Tết
    unclassified = desk.receive(received)  # due Fri 12 Feb
    late_unit = desk.receive(received)
    waiting = desk.receive(received)
    monday = vn(date(2027, 2, 1), 9)
    for tid in (late_unit, waiting):
        desk.do(tid, lambda t: t.accept(actor="o", now=monday, calendar=cal, deadlines=rules, note=None))
    desk.do(
        late_unit, lambda t: t.assign(actor="o", now=monday, unit=UNIT, due_on=date(2027, 2, 3), note=None)
    )
    desk.do(waiting, lambda t: t.wait_for_citizen(actor="o", now=monday, reason="bổ sung", note=None))

    # Tết (4-10 Feb) costs no working day: nothing is late before Thursday 11 Feb.
    assert desk.check(vn(date(2027, 2, 10), 23, 59)) == 0
    # Thursday 11 Feb, beat every few minutes: one notice, for the unit's own due date.
    assert desk.check(vn(date(2027, 2, 11), 0, 5)) == 1
    for hour, minute in ((0, 10), (8, 0), (16, 30), (23, 59)):
        assert desk.check(vn(date(2027, 2, 11), hour, minute)) == 0
    # 00:30 in Vietnam on the 12th is still the 11th in UTC: a new Vietnam day all the same.
    assert desk.check(datetime(2027, 2, 11, 17, 30, tzinfo=UTC)) == 1
    assert desk.check(vn(date(2027, 2, 12), 15)) == 0
    # No reminders on the weekend (nor does it count as lateness); Monday both are late.
    assert desk.check(vn(date(2027, 2, 13), 9)) == 0
    assert desk.check(vn(date(2027, 2, 15), 9)) == 2
    assert desk.check(vn(date(2027, 2, 15), 10)) == 0

    events = [e for e in outbox_envelopes(settings) if e["type"] == "ticket.overdue"]
    by_ticket: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_ticket.setdefault(event["subject"]["id"], []).append(event)
    assert len(by_ticket) == 2  # the waiting ticket's clock is stopped
    unit_events = by_ticket[desk.codes[late_unit]]
    assert [e["version"] for e in unit_events] == [1, 2, 3]
    assert [e["data"]["days_overdue"] for e in unit_events] == [1, 2, 3]
    assert unit_events[0]["data"] == {
        "unit": UNIT,
        "due_on": "2027-02-03",
        "days_overdue": 1,
        "stage": "assignment",
        "status": "assigned",
    }
    [classification] = by_ticket[desk.codes[unclassified]]
    assert classification["data"]["stage"] == "classification" and classification["data"]["unit"] is None
    assert classification["data"]["due_on"] == "2027-02-12"
    for event in events:
        assert set(event["data"]) == {"unit", "due_on", "days_overdue", "stage", "status"}

    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        days = conn.execute(text("SELECT ticket_id, day FROM overdue_notices ORDER BY ticket_id, day")).all()
    engine.dispose()
    assert len(days) == len(set(days)) == 4


def test_the_resumed_clock_moves_the_overdue_day(desk: Desk) -> None:
    cal, rules = desk.policy.calendar, desk.policy.deadlines
    tid = desk.receive(vn(date(2026, 11, 2), 9))  # Monday; classification due Mon 9 Nov
    desk.do(
        tid, lambda t: t.wait_for_citizen(actor="o", now=vn(date(2026, 11, 3), 9), reason="thiếu", note=None)
    )
    assert desk.check(vn(date(2026, 11, 20), 9)) == 0
    desk.do(tid, lambda t: t.resume(actor="o", now=vn(date(2026, 11, 5), 9), calendar=cal, note=None))
    # Waited Wed 4 and Thu 5: due moves from Mon 9 to Wed 11 Nov.
    assert desk.check(vn(date(2026, 11, 11), 9)) == 0
    assert desk.check(vn(date(2026, 11, 12), 9)) == 1
    assert rules.classify_within_working_days == 5


def test_the_beat_task_takes_as_of(settings: Settings, monkeypatch: pytest.MonkeyPatch, desk: Desk) -> None:
    from hotline import tasks

    desk.receive(vn(date(2027, 1, 29), 9))
    monkeypatch.setenv("HOTLINE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MB_REDIS_URL", settings.redis_url)
    tasks._resources.cache_clear()
    try:
        assert tasks.check_overdue.name == "hotline.check_overdue"
        assert tasks.check_overdue("2027-02-15T09:00:00+07:00") == 1
        assert tasks.check_overdue("2027-02-15T11:00:00+07:00") == 0
        assert tasks.check_overdue("2027-02-16T02:00:00") == 1  # naive means UTC: 09:00 on the 16th
    finally:
        tasks._resources.cache_clear()
