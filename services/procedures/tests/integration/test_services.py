"""Use cases on a real SQLite file: scheduling near midnight, the portable search path.

The units of work are the test ones (minhbach_testing.uow): the relay's wake-up is
recorded, not sent, so these start no redis-server.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from minhbach_testing.uow import UnitsOfWork
from procedures import schemas, search, services
from procedures.db import procedures
from procedures.uow import UnitOfWork


def test_a_decision_due_within_a_minute_also_gets_a_countdown_task(
    units: UnitsOfWork[UnitOfWork], sample: dict[str, Any]
) -> None:
    services.create_procedure(units(), schemas.ProcedureCreate(**sample["MB.VL.001"]), actor="editor")
    decision_id = services.create_decision(
        units(),
        schemas.DecisionCreate(
            number="5/QĐ-SXD",
            title="Công bố",
            issuer="Sở Xây dựng",
            signed_on=date(2026, 11, 27),
            effective_on=date(2026, 11, 28),
            changes=[schemas.ChangeCreate(action="new", procedure_code="MB.VL.001")],
        ),
        actor="editor",
    )
    countdowns: list[float] = []
    # 23:59:30 in Vietnam on 27 Nov: the decision takes effect in 30 seconds.
    now = datetime(2026, 11, 27, 16, 59, 30, tzinfo=UTC)
    services.submit_decision(units(), decision_id, actor="editor", now=now)
    decision = services.publish_decision(
        units(), decision_id, actor="approver", now=now, schedule_apply=countdowns.append
    )
    assert decision.status.value == "scheduled" and countdowns == [31.0]

    # Each beat tick looks a minute ahead too: ten minutes before, nothing; thirty
    # seconds before (a decision published hours earlier), a countdown.
    ticks: list[float] = []
    for ahead_s in (600, 30):
        assert (
            services.apply_due_decisions(
                units,
                now=now - timedelta(seconds=ahead_s - 30),
                schedule_apply=ticks.append,
            )
            == 0
        )
    assert ticks == [31.0]

    assert services.apply_due_decisions(units, now=now) == 0
    later = now + timedelta(seconds=31)
    assert services.apply_due_decisions(units, now=later) == 1
    with Session(units.engine) as session:
        assert services.get_procedure(session, "MB.VL.001").status.value == "in_force"


def test_the_portable_search_path_finds_the_same(
    units: UnitsOfWork[UnitOfWork], sample_payload: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PostgreSQL path (folded columns + LIKE per word), run here on SQLite."""
    services.load_demo(units(), sample_payload, now=datetime.now(UTC))
    monkeypatch.setattr(search, "_is_sqlite", lambda _session: False)
    with Session(units.engine) as session:

        def find(q: str) -> list[str]:
            page = services.search_procedures(session, q=q, field=None, status="in_force", page=1, size=50)
            return [p.code for p in page.items]

        assert find("MB.XD.006")[0] == "MB.XD.006"
        assert find("môi giới") == ["MB.BDS.001"]
        found = find("giay phep xay dung")
        assert found[-1] == "MB.XD.002" and "MB.BDS.001" not in found


def test_the_demo_stores_each_dossier_as_the_sample_gives_it(
    units: UnitsOfWork[UnitOfWork], sample_payload: dict[str, Any]
) -> None:
    """The sample's {"items": [names], "copies": 1} is one set of papers with no per-paper counts."""
    services.load_demo(units(), sample_payload, now=datetime.now(UTC))
    with Session(units.engine) as session:
        stored = {
            r.code: r.published for r in session.execute(select(procedures.c.code, procedures.c.published))
        }
    for given in sample_payload["procedures"]:
        dossier = stored[given["code"]]["dossier"]
        assert dossier["sets"] == given["dossier"]["copies"]
        assert dossier["items"] == [
            {"name": name, "originals": None, "copies": None} for name in given["dossier"]["items"]
        ]
