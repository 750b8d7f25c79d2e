"""Public statistics: received, answered on time, late, and open overdue, by month and unit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from hotline import schemas, services
from hotline.domain import Channel
from hotline.settings import DEMO_PHONES, Settings
from hotline.uow import UnitOfWork
from minhbach_shared.db import make_engine
from minhbach_shared.outbox import relay_waker
from minhbach_shared.procedures_api import ProceduresApi
from minhbach_testing.plugin import RedisServer

from ..conftest import ticket_body

QLXD, KT = "Phòng Quản lý xây dựng", "Phòng Kinh tế"


def vn(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC) - timedelta(hours=7)


@pytest.fixture
def uow(settings: Settings, redis_server: RedisServer) -> Iterator[Any]:
    engine = make_engine(settings.database_url)
    redis = redis_server.client()
    wake = relay_waker(redis, "hotline")
    yield lambda: UnitOfWork(engine, wake)
    engine.dispose()
    redis.close()


def test_statistics_by_month_and_unit(uow: Any, settings: Settings, client: TestClient) -> None:
    policy = services.Policy.from_settings(settings)
    cal, rules = policy.calendar, policy.deadlines
    procedures = ProceduresApi(settings.procedures_url)

    def ticket(received: date, *, unit: str | None, approved: date | None) -> None:
        data = schemas.PublicTicketCreate(**ticket_body())
        t = services.submit_ticket(
            uow(),
            data,
            channel=Channel.WEB,
            actor="c",
            now=vn(received),
            policy=policy,
            procedures=procedures,
        )
        assert t.id is not None
        if unit is None:
            return
        services.handle(
            uow(),
            t.id,
            lambda x: x.accept(actor="o", now=vn(received), calendar=cal, deadlines=rules, note=None),
        )
        services.handle(
            uow(), t.id, lambda x: x.assign(actor="o", now=vn(received), unit=unit, due_on=None, note=None)
        )
        if approved is None:
            return
        services.handle(
            uow(), t.id, lambda x: x.draft_answer(actor="o", now=vn(approved), answer="Trả lời.", note=None)
        )
        services.handle(
            uow(), t.id, lambda x: x.approve(actor="a", now=vn(approved), seen_digest=None, note=None)
        )

    # Accepted Mon 2 Nov 2026: the answer is due Mon 16 Nov (10 working days).
    ticket(date(2026, 11, 2), unit=QLXD, approved=date(2026, 11, 16))  # on time, the last day
    ticket(date(2026, 11, 2), unit=QLXD, approved=date(2026, 11, 17))  # late
    ticket(date(2026, 11, 2), unit=QLXD, approved=None)  # still open, overdue by 2 Dec
    ticket(date(2026, 11, 2), unit=KT, approved=date(2026, 11, 5))
    ticket(date(2026, 12, 1), unit=None, approved=None)  # received, classification not yet due

    procedures.close()
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        stats = services.statistics(session, today=date(2026, 12, 2), calendar=cal, settings=settings)
    engine.dispose()
    rows = [m.model_dump() for m in stats.months]
    assert rows == [
        {
            "month": "2026-11",
            "unit": KT,
            "received": 1,
            "answered_on_time": 1,
            "answered_late": 0,
            "open_overdue": 0,
        },
        {
            "month": "2026-11",
            "unit": QLXD,
            "received": 3,
            "answered_on_time": 1,
            "answered_late": 1,
            "open_overdue": 1,
        },
        {
            "month": "2026-12",
            "unit": None,
            "received": 1,
            "answered_on_time": 0,
            "answered_late": 0,
            "open_overdue": 0,
        },
    ]
    public = client.get("/v1/public/statistics").json()
    assert public["hotline"] == {"phones": DEMO_PHONES, "office_hours": settings.office_hours}
    assert sum(m["received"] for m in public["months"]) == 5
