"""Ingest against a real SQLite file and a real redis-server; only the owner is fake."""

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minhbach_testing.notifier import decision_state, envelope, procedure_state
from notifier.db import deliveries, seen_events, subjects
from notifier.disclosure import repository as repo
from notifier.disclosure import services as disclosure


def count(notifier, table, *where):
    with Session(notifier.engine) as s:
        return s.scalar(select(func.count()).select_from(table).where(*where))


def versions(notifier):
    with Session(notifier.engine) as s:
        return repo.subject_versions(s)


def test_ingest_fetches_state_and_writes_one_delivery_per_channel(notifier, owner, portal_queue_depth):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    report = disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1, "procedure.published")])
    assert report.changed == [("procedure", "MB.XD.001")]
    assert versions(notifier) == {("procedure", "MB.XD.001"): 1}
    # A procedure is shown on the portal and at the service centre: one row each.
    pending = deliveries.c.status == "pending"
    assert count(notifier, deliveries, pending, deliveries.c.channel == "portal") == 1
    assert count(notifier, deliveries, pending, deliveries.c.channel == "center") == 1
    assert portal_queue_depth() == 1


def test_duplicate_event_id_changes_nothing(notifier, owner):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    event = envelope("procedure", "MB.XD.001", 1)
    disclosure.ingest(notifier, [event])
    before = (count(notifier, deliveries), count(notifier, seen_events), len(owner.fetches))
    report = disclosure.ingest(notifier, [event, event])
    assert report.duplicates == 2 and report.changed == []
    assert (count(notifier, deliveries), count(notifier, seen_events), len(owner.fetches)) == before


def test_older_version_after_newer_changes_nothing(notifier, owner):
    owner.put("procedure", procedure_state("MB.XD.001", 2))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 2)])
    fetches = len(owner.fetches)
    report = disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)])
    assert report.stale == 1 and report.changed == []
    assert len(owner.fetches) == fetches, "a stale event must not even cost a fetch"
    assert versions(notifier) == {("procedure", "MB.XD.001"): 2}
    assert count(notifier, deliveries, deliveries.c.version == 1) == 0


def test_fetched_state_newer_than_event_wins(notifier, owner):
    owner.put("procedure", procedure_state("MB.XD.001", 3))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)])
    assert versions(notifier) == {("procedure", "MB.XD.001"): 3}
    # The events for versions 2 and 3 arrive later: nothing more to do.
    report = disclosure.ingest(
        notifier, [envelope("procedure", "MB.XD.001", 2), envelope("procedure", "MB.XD.001", 3)]
    )
    assert report.changed == [] and count(notifier, deliveries, deliveries.c.version != 3) == 0


def test_invalid_envelope_is_dropped_not_the_batch(notifier, owner):
    owner.put("decision", decision_state(3, 1))
    report = disclosure.ingest(notifier, [{"id": "nope"}, "garbage", envelope("decision", "3", 1)])
    assert report.invalid == 2 and report.changed == [("decision", "3")]


def test_owner_404_drops_the_subject(notifier, owner):
    report = disclosure.ingest(notifier, [envelope("procedure", "MB.XD.404", 1)])
    assert report.dropped == 1 and count(notifier, subjects) == 0


def test_owner_down_raises_and_writes_nothing(notifier, owner):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    owner.down = True
    event = envelope("procedure", "MB.XD.001", 1)
    with pytest.raises(httpx.HTTPError):
        disclosure.ingest(notifier, [event])
    assert count(notifier, seen_events) == count(notifier, subjects) == count(notifier, deliveries) == 0
    owner.down = False
    assert disclosure.ingest(notifier, [event]).changed == [("procedure", "MB.XD.001")]


def test_burst_coalesces_into_few_channel_runs(notifier, owner, portal_queue_depth, settings):
    codes = [f"MB.XD.{n:03d}" for n in range(50)]
    events = []
    for version in range(1, 5):  # 50 subjects x 4 versions = 200 events
        for code in codes:
            owner.put("procedure", procedure_state(code, version, name=f"Thủ tục số {code}"))
            events.append(envelope("procedure", code, version))
    for start in range(0, len(events), 10):  # the relay sends many envelopes per message
        disclosure.ingest(notifier, events[start : start + 10])
    assert portal_queue_depth() == 1, "one waiting run covers the whole burst"
    report = disclosure.run_channel(notifier, "portal")
    assert report.sent == 50
    assert disclosure.run_channel(notifier, "center").sent == 50
    for code in codes:
        for root in (settings.portal_dir, settings.center_dir):
            page = (root / "thu-tuc" / f"{code}.html").read_text(encoding="utf-8")
            assert '<meta name="mb:version" content="4">' in page
    assert count(notifier, deliveries, deliveries.c.status == "pending") == 0
    # Nothing left: another run is a cheap no-op, and the pump queues nothing.
    assert disclosure.run_channel(notifier, "portal").sent == 0
    assert disclosure.pump(notifier) == []


def test_a_large_decision_is_shown_part_by_part_its_decision_last(notifier, owner, portal_queue_depth):
    """Each part of an owner's batch is written and handed to the channels before the next
    is fetched; the decision, which lists its procedures, comes with the last part."""
    codes = [f"MB.XD.{n:03d}" for n in range(450)]
    for code in codes:
        owner.put("procedure", procedure_state(code, 1))
    owner.put("decision", decision_state(7, 1))
    events = [envelope("decision", "7", 1)] + [envelope("procedure", code, 1) for code in codes]
    asked: list[tuple[int, bool, int, int]] = []  # size, decision in it, held, portal queued

    def fetch_many(subjects):  # type: ignore[no-untyped-def]
        held = len(versions(notifier))
        asked.append((len(subjects), any(s.kind == "decision" for s in subjects), held, portal_queue_depth()))
        return [owner.fetch(s) for s in subjects]

    owner.fetch_many = fetch_many
    report = disclosure.ingest(notifier, events)
    assert asked == [(200, False, 0, 0), (200, False, 200, 1), (51, True, 400, 1)]
    assert len(report.changed) == 451 and report.changed[-1] == ("decision", "7")
    assert count(notifier, seen_events) == 451


def test_a_part_that_fails_is_fetched_again_alone(notifier, owner):
    codes = [f"MB.XD.{n:03d}" for n in range(300)]
    for code in codes:
        owner.put("procedure", procedure_state(code, 1))
    events = [envelope("procedure", code, 1) for code in codes]
    sizes: list[int] = []

    def fetch_many(subjects):  # type: ignore[no-untyped-def]
        sizes.append(len(subjects))
        if len(sizes) == 2:
            raise httpx.ConnectError("owner went away")
        return [owner.fetch(s) for s in subjects]

    owner.fetch_many = fetch_many
    with pytest.raises(httpx.HTTPError):
        disclosure.ingest(notifier, events)
    # The first part is shown; the events are not yet seen, so the message's retry comes.
    assert len(versions(notifier)) == 200 and count(notifier, seen_events) == 0
    report = disclosure.ingest(notifier, events)
    assert sizes == [200, 100, 100]
    assert len(report.changed) == 100 and report.stale == 200
    assert len(versions(notifier)) == 300 and count(notifier, seen_events) == 300
    assert count(notifier, deliveries, deliveries.c.channel == "portal") == 300, "each shown once"
