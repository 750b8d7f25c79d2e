"""The read model a channel run works from: read again only where a row changed, and say
which subjects changed since an earlier snapshot (what a channel renders again)."""

import json
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


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def states(model):
    return sorted((s.key, s.version, s.state) for s in model.by_key.values())


def test_a_run_sees_every_change_and_reuses_what_did_not_change(settings):
    engine = create_engine(settings.database_url)
    clock = Clock()
    cache = repo.SubjectCache(monotonic=clock)
    with Session(engine) as session:
        put(session, "A", 1, "Thủ tục A", T0)
        put(session, "B", 1, "Thủ tục B", T0)
        first = cache.load(session)
        assert [(s.id, s.state["name"]) for s in first.of_kind("procedure")] == [
            ("A", "Thủ tục A"),
            ("B", "Thủ tục B"),
        ]

        put(session, "B", 2, "Thủ tục B (sửa đổi)", T0 + timedelta(seconds=1))
        put(session, "C", 1, "Thủ tục C", T0 + timedelta(seconds=1))
        second = cache.load(session)
        assert second.get(("procedure", "B")).state["name"] == "Thủ tục B (sửa đổi)"
        assert second.get(("procedure", "C")).version == 1
        unchanged = second.get(("procedure", "A"))
        assert unchanged is first.get(("procedure", "A")), "an unchanged row is not read again"
        # What a full read says, the cache says.
        assert states(second) == sorted((s.key, s.version, s.state) for s in repo.all_subjects(session))
        # The changes since the first snapshot: B and C, nothing else.
        changed = second.changed_since(first.source, first.generation)
        assert changed == {("procedure", "B"), ("procedure", "C")}
        assert first.get(("procedure", "B")).version == 1, "a snapshot never moves under a run"

        # A row gone is noticed by the next full sweep (rows are never deleted by the system).
        session.execute(delete(subjects).where(subjects.c.id == "A"))
        session.commit()
        clock.now += repo.SubjectCache.SWEEP_EVERY_S
        third = cache.load(session)
        assert [s.id for s in third.of_kind("procedure")] == ["B", "C"], "a row gone is gone"
        assert third.changed_since(second.source, second.generation) == {("procedure", "A")}
    engine.dispose()


def test_a_run_reads_only_the_rows_updated_lately(settings):
    """Between sweeps, only rows updated since the newest seen (less a window for late
    committers) are read: a writer that committed a row stamped a little earlier is still
    seen; an old row changed in place (which no writer does) waits for the sweep."""
    engine = create_engine(settings.database_url)
    clock = Clock()
    cache = repo.SubjectCache(monotonic=clock)
    with Session(engine) as session:
        put(session, "A", 1, "A", T0)
        put(session, "B", 1, "B", T0 + timedelta(minutes=5))
        cache.load(session)
        # Committed after B, stamped a little before it: inside the window.
        put(session, "C", 1, "C", T0 + timedelta(minutes=5) - repo.SubjectCache.WINDOW / 2)
        assert cache.load(session).get(("procedure", "C")) is not None
        # Far older than anything seen: not read until the next sweep...
        put(session, "A", 2, "A2", T0)
        plain = cache.load(session)
        assert plain.get(("procedure", "A")).version == 1
        # ...unless a run is about to deliver that version: then it is read by its key, and
        # the run renders again what shows it.
        delivering = cache.load(session, at_least={("procedure", "A"): 2})
        assert delivering.get(("procedure", "A")).state == {"name": "A2"}
        assert delivering.changed_since(plain.source, plain.generation) == {("procedure", "A")}
        clock.now += repo.SubjectCache.SWEEP_EVERY_S
        swept = cache.load(session)
        assert swept.get(("procedure", "A")).version == 2
        assert states(swept) == sorted((s.key, s.version, s.state) for s in repo.all_subjects(session))
    engine.dispose()


def test_changes_from_another_cache_are_unknown(settings):
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        put(session, "A", 1, "A", T0)
        mine, theirs = repo.SubjectCache().load(session), repo.SubjectCache().load(session)
        assert mine.changed_since(theirs.source, theirs.generation) is None
        assert mine.changed_since(mine.source, mine.generation) == set()
    engine.dispose()


def test_a_state_is_decoded_when_first_used_and_only_once(settings, monkeypatch):
    """A reconcile round loads every subject that changed for its version and reads few
    states: a row's JSON is decoded only when its state is used."""
    engine = create_engine(settings.database_url)
    decoded: list[str] = []
    loads = json.loads

    def counting(text, *args, **kwargs):
        if "Thủ tục" in str(text):
            decoded.append(text)
        return loads(text, *args, **kwargs)

    with Session(engine) as session:
        for i in range(5):
            put(session, f"P{i}", 1, f"Thủ tục {i}", T0)
        monkeypatch.setattr(json, "loads", counting)
        model = repo.SubjectCache().load(session)
        assert [s.version for s in model.of_kind("procedure")] == [1] * 5
        assert decoded == []
        held = model.get(("procedure", "P3"))
        assert held.state == {"name": "Thủ tục 3"} and held.state["name"] == "Thủ tục 3"
        assert len(decoded) == 1
    engine.dispose()
