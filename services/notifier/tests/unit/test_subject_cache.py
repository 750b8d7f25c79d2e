"""The read model a channel run works from: read again only where a row changed."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, delete
from sqlalchemy.orm import Session

from notifier.db import subjects
from notifier.disclosure import repository as repo

T0 = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def put(session, code, version, name, now):
    repo.upsert_subject(
        session, key=("procedure", code), version=version, state={"name": name}, now=now, occurred_at=now
    )
    session.commit()


def test_a_run_sees_every_change_and_reuses_what_did_not_change(settings):
    engine = create_engine(settings.database_url)
    cache = repo.SubjectCache()
    with Session(engine) as session:
        put(session, "A", 1, "Thủ tục A", T0)
        put(session, "B", 1, "Thủ tục B", T0)
        first = {s.id: s for s in cache.load(session)}
        assert [(s.id, s.state["name"]) for s in first.values()] == [("A", "Thủ tục A"), ("B", "Thủ tục B")]

        put(session, "B", 2, "Thủ tục B (sửa đổi)", T0 + timedelta(seconds=1))
        put(session, "C", 1, "Thủ tục C", T0 + timedelta(seconds=1))
        second = {s.id: s for s in cache.load(session)}
        assert second["B"].state["name"] == "Thủ tục B (sửa đổi)" and second["B"].version == 2
        assert second["C"].state["name"] == "Thủ tục C"
        assert second["A"] is first["A"], "an unchanged row is not read again"
        # What a full read says, the cache says.
        assert [(s.key, s.version, s.state) for s in second.values()] == [
            (s.key, s.version, s.state) for s in repo.all_subjects(session)
        ]

        session.execute(delete(subjects).where(subjects.c.id == "A"))
        session.commit()
        assert [s.id for s in cache.load(session)] == ["B", "C"], "a row gone is gone"
    engine.dispose()
