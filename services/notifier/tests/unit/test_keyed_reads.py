"""A change's reads find its few subjects by their key, whatever the catalogue's size.

Row-value lists (`(kind, id) IN ((…), (…))`) made SQLite scan the whole table: at 10,000
procedures every ingest read every subject's version twice, a third of the events
worker's time under load. Each statement below is checked with SQLite's own planner."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from notifier.disclosure import repository as repo

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
CATALOGUE = [("procedure", f"MB.XD.{n:05d}") for n in range(300)]
CATALOGUE += [("article", f"bai-{n}") for n in range(30)]
FEW = [("procedure", "MB.XD.00007"), ("procedure", "MB.XD.00250"), ("article", "bai-3")]
FEW += [("procedure", "MISSING")]
HELD = {key: 2 for key in FEW if key[1] != "MISSING"}


@pytest.fixture
def engine(settings):
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        for key in CATALOGUE:
            repo.upsert_subject(session, key=key, version=2, state={"name": key[1]}, now=NOW, occurred_at=NOW)
            repo.raise_ledger(session, channel="portal", key=key, version=2, now=NOW)
        session.commit()
    return engine


def plans_of_what_runs(engine, read):
    """Run `read(session)`; the query plan of every statement it sent, with its parameters."""
    sent: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("SELECT", "DELETE", "UPDATE")):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as session:
            result = read(session)
            session.rollback()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert sent, "the read sent no statement"
    with engine.connect() as conn:
        plans = [
            " / ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
            for statement, parameters in sent
        ]
    return result, plans


def scans(plans):
    """The plans that read a whole table, or every ledger row of a channel."""
    whole = ("SCAN subjects", "SCAN ledger", "(channel=?)")
    return [p for p in plans if any(w in p for w in whole)]


def test_the_versions_of_a_few_subjects_are_read_by_key(engine):
    versions, plans = plans_of_what_runs(engine, lambda s: repo.subject_versions(s, FEW))
    assert versions == HELD
    assert not scans(plans), plans


def test_a_few_whole_subjects_are_read_by_key(engine):
    found, plans = plans_of_what_runs(engine, lambda s: repo.get_subjects(s, FEW))
    assert sorted(found) == sorted(HELD)
    assert found[("article", "bai-3")].state == {"name": "bai-3"}
    assert not scans(plans), plans


def test_what_a_channel_shows_of_its_batch_is_read_by_key(engine):
    shown, plans = plans_of_what_runs(engine, lambda s: repo.disclosed(s, channel="portal", keys=FEW))
    assert {key: version for key, (version, _) in shown.items()} == HELD
    assert not scans(plans), plans


def test_forgetting_a_few_subjects_deletes_by_key_and_only_them(engine):
    _, plans = plans_of_what_runs(engine, lambda s: repo.forget_ledger(s, channel="portal", keys=FEW))
    assert not scans(plans), plans
    with Session(engine) as session:
        repo.forget_ledger(session, channel="portal", keys=FEW)
        session.commit()
        left = repo.disclosed(session, channel="portal")
    assert len(left) == len(CATALOGUE) - 3
    assert not set(FEW) & set(left)


def test_the_read_model_reads_again_only_the_rows_that_moved_by_key(engine):
    cache = repo.SubjectCache()
    with Session(engine) as session:
        cache.load(session)
        for key in FEW[:3]:
            repo.upsert_subject(
                session, key=key, version=3, state={"name": "đổi"}, now=NOW.replace(hour=4), occurred_at=NOW
            )
        session.commit()
    model, plans = plans_of_what_runs(engine, cache.load)
    assert [model.get(key).state for key in FEW[:3]] == [{"name": "đổi"}] * 3
    # The stamps of the rows updated lately come from the updated_at index; the moved
    # row by its key.
    assert not scans(plans), plans
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM subjects")).scalar() == len(CATALOGUE)
