"""One run of a channel at a time, on any number of hosts: the channel's lock in Redis, and
a fencing token so that a run that lost its lock cannot record over a newer run's work."""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session

from minhbach_testing.notifier import envelope, procedure_state
from notifier.broker import channel_lock, lock_key
from notifier.disclosure import repository as repo
from notifier.disclosure import services as disclosure


def pending(parts) -> int:
    with Session(parts.engine) as session:
        return len(repo.due_deliveries(session, channel="portal", now=parts.clock(), limit=100))


def test_a_second_host_waits_for_the_run_under_way(make_notifier, owner, redis_client):
    host_a, host_b = make_notifier(), make_notifier()  # two workers, each its own process state
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.ingest(host_a, [envelope("procedure", "MB.XD.001", 1)])
    finished: list[float] = []
    with channel_lock(redis_client, "portal", ttl_s=5):  # host A's run, under way

        def run_on_b() -> None:
            disclosure.run_channel(host_b, "portal")
            finished.append(time.monotonic())

        other = threading.Thread(target=run_on_b)
        other.start()
        time.sleep(0.5)
        assert not finished, "host B ran while host A held the channel"
        released = time.monotonic()
    other.join(timeout=10)
    assert finished and finished[0] >= released
    assert pending(host_b) == 0


def test_a_lock_whose_holder_died_lapses_within_its_ttl(notifier, owner, redis_client):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)])
    # A worker killed -9 mid-run: its lock stays, nobody renews it.
    assert redis_client.lock(lock_key("portal"), timeout=1).acquire(blocking=False)
    portal = notifier.channels["portal"]
    deliver, delivering = portal.deliver, []

    def timed(batch, model):  # when the run got the channel: not how long rendering took
        delivering.append(time.monotonic())
        return deliver(batch, model)

    portal.deliver = timed
    started = time.monotonic()
    assert disclosure.run_channel(notifier, "portal").sent == 1
    assert 0.5 < delivering[0] - started < 5


def test_a_run_that_lost_its_lock_records_nothing_and_the_next_run_does(notifier, owner, settings):
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)])
    portal = notifier.channels["portal"]
    deliver = portal.deliver

    def paused_past_its_ttl(batch, model):
        outcomes = deliver(batch, model)
        # Meanwhile its lock lapsed and another run took the channel (a newer token).
        with notifier.write() as session:
            repo.take_fence(session, channel="portal")
            session.commit()
        return outcomes

    portal.deliver = paused_past_its_ttl
    report = disclosure.run_channel(notifier, "portal")
    assert report.sent == 0 and pending(notifier) == 1, "the stale run recorded nothing"
    with Session(notifier.engine) as session:
        assert repo.disclosed(session, channel="portal") == {}
    portal.deliver = deliver
    assert disclosure.run_channel(notifier, "portal").sent == 1
    assert pending(notifier) == 0


def test_a_reconcile_that_finds_nothing_owed_never_waits_for_a_run(notifier, owner, redis_client, settings):
    """Reading every page back is slow at 10,000 procedures: it happens outside the channel's
    lock, which it takes only to repair something (here: a page deleted behind its back)."""
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.ingest(notifier, [envelope("procedure", "MB.XD.001", 1)])
    disclosure.run_channel(notifier, "portal")
    disclosure.run_channel(notifier, "center")
    finished: list[disclosure.ReconcileReport] = []

    def reconcile() -> threading.Thread:
        other = threading.Thread(target=lambda: finished.append(disclosure.reconcile(notifier)), daemon=True)
        other.start()
        return other

    with channel_lock(redis_client, "portal", ttl_s=30):  # a long run under way
        reconcile().join(timeout=10)
        assert finished, "a round with nothing to repair waited for the portal's run"
    assert finished[0].redelivered["portal"] == [] and finished[0].unreachable == []
    (settings.portal_dir / "thu-tuc/MB.XD.001.html").unlink()
    finished.clear()
    with channel_lock(redis_client, "portal", ttl_s=30):
        other = reconcile()
        time.sleep(0.5)
        assert not finished, "a repair must wait for the run under way"
    other.join(timeout=10)
    assert [r.redelivered["portal"] for r in finished] == [[("procedure", "MB.XD.001")]]
