"""Queries on the disclosure tables: seen events, the read model, deliveries and the ledger.

Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import bisect
import functools
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from notifier.channels.base import ReadModel
from notifier.db import (
    channel_fences,
    chunks,
    deliveries,
    keyed,
    ledger,
    reconcile_runs,
    seen_events,
    subjects,
    upsert,
)
from notifier.disclosure.domain import Delivery, DeliveryStatus, SubjectKey, SubjectState, stored_error

PENDING = DeliveryStatus.PENDING.value


# -- seen events ---------------------------------------------------------------


def seen_ids(session: Session, event_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(list(event_ids)):
        found.update(session.scalars(select(seen_events.c.event_id).where(seen_events.c.event_id.in_(chunk))))
    return found


def mark_seen(session: Session, event_ids: Sequence[str], *, now: datetime) -> None:
    new = sorted(set(event_ids) - seen_ids(session, event_ids))
    if new:
        session.execute(
            upsert(session, seen_events).on_conflict_do_nothing(index_elements=[seen_events.c.event_id]),
            [{"event_id": e, "seen_at": now} for e in new],
        )


def prune_seen(session: Session, *, before: datetime) -> int:
    result = session.execute(delete(seen_events).where(seen_events.c.seen_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


# -- read model ----------------------------------------------------------------


class _StoredSubject(SubjectState):
    """A read model's row whose state is decoded from its JSON on first use, then kept.

    A reconcile round loads every subject that changed since its last round (~6,000 a
    minute at 100 changes a second) for their versions, and reads the states of a few
    (documents, articles, tickets): decoding them all was a third of the round's CPU,
    taken from the changes on their way. A run that renders a subject decodes it once,
    as before.
    """

    _json: str

    def __init__(self, row: Any) -> None:
        # Frozen: set once, here, as the dataclass's own __init__ does.
        for name in ("kind", "id", "version", "updated_at", "occurred_at"):
            object.__setattr__(self, name, getattr(row, name))
        object.__setattr__(self, "_json", row.state)

    @functools.cached_property
    def state(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self._json)
        return decoded


def _subject(row: Any) -> SubjectState:
    return _StoredSubject(row)


def subject_versions(session: Session, keys: Sequence[SubjectKey] | None = None) -> dict[SubjectKey, int]:
    query = select(subjects.c.kind, subjects.c.id, subjects.c.version)
    if keys is None:
        return {(r.kind, r.id): r.version for r in session.execute(query)}
    out: dict[SubjectKey, int] = {}
    for where in keyed(subjects.c.kind, subjects.c.id, keys):
        out.update({(r.kind, r.id): r.version for r in session.execute(query.where(where))})
    return out


def all_subjects(session: Session) -> list[SubjectState]:
    return [_subject(r) for r in session.execute(select(subjects).order_by(subjects.c.kind, subjects.c.id))]


def subjects_by_key(session: Session, keys: Sequence[SubjectKey]) -> Iterator[SubjectState]:
    """The subjects of `keys` that have a row, as their rows hold them now."""
    for where in keyed(subjects.c.kind, subjects.c.id, keys):
        for r in session.execute(select(subjects).where(where)):
            yield _subject(r)


def read_model_of(session: Session, keys: Sequence[SubjectKey]) -> ReadModel:
    """These subjects alone (a channel that needs nothing else: dvc)."""
    return ReadModel(subjects_by_key(session, keys))


class SubjectCache:
    """The read model as this process last read it: a run reads again only changed rows.

    Every run needs the read model; reading and decoding every row each time grew with
    the catalogue. A run reads the (version, updated_at) of the rows updated lately (an
    indexed range: since the newest it saw, less WINDOW for writers that committed late),
    then the whole rows of those that moved; every SWEEP_EVERY_S it reads every row's
    pair instead (a backstop, and how a first load starts). Subject states are never
    changed in place, so a held one is what its row says.

    `at_least`: the versions a run is about to deliver. Their rows were committed with
    the delivery rows, so any held below that is read again by key, however late its
    writer committed: the window only brings other changes in early, and can be short.
    Under load it is read every run, so its length is paid for each time: at 100 changes
    a second a 10 s window was a tenth of every channel worker's time, and 2 s still 8 %
    of the portal's (~220 rows a run to read and compare). Half a second covers a usual
    ingest from stamping its rows to committing them; a longer one's arrive by `at_least`.

    Each row read again gets the next generation: a snapshot's `changes` tells a channel
    which subjects changed since the snapshot it rendered last (ChangeLog).
    """

    SWEEP_EVERY_S = 60.0
    WINDOW = timedelta(seconds=0.5)

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._held: dict[SubjectKey, SubjectState] = {}
        self._by_kind: dict[str, dict[SubjectKey, SubjectState]] = {}
        self._newest: datetime | None = None
        self._swept_at: float | None = None
        self._monotonic = monotonic
        self.log = ChangeLog(self)

    def load(self, session: Session, *, at_least: Mapping[SubjectKey, int] | None = None) -> ReadModel:
        now = self._monotonic()
        sweep = self._swept_at is None or now - self._swept_at >= self.SWEEP_EVERY_S
        query = select(subjects.c.kind, subjects.c.id, subjects.c.version, subjects.c.updated_at)
        if not sweep and self._newest is not None:
            query = query.where(subjects.c.updated_at >= self._newest - self.WINDOW)
        stamps = {(r.kind, r.id): (r.version, r.updated_at) for r in session.execute(query)}
        moved = [
            key
            for key, stamp in stamps.items()
            if (held := self._held.get(key)) is None or (held.version, held.updated_at) != stamp
        ]
        moved_set = set(moved)
        moved += [
            key
            for key, version in (at_least or {}).items()
            if key not in moved_set and ((held := self._held.get(key)) is None or held.version < version)
        ]
        gone = [key for key in self._held if key not in stamps] if sweep else []
        for subject in subjects_by_key(session, moved):
            self._put(subject)
        for key in gone:
            self._held.pop(key, None)
            self._by_kind.get(key[0], {}).pop(key, None)
        self.log.record([*moved, *gone])
        if stamps:
            newest = max(updated_at for _, updated_at in stamps.values())
            self._newest = newest if self._newest is None else max(self._newest, newest)
        if sweep:
            self._swept_at = now
        # Copies (C-speed, no per-row Python): a snapshot never moves under a run. ReadModel
        # copies the mapping it is given itself.
        return ReadModel(
            self._held,
            by_kind={kind: dict(held) for kind, held in self._by_kind.items()},
            changes=self.log.snapshot(),
        )

    def _put(self, subject: SubjectState) -> None:
        self._held[subject.key] = subject
        self._by_kind.setdefault(subject.kind, {})[subject.key] = subject


class ChangeLog:
    """Which keys a SubjectCache re-read at which generation, in order."""

    def __init__(self, source: object) -> None:
        self.source = source
        self.generation = 0
        self._entries: list[tuple[int, SubjectKey]] = []
        self._latest: dict[SubjectKey, int] = {}

    def record(self, keys: Sequence[SubjectKey]) -> None:
        if not keys:
            return
        self.generation += 1
        for key in keys:
            self._entries.append((self.generation, key))
            self._latest[key] = self.generation
        if len(self._entries) > 2 * len(self._latest) + 1000:  # forget superseded entries
            self._entries = sorted((g, k) for k, g in self._latest.items())

    def snapshot(self) -> ChangesAt:
        return ChangesAt(self, self.generation)

    def between(self, after: int, upto: int) -> set[SubjectKey]:
        start = bisect.bisect_right(self._entries, (after, (chr(0x10FFFF), chr(0x10FFFF))))
        return {key for g, key in self._entries[start:] if g <= upto}


@dataclass(frozen=True)
class ChangesAt:
    """A snapshot's view of its cache's ChangeLog (ReadModel.changes)."""

    log: ChangeLog
    generation: int

    @property
    def source(self) -> object:
        return self.log.source

    def since(self, generation: int) -> set[SubjectKey] | None:
        if generation > self.generation:
            return None  # from a later snapshot than this one: cannot say
        return self.log.between(generation, self.generation)


def subjects_of_kind(session: Session, kind: str) -> list[SubjectState]:
    rows = session.execute(select(subjects).where(subjects.c.kind == kind).order_by(subjects.c.id))
    return [_subject(r) for r in rows]


def get_subject(session: Session, key: SubjectKey) -> SubjectState | None:
    row = session.execute(select(subjects).where(subjects.c.kind == key[0], subjects.c.id == key[1])).first()
    return _subject(row) if row else None


def get_subjects(session: Session, keys: Sequence[SubjectKey]) -> dict[SubjectKey, SubjectState]:
    out: dict[SubjectKey, SubjectState] = {}
    for where in keyed(subjects.c.kind, subjects.c.id, keys):
        for r in session.execute(select(subjects).where(where)):
            state = _subject(r)
            out[state.key] = state
    return out


def upsert_subject(
    session: Session,
    *,
    key: SubjectKey,
    version: int,
    state: dict[str, Any],
    now: datetime,
    occurred_at: datetime | None,
) -> None:
    values = {
        "version": version,
        "state": json.dumps(state, ensure_ascii=False, sort_keys=True),
        "updated_at": now,
        "occurred_at": occurred_at,
    }
    # One statement, and the read model never goes back a version, even when two
    # ingests of the same subject commit at once (PostgreSQL).
    stmt = upsert(session, subjects).values(kind=key[0], id=key[1], **values)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[subjects.c.kind, subjects.c.id],
            set_={name: stmt.excluded[name] for name in values},
            where=subjects.c.version <= stmt.excluded.version,
        )
    )


# -- deliveries ----------------------------------------------------------------


def delivery_of(row: Any) -> Delivery:
    """A deliveries row (or a row holding its columns) as a Delivery."""
    return Delivery(**{c: getattr(row, c) for c in Delivery.__dataclass_fields__})


def insert_delivery(
    session: Session,
    *,
    channel: str,
    key: SubjectKey,
    version: int,
    now: datetime,
    occurred_at: datetime | None,
    due_at: datetime | None = None,
) -> int:
    """A pending row, due at `due_at` (default: now); its id. Every kind of delivery starts here."""
    return int(
        session.scalar(
            insert(deliveries)
            .values(
                channel=channel,
                subject_kind=key[0],
                subject_id=key[1],
                version=version,
                status=PENDING,
                attempts=0,
                next_attempt_at=due_at or now,
                created_at=now,
                occurred_at=occurred_at,
            )
            .returning(deliveries.c.id)
        )
    )


@dataclass(frozen=True)
class NewDelivery:
    """A version of a subject for a channel to show."""

    channel: str
    key: SubjectKey
    version: int
    occurred_at: datetime | None


def _bound_subject(channel: Any, kind: Any, subject_id: Any) -> tuple[Any, ...]:
    """A channel's row of one subject, its values bound per row of an executemany
    (b_channel, b_kind, b_id)."""
    return (channel == bindparam("b_channel"), kind == bindparam("b_kind"), subject_id == bindparam("b_id"))


# Each statement prepared once and run for every row (executemany): an ingest adds a row
# per channel and subject, and one statement each cost a fifth of the events worker.
_SUPERSEDE_OLDER = (
    update(deliveries)
    .where(
        *_bound_subject(deliveries.c.channel, deliveries.c.subject_kind, deliveries.c.subject_id),
        # A newer version makes an older pending or dead row moot. Two comparisons, not
        # IN (…): an IN list is expanded per statement, which executemany cannot do.
        or_(deliveries.c.status == PENDING, deliveries.c.status == DeliveryStatus.DEAD.value),
        deliveries.c.version <= bindparam("b_version"),
    )
    .values(status=DeliveryStatus.SUPERSEDED.value)
)


def add_deliveries(session: Session, rows: Sequence[NewDelivery], *, now: datetime) -> None:
    """Pending deliveries, due now; older pending rows of each subject are superseded by them."""
    if not rows:
        return
    session.execute(
        _SUPERSEDE_OLDER,
        [dict(b_channel=r.channel, b_kind=r.key[0], b_id=r.key[1], b_version=r.version) for r in rows],
    )
    session.execute(
        insert(deliveries),
        [
            {
                "channel": r.channel,
                "subject_kind": r.key[0],
                "subject_id": r.key[1],
                "version": r.version,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "occurred_at": r.occurred_at,
            }
            for r in rows
        ],
    )


def add_delivery(
    session: Session,
    *,
    channel: str,
    key: SubjectKey,
    version: int,
    now: datetime,
    occurred_at: datetime | None,
) -> None:
    """A pending delivery of `version`; older pending rows of the subject are superseded by it."""
    add_deliveries(session, [NewDelivery(channel, key, version, occurred_at)], now=now)


def due_deliveries(session: Session, *, channel: str, now: datetime, limit: int) -> list[Delivery]:
    rows = session.execute(
        select(deliveries)
        .where(
            deliveries.c.channel == channel,
            deliveries.c.status == PENDING,
            deliveries.c.next_attempt_at <= now,
        )
        .order_by(deliveries.c.id)
        .limit(limit)
    )
    return [delivery_of(r) for r in rows]


def oldest_due(session: Session, *, channel: str, now: datetime) -> datetime | None:
    """When the longest-waiting due row of `channel` became due, if any is due."""
    found: datetime | None = session.scalar(
        select(func.min(deliveries.c.next_attempt_at)).where(
            deliveries.c.channel == channel,
            deliveries.c.status == PENDING,
            deliveries.c.next_attempt_at <= now,
        )
    )
    return found


def get_delivery(session: Session, delivery_id: int) -> Delivery | None:
    row = session.execute(select(deliveries).where(deliveries.c.id == delivery_id)).first()
    return delivery_of(row) if row else None


def set_status(session: Session, ids: Sequence[int], status: DeliveryStatus) -> None:
    for chunk in chunks(list(ids)):
        session.execute(update(deliveries).where(deliveries.c.id.in_(chunk)).values(status=status.value))


def mark_sent(session: Session, ids: Sequence[int], *, now: datetime) -> None:
    for chunk in chunks(list(ids)):
        session.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(chunk))
            .values(
                status=DeliveryStatus.SENT.value,
                sent_at=now,
                attempts=deliveries.c.attempts + 1,
                last_error=None,
            )
        )


def mark_failed(
    session: Session,
    delivery_id: int,
    *,
    attempts: int,
    status: DeliveryStatus,
    next_at: datetime,
    error: str,
) -> None:
    session.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(
            attempts=attempts, status=status.value, next_attempt_at=next_at, last_error=stored_error(error)
        )
    )


def reschedule(session: Session, delivery_id: int, *, now: datetime) -> None:
    session.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(status=PENDING, next_attempt_at=now, attempts=0)
    )


def failed_ids(session: Session, *, channel: str) -> list[int]:
    """The channel's dead rows, and its pending ones that failed at least once (backing off)."""
    return list(
        session.scalars(
            select(deliveries.c.id).where(
                deliveries.c.channel == channel,
                or_(
                    deliveries.c.status == DeliveryStatus.DEAD.value,
                    and_(deliveries.c.status == PENDING, deliveries.c.attempts > 0),
                ),
            )
        )
    )


def open_versions(session: Session, *, channel: str) -> dict[SubjectKey, int]:
    """Per subject the newest version with a pending or dead row (work still owed)."""
    rows = session.execute(
        select(deliveries.c.subject_kind, deliveries.c.subject_id, func.max(deliveries.c.version))
        .where(
            deliveries.c.channel == channel,
            deliveries.c.status.in_([PENDING, DeliveryStatus.DEAD.value]),
        )
        .group_by(deliveries.c.subject_kind, deliveries.c.subject_id)
    )
    return {(r[0], r[1]): r[2] for r in rows}


def page_deliveries(
    session: Session,
    *,
    status: str | None,
    channel: str | None,
    subject_kind: str | None = None,
    subject_id: str | None = None,
    offset: int,
    limit: int,
) -> tuple[list[Delivery], int]:
    conditions = []
    if status:
        conditions.append(deliveries.c.status == status)
    if channel:
        conditions.append(deliveries.c.channel == channel)
    if subject_kind:
        conditions.append(deliveries.c.subject_kind == subject_kind)
    if subject_id:
        conditions.append(deliveries.c.subject_id == subject_id)
    where = and_(*conditions) if conditions else None
    query = select(deliveries).order_by(deliveries.c.id.desc()).offset(offset).limit(limit)
    count = select(func.count()).select_from(deliveries)
    if where is not None:
        query = query.where(where)
        count = count.where(where)
    return [delivery_of(r) for r in session.execute(query)], int(session.scalar(count) or 0)


def channel_stats(session: Session, *, channel: str) -> dict[str, Any]:
    row = session.execute(
        select(
            func.count().filter(deliveries.c.status == PENDING),
            func.min(deliveries.c.created_at).filter(deliveries.c.status == PENDING),
            func.count().filter(deliveries.c.status == DeliveryStatus.DEAD.value),
            func.count().filter(and_(deliveries.c.status == PENDING, deliveries.c.attempts > 0)),
        ).where(deliveries.c.channel == channel)
    ).one()
    return {"backlog": int(row[0]), "oldest_pending_at": row[1], "dead": int(row[2]), "failing": int(row[3])}


def latencies(session: Session, *, channel: str, limit: int = 10_000) -> list[float]:
    rows = session.execute(
        select(deliveries.c.sent_at, deliveries.c.occurred_at)
        .where(
            deliveries.c.channel == channel,
            deliveries.c.status == DeliveryStatus.SENT.value,
            deliveries.c.occurred_at.is_not(None),
        )
        .order_by(deliveries.c.id.desc())
        .limit(limit)
    )
    return [max((r.sent_at - r.occurred_at).total_seconds(), 0.0) for r in rows]


def sent_between(
    session: Session, *, channel: str, start: datetime, end: datetime, limit: int | None = None
) -> list[float]:
    """Seconds from event to disclosure of each row of `channel` sent in [start, end) (the
    newest `limit` of them), read by the (channel, sent_at) index."""
    query = (
        select(deliveries.c.sent_at, deliveries.c.occurred_at)
        .where(
            deliveries.c.channel == channel,
            deliveries.c.sent_at >= start,
            deliveries.c.sent_at < end,
            deliveries.c.status == DeliveryStatus.SENT.value,
        )
        .order_by(deliveries.c.sent_at.desc())
    )
    rows = session.execute(query if limit is None else query.limit(limit))
    return [max((r.sent_at - r.occurred_at).total_seconds(), 0.0) if r.occurred_at else 0.0 for r in rows]


# -- ledger --------------------------------------------------------------------


def disclosed(
    session: Session, *, channel: str, keys: Sequence[SubjectKey] | None = None
) -> dict[SubjectKey, int]:
    """The version the ledger says the channel shows: of every subject, or of `keys` only (a
    run's batch, by primary key: the cost of a run does not grow with the catalogue)."""
    query = select(ledger.c.subject_kind, ledger.c.subject_id, ledger.c.version).where(
        ledger.c.channel == channel
    )
    if keys is None:
        return {(r[0], r[1]): r[2] for r in session.execute(query)}
    found: dict[SubjectKey, int] = {}
    for where in keyed(ledger.c.subject_kind, ledger.c.subject_id, keys):
        found.update({(r[0], r[1]): r[2] for r in session.execute(query.where(where))})
    return found


def disclosed_since(session: Session, *, channel: str) -> dict[SubjectKey, tuple[int, datetime]]:
    """The version the channel shows of every subject, and since when (the operator's report;
    reconcile reads versions alone: a time decoded per row was a sixth of its round)."""
    query = select(ledger.c.subject_kind, ledger.c.subject_id, ledger.c.version, ledger.c.disclosed_at)
    return {(r[0], r[1]): (r[2], r[3]) for r in session.execute(query.where(ledger.c.channel == channel))}


_RAISE = (
    update(ledger)
    .where(*_bound_subject(ledger.c.channel, ledger.c.subject_kind, ledger.c.subject_id))
    .values(version=bindparam("b_version"), disclosed_at=bindparam("b_at"))
)


def raise_ledger(
    session: Session, *, channel: str, versions: Mapping[SubjectKey, int], now: datetime
) -> None:
    """Record each subject's version as disclosed unless the ledger already holds it or
    newer: one read of the batch's rows, one INSERT and one UPDATE, each run for every row
    (not three statements per subject). Only the channel's run writes its rows."""
    if not versions:
        return
    held = disclosed(session, channel=channel, keys=list(versions))
    new = [(key, version) for key, version in versions.items() if key not in held]
    raised = [(key, version) for key, version in versions.items() if key in held and version > held[key]]
    if new:
        session.execute(
            insert(ledger),
            [
                {
                    "channel": channel,
                    "subject_kind": k[0],
                    "subject_id": k[1],
                    "version": v,
                    "disclosed_at": now,
                }
                for k, v in new
            ],
        )
    if raised:
        session.execute(
            _RAISE,
            [dict(b_channel=channel, b_kind=k[0], b_id=k[1], b_version=v, b_at=now) for k, v in raised],
        )


def forget_ledger(session: Session, *, channel: str, keys: Sequence[SubjectKey] | None = None) -> None:
    """The channel no longer shows these subjects (all when None): their ledger rows go."""
    if keys is None:
        session.execute(delete(ledger).where(ledger.c.channel == channel))
        return
    for where in keyed(ledger.c.subject_kind, ledger.c.subject_id, keys):
        session.execute(delete(ledger).where(ledger.c.channel == channel, where))


# -- reconciliation rounds ----------------------------------------------------------------

# A round lists at most this many subjects per kind of repair (the counts are exact).
REPAIRS_LISTED = 50
UNEVENTFUL_KEPT = timedelta(days=1)


def _listed(keys: Sequence[SubjectKey]) -> list[str]:
    return [f"{kind}:{subject_id}" for kind, subject_id in keys[:REPAIRS_LISTED]]


def record_reconcile(
    session: Session,
    *,
    fetched: Sequence[SubjectKey],
    redelivered: Mapping[str, Sequence[SubjectKey]],
    unreachable: Sequence[str],
    at_start: bool,
    now: datetime,
) -> None:
    """Write one round; forget rounds that repaired nothing after a day."""
    detail = {
        "fetched": _listed(fetched),
        "redelivered": {channel: _listed(keys) for channel, keys in redelivered.items() if keys},
        "redelivered_counts": {channel: len(keys) for channel, keys in redelivered.items() if keys},
        "unreachable": list(unreachable),
    }
    session.execute(
        insert(reconcile_runs).values(
            finished_at=now,
            at_start=at_start,
            fetched=len(fetched),
            redelivered=sum(len(keys) for keys in redelivered.values()),
            detail=json.dumps(detail, ensure_ascii=False),
        )
    )
    session.execute(
        delete(reconcile_runs).where(
            reconcile_runs.c.finished_at < now - UNEVENTFUL_KEPT,
            reconcile_runs.c.fetched == 0,
            reconcile_runs.c.redelivered == 0,
        )
    )


def _round(row: Any) -> dict[str, Any]:
    detail = json.loads(row.detail)
    return {
        "finished_at": row.finished_at,
        "at_start": bool(row.at_start),
        "fetched": int(row.fetched),
        "redelivered": int(row.redelivered),
        "fetched_subjects": detail.get("fetched", []),
        "redelivered_subjects": detail.get("redelivered", {}),
        "redelivered_by_channel": detail.get("redelivered_counts", {}),
        "unreachable": detail.get("unreachable", []),
    }


def last_reconcile(session: Session) -> dict[str, Any] | None:
    row = session.execute(select(reconcile_runs).order_by(reconcile_runs.c.id.desc()).limit(1)).first()
    return _round(row) if row else None


def reconcile_repairs(session: Session, *, limit: int = 20) -> list[dict[str, Any]]:
    """The latest rounds that repaired something, newest first."""
    rows = session.execute(
        select(reconcile_runs)
        .where(or_(reconcile_runs.c.fetched > 0, reconcile_runs.c.redelivered > 0))
        .order_by(reconcile_runs.c.id.desc())
        .limit(limit)
    )
    return [_round(r) for r in rows]


def repaired_totals(session: Session) -> tuple[dict[str, int], int]:
    """Subjects redelivered per channel and subjects fetched, by every round but the
    start-up ones (a system coming up catches up by design: that is not drift)."""
    rows = session.execute(
        select(reconcile_runs.c.fetched, reconcile_runs.c.detail).where(
            reconcile_runs.c.at_start.is_(False),
            or_(reconcile_runs.c.fetched > 0, reconcile_runs.c.redelivered > 0),
        )
    )
    by_channel: dict[str, int] = {}
    fetched = 0
    for row in rows:
        fetched += int(row.fetched)
        for channel, count in json.loads(row.detail).get("redelivered_counts", {}).items():
            by_channel[channel] = by_channel.get(channel, 0) + int(count)
    return by_channel, fetched


# -- fencing ----------------------------------------------------------------------------


def take_fence(session: Session, *, channel: str) -> int:
    """The channel's next fencing token (this run's), in the caller's write transaction."""
    stmt = upsert(session, channel_fences).values(channel=channel, token=1)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[channel_fences.c.channel], set_={"token": channel_fences.c.token + 1}
        )
    )
    token = session.execute(select(channel_fences.c.token).where(channel_fences.c.channel == channel))
    return int(token.scalar_one())


def fence_holds(session: Session, *, channel: str, token: int) -> bool:
    """Whether `token` is still the channel's newest: checked where a run records its work
    (row-locked on PostgreSQL until the commit; SQLite's write transaction is exclusive)."""
    query = select(channel_fences.c.token).where(channel_fences.c.channel == channel)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.execute(query).scalar() == token
