"""The outbox relay against a real redis-server, the manage commands, migrations matching the tables."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from content.bootstrap import create_celery
from content.db import metadata, outbox
from content.settings import Settings
from minhbach_shared.db import make_engine
from minhbach_shared.names import EVENTS_QUEUE, INGEST_TASK
from minhbach_shared.outbox import OutboxRelay, celery_sender, wake_key
from minhbach_testing.plugin import RedisServer, shared_dir

H = dict[str, str]


def test_article_events_reach_the_events_queue_once(
    client: TestClient, settings: Settings, redis_server: RedisServer, editor: H, approver: H
) -> None:
    redis = redis_server.client()
    article = client.post(
        "/v1/articles", json={"category": "news", "title": "Tin mới"}, headers=editor
    ).json()
    assert redis.llen(wake_key("content")) == 0  # a draft emits nothing
    client.post(f"/v1/articles/{article['id']}/submit", headers=editor)
    client.post(f"/v1/articles/{article['id']}/publish", headers=approver)
    client.post(f"/v1/articles/{article['id']}/unpublish", headers=approver)
    assert redis.llen(wake_key("content")) == 1  # the writer woke the relay

    engine = make_engine(settings.database_url)
    relay = OutboxRelay(engine=engine, table=outbox, send=celery_sender(create_celery(settings)))
    assert relay.drain() == 2
    assert relay.drain() == 0

    messages = [json.loads(m) for m in redis.lrange(EVENTS_QUEUE, 0, -1)]
    assert messages and all(m["headers"]["task"] == INGEST_TASK for m in messages)
    envelopes: list[dict[str, Any]] = []
    for m in reversed(messages):  # LPUSH: newest first
        args, _kwargs, _embed = json.loads(base64.b64decode(m["body"]))
        envelopes += args[0]
    assert [(e["type"], e["version"]) for e in envelopes] == [
        ("article.published", 1),
        ("article.unpublished", 2),
    ]
    assert all(e["subject"] == {"kind": "article", "id": str(article["id"])} for e in envelopes)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")).scalar() == 0
    engine.dispose()


def test_manage_migrates_and_loads_the_demo_documents_in_a_real_process(
    tmp_path: Path, redis_server: RedisServer, procedures_url: str
) -> None:
    env = {
        **os.environ,
        "CONTENT_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "CONTENT_PROCEDURES_URL": procedures_url,
        "MB_REDIS_URL": redis_server.url,
        "MB_LOG_JSON": "false",
    }
    path = str(shared_dir() / "data" / "legal-documents.json")

    def manage(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "content.manage", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "migrated" in manage("migrate")
    assert "loaded 6 demo documents" in manage("load-demo", path)
    assert "demo skipped" in manage("load-demo", path)


def test_migrations_match_the_tables(settings: Settings) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(settings.database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []
