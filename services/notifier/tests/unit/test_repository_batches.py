"""A change's reads find its few subjects by their key, whatever the catalogue's size, and
its new deliveries are written in one batch that supersedes exactly the rows it should.

Row-value lists (`(kind, id) IN ((…), (…))`) made SQLite scan the whole table: at 10,000
procedures every ingest read every subject's version twice, a third of the events
worker's time under load. Each statement below is checked with SQLite's own planner."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.orm import Session

from notifier.db import deliveries
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
            repo.raise_ledger(session, channel="portal", versions={key: 2}, now=NOW)
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
    assert shown == HELD
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


def add(session, now, *rows):
    """One batch of new deliveries: (channel, key, version) each, due `now`."""
    repo.add_deliveries(session, [repo.NewDelivery(c, key, v, now) for c, key, v in rows], now=now)


def test_new_deliveries_supersede_older_open_rows_of_their_channel_and_subject_only(engine):
    a, b = ("procedure", "MB.XD.00001"), ("procedure", "MB.XD.00002")
    with Session(engine) as session:
        add(session, NOW, ("portal", a, 2), ("center", a, 2), ("portal", b, 2))
        session.execute(deliveries.update().where(deliveries.c.channel == "center").values(status="dead"))
        add(session, NOW, ("portal", b, 1))
        session.execute(
            deliveries.update()
            .where(deliveries.c.subject_id == b[1], deliveries.c.version == 1)
            .values(status="sent")
        )
        # One batch: version 3 of A for the portal and the centre, and an older version 1
        # of B (an event that arrived late must not supersede the newer row).
        add(session, NOW.replace(hour=5), ("portal", a, 3), ("center", a, 3), ("portal", b, 1))
        session.commit()
        rows = session.execute(
            select(deliveries.c.channel, deliveries.c.subject_id, deliveries.c.version, deliveries.c.status)
        ).all()
    assert sorted(tuple(r) for r in rows) == sorted(
        [
            ("portal", a[1], 2, "superseded"),
            ("center", a[1], 2, "superseded"),  # a dead row is moot once a newer one is due
            ("portal", b[1], 2, "pending"),  # not superseded by the late version 1
            ("portal", b[1], 1, "sent"),  # what was sent stays sent
            ("portal", a[1], 3, "pending"),
            ("center", a[1], 3, "pending"),
            ("portal", b[1], 1, "pending"),
        ]
    )


def test_a_run_records_its_batch_in_the_ledger_never_lowering_a_version(engine):
    later = NOW.replace(hour=6)
    fresh = ("procedure", "MB.XD.99999")
    batch = {FEW[0]: 3, FEW[1]: 1, fresh: 1}  # raised, older than held (kept at 2), new
    _, plans = plans_of_what_runs(
        engine, lambda s: repo.raise_ledger(s, channel="portal", versions=batch, now=later)
    )
    assert not scans(plans), plans
    with Session(engine) as session:
        repo.raise_ledger(session, channel="portal", versions=batch, now=later)
        session.commit()
        shown = repo.disclosed_since(session, channel="portal")
    assert shown[FEW[0]] == (3, later)
    assert shown[FEW[1]] == (2, NOW), "never lowered, its time kept"
    assert shown[fresh] == (1, later)
    assert shown[FEW[2]] == (2, NOW), "a subject not in the batch is left alone"
