"""The ledger's pure rules."""

import random
from datetime import UTC, datetime

from notifier.disclosure import domain as ledger
from notifier.disclosure.domain import EventRef, PendingRef

T0 = datetime(2026, 11, 27, tzinfo=UTC)


def ev(event_id, version, subject="A"):
    return EventRef(event_id, "procedure", subject, version, T0)


def test_fresh_events_drop_seen_and_repeated_ids():
    events = [ev("1", 1), ev("2", 2), ev("2", 2), ev("3", 3)]
    assert [e.event_id for e in ledger.fresh_events(events, {"1"})] == ["2", "3"]


def test_newest_per_subject_keeps_highest_version():
    newest = ledger.newest_per_subject([ev("1", 3), ev("2", 1), ev("3", 2, "B")])
    assert newest[("procedure", "A")].version == 3
    assert newest[("procedure", "B")].version == 2


def test_stale_when_held_version_is_same_or_newer():
    assert ledger.is_stale(2, 2)
    assert ledger.is_stale(1, 2)
    assert not ledger.is_stale(3, 2)
    assert not ledger.is_stale(1, None)


def test_ledger_never_goes_down():
    assert ledger.raised(None, 2) == 2
    assert ledger.raised(5, 2) == 5
    assert ledger.raised(5, 6) == 6


def test_split_batch_supersedes_older_rows_and_disclosed_versions():
    rows = [
        PendingRef(1, "procedure", "A", 1),
        PendingRef(2, "procedure", "A", 2),
        PendingRef(3, "procedure", "B", 1),
    ]
    work, superseded = ledger.split_batch(rows, {("procedure", "B"): 1})
    assert [r.delivery_id for r in work] == [2]
    assert sorted(r.delivery_id for r in superseded) == [1, 3]


def test_backoff_grows_is_jittered_and_capped():
    rng = random.Random(7)
    delays = [ledger.backoff_delay_s(n, base_s=1, cap_s=3600, rng=rng) for n in range(1, 20)]
    assert 0.5 <= delays[0] <= 1
    assert 4 <= delays[3] <= 8
    assert all(d <= 3600 for d in delays)
    assert delays[-1] >= 1800
    assert ledger.backoff_delay_s(10_000, base_s=1, cap_s=60) <= 60
    assert ledger.next_attempt_at(T0, 1, base_s=1, cap_s=10, rng=rng) > T0


def test_dead_after_max_attempts():
    assert not ledger.is_dead(2, 3)
    assert ledger.is_dead(3, 3)


def test_percentiles():
    assert ledger.percentile([], 50) is None
    values = [float(v) for v in range(1, 101)]
    assert ledger.percentile(values, 50) == 50
    assert ledger.percentile(values, 99) == 99
    assert ledger.latency_summary([2.0])["p90"] == 2.0


def test_parts_keep_the_listing_kinds_last_and_are_never_none():
    keys = [("decision", "1"), ("procedure", "A"), ("procedure", "B"), ("procedure", "C")]
    assert ledger.in_parts(keys, 2) == [
        [("procedure", "A"), ("procedure", "B")],
        [("procedure", "C"), ("decision", "1")],
    ]
    assert ledger.in_parts([], 200) == [[]]
