"""What the person on call sees: /metrics (the alert rules' input) and the operator's reads
(workers, reconciliation, queues, channels' last runs), over a real SQLite file and Redis."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from minhbach_shared import names
from minhbach_shared.auth import Role
from minhbach_shared.celery import WORKERS_KEY, WorkerHeartbeat
from minhbach_testing.notifier import envelope, procedure_state
from minhbach_testing.tokens import bearer
from notifier.app import create_app
from notifier.db import deliveries
from notifier.disclosure import services as disclosure
from notifier.owners import OwnerRegistry

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def client(settings, owner):
    # The round waits for events on their way (test_a_change_whose_event_is_on_its_way...):
    # up to 10 s on a loaded machine; it stops waiting as soon as the queue is drained.
    waiting = settings.model_copy(update={"reconcile_grace_s": 10.0})
    with TestClient(create_app(waiting, owners=OwnerRegistry.single(owner))) as c:
        yield c


@pytest.fixture
def parts(client):
    return client.app.state.parts


@pytest.fixture
def op():
    return bearer(Role.OPERATOR, subject="op", service="notifier")


def scrape(client: TestClient) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(client.get("/metrics").text)
        for s in family.samples
    }


def publish(parts, owner, code="MB.XD.001", version=1):
    owner.put("procedure", procedure_state(code, version))
    disclosure.ingest(parts, [envelope("procedure", code, version)])


def portal(name: str) -> tuple[tuple[str, str], ...]:
    return (("channel", name),)


def test_a_stuck_channel_shows_its_age_then_its_success(client, parts, owner):
    publish(parts, owner)
    # Nobody runs the portal for six minutes (its worker is stopped).
    with parts.write() as session:
        six_minutes_ago = parts.clock() - timedelta(minutes=6)
        session.execute(update(deliveries).values(created_at=six_minutes_ago, occurred_at=six_minutes_ago))
        session.commit()
    seen = scrape(client)
    assert seen[("mb_channel_pending", portal("portal"))] == 1
    assert seen[("mb_channel_oldest_pending_age_seconds", portal("portal"))] >= 360
    assert seen[("mb_channel_dead", portal("portal"))] == 0
    assert seen[("mb_queue_depth", (("queue", "channel.portal"),))] == 1  # its message waits
    assert seen[("mb_queue_oldest_age_seconds", (("queue", "channel.portal"),))] >= 0
    assert seen[("mb_redis_up", ())] == 1 and seen[("mb_database_up", (("service", "notifier"),))] == 1
    assert ("mb_channel_last_success_timestamp_seconds", portal("portal")) not in seen
    before = time.time()
    disclosure.run_channel(parts, "portal")
    seen = scrape(client)
    assert seen[("mb_channel_pending", portal("portal"))] == 0
    assert seen[("mb_channel_oldest_pending_age_seconds", portal("portal"))] == 0
    assert seen[("mb_channel_last_success_timestamp_seconds", portal("portal"))] >= before
    assert seen[("mb_channel_last_run_timestamp_seconds", portal("portal"))] >= before
    # The lag of what was sent in the last five minutes: six minutes, as the citizen waited.
    assert seen[("mb_disclosure_lag_seconds", (("channel", "portal"), ("quantile", "0.99")))] >= 360


def test_channels_say_when_they_last_ran(client, parts, owner, op):
    publish(parts, owner)
    disclosure.run_channel(parts, "portal")
    portal_row, center_row, _ = client.get("/v1/channels", headers=op).json()
    assert portal_row["last_run_at"] and portal_row["last_success_at"]
    assert center_row["last_run_at"] is None and center_row["last_success_at"] is None


def test_workers_and_consumers_come_from_heartbeats(client, settings, redis_client, op):
    beat = WorkerHeartbeat(settings.redis_url, "portal@host-a", [names.channel_queue("portal")])
    beat.beat()
    seen = scrape(client)
    assert seen[("mb_queue_consumers", (("queue", "channel.portal"),))] == 1
    assert seen[("mb_queue_consumers", (("queue", "channel.center"),))] == 0  # nobody: alert
    assert seen[("mb_worker_heartbeat_age_seconds", (("worker", "portal@host-a"),))] < 5
    [worker] = client.get("/v1/ops/workers", headers=op).json()["workers"]
    assert worker["name"] == "portal@host-a" and worker["online"] and worker["queues"] == ["channel.portal"]
    # Killed -9: it stops beating; after 30 s it no longer counts as a consumer.
    entry = json.loads(redis_client.hget(WORKERS_KEY, "portal@host-a"))
    entry["seen_at"] -= 45
    redis_client.hset(WORKERS_KEY, "portal@host-a", json.dumps(entry))
    seen = scrape(client)
    assert seen[("mb_queue_consumers", (("queue", "channel.portal"),))] == 0
    assert seen[("mb_worker_heartbeat_age_seconds", (("worker", "portal@host-a"),))] >= 45
    [worker] = client.get("/v1/ops/workers", headers=op).json()["workers"]
    assert not worker["online"]
    beat.stop()  # a clean stop leaves no entry behind (no alert for a worker scaled down)
    assert client.get("/v1/ops/workers", headers=op).json()["workers"] == []


def test_a_message_held_by_a_worker_is_unacked_on_its_queue(client, parts, owner, celery_app, op):
    publish(parts, owner)  # queues one channel.portal message
    with celery_app.connection_for_read() as conn:
        held = conn.SimpleQueue(names.channel_queue("portal")).get(timeout=5)  # taken, not acknowledged
        seen = scrape(client)
        assert seen[("mb_queue_unacked", (("queue", "channel.portal"),))] == 1
        assert seen[("mb_queue_depth", (("queue", "channel.portal"),))] == 0
        queues = {q["queue"]: q for q in client.get("/v1/ops/queues", headers=op).json()["queues"]}
        assert queues["channel.portal"]["unacked"] == 1 and queues["events"]["unacked"] == 0
        held.ack()
    assert scrape(client)[("mb_queue_unacked", (("queue", "channel.portal"),))] == 0


def test_reconciliation_says_what_it_repaired(client, parts, owner, settings, op):
    publish(parts, owner)
    disclosure.run_channel(parts, "portal")
    disclosure.reconcile(parts)  # nothing lost
    seen = scrape(client)
    assert seen[("mb_reconcile_repaired_total", portal("portal"))] == 0
    assert seen[("mb_reconcile_last_run_timestamp_seconds", ())] > 0
    answer = client.get("/v1/ops/reconciliation", headers=op).json()
    assert answer["last"]["redelivered"] == 0 and answer["repairs"] == []
    # Someone deletes the procedure's page from the portal's disk.
    (settings.portal_dir / "thu-tuc" / "MB.XD.001.html").unlink()
    disclosure.reconcile(parts)
    assert scrape(client)[("mb_reconcile_repaired_total", portal("portal"))] == 1
    answer = client.get("/v1/ops/reconciliation", headers=op).json()
    assert answer["last"]["redelivered_subjects"] == {"portal": ["procedure:MB.XD.001"]}
    assert [r["redelivered_by_channel"] for r in answer["repairs"]] == [{"portal": 1}]
    # The catch-up of a worker starting is shown, but is not drift: the counter stays.
    disclosure.run_channel(parts, "portal")
    (settings.portal_dir / "thu-tuc" / "MB.XD.001.html").unlink()
    disclosure.reconcile(parts, at_start=True)
    assert scrape(client)[("mb_reconcile_repaired_total", portal("portal"))] == 1
    assert client.get("/v1/ops/reconciliation", headers=op).json()["repairs"][0]["at_start"] is True


def test_redis_down_is_said_and_the_database_still_reported(settings, owner, own_redis_server):
    own = settings.model_copy(update={"redis_url": own_redis_server.url})
    app = create_app(own, owners=OwnerRegistry.single(owner))
    with TestClient(app) as client:
        own_redis_server.stop()
        seen = scrape(client)
    assert seen[("mb_redis_up", ())] == 0
    assert seen[("mb_channel_pending", portal("portal"))] == 0  # from the database, as always


def test_operator_reads_are_for_operators(client):
    editor = bearer(Role.EDITOR, subject="ed", service="notifier")
    for path in ("/v1/ops/workers", "/v1/ops/reconciliation"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers=editor).status_code == 403


def test_a_change_whose_event_is_on_its_way_is_not_counted_missed(client, parts, owner, celery_app, op):
    # Lost: the owner has MB.XD.001 v1, and no event for it will ever come.
    owner.put("procedure", procedure_state("MB.XD.001", 1))
    disclosure.reconcile(parts)
    assert scrape(client)[("mb_reconcile_refetched_total", ())] == 1
    # On its way: MB.XD.002's event waits in the events queue as reconciliation starts,
    # and the events worker ingests it a moment later.
    owner.put("procedure", procedure_state("MB.XD.002", 1))
    celery_app.send_task(
        names.INGEST_TASK, args=[[envelope("procedure", "MB.XD.002", 1)]], queue=names.EVENTS_QUEUE
    )

    def events_worker() -> None:
        time.sleep(0.5)
        with celery_app.connection_for_read() as conn:
            message = conn.SimpleQueue(names.EVENTS_QUEUE).get(timeout=5)
            disclosure.ingest(parts, [envelope("procedure", "MB.XD.002", 1)])
            message.ack()

    worker = threading.Thread(target=events_worker)
    worker.start()
    disclosure.reconcile(parts)
    worker.join()
    assert scrape(client)[("mb_reconcile_refetched_total", ())] == 1
    assert client.get("/v1/ops/reconciliation", headers=op).json()["last"]["fetched"] == 0
