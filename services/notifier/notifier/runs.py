"""Channel runs: deliver one channel's due rows in one go, record what was shown, back off failures.

The e-mail channel has no ledger and no fan-out: its run sends one message per overdue
reminder, confirmation and briefing, and one per subscription for its pending changes.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy.orm import Session

from minhbach_shared.celery import MAX_COUNTDOWN_S
from notifier import briefing, ledger, subscriptions, weekly_briefing
from notifier import repository as repo
from notifier.broker import running
from notifier.channels.base import Outcome, ReadModel
from notifier.channels.email import EMAIL, BriefingMail, SubscriberMail, change_view
from notifier.ledger import DeliveryStatus, SubjectKey
from notifier.parts import Parts

log = logging.getLogger(__name__)

DISCLOSURE_LATENCY = Histogram(
    "mb_disclosure_latency_seconds",
    "From the event to the channel showing it",
    ["channel"],
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600, 4 * 3600, 24 * 3600),
)
DELIVERIES = Counter("mb_deliveries_total", "Delivery outcomes", ["channel", "outcome"])


@dataclass
class RunReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    superseded: int = 0


@dataclass
class _Outgoing:
    """One e-mail to send and the delivery rows it settles (several when changes coalesce)."""

    rows: list[repo.Delivery]
    job: repo.EmailJob | SubscriberMail | BriefingMail | None
    moot: str | None = None  # why it is not sent at all (the subscription ended meanwhile)


def run_channel(parts: Parts, name: str, *, now: datetime | None = None) -> RunReport:
    """Deliver every due pending row of one channel in one go (index pages once)."""
    # While set, the pump knows the channel's worker is alive and busy, not stalled,
    # and never queues up behind it (a slow external portal can keep a run long).
    with running(parts.dispatcher, name, ttl_s=parts.settings.running_ttl_s):
        return _run_channel(parts, name, now=now)


def _run_channel(parts: Parts, name: str, *, now: datetime | None = None) -> RunReport:
    if name == EMAIL and parts.mailer is not None and name not in parts.channels:
        return _run_email(parts, now=now)
    channel = parts.channel(name)
    report = RunReport()
    # Delete the flag before claiming: a row committed after our SELECT sets it
    # again and queues the next run, so no change waits for the pump.
    parts.dispatcher.clear_channel_flag(name)
    parts.dispatcher.record_run(name)
    with ExitStack() as stack:
        unavailable: str | None = None
        try:
            stack.enter_context(channel.exclusive())
        except OSError as exc:
            # The channel cannot even be locked (its directory is gone, a disk
            # is full): that is a failed attempt of every due row, not a crash.
            unavailable = f"channel unavailable: {type(exc).__name__}: {exc}"
        now = now or parts.clock()
        with Session(parts.engine) as session:
            due = repo.due_deliveries(session, channel=name, now=now, limit=parts.settings.channel_batch_size)
            if not due:
                return report
            disclosed = {k: v for k, (v, _) in repo.disclosed(session, channel=name).items()}
            model = ReadModel(parts.subjects.load(session))
        by_id = {d.id: d for d in due}
        work_refs, superseded = ledger.split_batch(
            [ledger.PendingRef(d.id, d.subject_kind, d.subject_id, d.version) for d in due], disclosed
        )
        work = [by_id[r.delivery_id] for r in work_refs]
        if unavailable is not None:
            outcomes = {d.id: Outcome.failed(unavailable) for d in work}
        else:
            outcomes = channel.deliver(work, model) if work else {}
        done = parts.clock()
        soonest: float | None = None
        with parts.write() as session:
            repo.set_status(session, [r.delivery_id for r in superseded], DeliveryStatus.SUPERSEDED)
            report.superseded = len(superseded)
            sent = [d for d in work if outcomes.get(d.id) is not None and outcomes[d.id].ok]
            repo.mark_sent(session, [d.id for d in sent], now=done)
            for d in sent:
                shown = outcomes[d.id].version or d.version
                repo.raise_ledger(session, channel=name, key=d.key, version=shown, now=done)
                if d.occurred_at is not None:
                    DISCLOSURE_LATENCY.labels(name).observe(max((done - d.occurred_at).total_seconds(), 0))
            report.sent = len(sent)
            for d in work:
                outcome = outcomes.get(d.id)
                if outcome is not None and outcome.ok:
                    continue
                error = outcome.error if outcome is not None and outcome.error else "no outcome"
                asked = outcome.retry_after_s if outcome is not None else None
                wait = _record_failure(parts, session, name, d, error, done, report, not_before_s=asked)
                if wait is not None:
                    soonest = wait if soonest is None else min(soonest, wait)
            session.commit()
    return _finish_run(parts, name, report, due=len(due), soonest=soonest)


def _finish_run(parts: Parts, name: str, report: RunReport, *, due: int, soonest: float | None) -> RunReport:
    DELIVERIES.labels(name, "sent").inc(report.sent)
    DELIVERIES.labels(name, "failed").inc(report.failed)
    DELIVERIES.labels(name, "dead").inc(report.dead)
    DELIVERIES.labels(name, "superseded").inc(report.superseded)
    if due >= parts.settings.channel_batch_size:
        parts.dispatcher.enqueue_channel(name)
    if soonest is not None and soonest <= MAX_COUNTDOWN_S:
        parts.dispatcher.retry_channel(name, soonest)
    log.info("channel run", extra={"channel": name, **report.__dict__})
    return report


def _record_failure(
    parts: Parts,
    session: Session,
    name: str,
    d: repo.Delivery,
    error: str,
    done: datetime,
    report: RunReport,
    *,
    not_before_s: float | None = None,
) -> float | None:
    """Back the row off, or make it dead past max_attempts; the wait in seconds, None when dead.

    not_before_s: the other side asked us to wait (Retry-After); never sooner than that.
    """
    attempts = d.attempts + 1
    dead = ledger.is_dead(attempts, parts.settings.max_attempts_of(name))
    next_at = ledger.next_attempt_at(
        done,
        attempts,
        base_s=parts.settings.retry_base_s,
        cap_s=parts.settings.retry_cap_s,
        rng=parts.rng,
    )
    if not_before_s is not None:
        next_at = max(next_at, done + timedelta(seconds=not_before_s))
    repo.mark_failed(
        session,
        d.id,
        attempts=attempts,
        status=DeliveryStatus.DEAD if dead else DeliveryStatus.PENDING,
        next_at=next_at,
        error=error,
    )
    if dead:
        report.dead += 1
        log.error("delivery is dead", extra={"delivery": d.id, "channel": name, "error": error})
        return None
    report.failed += 1
    return (next_at - done).total_seconds()


def _run_email(parts: Parts, *, now: datetime | None = None) -> RunReport:
    """Send every due e-mail, each marked sent (or backed off) in its own transaction.

    The channel.email worker runs with concurrency 1: nothing else sends these rows.
    A crash between the server's acceptance and the commit resends that one message
    once, with the same Message-ID. A subscriber's pending change rows leave as one
    message, settled together.
    """
    assert parts.mailer is not None
    mailer, report, soonest = parts.mailer, RunReport(), None
    parts.dispatcher.clear_channel_flag(EMAIL)
    parts.dispatcher.record_run(EMAIL)
    now = now or parts.clock()
    with Session(parts.engine) as session:
        due = repo.due_deliveries(session, channel=EMAIL, now=now, limit=parts.settings.channel_batch_size)
        outgoing = _outgoing(parts, session, due)
    smtp: smtplib.SMTP | None = None
    down: str | None = None  # the server cannot be reached: the rest of the batch waits
    try:
        for message in outgoing:
            error: str | None = None
            if message.moot is not None:
                with parts.write() as session:
                    repo.set_status(session, [d.id for d in message.rows], DeliveryStatus.SUPERSEDED)
                    session.commit()
                report.superseded += len(message.rows)
                continue
            if message.job is None:
                error = "no e-mail behind this delivery"
            elif down is not None:
                error = down
            else:
                try:
                    if smtp is None:
                        try:
                            smtp = mailer.connect()
                        except OSError as exc:
                            down = error = f"SMTP unavailable: {type(exc).__name__}: {exc}"
                    if smtp is not None:
                        mailer.send(smtp, message.job)
                except OSError as exc:  # smtplib.SMTPException included
                    error = f"{type(exc).__name__}: {exc}"
                    _close(smtp)
                    smtp = None
            with parts.write() as session:
                done = parts.clock()
                if error is None:
                    repo.mark_sent(session, [d.id for d in message.rows], now=done)
                    report.sent += len(message.rows)
                    for d in message.rows:
                        if d.occurred_at is not None:
                            DISCLOSURE_LATENCY.labels(EMAIL).observe(
                                max((done - d.occurred_at).total_seconds(), 0)
                            )
                else:
                    for d in message.rows:
                        wait = _record_failure(parts, session, EMAIL, d, error, done, report)
                        if wait is not None:
                            soonest = wait if soonest is None else min(soonest, wait)
                session.commit()
    finally:
        _close(smtp)
    if not due:
        return report
    return _finish_run(parts, EMAIL, report, due=len(due), soonest=soonest)


def _outgoing(parts: Parts, session: Session, due: Sequence[repo.Delivery]) -> list[_Outgoing]:
    """The messages behind the due rows: one per overdue row and per confirmation, and
    one per subscription for all its pending change rows (due or not yet)."""
    overdue = repo.email_jobs(session, due)
    briefings = repo.briefing_rows(session, due)
    digests: dict[str, briefing.Digest] = {}
    subscriber = repo.subscriber_rows(session, due)
    changes_of = sorted(
        {r.subscription.id for r in subscriber.values() if r.kind == subscriptions.MailKind.CHANGES}
    )
    pending = repo.pending_change_rows(session, changes_of)
    grouped = repo.subscriber_rows(session, pending)
    by_subscription: dict[int, list[repo.Delivery]] = {}
    for d in pending:
        by_subscription.setdefault(grouped[d.id].subscription.id, []).append(d)
    states = repo.get_subjects(session, [d.key for d in pending])
    portal_url = parts.settings.portal_url
    out: list[_Outgoing] = []
    for d in due:
        if d.id in overdue:
            out.append(_Outgoing([d], overdue[d.id]))
            continue
        if d.id in briefings:
            week, recipient = briefings[d.id]
            if week not in digests:
                digests[week] = weekly_briefing.digest(parts, session, briefing.parse_week(week))
            out.append(_Outgoing([d], BriefingMail(recipient, digests[week])))
            continue
        row = subscriber.get(d.id)
        if row is None:
            out.append(_Outgoing([d], None))
            continue
        sub = row.subscription
        if row.kind == subscriptions.MailKind.CONFIRM:
            moot = None if sub.status == subscriptions.SubscriptionStatus.PENDING else sub.status
            out.append(_Outgoing([d], _mail(sub, row.kind, f"confirm.{d.id}"), moot))
            continue
        rows = by_subscription.pop(sub.id, None)
        if rows is None:
            continue  # already in this subscription's message
        newest: dict[SubjectKey, repo.Delivery] = {}
        for r in rows:
            if r.key not in newest or r.version > newest[r.key].version:
                newest[r.key] = r
        changes = [change_view(states[k], portal_url) for k in sorted(newest) if k in states]
        moot = None if sub.status == subscriptions.SubscriptionStatus.ACTIVE else sub.status
        if not changes:
            moot = moot or "nothing to tell"
        out.append(_Outgoing(rows, _mail(sub, row.kind, f"changes.{sub.id}.{rows[0].id}", changes), moot))
    return out


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except OSError:
        smtp.close()


def _mail(
    sub: repo.Subscription, kind: str, key: str, changes: list[dict[str, Any]] | None = None
) -> SubscriberMail:
    return SubscriberMail(
        kind=kind,
        recipient=sub.email,
        target_kind=sub.target_kind,
        target_key=sub.target_key,
        target_label=sub.target_label,
        token=sub.token,
        message_key=key,
        changes=changes or [],
    )
