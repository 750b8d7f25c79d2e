"""The Celery app factory: at-least-once delivery, the same way in every service."""

from __future__ import annotations

import gc
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from celery import Celery
from kombu import Exchange, Queue  # type: ignore[attr-defined]

from minhbach_shared.observability import configure_logging, install_celery_correlation
from minhbach_shared.settings import BaseServiceSettings

# Celery countdowns and ETAs sit in Redis' unacked set; one longer than the
# visibility timeout would be delivered again. Anything longer than this lives in
# the database (next_attempt_at) and a periodic task picks it up.
MAX_COUNTDOWN_S = 60

# The collector's young generation, then how many of its passes make one of the next.
# Python's defaults (700, 10, 10) suit a small program: a channel worker holds its
# catalogue (~500,000 objects at 10,000 procedures) and allocates freely as it renders,
# and at 100 changes a second its collections were 6-9 % of its CPU (bench.load).
GC_THRESHOLDS = (50_000, 20, 20)

# Every message says when it was sent (an ISO time): the age of a queue's oldest message.
SENT_AT_HEADER = "mb_published_at"
# Every worker writes {queues, pid, seen_at} under its name here every HEARTBEAT_EVERY_S:
# a queue's consumers are the workers seen within WORKER_GONE_AFTER_S that consume it.
WORKERS_KEY = "mb:workers"
HEARTBEAT_EVERY_S = 10.0
WORKER_GONE_AFTER_S = 30.0
# A worker killed -9 never says goodbye: its entry is dropped after an hour.
WORKER_FORGOTTEN_AFTER_S = 3600.0


def make_celery(
    name: str,
    settings: BaseServiceSettings,
    *,
    queues: Iterable[str],
    task_routes: Mapping[str, dict[str, str]] | None = None,
    beat_schedule: Mapping[str, dict[str, Any]] | None = None,
    include: Iterable[str] = (),
) -> Celery:
    if settings.visibility_timeout_s <= MAX_COUNTDOWN_S * 2:
        raise ValueError("visibility timeout must be well above MAX_COUNTDOWN_S")
    app = AtLeastOnceCelery(name, broker=settings.redis_url, include=list(include))
    app.conf.update(
        # At least once: acknowledge after the task ran, and give the message back
        # if the worker process dies under it. Tasks are idempotent.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One message at a time per process, on every queue, each for its own reason:
        # events: a message is a batch of up to 200 envelopes, and a second one held
        # by a busy process would wait while another process idles; channel.*: one
        # run drains every due row, so a held message is a redundant run; the
        # notifier's pump and reconcile expire, so a held one goes stale; the owners'
        # own queues are short schedule ticks. And a worker killed -9 holds back one.
        worker_prefetch_multiplier=1,
        broker_transport_options={
            "visibility_timeout": settings.visibility_timeout_s,
            "socket_timeout": 5,
            "socket_connect_timeout": 5,
            "retry_on_timeout": True,
        },
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        task_publish_retry=True,
        task_publish_retry_policy={"max_retries": 5, "interval_start": 0.1, "interval_step": 0.5},
        # Each queue its own direct exchange and routing key: no message can reach two queues.
        task_queues=[Queue(q, Exchange(q, type="direct"), routing_key=q) for q in queues],  # type: ignore[no-untyped-call]
        task_default_queue=next(iter(queues)),
        task_routes=dict(task_routes or {}),
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        timezone="UTC",
        enable_utc=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,  # for Flower
        task_send_sent_event=True,
        beat_schedule=dict(beat_schedule or {}),
    )
    install_celery_correlation(app)
    install_queue_telemetry(app)
    install_gc_tuning()
    return app


def tune_gc() -> None:
    """Collect less often, and never scan again what the process holds now (its modules
    and app, brought by the fork): cyclic garbage is still collected, only in larger passes."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def install_gc_tuning() -> None:
    """tune_gc in each worker process (the pool's children, after the fork)."""
    from celery import signals

    signals.worker_process_init.connect(lambda **_: tune_gc(), weak=False, dispatch_uid="mb-gc")


def install_queue_telemetry(app: Celery) -> None:
    """Stamp every message with its send time, and make the app's workers beat in Redis."""
    from celery import signals

    @signals.before_task_publish.connect(weak=False, dispatch_uid="mb-sent-at")  # type: ignore[untyped-decorator]
    def _stamp(headers: dict[str, Any] | None = None, **_: Any) -> None:
        if headers is not None:
            headers.setdefault(SENT_AT_HEADER, datetime.now(UTC).isoformat())

    @signals.worker_ready.connect(weak=False)  # type: ignore[untyped-decorator]
    def _ready(sender: Any, **_: Any) -> None:
        if sender.app is app:
            heartbeat = WorkerHeartbeat(
                app.conf.broker_url, sender.hostname, sorted(app.amqp.queues.consume_from)
            )
            heartbeat.start()
            signals.worker_shutdown.connect(lambda **_: heartbeat.stop(), weak=False)


class WorkerHeartbeat:
    """A worker's entry in WORKERS_KEY, renewed by a thread until the worker stops."""

    def __init__(self, redis_url: str, hostname: str, queues: list[str]) -> None:
        from redis import Redis

        self.redis = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
        self.hostname = hostname
        self.queues = queues
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mb-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        try:
            self.redis.hdel(WORKERS_KEY, self.hostname)  # gone on purpose: no alert
        except Exception:
            logging.getLogger(__name__).debug("could not remove the heartbeat", exc_info=True)

    def beat(self) -> None:
        now = time.time()
        entry = {"queues": self.queues, "pid": os.getpid(), "seen_at": now}
        self.redis.hset(WORKERS_KEY, self.hostname, json.dumps(entry))
        forgotten = [
            name
            for name, seen in seen_workers(self.redis).items()
            if now - seen["seen_at"] > WORKER_FORGOTTEN_AFTER_S
        ]
        if forgotten:
            self.redis.hdel(WORKERS_KEY, *forgotten)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.beat()
            except Exception:  # Redis away: the next beat tries again
                logging.getLogger(__name__).debug("heartbeat not written", exc_info=True)
            self._stop.wait(HEARTBEAT_EVERY_S)


def seen_workers(redis: Any) -> dict[str, dict[str, Any]]:
    """Every worker's last heartbeat by name: {queues, pid, seen_at (epoch seconds)}."""
    out: dict[str, dict[str, Any]] = {}
    for name, raw in redis.hgetall(WORKERS_KEY).items():
        try:
            entry = json.loads(raw)
            out[name.decode() if isinstance(name, bytes) else name] = {
                "queues": list(entry["queues"]),
                "pid": int(entry.get("pid", 0)),
                "seen_at": float(entry["seen_at"]),
            }
        except (TypeError, ValueError, KeyError):
            continue
    return out


class AtLeastOnceCelery(Celery):  # type: ignore[misc]
    """Celery that refuses a countdown or ETA longer than MAX_COUNTDOWN_S when sending.

    Task.apply_async and Task.retry send through here too.
    """

    def send_task(self, name: str, *args: Any, **options: Any) -> Any:
        refuse_long_waits(options.get("countdown"), options.get("eta"))
        return super().send_task(name, *args, **options)


def make_owner_celery(
    service: str, settings: BaseServiceSettings, *, queue: str, periodic_task: str, every_s: float
) -> Celery:
    """An owning service's app: its own queue, and one periodic task (beat) routed to it.

    The tasks live in `<service>.tasks`; the relay sends to the notifier with the same app.
    """
    return make_celery(
        service,
        settings,
        queues=[queue],
        task_routes={periodic_task: {"queue": queue}},
        beat_schedule={periodic_task: {"task": periodic_task, "schedule": every_s}},
        include=[f"{service}.tasks"],
    )


def refuse_long_waits(countdown: float | None, eta: datetime | None) -> None:
    """No message may wait in Redis longer than MAX_COUNTDOWN_S (it would come twice)."""
    wait_s = countdown
    if eta is not None:
        wait_s = (eta if eta.tzinfo else eta.replace(tzinfo=UTC)).timestamp() - datetime.now(UTC).timestamp()
    if wait_s is not None and wait_s > MAX_COUNTDOWN_S + 1:  # run_early_if_soon adds a second
        raise ValueError(
            f"a countdown of {wait_s:.0f} s is longer than {MAX_COUNTDOWN_S} s; keep longer "
            "schedules in the database (next_attempt_at) for a periodic task to pick up"
        )


def run_early_if_soon(
    send: Callable[[float], None] | None, at: datetime | None, *, now: datetime, what: str
) -> None:
    """Send a periodic job's task by countdown when `at` is under MAX_COUNTDOWN_S away, so a
    scheduled change happens on time rather than at the next beat tick; beat stays the net."""
    if send is None or at is None:
        return
    wait_s = (at - now).total_seconds()
    if 0 < wait_s <= MAX_COUNTDOWN_S:
        try:
            send(wait_s + 1)  # a second late rather than a tick early
        except Exception:  # beat does it within its interval anyway
            logging.getLogger(__name__).warning("could not send the countdown for %s", what, exc_info=True)


def backoff_countdown(attempt: int, *, base_s: float = 0.5, cap_s: float = MAX_COUNTDOWN_S) -> float:
    """Exponential backoff with full jitter, capped below the visibility timeout."""
    import random

    return random.uniform(0, min(cap_s, base_s * 2**attempt))


def use_service_logging(service: str, settings: BaseServiceSettings) -> None:
    """Make a worker or beat log as the service does (JSON, correlation id), not as Celery would."""
    from celery import signals

    @signals.setup_logging.connect(weak=False)  # type: ignore[untyped-decorator]
    def _setup(**_: Any) -> None:
        configure_logging(service=service, level=settings.log_level, json_logs=settings.log_json)
