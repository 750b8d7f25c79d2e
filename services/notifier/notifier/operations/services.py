"""Operators' actions (retry a delivery, resync a channel) and the reads behind the API and reports."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from minhbach_shared.http import Conflict, NotFound
from notifier.disclosure import repository as repo
from notifier.disclosure.domain import Delivery, DeliveryStatus, latency_summary
from notifier.hotline import repository as hotline_repo
from notifier.parts import Parts

log = logging.getLogger(__name__)


def retry_delivery(parts: Parts, delivery_id: int) -> Delivery:
    """Deliver a dead or pending row again, now."""
    with parts.write() as session:
        delivery = repo.get_delivery(session, delivery_id)
        if delivery is None:
            raise NotFound(f"no delivery {delivery_id}")
        if delivery.status not in (DeliveryStatus.DEAD, DeliveryStatus.PENDING):
            raise Conflict(
                f"delivery {delivery_id} is {delivery.status}; only dead or pending ones can be retried",
                [{"field": "status", "message": delivery.status}],
            )
        repo.reschedule(session, delivery_id, now=parts.clock())
        session.commit()
        updated = repo.get_delivery(session, delivery_id)
    parts.dispatcher.enqueue_channel(delivery.channel)
    assert updated is not None
    return updated


def retry_channel(parts: Parts, name: str) -> int:
    """Deliver every dead and failed row of a channel again, now (as `retry_delivery`, each).

    Failed means pending after at least one attempt (it is backing off); a pending row
    never tried is left alone: it is already due. Answers how many rows were retried.
    """
    if name not in parts.queued():
        raise NotFound(f"unknown channel: {name}", [{"field": "name", "message": "unknown"}])
    with parts.write() as session:
        now = parts.clock()
        ids = repo.failed_ids(session, channel=name)
        for delivery_id in ids:
            repo.reschedule(session, delivery_id, now=now)
        session.commit()
    if ids:
        parts.dispatcher.enqueue_channel(name)
    log.info("channel retry", extra={"channel": name, "deliveries": len(ids)})
    return len(ids)


def resync(parts: Parts, name: str) -> int:
    """Forget what the channel shows and deliver every subject of the read model again."""
    kinds = parts.channel(name).kinds
    with parts.write() as session:
        now = parts.clock()
        repo.forget_ledger(session, channel=name)
        subjects = [s for s in repo.all_subjects(session) if s.kind in kinds]
        pending = [repo.NewDelivery(name, s.key, s.version, now) for s in subjects]
        repo.add_deliveries(session, pending, now=now)
        session.commit()
    parts.dispatcher.enqueue_channel(name)
    log.info("channel resync", extra={"channel": name, "subjects": len(subjects)})
    return len(subjects)


def _redis_times(read: Any) -> dict[str, datetime]:
    """{channel: time} from the dispatcher, or nothing while Redis is away (the rest stands)."""
    try:
        return {k: datetime.fromtimestamp(v, UTC) for k, v in read().items()}
    except Exception:
        log.warning("channel run times unreadable", exc_info=True)
        return {}


def channel_status(parts: Parts) -> list[dict[str, Any]]:
    """Each queued channel's health, lag, backlog, dead rows, last run and last success."""
    now = parts.clock()
    last_runs = _redis_times(parts.dispatcher.last_runs)
    last_successes = _redis_times(parts.dispatcher.last_successes)
    out = []
    with Session(parts.engine) as session:
        for name in parts.queued():
            stats = repo.channel_stats(session, channel=name)
            oldest = stats["oldest_pending_at"]
            if oldest is not None and oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=UTC)
            lag = max((now - oldest).total_seconds(), 0.0) if oldest else 0.0
            health = "failing" if stats["failing"] else "degraded" if stats["dead"] else "ok"
            out.append(
                {
                    "name": name,
                    "health": health,
                    "lag_s": lag,
                    "backlog": stats["backlog"],
                    "failed": stats["failing"],
                    "dead": stats["dead"],
                    "last_run_at": last_runs.get(name),
                    "last_success_at": last_successes.get(name),
                }
            )
    return out


def queues(parts: Parts, names: list[str]) -> dict[str, Any]:
    """Every queue's depth, oldest message, unacknowledged messages and consumers."""
    dispatcher = parts.dispatcher
    channel_of = {f"channel.{c}": c for c in parts.queued()}
    dead = {c["name"]: c["dead"] for c in channel_status(parts)}
    return {
        "queues": [
            {**stats, "dead_letters": dead.get(channel_of.get(stats["queue"], ""), 0)}
            for stats in dispatcher.queue_stats(names)
        ],
        "unacked": dispatcher.unacked(),
        "channel_runs": dispatcher.runs(),
    }


def workers(parts: Parts) -> list[dict[str, Any]]:
    """Every Celery worker seen in the last hour: its queues, and whether it beats now."""
    return parts.dispatcher.workers()


def reconciliation(parts: Parts) -> dict[str, Any]:
    """The last reconciliation round, and the latest rounds that repaired something."""
    with Session(parts.engine) as session:
        return {"last": repo.last_reconcile(session), "repairs": repo.reconcile_repairs(session)}


def list_deliveries(
    parts: Parts,
    *,
    status: str | None,
    channel: str | None,
    subject_kind: str | None = None,
    subject_id: str | None = None,
    page: int,
    size: int,
) -> tuple[list[Delivery], int]:
    with Session(parts.engine) as session:
        return repo.page_deliveries(
            session,
            status=status,
            channel=channel,
            subject_kind=subject_kind,
            subject_id=subject_id,
            offset=(page - 1) * size,
            limit=size,
        )


def disclosure_report(parts: Parts) -> dict[str, Any]:
    """What each channel shows of each subject, what is stale or missing, how fast it got there."""
    with Session(parts.engine) as session:
        subjects = repo.all_subjects(session)
        disclosed = {name: repo.disclosed_since(session, channel=name) for name in parts.channels}
        latency = {name: latency_summary(repo.latencies(session, channel=name)) for name in parts.channels}
        overdue = hotline_repo.overdue_stats(session)
    rows: list[dict[str, Any]] = []
    stale: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    for s in subjects:
        cells: dict[str, Any] = {}
        for name in parts.showing(s.key):
            held = disclosed[name].get(s.key)
            version, at = held if held else (None, None)
            state = "missing" if version is None else "stale" if version < s.version else "current"
            cells[name] = {"version": version, "disclosed_at": at, "state": state}
            item = {
                "channel": name,
                "kind": s.kind,
                "id": s.id,
                "version": s.version,
                "disclosed": version,
            }
            if state == "missing":
                missing.append(item)
            elif state == "stale":
                stale.append(item)
        rows.append({"kind": s.kind, "id": s.id, "version": s.version, "channels": cells})
    return {
        "generated_at": parts.clock(),
        "channels": list(parts.channels),
        "subjects": rows,
        "stale": stale,
        "missing": missing,
        "time_to_disclose": latency,
        "ticket_overdue": overdue,
    }
