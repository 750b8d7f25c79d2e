"""Transactional outbox: an event is written in the same transaction as the change.

A relay process sends unsent rows, many envelopes per Celery message, to
`notifier.ingest` and only then marks them sent. A crash between the two sends
them again; the notifier ignores event ids it has seen, so nothing is lost and
nothing is disclosed twice.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from redis import Redis
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from minhbach_shared import names
from minhbach_shared.db import WRITE, UtcDateTime, make_engine
from minhbach_shared.events import Envelope
from minhbach_shared.observability import configure_logging, correlation_id
from minhbach_shared.settings import BaseServiceSettings

log = logging.getLogger(__name__)

Sender = Callable[[list[dict[str, Any]]], None]

# Test-only fault hook: the relay sleeps this many seconds after the broker took a batch
# and before it marks the batch sent, so a resilience test can kill -9 the relay process
# in exactly that window (its transaction stays open meanwhile, as during a slow send).
# Refused in production (see pause_after_send_for_tests).
TEST_PAUSE_AFTER_SEND_ENV = "MB_RELAY_TEST_PAUSE_AFTER_SEND_S"


def outbox_table(metadata: MetaData) -> Table:
    """The outbox table, declared on the owning service's metadata (for its migrations)."""
    return Table(
        "outbox",
        metadata,
        Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("envelope", Text, nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("sent_at", UtcDateTime, nullable=True, index=True),
    )


def add_events(session: Session, table: Table, events: Sequence[Envelope]) -> None:
    """Stage events in the caller's transaction; they leave only if it commits."""
    if not events:
        return
    now = datetime.now(UTC)
    session.execute(
        table.insert(),
        [
            {
                "event_id": str(e.id),
                "envelope": json.dumps(_with_correlation(e).to_wire(), ensure_ascii=False),
                "created_at": now,
            }
            for e in events
        ],
    )


def _with_correlation(event: Envelope) -> Envelope:
    if event.correlation_id is None and (cid := correlation_id.get()):
        return event.model_copy(update={"correlation_id": cid})
    return event


# A batch names at most this many correlation ids (then "+N more").
MAX_BATCH_CORRELATIONS = 10


def batch_correlation(envelopes: Sequence[Mapping[str, Any]]) -> str | None:
    """The batch's correlation ids, in order, comma-separated: "a" for one request's events."""
    ids = list(dict.fromkeys(str(e["correlation_id"]) for e in envelopes if e.get("correlation_id")))
    if not ids:
        return None
    shown = ",".join(ids[:MAX_BATCH_CORRELATIONS])
    extra = len(ids) - MAX_BATCH_CORRELATIONS
    return f"{shown},+{extra} more" if extra > 0 else shown


def wake_key(service: str) -> str:
    return f"mb:outbox:wake:{service}"


class OutboxRelay:
    """Sends unsent outbox rows in order, in batches, and marks them sent."""

    def __init__(
        self,
        *,
        engine: Engine,
        table: Table,
        send: Sender,
        batch_size: int = 200,
        pause_after_send_s: float = 0.0,
    ) -> None:
        self.engine = engine
        self.table = table
        self.send = send
        self.batch_size = batch_size
        # Test-only (TEST_PAUSE_AFTER_SEND_ENV): 0 everywhere else.
        self.pause_after_send_s = pause_after_send_s

    def relay_once(self) -> int:
        """Send one batch; return how many envelopes left."""
        with Session(self.engine) as session:
            session.connection(execution_options=WRITE)
            rows = session.execute(
                select(self.table.c.seq, self.table.c.envelope)
                .where(self.table.c.sent_at.is_(None))
                .order_by(self.table.c.seq)
                .limit(self.batch_size)
            ).all()
            if not rows:
                return 0
            envelopes = [json.loads(r.envelope) for r in rows]
            # The message carries its events' correlation ids into the notifier's task
            # (and the channel tasks it queues), so one grep follows a change end to end.
            token = correlation_id.set(batch_correlation(envelopes))
            try:
                self.send(envelopes)
            finally:
                correlation_id.reset(token)
            if self.pause_after_send_s > 0:
                log.warning(
                    "test fault hook: batch sent, pausing before marking it sent",
                    extra={"events": len(rows), "pause_s": self.pause_after_send_s},
                )
                time.sleep(self.pause_after_send_s)
            # A crash here sends the batch again: at least once, never lost.
            session.execute(
                update(self.table)
                .where(self.table.c.seq.in_([r.seq for r in rows]))
                .values(sent_at=datetime.now(UTC))
            )
            session.commit()
            return len(rows)

    def drain(self) -> int:
        total = 0
        while sent := self.relay_once():
            total += sent
        return total

    def run_forever(self, *, redis: Any, service: str, poll_s: float = 1.0) -> None:
        """Drain whenever a writer wakes us (Redis list), and at least every `poll_s`."""
        key = wake_key(service)
        log.info("outbox relay started", extra={"service": service})
        while True:
            try:
                sent = self.drain()
                if sent:
                    log.info("outbox relayed", extra={"events": sent})
                redis.blpop([key], timeout=poll_s)
                redis.delete(key)
            except Exception:  # keep relaying through Redis or database outages
                log.exception("outbox relay failed; retrying")
                time.sleep(poll_s)


@dataclass(frozen=True)
class OutboxBacklog:
    """What an owner has not yet handed to the notifier, and since when."""

    owner: str
    unsent: int
    oldest_unsent_at: datetime | None
    last_sent_at: datetime | None

    def oldest_age_s(self, now: datetime) -> float:
        if self.oldest_unsent_at is None:
            return 0.0
        return max((now - self.oldest_unsent_at).total_seconds(), 0.0)


def outbox_backlog(engine: Engine, table: Table, *, owner: str) -> OutboxBacklog:
    # sent_at is indexed: the unsent rows are found without a scan; the last sent row is
    # the highest seq (rows are sent in order), found by the primary key.
    with Session(engine) as session:
        unsent, oldest = session.execute(
            select(func.count(), func.min(table.c.created_at)).where(table.c.sent_at.is_(None))
        ).one()
        last_sent = session.execute(
            select(table.c.sent_at).where(table.c.sent_at.is_not(None)).order_by(table.c.seq.desc()).limit(1)
        ).scalar()
    return OutboxBacklog(
        owner=owner, unsent=int(unsent), oldest_unsent_at=_utc(oldest), last_sent_at=_utc(last_sent)
    )


def _utc(value: datetime | str | None) -> datetime | None:
    # An aggregate (min) loses the column's type on SQLite: it comes back as text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


class OutboxCollector(Collector):
    """`mb_outbox_unsent_rows{owner}` and `mb_outbox_oldest_unsent_age_seconds{owner}` at each
    scrape, read from the owner's database: a stopped relay shows here, not in its own logs."""

    def __init__(self, engine: Engine, table: Table, *, owner: str) -> None:
        self.engine = engine
        self.table = table
        self.owner = owner

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            backlog = outbox_backlog(self.engine, self.table, owner=self.owner)
        except Exception:  # mb_database_up says why; no made-up zeros
            log.warning("outbox backlog unreadable for /metrics", exc_info=True)
            return
        unsent = GaugeMetricFamily(
            "mb_outbox_unsent_rows", "Events not yet sent to the notifier", labels=["owner"]
        )
        unsent.add_metric([self.owner], backlog.unsent)
        age = GaugeMetricFamily(
            "mb_outbox_oldest_unsent_age_seconds",
            "Age of the oldest event not yet sent to the notifier (0: none)",
            labels=["owner"],
        )
        age.add_metric([self.owner], backlog.oldest_age_s(datetime.now(UTC)))
        yield unsent
        yield age


def pause_after_send_for_tests(environment: str, environ: Mapping[str, str] = os.environ) -> float:
    """The relay's test-only pause between sending and marking sent (0: none).

    Read from TEST_PAUSE_AFTER_SEND_ENV; a relay configured with it in production
    refuses to start rather than hold every batch back.
    """
    raw = environ.get(TEST_PAUSE_AFTER_SEND_ENV, "").strip()
    if not raw:
        return 0.0
    if environment == "production":
        raise RuntimeError(f"{TEST_PAUSE_AFTER_SEND_ENV} is a test-only fault hook: refused in production")
    pause = float(raw)
    if not pause >= 0:
        raise ValueError(f"{TEST_PAUSE_AFTER_SEND_ENV} must be a number of seconds >= 0, not {raw!r}")
    return pause


def celery_sender(app: Any) -> Sender:
    def send(envelopes: list[dict[str, Any]]) -> None:
        app.send_task(names.INGEST_TASK, args=[envelopes], queue=names.EVENTS_QUEUE)

    return send


def relay_waker(redis: Any, service: str) -> Callable[[], None]:
    """The wake-up a service's units of work call after committing events (see uow.py)."""
    key = wake_key(service)

    def wake() -> None:
        # Tell the relay there is something to send; losing this only costs one poll.
        try:
            pipe = redis.pipeline()
            pipe.lpush(key, 1)
            pipe.ltrim(key, 0, 0)
            pipe.execute()
        except Exception as exc:
            log.warning("could not wake the outbox relay (%s); it will poll", type(exc).__name__)

    return wake


def run_relay(
    service: str, settings: BaseServiceSettings, *, database_url: str, table: Table, celery: Any
) -> None:
    """`python -m <service>.relay`: send the service's outbox to the notifier, forever.

    Every owner runs exactly this; only its name, database, table and Celery app differ.
    """
    pause_after_send_s = pause_after_send_for_tests(settings.environment)  # test-only; 0 normally
    configure_logging(service=service, level=settings.log_level, json_logs=settings.log_json)
    relay = OutboxRelay(
        engine=make_engine(database_url),
        table=table,
        send=celery_sender(celery),
        pause_after_send_s=pause_after_send_s,
    )
    relay.run_forever(redis=Redis.from_url(settings.redis_url), service=service)
