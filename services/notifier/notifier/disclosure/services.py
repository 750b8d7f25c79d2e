"""Disclosure's use cases: take events in, deliver each channel's due rows, and the backstops.

Ingest fetches each changed subject from its owner once and, in one transaction, writes
the read model, the seen events and one delivery row per channel (and per subscriber
e-mail); the channels' queues are told after the commit. A channel run delivers every
due row of one channel in one go, records what was shown in the ledger and backs
failures off; the e-mail channel has no ledger and no fan-out: its run sends one message
per overdue reminder, confirmation and briefing, and one per subscription for its
pending changes. The pump queues channels with due rows (and delivers for a stalled
worker); the reconciler finds what events missed and what channels lost, and repairs it.
"""

from __future__ import annotations

import logging
import smtplib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter, Histogram
from pydantic import ValidationError
from sqlalchemy.orm import Session

from minhbach_shared import names
from minhbach_shared.celery import MAX_COUNTDOWN_S
from minhbach_shared.events import Envelope, EventType, Subject
from minhbach_shared.observability import correlation_id
from notifier.briefing import domain as briefing
from notifier.briefing import repository as briefing_repo
from notifier.briefing import services as briefing_services
from notifier.broker import running
from notifier.channels.base import Channel, ReadModel, audited, reads_catalogue
from notifier.channels.email import EMAIL, BriefingMail, SubscriberMail, change_view
from notifier.disclosure import repository as repo
from notifier.disclosure.domain import (
    Delivery,
    DeliveryStatus,
    EventRef,
    PendingRef,
    SubjectKey,
    fresh_events,
    in_parts,
    is_dead,
    is_stale,
    newest_per_subject,
    next_attempt_at,
    split_batch,
)
from notifier.hotline import domain as hotline
from notifier.hotline import repository as hotline_repo
from notifier.hotline import services as hotline_services
from notifier.hotline.domain import EmailJob, OverdueNotice, ReplyJob, ReplyNotice
from notifier.owners import BATCH_SIZE, OwnerClient
from notifier.parts import Parts
from notifier.subscriptions import domain as subscriptions
from notifier.subscriptions import repository as subscriptions_repo
from notifier.subscriptions import services as subscriptions_services
from notifier.subscriptions.domain import Subscription

log = logging.getLogger(__name__)


# -- events in ---------------------------------------------------------------------------

EVENTS = Counter("mb_events_total", "Events ingested", ["outcome"])
# Events that are reminders, not disclosures: recorded for the channels that act on
# them (email), never fetched or rendered, never touching the subject's version.
NOTICES = frozenset({EventType.TICKET_OVERDUE, EventType.TICKET_ANSWERED})
# Kinds whose owner's 404 means "no longer public": a subject already shown is replaced
# by a withdrawn state (its page says so) instead of being left as it was.
WITHDRAWABLE = frozenset({hotline.TICKET})
# Each kind's state is cut down to the fields the channels may show before it is stored.
SHAPES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {hotline.TICKET: hotline.public_answer}


@dataclass
class IngestReport:
    invalid: int = 0
    duplicates: int = 0
    stale: int = 0
    dropped: int = 0
    notices: int = 0
    changed: list[SubjectKey] = field(default_factory=list)


@dataclass(frozen=True)
class Target:
    """A subject to fetch: at least this version, when its change happened, whose request caused it."""

    version: int
    occurred_at: datetime | None
    correlation_id: str | None


def ingest(parts: Parts, raw_envelopes: Sequence[Any]) -> IngestReport:
    """Take a batch of envelopes; fetch each changed subject once; fan out to channels."""
    report = IngestReport()
    refs: list[EventRef] = []
    notice_envelopes: dict[str, Envelope] = {}
    for raw in raw_envelopes:
        try:
            envelope = Envelope.model_validate(raw)
        except ValidationError as exc:
            report.invalid += 1
            log.warning("invalid envelope dropped", extra={"errors": exc.errors(include_url=False)[:5]})
            continue
        if envelope.type in NOTICES:
            notice_envelopes[str(envelope.id)] = envelope
        refs.append(
            EventRef(
                event_id=str(envelope.id),
                kind=envelope.subject.kind.value,
                subject_id=envelope.subject.id,
                version=envelope.version,
                occurred_at=envelope.occurred_at,
                correlation_id=envelope.correlation_id,
            )
        )
    if not refs:
        EVENTS.labels("invalid").inc(report.invalid)
        return report
    with Session(parts.engine) as session:
        fresh = fresh_events(refs, repo.seen_ids(session, [r.event_id for r in refs]))
        newest = newest_per_subject(r for r in fresh if r.event_id not in notice_envelopes)
        held = repo.subject_versions(session, list(newest))
    held_notices = [notice_envelopes[r.event_id] for r in fresh if r.event_id in notice_envelopes]
    notices = [_notice(e) for e in held_notices if e.type is EventType.TICKET_OVERDUE]
    replies = [r for r in (_reply(e) for e in held_notices if e.type is EventType.TICKET_ANSWERED) if r]
    report.notices = len(notices) + len(replies)
    report.duplicates = len(refs) - len(fresh)
    targets = {
        key: Target(e.version, e.occurred_at, e.correlation_id)
        for key, e in newest.items()
        if not is_stale(e.version, held.get(key))
    }
    report.stale = len(newest) - len(targets)
    # A large decision is taken in parts: each part is fetched, written and handed to the
    # channels before the next is fetched, so they show the first part while its owner
    # serves the next (a decision of 1,000 reached every channel ~1 s sooner). What was seen
    # is recorded with the last part: a retry after a failed part fetches again only the
    # parts not yet written (the others are then held at their version: stale).
    in_order = in_parts(targets, BATCH_SIZE)  # an owner's batch at a time
    for number, part in enumerate(in_order, start=1):
        last = number == len(in_order)
        changed, dropped = refresh(
            parts,
            {key: targets[key] for key in part},
            seen=[e.event_id for e in fresh] if last else [],
            notices=notices if last else (),
            replies=replies if last else (),
        )
        report.changed += changed
        report.dropped += dropped
    if any(r.kind == hotline.TICKET for r in fresh):
        # Tickets changed (published, withdrawn, overdue): so did the statistics.
        # Best effort: the reconciler refreshes them too.
        try:
            hotline_services.refresh_statistics(parts)
        except Exception:
            log.warning("hotline statistics not refreshed; reconcile will", exc_info=True)
    for outcome, n in (
        ("invalid", report.invalid),
        ("duplicate", report.duplicates),
        ("stale", report.stale),
    ):
        EVENTS.labels(outcome).inc(n)
    EVENTS.labels("applied").inc(len(report.changed))
    log.info(
        "ingested",
        extra={
            "events": len(refs),
            "changed": len(report.changed),
            "duplicates": report.duplicates,
            "stale": report.stale,
            "dropped": report.dropped,
            "notices": len(notices),
        },
    )
    return report


def refresh(
    parts: Parts,
    targets: Mapping[SubjectKey, Target],
    *,
    seen: Sequence[str],
    notices: Sequence[OverdueNotice] = (),
    replies: Sequence[ReplyNotice] = (),
) -> tuple[list[SubjectKey], int]:
    """Fetch current state once per subject, then in one transaction: read model + deliveries."""
    fetched: dict[SubjectKey, tuple[int, dict[str, Any], datetime | None]] = {}
    gone: dict[SubjectKey, Target] = {}
    dropped = 0
    # httpx errors propagate: the task retries and nothing has been written.
    for key, target, state in _fetch(parts, targets):
        if state is None:
            if key[0] in WITHDRAWABLE:
                gone[key] = target  # withdrawn if we hold it; dropped if we never did
                continue
            log.warning("owner has no such subject (404); dropped", extra={"subject": key})
            dropped += 1
            continue
        if (shape := SHAPES.get(key[0])) is not None:
            state = shape(state)
        # The owner may already be past the event: what it returns is what we show.
        fetched[key] = (int(state.get("version") or target.version), state, target.occurred_at)
    dropped += sum(1 for key in targets if parts.owners.for_kind(key[0]) is None)
    if not seen and not fetched and not gone and not notices and not replies:
        return [], dropped
    now = parts.clock()
    changed: list[SubjectKey] = []
    emails = 0
    with parts.write() as session:
        repo.mark_seen(session, seen, now=now)
        # One e-mail per recipient of each overdue event recorded now (not before).
        for notice in hotline_repo.add_overdue(session, notices, now=now):
            for recipient in parts.mailer.recipients(notice.data) if parts.mailer else ():
                hotline_repo.add_email(session, notice=notice, recipient=recipient, channel=EMAIL, now=now)
                emails += 1
        # The citizen's one reply e-mail per answer (a ticket already answered is skipped).
        for reply in hotline_repo.add_replies(session, replies, now=now) if parts.mailer else ():
            hotline_repo.add_email(session, notice=reply, recipient=reply.reply_to, channel=EMAIL, now=now)
            emails += 1
        held = repo.subject_versions(session, [*fetched, *gone])
        for key, target in gone.items():
            if key not in held:
                log.info("owner has no such subject (404), never shown; dropped", extra={"subject": key})
                dropped += 1
            elif target.version > held[key]:
                log.info("owner no longer publishes it (404): withdrawn", extra={"subject": key})
                fetched[key] = (
                    target.version,
                    hotline.withdrawn(key[1], target.version),
                    target.occurred_at,
                )
        new_deliveries: list[repo.NewDelivery] = []
        for key, (version, state, occurred_at) in fetched.items():
            if is_stale(version, held.get(key)):
                continue
            repo.upsert_subject(
                session, key=key, version=version, state=state, now=now, occurred_at=occurred_at
            )
            new_deliveries += [repo.NewDelivery(c, key, version, occurred_at) for c in parts.showing(key)]
            changed.append(key)
        repo.add_deliveries(session, new_deliveries, now=now)
        followers = subscriptions_services.tell_followers(
            parts, session, [(k, fetched[k]) for k in changed], now=now
        )
        session.commit()
    needed = {name for key in changed for name in parts.showing(key)}
    for channel in [name for name in parts.channels if name in needed]:  # registry order: portal first
        parts.dispatcher.enqueue_channel(channel)
    if emails:
        parts.dispatcher.enqueue_channel(EMAIL)
    if followers:
        # Their rows wait subscriber_delay_s (a burst becomes one e-mail); past 60 s the pump.
        parts.dispatcher.retry_channel(EMAIL, parts.settings.subscriber_delay_s)
    return changed, dropped


def _fetch(
    parts: Parts, targets: Mapping[SubjectKey, Target]
) -> Iterator[tuple[SubjectKey, Target, dict[str, Any] | None]]:
    """Each target's current state from its owner: in batches where the owner serves
    many in one request (a burst of 200 procedures is one round trip), else one by one.
    Each request carries the correlation id of the request that caused the change."""
    by_owner: dict[int, list[SubjectKey]] = {}
    owners: dict[int, OwnerClient] = {}
    for key in targets:
        owner = parts.owners.for_kind(key[0])
        if owner is None:
            log.info("no owner for this kind yet; dropped", extra={"subject": key})
            continue
        owners[id(owner)] = owner
        by_owner.setdefault(id(owner), []).append(key)
    for ref, keys in by_owner.items():
        owner = owners[ref]
        fetch_many = getattr(owner, "fetch_many", None)
        size = BATCH_SIZE if fetch_many is not None else 1
        for start in range(0, len(keys), size):
            chunk = keys[start : start + size]
            token = correlation_id.set(targets[chunk[0]].correlation_id or correlation_id.get())
            try:
                if fetch_many is not None:
                    states = fetch_many([Subject(kind=k[0], id=k[1]) for k in chunk])
                else:
                    states = [owner.fetch(Subject(kind=chunk[0][0], id=chunk[0][1]))]
            finally:
                correlation_id.reset(token)
            for key, state in zip(chunk, states, strict=True):
                yield key, targets[key], state


def _notice(envelope: Envelope) -> OverdueNotice:
    return OverdueNotice(
        event_id=str(envelope.id),
        ticket_id=envelope.subject.id,
        version=envelope.version,
        data=hotline.overdue_data(envelope.data),
        occurred_at=envelope.occurred_at,
    )


def _reply(envelope: Envelope) -> ReplyNotice | None:
    """The answered event's reply; None when it names no address (nothing to send)."""
    reply_to = envelope.data.get("reply_to")
    if not isinstance(reply_to, str) or "@" not in reply_to:
        return None
    return ReplyNotice(
        event_id=str(envelope.id),
        ticket_id=envelope.subject.id,
        version=envelope.version,
        reply_to=reply_to.strip(),
        data=hotline.reply_data(envelope.data),
        occurred_at=envelope.occurred_at,
    )


# -- channel runs ------------------------------------------------------------------------

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

    rows: list[Delivery]
    job: EmailJob | ReplyJob | SubscriberMail | BriefingMail | None
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
    # One run of a channel at a time, on any host: its lock in Redis, and a fencing token
    # that the transaction recording the run's work checks (broker.channel_lock).
    with parts.dispatcher.lock(name, ttl_s=parts.settings.channel_lock_ttl_s):
        with parts.write() as session:
            fence = repo.take_fence(session, channel=name)
            session.commit()
        now = now or parts.clock()
        with Session(parts.engine) as session:
            due = repo.due_deliveries(session, channel=name, now=now, limit=parts.settings.channel_batch_size)
            if not due:
                return report
            disclosed = repo.disclosed(session, channel=name, keys=[d.key for d in due])
            work_refs, superseded = split_batch(
                [PendingRef(d.id, d.subject_kind, d.subject_id, d.version) for d in due], disclosed
            )
            # One row per subject, its newest: the read model holds at least that version.
            at_least = {r.key: r.version for r in work_refs}
            model = (
                parts.subjects.load(session, at_least=at_least)
                if reads_catalogue(channel)
                else repo.read_model_of(session, list(at_least))
            )
        by_id = {d.id: d for d in due}
        work = [by_id[r.delivery_id] for r in work_refs]
        outcomes = channel.deliver(work, model) if work else {}
        done = parts.clock()
        soonest: float | None = None
        with parts.write() as session:
            if not repo.fence_holds(session, channel=name, token=fence):
                # Our lock lapsed (a pause past its TTL) and a newer run took the channel:
                # it records; our rows stay due and the next run settles them.
                log.warning("channel lock lost mid-run; nothing recorded", extra={"channel": name})
                return report
            repo.set_status(session, [r.delivery_id for r in superseded], DeliveryStatus.SUPERSEDED)
            report.superseded = len(superseded)
            sent = [d for d in work if outcomes.get(d.id) is not None and outcomes[d.id].ok]
            repo.mark_sent(session, [d.id for d in sent], now=done)
            for d in sent:
                if d.occurred_at is not None:
                    DISCLOSURE_LATENCY.labels(name).observe(max((done - d.occurred_at).total_seconds(), 0))
            shown = {d.key: outcomes[d.id].version or d.version for d in sent}  # one row per subject
            repo.raise_ledger(session, channel=name, versions=shown, now=done)
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
    if report.sent:
        parts.dispatcher.record_success(name)
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
    d: Delivery,
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
    dead = is_dead(attempts, parts.settings.max_attempts_of(name))
    next_at = next_attempt_at(
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
                    # A refusal often quotes the address: stored without it (stored_error).
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


def _outgoing(parts: Parts, session: Session, due: Sequence[Delivery]) -> list[_Outgoing]:
    """The messages behind the due rows: one per overdue row and per confirmation, and
    one per subscription for all its pending change rows (due or not yet)."""
    overdue = hotline_repo.email_jobs(session, due)
    replies = hotline_repo.reply_jobs(session, due)
    briefings = briefing_repo.briefing_rows(session, due)
    digests: dict[str, briefing.Digest] = {}
    subscriber = subscriptions_repo.subscriber_rows(session, due)
    changes_of = sorted(
        {r.subscription.id for r in subscriber.values() if r.kind == subscriptions.MailKind.CHANGES}
    )
    pending = subscriptions_repo.pending_change_rows(session, changes_of)
    grouped = subscriptions_repo.subscriber_rows(session, pending)
    by_subscription: dict[int, list[Delivery]] = {}
    for d in pending:
        by_subscription.setdefault(grouped[d.id].subscription.id, []).append(d)
    states = repo.get_subjects(session, [d.key for d in pending])
    portal_url = parts.settings.portal_url
    out: list[_Outgoing] = []
    for d in due:
        if d.id in overdue:
            out.append(_Outgoing([d], overdue[d.id]))
            continue
        if d.id in replies:
            out.append(_Outgoing([d], replies[d.id]))
            continue
        if d.id in briefings:
            week, recipient = briefings[d.id]
            if week not in digests:
                digests[week] = briefing_services.digest(parts, session, briefing.parse_week(week))
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
        newest: dict[SubjectKey, Delivery] = {}
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
    sub: Subscription, kind: str, key: str, changes: list[dict[str, Any]] | None = None
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


# -- the backstops -----------------------------------------------------------------------

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
            run_channel(parts, name)
    return queued


def reconcile(parts: Parts, *, at_start: bool = False) -> ReconcileReport:
    """Compare owners' versions, the read model, the ledger and what channels show; repair.

    Each round is recorded (reconcile_runs): the operator's page and /metrics say what it
    repaired; `at_start` marks the catch-up of a worker starting, which is not drift.
    """
    started = time.perf_counter()
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
        withdrawable = [s for kind in WITHDRAWABLE for s in repo.subjects_of_kind(session, kind)]
    targets = {
        key: Target(version, None, None)
        for key, version in wanted.items()
        if not is_stale(version, held.get(key))
    }
    # Shown as public but no longer in its owner's list (its event was lost): fetch
    # it again; a 404 then withdraws it. The owner bumps the version of every
    # publication change, so its real version is at least one past what we hold.
    for s in withdrawable:
        if parts.owners.kinds.get(s.kind) in answered and s.key not in wanted and hotline.is_public(s.state):
            targets[s.key] = Target(s.version + 1, None, None)
    if targets and not at_start:
        targets = _not_on_their_way(parts, targets)
    # One refresh per owner: an owner that answers versions() but fails a fetch
    # (down since, or a 5xx) must not hold back another owner's subjects.
    by_owner: dict[str, dict[SubjectKey, Target]] = {}
    for key, target in targets.items():
        by_owner.setdefault(parts.owners.kinds.get(key[0], ""), {})[key] = target
    for name, owned in by_owner.items():
        try:
            fetched, _ = refresh(parts, owned, seen=[])
            report.fetched.extend(fetched)
        except Exception:
            log.warning("reconcile could not fetch; next round will", exc_info=True, extra={"owner": name})
            report.unreachable.append(name)
    if parts.owners.kinds.get(hotline.TICKET) in answered:
        try:
            report.statistics = hotline_services.refresh_statistics(parts)
        except Exception:
            log.warning("hotline statistics not refreshed; next round will", exc_info=True)
    for name in parts.channels:
        report.redelivered[name] = _repair_channel(parts, name)
    with parts.write() as session:
        now = parts.clock()
        repo.prune_seen(session, before=now - SEEN_EVENTS_KEPT)
        repo.record_reconcile(
            session,
            fetched=report.fetched,
            redelivered=report.redelivered,
            unreachable=report.unreachable,
            at_start=at_start,
            now=now,
        )
        session.commit()
    # A round reads every subject's version and every page back: its cost grows with the
    # catalogue, so how long it took is logged whatever it found.
    took = time.perf_counter() - started
    log.info(
        "reconciled",
        extra={
            "seconds": round(took, 3),
            "fetched": len(report.fetched),
            "redelivered": {k: len(v) for k, v in report.redelivered.items()},
            "unreachable": report.unreachable,
        },
    )
    return report


def _not_on_their_way(parts: Parts, targets: dict[SubjectKey, Target]) -> dict[SubjectKey, Target]:
    """The targets still behind once the events already queued have been ingested.

    An owner's change whose event is still on its way is not lost: its event brings it
    in a moment. Waiting (a few seconds at most) for the events queue to drain, then
    reading the read model again, leaves what really was missed, which is what the round
    records as fetched (and what the "events missed" alert counts).
    """
    # Idle twice in a row: a message between its pop from the queue and its entry in the
    # unacknowledged set (kombu writes one after the other) is in neither for an instant.
    deadline, idle = time.monotonic() + parts.settings.reconcile_grace_s, 0
    while idle < 2 and time.monotonic() < deadline:
        idle = 0 if _events_in_flight(parts) else idle + 1
        if idle < 2:
            time.sleep(0.1)
    with Session(parts.engine) as session:
        held = repo.subject_versions(session, list(targets))
    return {key: t for key, t in targets.items() if not is_stale(t.version, held.get(key))}


def _events_in_flight(parts: Parts) -> bool:
    try:
        [events] = parts.dispatcher.queue_stats([names.EVENTS_QUEUE])
    except Exception:  # Redis away: nothing to wait for that we could see
        return False
    return bool(events["depth"] or events["unacked"])


def _repair_channel(parts: Parts, name: str) -> list[SubjectKey]:
    """Redeliver subjects the channel does not really show at the read model's version."""
    channel = parts.channels[name]
    if not audited(channel):
        return []  # it cannot be read back: nothing to compare, no lock to wait for
    # First without the channel's lock or a write transaction: reading every page back
    # takes a while at 10,000 procedures, and holding both that long held every change
    # back for as long (a second of delay every round under load). A run writes its pages
    # before it records them, so a page read after the ledger shows at least what the
    # ledger says. Only when something looks lost or owed is it read again, locked.
    with Session(parts.engine) as session:
        ledger = _ledger(parts, session, name)
    # The pages are read after the read transaction ends: on SQLite a reader holding its
    # snapshot for the seconds this takes under load keeps the WAL from being checkpointed
    # while every writer goes on appending to it.
    lost, owed = _lost_and_owed(channel, *ledger)
    if not lost and not owed:
        return []
    log.info(
        "channel looks behind; reading it again under its lock",
        extra={"channel": name, "lost": len(lost), "owed": len(owed)},
    )
    with parts.dispatcher.lock(name, ttl_s=parts.settings.channel_lock_ttl_s), parts.write() as session:
        now = parts.clock()
        model, disclosed, open_rows = _ledger(parts, session, name)
        lost, owed = _lost_and_owed(channel, model, disclosed, open_rows)
        repo.forget_ledger(session, channel=name, keys=lost)
        repo.add_deliveries(
            session, [repo.NewDelivery(name, k, model.by_key[k].version, now) for k in owed], now=now
        )
        session.commit()
    if owed:
        parts.dispatcher.enqueue_channel(name)
    return owed


def _ledger(
    parts: Parts, session: Session, name: str
) -> tuple[ReadModel, dict[SubjectKey, int], dict[SubjectKey, int]]:
    """The read model, what the ledger says the channel shows, and its deliveries on their way."""
    return (
        parts.subjects.load(session),
        repo.disclosed(session, channel=name),
        repo.open_versions(session, channel=name),
    )


def _lost_and_owed(
    channel: Channel, model: ReadModel, disclosed: dict[SubjectKey, int], open_rows: dict[SubjectKey, int]
) -> tuple[list[SubjectKey], list[SubjectKey]]:
    """What the ledger says is shown but is not (lost), and what the channel does not really
    show at the read model's version with no delivery on its way (owed)."""
    shown = channel.shown_versions(model)
    lost = [k for k, v in disclosed.items() if k in shown and (shown[k] or 0) < v]
    owed = [
        key
        for key, subject in model.by_key.items()
        if key in shown
        and min(disclosed.get(key, 0), shown[key] or 0) < subject.version
        and open_rows.get(key, 0) < subject.version
    ]
    return lost, owed
