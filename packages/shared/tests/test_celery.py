"""The Celery factory's at-least-once settings, as every service gets them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from minhbach_shared.celery import GC_THRESHOLDS, MAX_COUNTDOWN_S, make_celery
from minhbach_shared.settings import BaseServiceSettings
from minhbach_testing.plugin import RedisServer


def app(redis_url: str = "redis://127.0.0.1:1/0", **settings: object):  # type: ignore[no-untyped-def]
    return make_celery("t", BaseServiceSettings(redis_url=redis_url, **settings), queues=["events", "other"])


def test_late_acks_redelivery_on_worker_loss_prefetch_one_and_one_visibility_timeout() -> None:
    conf = app(visibility_timeout_s=900).conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] == 900
    # Each queue its own exchange: no message reaches two queues.
    assert [(q.name, q.exchange.name, q.routing_key) for q in conf.task_queues] == [
        ("events", "events", "events"),
        ("other", "other", "other"),
    ]


def test_a_visibility_timeout_close_to_the_longest_countdown_is_refused() -> None:
    with pytest.raises(ValueError, match="visibility timeout"):
        app(visibility_timeout_s=MAX_COUNTDOWN_S)


def test_a_countdown_longer_than_the_limit_is_refused_and_never_reaches_redis(
    redis_server: RedisServer,
) -> None:
    celery = app(redis_server.url)
    celery.send_task("anything", queue="events", countdown=MAX_COUNTDOWN_S - 5)  # allowed
    with pytest.raises(ValueError, match="next_attempt_at"):
        celery.send_task("anything", queue="events", countdown=MAX_COUNTDOWN_S * 10)
    redis = redis_server.client()
    assert redis.llen("events") + redis.hlen("unacked") + redis.zcard("unacked_index") == 1


def test_an_owners_periodic_task_reaches_its_queue_by_name_alone(redis_server: RedisServer) -> None:
    """Why the APIs' countdowns name no queue, and why the relay names the events queue."""
    from minhbach_shared import names
    from minhbach_shared.celery import make_owner_celery

    settings = BaseServiceSettings(redis_url=redis_server.url)
    celery = make_owner_celery(
        "procedures", settings, queue=names.PROCEDURES_QUEUE, periodic_task=names.APPLY_DUE_TASK, every_s=15
    )
    celery.send_task(names.APPLY_DUE_TASK, countdown=5)
    redis = redis_server.client()
    assert redis.llen(names.PROCEDURES_QUEUE) == 1
    # The notifier's task is not routed by the owner's app: unnamed, it would stay here.
    celery.send_task(names.INGEST_TASK, args=[[]])
    assert (redis.llen(names.PROCEDURES_QUEUE), redis.llen(names.EVENTS_QUEUE)) == (2, 0)


def test_a_worker_process_collects_garbage_in_large_passes_never_rescanning_its_fork() -> None:
    # In a process of its own: the test's process keeps Python's own collector settings.
    script = """
import gc, json
from celery import signals
from minhbach_shared.celery import make_celery
from minhbach_shared.settings import BaseServiceSettings
make_celery("t", BaseServiceSettings(redis_url="redis://127.0.0.1:1/0"), queues=["q"])
before = (gc.get_threshold(), gc.get_freeze_count())
signals.worker_process_init.send(sender=None)  # what a pool's child sends after the fork
print(json.dumps([before, (gc.get_threshold(), gc.get_freeze_count())]))
"""
    run = [sys.executable, "-c", script]
    out = subprocess.run(run, capture_output=True, text=True, check=True, timeout=60)
    (before, frozen_before), (after, frozen_after) = json.loads(out.stdout)
    assert tuple(before) == (700, 10, 10) and frozen_before == 0
    assert tuple(after) == GC_THRESHOLDS and frozen_after > 10_000
