"""The outbox relay against a real redis-server, and migrations that match the tables."""

from __future__ import annotations

import base64
import json

from fastapi.testclient import TestClient
from sqlalchemy import text

from hotline.bootstrap import create_celery
from hotline.db import outbox
from hotline.settings import Settings
from minhbach_shared.db import make_engine
from minhbach_shared.names import EVENTS_QUEUE, INGEST_TASK
from minhbach_shared.outbox import OutboxRelay, celery_sender, wake_key
from minhbach_testing.plugin import RedisServer

from ..conftest import ticket_body


def test_published_answers_reach_the_events_queue(
    client: TestClient,
    hotline: dict[str, str],
    approver: dict[str, str],
    settings: Settings,
    redis_server: RedisServer,
) -> None:
    code = client.post("/v1/public/tickets", json=ticket_body(email=None)).json()["tracking_code"]
    tid = client.get("/v1/tickets", headers=hotline).json()["items"][0]["id"]
    for action, body in (
        ("accept", None),
        ("assign", {"unit": "Phòng Kinh tế và Vật liệu xây dựng"}),
        ("answer", {"answer": "Đã xử lý."}),
    ):
        assert client.post(f"/v1/tickets/{tid}/{action}", json=body, headers=hotline).status_code == 200
    for action in ("approve", "publish"):
        assert client.post(f"/v1/tickets/{tid}/{action}", headers=approver).status_code == 200
    redis = redis_server.client()
    assert redis.llen(wake_key("hotline")) == 1  # the writer woke the relay

    engine = make_engine(settings.database_url)
    relay = OutboxRelay(engine=engine, table=outbox, send=celery_sender(create_celery(settings)))
    assert relay.drain() == 1
    assert relay.drain() == 0
    [message] = [json.loads(m) for m in redis.lrange(EVENTS_QUEUE, 0, -1)]
    assert message["headers"]["task"] == INGEST_TASK
    args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    [envelope] = args[0]
    assert envelope["type"] == "ticket.published" and envelope["subject"] == {"kind": "ticket", "id": code}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")).scalar() == 0
    engine.dispose()


def test_migrations_match_the_tables(settings: Settings) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from hotline.db import metadata

    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []
