"""/metrics: whether the public sees the truth, read from the database and Redis at each scrape.

Worker processes hold no metrics anyone scrapes (a Celery worker has no HTTP server, and
its pool children come and go): what they did is in the database (deliveries, reconcile
rounds) and Redis (queues, runs, heartbeats), so the API reports it, the same from any of
its replicas. The names are the alert rules' contract (deploy/prometheus/alerts.yml).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session

from notifier.disclosure import repository as repo
from notifier.disclosure.domain import percentile
from notifier.parts import Parts

log = logging.getLogger(__name__)

# Disclosure lag quantiles cover the deliveries sent in this window, the newest of them
# at most (a scrape reads a bounded range however busy the channel was).
LAG_WINDOW = timedelta(minutes=5)
LAG_SAMPLE = 2000


def _gauge(name: str, doc: str, label: str, values: dict[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


class NotifierCollector(Collector):
    def __init__(self, parts: Parts, redis: Any, queues: Sequence[str]) -> None:
        self.parts = parts
        self.redis = redis
        self.queues = list(queues)

    def collect(self) -> Iterator[Metric]:
        yield from self._from_redis()
        try:
            yield from self._from_database()
        except Exception:  # mb_database_up says so; no made-up numbers
            log.warning("notifier database unreadable for /metrics", exc_info=True)

    def _from_redis(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("mb_redis_up", "1 when Redis (broker and flags) answers")
        try:
            self.redis.ping()
            dispatcher = self.parts.dispatcher
            workers = dispatcher.workers()
            stats = dispatcher.queue_stats(self.queues, workers=workers)
            last_runs = dispatcher.last_runs()
            last_successes = dispatcher.last_successes()
        except Exception:
            log.warning("Redis unreachable for /metrics", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        by_queue = {s["queue"]: s for s in stats}
        depth = {q: s["depth"] for q, s in by_queue.items()}
        yield _gauge("mb_queue_depth", "Messages waiting", "queue", depth)
        yield _gauge(
            "mb_queue_oldest_age_seconds",
            "Age of the oldest waiting message (0: none)",
            "queue",
            {q: s["oldest_age_s"] or 0.0 for q, s in by_queue.items()},
        )
        yield _gauge(
            "mb_queue_unacked",
            "Messages a worker took and has not acknowledged",
            "queue",
            {q: s["unacked"] for q, s in by_queue.items()},
        )
        yield _gauge(
            "mb_queue_consumers",
            "Live workers consuming the queue (heartbeats)",
            "queue",
            {q: s["consumers"] for q, s in by_queue.items()},
        )
        yield _gauge(
            "mb_worker_heartbeat_age_seconds",
            "Seconds since each worker's last heartbeat",
            "worker",
            {w["name"]: w["age_s"] for w in workers},
        )
        channels = self.parts.queued()
        yield _gauge(
            "mb_channel_last_run_timestamp_seconds",
            "When the channel's last run started (Unix time)",
            "channel",
            {c: last_runs[c] for c in channels if c in last_runs},
        )
        yield _gauge(
            "mb_channel_last_success_timestamp_seconds",
            "When the channel last delivered something (Unix time)",
            "channel",
            {c: last_successes[c] for c in channels if c in last_successes},
        )

    def _from_database(self) -> Iterator[Metric]:
        parts = self.parts
        now = parts.clock()
        pending: dict[str, float] = {}
        failed: dict[str, float] = {}
        dead: dict[str, float] = {}
        oldest: dict[str, float] = {}
        lag = GaugeMetricFamily(
            "mb_disclosure_lag_seconds",
            f"Change to disclosure, deliveries sent in the last {int(LAG_WINDOW.total_seconds())} s",
            labels=["channel", "quantile"],
        )
        with Session(parts.engine) as session:
            for name in parts.queued():
                stats = repo.channel_stats(session, channel=name)
                pending[name] = stats["backlog"]
                failed[name] = stats["failing"]
                dead[name] = stats["dead"]
                since = stats["oldest_pending_at"]
                oldest[name] = _age_s(now, since)
                recent = repo.sent_between(
                    session, channel=name, start=now - LAG_WINDOW, end=now, limit=LAG_SAMPLE
                )
                if recent:
                    for q in ("0.5", "0.99"):
                        lag.add_metric([name, q], percentile(recent, float(q) * 100) or 0.0)
            repaired, fetched = repo.repaired_totals(session)
            last = repo.last_reconcile(session)
        yield _gauge("mb_channel_pending", "Deliveries waiting", "channel", pending)
        yield _gauge("mb_channel_failed", "Waiting deliveries that failed at least once", "channel", failed)
        yield _gauge("mb_channel_dead", "Deliveries given up on (an operator retries them)", "channel", dead)
        yield _gauge(
            "mb_channel_oldest_pending_age_seconds",
            "Age of the oldest waiting delivery (0: none)",
            "channel",
            oldest,
        )
        yield lag
        counter = CounterMetricFamily(
            "mb_reconcile_repaired",
            "Subjects a channel had lost that reconciliation delivered again",
            labels=["channel"],
        )
        for name in parts.channels:
            counter.add_metric([name], repaired.get(name, 0))
        yield counter
        refetched = CounterMetricFamily(
            "mb_reconcile_refetched",
            "Subjects reconciliation fetched before (or without) their event",
        )
        refetched.add_metric([], fetched)
        yield refetched
        if last is not None:
            ts = GaugeMetricFamily(
                "mb_reconcile_last_run_timestamp_seconds", "When the last reconciliation round ended"
            )
            ts.add_metric([], last["finished_at"].timestamp())
            yield ts


def _age_s(now: datetime, since: datetime | None) -> float:
    if since is None:
        return 0.0
    if since.tzinfo is None:  # an aggregate (min) comes back naive on SQLite
        since = since.replace(tzinfo=UTC)
    return max((now - since).total_seconds(), 0.0)
