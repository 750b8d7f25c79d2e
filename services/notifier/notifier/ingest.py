"""Ingest: take events, fetch each changed subject from its owner once, store it, fan out.

One transaction writes the read model, the seen events and one delivery row per channel
(and per subscriber e-mail); the channels' queues are told after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy.orm import Session

from minhbach_shared.events import Envelope, EventType, Subject
from minhbach_shared.observability import correlation_id
from notifier import hotline, ledger, subscriptions
from notifier import repository as repo
from notifier.channels.email import EMAIL
from notifier.ledger import EventRef, SubjectKey
from notifier.owners import BATCH_SIZE, OwnerClient
from notifier.parts import Parts

log = logging.getLogger(__name__)

EVENTS = Counter("mb_events_total", "Events ingested", ["outcome"])
# Events that are reminders, not disclosures: recorded for the channels that act on
# them (email), never fetched or rendered, never touching the subject's version.
NOTICES = frozenset({EventType.TICKET_OVERDUE})
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
        fresh = ledger.fresh_events(refs, repo.seen_ids(session, [r.event_id for r in refs]))
        newest = ledger.newest_per_subject(r for r in fresh if r.event_id not in notice_envelopes)
        held = repo.subject_versions(session, list(newest))
    notices = [_notice(notice_envelopes[r.event_id]) for r in fresh if r.event_id in notice_envelopes]
    report.notices = len(notices)
    report.duplicates = len(refs) - len(fresh)
    targets = {
        key: Target(e.version, e.occurred_at, e.correlation_id)
        for key, e in newest.items()
        if not ledger.is_stale(e.version, held.get(key))
    }
    report.stale = len(newest) - len(targets)
    changed, dropped = refresh(parts, targets, seen=[e.event_id for e in fresh], notices=notices)
    report.changed, report.dropped = changed, dropped
    if any(r.kind == hotline.TICKET for r in fresh):
        # Tickets changed (published, withdrawn, overdue): so did the statistics.
        # Best effort: the reconciler refreshes them too.
        try:
            refresh_statistics(parts)
        except Exception:
            log.warning("hotline statistics not refreshed; reconcile will", exc_info=True)
    for outcome, n in (
        ("invalid", report.invalid),
        ("duplicate", report.duplicates),
        ("stale", report.stale),
    ):
        EVENTS.labels(outcome).inc(n)
    EVENTS.labels("applied").inc(len(changed))
    log.info(
        "ingested",
        extra={
            "events": len(refs),
            "changed": len(changed),
            "duplicates": report.duplicates,
            "stale": report.stale,
            "dropped": dropped,
            "notices": len(notices),
        },
    )
    return report


def refresh(
    parts: Parts,
    targets: Mapping[SubjectKey, Target],
    *,
    seen: Sequence[str],
    notices: Sequence[repo.OverdueNotice] = (),
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
    if not seen and not fetched and not gone and not notices:
        return [], dropped
    now = parts.clock()
    changed: list[SubjectKey] = []
    emails = 0
    with parts.write() as session:
        repo.mark_seen(session, seen, now=now)
        # One e-mail per recipient of each overdue event recorded now (not before).
        for notice in repo.add_overdue(session, notices, now=now):
            for recipient in parts.mailer.recipients(notice.data) if parts.mailer else ():
                repo.add_email(session, notice=notice, recipient=recipient, channel=EMAIL, now=now)
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
        for key, (version, state, occurred_at) in fetched.items():
            if ledger.is_stale(version, held.get(key)):
                continue
            repo.upsert_subject(
                session, key=key, version=version, state=state, now=now, occurred_at=occurred_at
            )
            for channel in parts.showing(key):
                repo.add_delivery(
                    session, channel=channel, key=key, version=version, now=now, occurred_at=occurred_at
                )
            changed.append(key)
        followers = _tell_followers(parts, session, [(k, fetched[k]) for k in changed], now=now)
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


def _tell_followers(
    parts: Parts,
    session: Session,
    changed: Sequence[tuple[SubjectKey, tuple[int, dict[str, Any], datetime | None]]],
    *,
    now: datetime,
) -> int:
    """One pending e-mail row per active subscription a changed procedure concerns.

    The rows wait `subscriber_delay_s`; all pending rows of one subscription then
    leave as one e-mail, so a decision changing fifty procedures of a field is one mail.
    """
    procedures = [(key, v) for key, v in changed if key[0] == subscriptions.PROCEDURE]
    if not procedures or parts.mailer is None:
        return 0
    active = repo.active_targets(session)
    if not active:
        return 0
    due_at = now + timedelta(seconds=parts.settings.subscriber_delay_s)
    rows = 0
    for key, (version, state, occurred_at) in procedures:
        for subscription_id in subscriptions.followers(state, key[1], active):
            repo.add_subscriber_email(
                session,
                subscription_id=subscription_id,
                kind=subscriptions.MailKind.CHANGES,
                key=key,
                version=version,
                channel=EMAIL,
                now=now,
                due_at=due_at,
                occurred_at=occurred_at,
            )
            rows += 1
    return rows


def refresh_statistics(parts: Parts) -> bool:
    """Fetch the hotline's public statistics; store and deliver them when they changed."""
    owner = parts.owners.for_kind(hotline.TICKET)
    document = getattr(owner, "document", None)
    if document is None:
        return False
    body = document(hotline.STATISTICS_DOCUMENT)
    if not isinstance(body, dict):
        return False
    state = hotline.public_statistics(body)
    key = hotline.STATISTICS_KEY
    with parts.write() as session:
        held = repo.get_subject(session, key)
        if held is not None and held.state == state:
            return False
        version = (held.version if held else 0) + 1
        now = parts.clock()
        repo.upsert_subject(session, key=key, version=version, state=state, now=now, occurred_at=now)
        for channel in parts.showing(key):
            repo.add_delivery(session, channel=channel, key=key, version=version, now=now, occurred_at=now)
        session.commit()
    for channel in parts.showing(key):
        parts.dispatcher.enqueue_channel(channel)
    return True


def _notice(envelope: Envelope) -> repo.OverdueNotice:
    return repo.OverdueNotice(
        event_id=str(envelope.id),
        ticket_id=envelope.subject.id,
        version=envelope.version,
        data=hotline.overdue_data(envelope.data),
        occurred_at=envelope.occurred_at,
    )
