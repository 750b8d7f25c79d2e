"""The periodic backstops: the pump queues channels with due rows (and delivers for a
stalled worker); the reconciler finds what events missed and what channels lost, and repairs it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from notifier import hotline, ingest, ledger, runs
from notifier import repository as repo
from notifier.channels.base import ReadModel, audited
from notifier.ledger import SubjectKey
from notifier.parts import Parts

log = logging.getLogger(__name__)

SEEN_EVENTS_KEPT = timedelta(days=30)


@dataclass
class ReconcileReport:
    fetched: list[SubjectKey] = field(default_factory=list)
    redelivered: dict[str, list[SubjectKey]] = field(default_factory=dict)
    unreachable: list[str] = field(default_factory=list)
    statistics: bool = False


def pump(parts: Parts, *, now: datetime | None = None) -> list[str]:
    """Queue every channel that has due pending rows (a lost message costs one interval).

    A channel whose rows have been due for longer than `channel_stall_s` is delivered
    here, under the channel's lock: its worker is gone or deaf. (A Celery worker idle
    on Redis when Redis restarts can reconnect and never consume again: celery#8030.)
    Not while a run of it is under way: that worker is alive, only slow (an external
    portal), and waiting for its lock here would hold back this worker's ingest.
    """
    now = now or parts.clock()
    with Session(parts.engine) as session:
        oldest = {name: repo.oldest_due(session, channel=name, now=now) for name in parts.queued()}
    due = [name for name, since in oldest.items() if since is not None]
    queued = [name for name in due if parts.dispatcher.enqueue_channel(name)]
    stall = timedelta(seconds=parts.settings.channel_stall_s)
    for name in due:
        since = oldest[name]
        if since is not None and now - since > stall and not parts.dispatcher.is_running(name):
            log.warning(
                "channel worker stalled; the pump delivers",
                extra={"channel": name, "due_for_s": round((now - since).total_seconds(), 1)},
            )
            runs.run_channel(parts, name)
    return queued


def reconcile(parts: Parts) -> ReconcileReport:
    """Compare owners' versions, the read model, the ledger and what channels show; repair."""
    report = ReconcileReport()
    wanted: dict[SubjectKey, int] = {}
    answered: set[str] = set()
    for name, owner in parts.owners.owners.items():
        try:
            versions = owner.versions()
        except Exception:
            log.warning("owner unreachable; reconcile skips it", exc_info=True, extra={"owner": name})
            report.unreachable.append(name)
            continue
        answered.add(name)
        for kind, subject_id, version in versions:
            if parts.owners.for_kind(kind) is owner:
                wanted[(kind, subject_id)] = version
    with Session(parts.engine) as session:
        held = repo.subject_versions(session)
        withdrawable = [s for kind in ingest.WITHDRAWABLE for s in repo.subjects_of_kind(session, kind)]
    targets = {
        key: ingest.Target(version, None, None)
        for key, version in wanted.items()
        if not ledger.is_stale(version, held.get(key))
    }
    # Shown as public but no longer in its owner's list (its event was lost): fetch
    # it again; a 404 then withdraws it. The owner bumps the version of every
    # publication change, so its real version is at least one past what we hold.
    for s in withdrawable:
        if parts.owners.kinds.get(s.kind) in answered and s.key not in wanted and hotline.is_public(s.state):
            targets[s.key] = ingest.Target(s.version + 1, None, None)
    # One refresh per owner: an owner that answers versions() but fails a fetch
    # (down since, or a 5xx) must not hold back another owner's subjects.
    by_owner: dict[str, dict[SubjectKey, ingest.Target]] = {}
    for key, target in targets.items():
        by_owner.setdefault(parts.owners.kinds.get(key[0], ""), {})[key] = target
    for name, owned in by_owner.items():
        try:
            fetched, _ = ingest.refresh(parts, owned, seen=[])
            report.fetched.extend(fetched)
        except Exception:
            log.warning("reconcile could not fetch; next round will", exc_info=True, extra={"owner": name})
            report.unreachable.append(name)
    if parts.owners.kinds.get(hotline.TICKET) in answered:
        try:
            report.statistics = ingest.refresh_statistics(parts)
        except Exception:
            log.warning("hotline statistics not refreshed; next round will", exc_info=True)
    for name in parts.channels:
        report.redelivered[name] = _repair_channel(parts, name)
    with parts.write() as session:
        repo.prune_seen(session, before=parts.clock() - SEEN_EVENTS_KEPT)
        session.commit()
    if report.fetched or any(report.redelivered.values()):
        log.info(
            "reconciled",
            extra={
                "fetched": len(report.fetched),
                "redelivered": {k: len(v) for k, v in report.redelivered.items()},
            },
        )
    return report


def _repair_channel(parts: Parts, name: str) -> list[SubjectKey]:
    """Redeliver subjects the channel does not really show at the read model's version."""
    channel = parts.channels[name]
    repaired: list[SubjectKey] = []
    if not audited(channel):
        return repaired  # it cannot be read back: nothing to compare, no lock to wait for
    with channel.exclusive(), parts.write() as session:
        now = parts.clock()
        model = ReadModel(parts.subjects.load(session))
        disclosed = {k: v for k, (v, _) in repo.disclosed(session, channel=name).items()}
        open_rows = repo.open_versions(session, channel=name)
        shown = channel.shown_versions(model)
        lost = [k for k, v in disclosed.items() if k in shown and (shown[k] or 0) < v]
        repo.forget_ledger(session, channel=name, keys=lost)
        for key, subject in model.by_key.items():
            if key not in shown:
                continue
            really = min(disclosed.get(key, 0), shown[key] or 0)
            if really < subject.version and open_rows.get(key, 0) < subject.version:
                repo.add_delivery(
                    session, channel=name, key=key, version=subject.version, now=now, occurred_at=now
                )
                repaired.append(key)
        session.commit()
    if repaired:
        parts.dispatcher.enqueue_channel(name)
    return repaired
