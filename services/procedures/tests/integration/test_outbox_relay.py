"""The outbox relay against a real redis-server: envelopes land on the `events` queue."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from minhbach_shared.db import make_engine
from minhbach_shared.names import EVENTS_QUEUE, INGEST_TASK
from minhbach_shared.outbox import OutboxRelay, celery_sender, relay_waker, wake_key
from minhbach_testing.plugin import RedisServer
from procedures import services
from procedures.bootstrap import create_celery
from procedures.db import outbox
from procedures.settings import Settings
from procedures.uow import UnitOfWork


def test_published_events_reach_the_events_queue_once(
    settings: Settings, redis_server: RedisServer, sample_payload: dict[str, Any]
) -> None:
    engine = make_engine(settings.database_url)
    redis = redis_server.client()
    services.load_demo(
        UnitOfWork(engine, relay_waker(redis, "procedures")), sample_payload, now=datetime.now(UTC)
    )
    assert redis.llen(wake_key("procedures")) == 1  # the writer woke the relay

    relay = OutboxRelay(engine=engine, table=outbox, send=celery_sender(create_celery(settings)))
    assert relay.drain() == 13
    assert relay.drain() == 0  # sent rows are marked and not sent again

    messages = [json.loads(m) for m in redis.lrange(EVENTS_QUEUE, 0, -1)]
    assert len(messages) == 1 and messages[0]["headers"]["task"] == INGEST_TASK
    args, _kwargs, _embed = json.loads(base64.b64decode(messages[0]["body"]))
    envelopes = args[0]
    assert [e["type"] for e in envelopes] == ["decision.published"] + ["procedure.published"] * 12
    assert envelopes[1]["subject"] == {"kind": "procedure", "id": "MB.XD.001"}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")).scalar() == 0
    engine.dispose()


def test_migrations_match_the_tables(settings: Settings) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from procedures.db import include_in_autogenerate, metadata

    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": include_in_autogenerate})
        diff = compare_metadata(context, metadata)
    engine.dispose()
    assert diff == []
