"""Channel work on Redis/Celery: coalesced enqueueing, short retries, queue inspection."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import UTC, datetime
from typing import Any, Protocol

from redis.exceptions import LockError, RedisError

from minhbach_shared import names
from minhbach_shared.celery import MAX_COUNTDOWN_S, SENT_AT_HEADER, WORKER_GONE_AFTER_S, seen_workers

log = logging.getLogger(__name__)

# While this flag is set a channel task is already waiting: a burst of changes
# costs one task, not one per change. The task deletes it before it claims rows.
# Short, so a flag whose message died with a worker delays the pump by seconds only.
FLAG_TTL_S = 10
RUNS_KEY = "mb:notifier:channel-runs"
# When each channel's last run started (epoch seconds): a channel nobody runs shows here.
LAST_RUN_KEY = "mb:notifier:channel-last-run"
# When each channel last delivered something (epoch seconds).
LAST_SUCCESS_KEY = "mb:notifier:channel-last-success"


def queued_flag(channel: str) -> str:
    return f"mb:channel:{channel}:queued"


def retry_flag(channel: str) -> str:
    return f"mb:channel:{channel}:retry"


def running_flag(channel: str) -> str:
    return f"mb:channel:{channel}:running"


def lock_key(channel: str) -> str:
    return f"mb:channel:{channel}:lock"


@contextmanager
def channel_lock(redis: Any, channel: str, *, ttl_s: float) -> Iterator[None]:
    """One run of `channel` at a time, on any number of hosts (redis-py's Lock).

    The lock lives `ttl_s` and a thread renews it every third of that while the run
    lasts: a worker killed -9 stops renewing and the channel is free again within
    `ttl_s`. Mutual exclusion only: what keeps a run that lost its lock (paused past the
    TTL) from recording its work is the fencing token in the database (take_fence).
    """
    lock = redis.lock(lock_key(channel), timeout=ttl_s, sleep=0.05, thread_local=False)
    lock.acquire(blocking=True)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl_s / 3):
            try:
                lock.extend(ttl_s, replace_ttl=True)
            except LockError:  # it lapsed: the fencing token keeps this run from recording
                log.warning("channel lock lost mid-run", extra={"channel": channel})
                return
            except RedisError:  # away for a moment: try again; if it lapses, we lose it
                log.warning("could not renew the channel lock", extra={"channel": channel}, exc_info=True)

    renewal = threading.Thread(target=renew, name=f"lock-{channel}", daemon=True)
    renewal.start()
    try:
        yield
    finally:
        stop.set()
        renewal.join()
        with suppress(LockError, RedisError):  # lapsed, or Redis away: its TTL ends it
            lock.release()


class Dispatcher(Protocol):
    def enqueue_channel(self, channel: str) -> bool: ...
    def clear_channel_flag(self, channel: str) -> None: ...
    def retry_channel(self, channel: str, countdown_s: float) -> None: ...
    def lock(self, channel: str, *, ttl_s: float) -> AbstractContextManager[None]: ...
    def record_run(self, channel: str) -> None: ...
    def record_success(self, channel: str) -> None: ...
    def mark_running(self, channel: str, *, ttl_s: float) -> None: ...
    def clear_running(self, channel: str) -> None: ...
    def is_running(self, channel: str) -> bool: ...
    # What operators see (GET /v1/ops/queues, /metrics): per-queue depth, age, unacked
    # and consumers, Redis's unacked set, channel runs so far and when, the workers.
    def queue_stats(
        self, queues: list[str], *, workers: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]: ...
    def unacked(self) -> int: ...
    def runs(self) -> dict[str, int]: ...
    def last_runs(self) -> dict[str, float]: ...
    def last_successes(self) -> dict[str, float]: ...
    def workers(self) -> list[dict[str, Any]]: ...


@contextmanager
def running(dispatcher: Dispatcher, channel: str, *, ttl_s: float) -> Iterator[None]:
    """Flag `channel` as running for as long as this block runs, renewed by a heartbeat.

    The flag lives `ttl_s` and a thread renews it every third of that: a run may take
    as long as it must (an external portal timing out, item after item), and a worker
    killed -9 mid-run stops renewing, so its flag lapses within `ttl_s` and the pump's
    stall rescue takes the channel over (a fixed TTL had to outlast the longest run).
    """
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(ttl_s / 3):
            dispatcher.mark_running(channel, ttl_s=ttl_s)

    dispatcher.mark_running(channel, ttl_s=ttl_s)
    heartbeat = threading.Thread(target=renew, name=f"running-{channel}", daemon=True)
    heartbeat.start()
    try:
        yield
    finally:
        stop.set()
        heartbeat.join()
        dispatcher.clear_running(channel)


class CeleryDispatcher:
    def __init__(self, *, celery: Any, redis: Any) -> None:
        self.celery = celery
        self.redis = redis

    def _send(self, channel: str, **options: Any) -> None:
        self.celery.send_task(
            names.channel_task(channel),
            queue=names.channel_queue(channel),
            **options,
        )

    def enqueue_channel(self, channel: str) -> bool:
        """Queue one run of `channel` unless one is already waiting; True when sent."""
        flag = queued_flag(channel)
        try:
            if not self.redis.set(flag, 1, nx=True, ex=FLAG_TTL_S):
                return False
            self._send(channel)
            return True
        except Exception:
            # The rows are committed: the pump finds them within pump_interval_s.
            log.warning(
                "could not queue channel work; the pump will", exc_info=True, extra={"channel": channel}
            )
            try:
                self.redis.delete(flag)
            except Exception:
                log.debug("could not clear the channel flag", exc_info=True)
            return False

    def clear_channel_flag(self, channel: str) -> None:
        self.redis.delete(queued_flag(channel))

    def retry_channel(self, channel: str, countdown_s: float) -> None:
        """A short wait rides a Celery countdown; longer ones wait for the pump."""
        countdown = max(0.0, min(countdown_s, MAX_COUNTDOWN_S))
        try:
            if self.redis.set(retry_flag(channel), 1, nx=True, ex=max(1, int(countdown) + 1)):
                self._send(channel, countdown=countdown)
        except Exception:
            log.warning("could not schedule a channel retry; the pump will", exc_info=True)

    def record_run(self, channel: str) -> None:
        try:
            pipe = self.redis.pipeline()
            pipe.hincrby(RUNS_KEY, channel, 1)
            pipe.hset(LAST_RUN_KEY, channel, time.time())
            pipe.execute()
        except Exception:
            log.debug("could not count the channel run", exc_info=True)

    def mark_running(self, channel: str, *, ttl_s: float) -> None:
        """A run of `channel` is under way (a worker killed mid-run leaves it until the TTL)."""
        try:
            self.redis.set(running_flag(channel), 1, px=max(1, int(ttl_s * 1000)))
        except Exception:
            log.debug("could not mark the channel running", exc_info=True)

    def clear_running(self, channel: str) -> None:
        try:
            self.redis.delete(running_flag(channel))
        except Exception:
            log.debug("could not clear the channel running flag", exc_info=True)

    def is_running(self, channel: str) -> bool:
        try:
            return bool(self.redis.exists(running_flag(channel)))
        except Exception:
            return False  # Redis unreachable: rescue, as before

    def runs(self) -> dict[str, int]:
        return {k.decode(): int(v) for k, v in self.redis.hgetall(RUNS_KEY).items()}

    def lock(self, channel: str, *, ttl_s: float) -> AbstractContextManager[None]:
        return channel_lock(self.redis, channel, ttl_s=ttl_s)

    def record_success(self, channel: str) -> None:
        try:
            self.redis.hset(LAST_SUCCESS_KEY, channel, time.time())
        except Exception:
            log.debug("could not record the channel's success", exc_info=True)

    def last_runs(self) -> dict[str, float]:
        return {k.decode(): float(v) for k, v in self.redis.hgetall(LAST_RUN_KEY).items()}

    def last_successes(self) -> dict[str, float]:
        return {k.decode(): float(v) for k, v in self.redis.hgetall(LAST_SUCCESS_KEY).items()}

    def workers(self) -> list[dict[str, Any]]:
        """Every worker seen lately, by name: its queues and how long since its last beat."""
        now = time.time()
        return [
            {
                "name": name,
                "queues": entry["queues"],
                "pid": entry["pid"],
                "seen_at": datetime.fromtimestamp(entry["seen_at"], UTC),
                "age_s": round(max(now - entry["seen_at"], 0.0), 1),
                "online": now - entry["seen_at"] <= WORKER_GONE_AFTER_S,
            }
            for name, entry in sorted(seen_workers(self.redis).items())
        ]

    def queue_stats(
        self, queues: list[str], *, workers: list[dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """Each queue's depth (LLEN), its oldest message's age (when it says when it was
        sent), its messages held unacknowledged by a worker, and its live consumers (of
        `workers`, when the caller read them already)."""
        unacked = self._unacked_by_queue()
        online = [w for w in (self.workers() if workers is None else workers) if w["online"]]
        return [
            {
                **self._depth_and_age(queue),
                "unacked": unacked.get(queue, 0),
                "consumers": sum(1 for w in online if queue in w["queues"]),
            }
            for queue in queues
        ]

    def _unacked_by_queue(self) -> dict[str, int]:
        # kombu keeps each unacknowledged message as [payload, exchange, routing_key];
        # our routing key is the queue's name (minhbach_shared.celery). A handful of rows:
        # one per busy worker process, plus countdowns under a minute.
        counts: dict[str, int] = {}
        for raw in self.redis.hvals("unacked"):
            try:
                routing_key = json.loads(raw)[2]
            except (TypeError, ValueError, IndexError):
                continue
            counts[routing_key] = counts.get(routing_key, 0) + 1
        return counts

    def _depth_and_age(self, queue: str) -> dict[str, Any]:
        depth = int(self.redis.llen(queue))
        oldest_age_s: float | None = None
        if depth:
            # kombu pushes on the left and pops on the right: the oldest is last.
            raw = self.redis.lindex(queue, -1)
            try:
                headers = json.loads(raw).get("headers") or {}
                published = headers.get(SENT_AT_HEADER)
                if published:
                    sent = datetime.fromisoformat(published)
                    oldest_age_s = max(0.0, (datetime.now(UTC) - sent).total_seconds())
            except (TypeError, ValueError, AttributeError):
                oldest_age_s = None
        return {"queue": queue, "depth": depth, "oldest_age_s": oldest_age_s}

    def unacked(self) -> int:
        return int(self.redis.hlen("unacked"))
